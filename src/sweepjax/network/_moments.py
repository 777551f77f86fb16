"""Observers of running moments: the mean, spread, co-moments and
synchrony of the observed states, folded a block at a time.

The moments take each block's centred sums of squares and products (one
matrix product for the co-moments) and merge them into the running ones with
Chan, Golub and LeVeque's pairwise update, which stays accurate in float32
over millions of steps where raw sums of squares would cancel.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from sweepjax.network._observer import AbstractUnboundObserver, one_state


class Moments(NamedTuple):
    mean: jax.Array
    m2: jax.Array  # centred sum of squares (or of products, for co-moments)


def welford(acc: Moments, x: jax.Array, count: jax.Array, outer: bool) -> Moments:
    delta = x - acc.mean
    mean = acc.mean + delta / count
    spread = jnp.outer(delta, x - mean) if outer else delta * (x - mean)
    return Moments(mean, acc.m2 + spread)


def merge(acc: Moments, xs: jax.Array, count: jax.Array, outer: bool) -> Moments:
    """Chan et al.'s merge of the moments of ``count`` states with those of
    the block ``xs`` ``[rows, ...]`` (its centred sums: one matrix product
    for the co-moments)."""
    rows = xs.shape[0]
    mean_b = xs.mean(0)
    centred = xs - mean_b
    if outer:
        m2_b = jnp.matmul(centred.T, centred, precision=jax.lax.Precision.HIGHEST)
    else:
        m2_b = jnp.sum(centred * centred, 0)
    total = count + rows
    delta = mean_b - acc.mean
    cross = jnp.outer(delta, delta) if outer else delta * delta
    return Moments(
        acc.mean + delta * (rows / total),
        acc.m2 + m2_b + cross * (count * rows / total),
    )


class Mean(AbstractUnboundObserver):
    """Time average of the observed states after the transient.

    >>> observe = {"mean_S": Mean("S")}   # solution.observed["mean_S"]: [n_nodes]
    """

    states: str | tuple[str, ...]

    def init(self, x):
        return jnp.zeros_like(x)

    def update(self, acc, x, count):
        return acc + (x - acc) / count

    def update_block(self, acc, xs, count):
        return acc + (xs.mean(0) - acc) * (xs.shape[0] / (count + xs.shape[0]))

    def finalize(self, acc, count):
        return acc


class Std(AbstractUnboundObserver):
    """Standard deviation over time of the observed states (``ddof`` as in
    ``numpy.std``; 0 by default).

    >>> observe = {"std_S": Std("S")}
    """

    states: str | tuple[str, ...]
    ddof: int = 0

    def init(self, x):
        return Moments(jnp.zeros_like(x), jnp.zeros_like(x))

    def update(self, acc, x, count):
        return welford(acc, x, count, outer=False)

    def update_block(self, acc, xs, count):
        return merge(acc, xs, count, outer=False)

    def finalize(self, acc, count):
        return jnp.sqrt(acc.m2 / (count - self.ddof))

    def __repr__(self) -> str:
        return f"Std({self.states!r}, ddof={self.ddof})"


class AbstractCoMoments(AbstractUnboundObserver):
    """Running co-moments of one state across nodes, ``[n_nodes, n_nodes]``;
    subclasses say what ``finalize`` makes of them."""

    states: str

    def __init__(self, state: str):
        self.states = one_state(type(self).__name__, state)

    def init(self, x):
        return Moments(jnp.zeros_like(x), jnp.zeros((x.size, x.size), x.dtype))

    def update(self, acc, x, count):
        return welford(acc, x, count, outer=True)

    def update_block(self, acc, xs, count):
        return merge(acc, xs, count, outer=True)


class CoMoments(AbstractCoMoments):
    """Running covariance of one state across nodes: ``[n_nodes, n_nodes]``."""

    def finalize(self, acc, count):
        return acc


class Covariance(AbstractCoMoments):
    """Covariance over time between the nodes' values of one state,
    ``[n_nodes, n_nodes]`` (``ddof`` as in ``numpy.cov``'s ``ddof``; 0 by
    default, like :class:`Std`).

    >>> observe = {"cov": Covariance("S")}
    """

    ddof: int

    def __init__(self, state: str, ddof: int = 0):
        self.states = one_state(type(self).__name__, state)
        self.ddof = ddof

    def finalize(self, acc, count):
        return acc.m2 / (count - self.ddof)

    def __repr__(self) -> str:
        return f"Covariance({self.states!r}, ddof={self.ddof})"


class Synchrony(AbstractUnboundObserver):
    """The Kuramoto order parameter ``R(t) = |mean_j exp(i phase_j(t))|``
    over the nodes: its time average (``"order"``) and its standard deviation
    over time (``"metastability"``, Shanahan 2010).

    The phase is the state itself when ``states`` names one variable (a
    phase oscillator's ``theta``) or ``atan2(y, x)`` of a pair ``(x, y)``
    (an oscillator in the plane, such as ``SupHopf``).

    >>> observe = {"sync": Synchrony("theta")}      # Kuramoto model
    >>> observe = {"sync": Synchrony(("x", "y"))}   # SupHopf
    """

    states: str | tuple[str, str]

    def __check_init__(self) -> None:
        if not isinstance(self.states, str) and len(self.states) != 2:
            raise ValueError(
                f"Synchrony needs one phase variable or an (x, y) pair, got "
                f"states={self.states!r}."
            )

    def _order(self, x: jax.Array) -> jax.Array:
        phase = x if x.ndim == 1 else jnp.arctan2(x[1], x[0])
        return jnp.abs(jnp.mean(jnp.exp(1j * phase)))

    def init(self, x):
        zero = jnp.zeros((), x.dtype)
        return Moments(zero, zero)

    def update(self, acc, x, count):
        return welford(acc, self._order(x).astype(x.dtype), count, outer=False)

    def update_block(self, acc, xs, count):
        orders = jax.vmap(self._order)(xs).astype(xs.dtype)
        return merge(acc, orders, count, outer=False)

    def finalize(self, acc, count):
        return {"order": acc.mean, "metastability": jnp.sqrt(acc.m2 / count)}
