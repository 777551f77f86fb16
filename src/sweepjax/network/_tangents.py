"""Perturbations carried beside a trajectory: what Lyapunov exponents need.

The loop's step maps the whole state of a batch, ``(y, history)`` (the
states ``[size, n_states, n_nodes]`` and, with delays, the ring buffer of
what the nodes sent, ``[H * n_nodes, n_signals, size]``), to the next one.
:func:`follow` wraps that step so it also carries, per point, ``p``
perturbation vectors of that whole state, and re-orthonormalises them (QR)
every ``every`` steps, adding ``log |R_ii|`` to a running sum (Benettin's
method). Two ways to move a vector:

- ``"jvp"``: the tangent, ``jax.jvp`` of the step (exact, needs a
  differentiable step; the step's own values are computed once for all
  the vectors);
- ``"difference"``: a second trajectory started ``eps`` away along the
  vector, run by the same step; at each renormalisation the vector is the
  difference of the two over ``eps`` and the second trajectory restarts
  ``eps`` away along the new vector (for steps that cannot be
  differentiated).

With delays the vectors span the state and the ring buffer: the exponents
are those of the discretised delay system (the history is part of the
state), not those of the present state alone. With noise, the perturbed
and the reference trajectories take the same normals (the step's ``z`` is
not perturbed): the exponents of the random dynamical system of that noise
realisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax.network._body import Body, Carry


class Perturbed(NamedTuple):
    """One observer's perturbations of a batch.

    ``vectors``: the ``p`` perturbations ``(y, history)`` with a leading
    ``p`` axis: tangents (``"jvp"``), else the perturbed trajectories
    themselves. ``logs``: ``[size, p]`` sums of ``log |R_ii|`` over the
    renormalisations after the transient; ``renormalised``: how many.
    """

    vectors: Any
    logs: jax.Array
    renormalised: jax.Array


class FollowedCarry(NamedTuple):
    """The loop's carry with each tangent observer's :class:`Perturbed`."""

    carry: Carry
    perturbed: tuple[Perturbed, ...]


class Follow(NamedTuple):
    """How one observer moves its vectors (set by the observer's fields)."""

    n_vectors: int
    every: int  # steps between renormalisations
    method: str  # "jvp" or "difference"
    eps: float  # the separation of "difference"


def _flat(y: jax.Array, history: Any) -> jax.Array:
    """``(y, history)`` with a leading ``p`` axis as ``[size, D, p]``."""
    p, size = y.shape[:2]
    parts = [y.reshape(p, size, -1)]
    if not isinstance(history, tuple):  # [p, H * n, n_signals, size]
        parts.append(jnp.moveaxis(history, -1, 1).reshape(p, size, -1))
    return jnp.moveaxis(jnp.concatenate(parts, axis=2), 0, 2)


def _unflat(flat: jax.Array, y: jax.Array, history: Any) -> tuple[jax.Array, Any]:
    """The inverse of :func:`_flat`, shaped after ``y`` and ``history``."""
    flat = jnp.moveaxis(flat, 2, 0)  # [p, size, D]
    p, size = flat.shape[:2]
    n_y = int(np.prod(y.shape[2:]))
    out_y = flat[:, :, :n_y].reshape(y.shape)
    if isinstance(history, tuple):
        return out_y, history
    h = flat[:, :, n_y:].reshape(p, size, *history.shape[1:-1])
    return out_y, jnp.moveaxis(h, 1, -1)


def _stack(x: Any, p: int) -> Any:
    return jax.tree.map(lambda a: jnp.broadcast_to(a, (p, *a.shape)), x)


def _start(carry: Carry, follow: Follow) -> Perturbed:
    """``p`` orthonormal vectors per point, drawn once from a fixed key (a
    generic start: a basis vector may miss the leading direction)."""
    y, history = carry.y, carry.history
    p = follow.n_vectors
    like = _flat(*_stack((y, history), p))  # [size, D, p]
    size, dim = like.shape[:2]
    if p > dim:
        raise ValueError(
            f"n_exponents={p} exceeds the dimension of the state followed, {dim} "
            "(states x nodes, plus the delay history); ask for at most that."
        )
    # on the host: a constant of the program
    draw = np.random.default_rng(0).standard_normal((dim, p))
    q = jnp.broadcast_to(np.linalg.qr(draw)[0].astype(like.dtype), (size, dim, p))
    ty, th = _unflat(q, *_stack((y, history), p))
    if follow.method == "difference":
        ty = y + follow.eps * ty
        th = th if isinstance(history, tuple) else history + follow.eps * th
    logs = jnp.zeros((size, p), y.dtype)
    return Perturbed((ty, th), logs, jnp.zeros((), jnp.int32))


#: Up to this many vectors are orthonormalised by Gram-Schmidt on the
#: vectors as they are laid out (a few vector operations, quick to compile;
#: flattening them would transpose the history, and XLA would then keep the
#: carried history in the transposed layout and copy it every step), more by
#: a QR factorisation of the flattened vectors.
GRAM_SCHMIDT = 4


def _dot(a: tuple, b: tuple) -> jax.Array:
    """``[size]`` the per-point inner products of two vectors ``(y,
    history)`` (``y`` ``[size, ...]``, ``history`` ``[..., size]``)."""
    (ay, ah), (by, bh) = a, b
    dot = jnp.sum(ay * by, axis=tuple(range(1, ay.ndim)))
    if not isinstance(ah, tuple):
        dot = dot + jnp.sum(ah * bh, axis=tuple(range(ah.ndim - 1)))
    return dot


def _axpy(c: jax.Array, a: tuple, b: tuple) -> tuple:
    """``c * a + b`` with one ``c`` ``[size]`` per point (``b`` None: 0)."""
    ay, ah = a
    y = c.reshape(-1, *(1,) * (ay.ndim - 1)) * ay
    h = ah if isinstance(ah, tuple) else c * ah
    if b is None:
        return y, h
    return y + b[0], h if isinstance(h, tuple) else h + b[1]


def _gram_schmidt(ty: jax.Array, th: Any) -> tuple[tuple, jax.Array]:
    """``((Q_y, Q_history), log |diag R|)``: modified Gram-Schmidt of the
    ``p`` vectors (leading axis) in place of a QR of :func:`_flat`'s
    matrix, the logs ``[size, p]``."""
    p = ty.shape[0]
    columns, logs = [], []
    for j in range(p):
        v = (ty[j], th if isinstance(th, tuple) else th[j])
        for u in columns:
            v = _axpy(-_dot(u, v), u, v)
        # a vector that died out (underflowed) counts the smallest normal
        # number's log per renormalisation, never 0 / 0
        norm = jnp.maximum(jnp.sqrt(_dot(v, v)), jnp.finfo(ty.dtype).tiny)
        columns.append(_axpy(1.0 / norm, v, None))
        logs.append(jnp.log(norm))
    qy = jnp.stack([c[0] for c in columns])
    qh = th if isinstance(th, tuple) else jnp.stack([c[1] for c in columns])
    return (qy, qh), jnp.stack(logs, axis=-1)


def _orthonormalise(ty: jax.Array, th: Any) -> tuple[tuple, jax.Array]:
    """``((Q_y, Q_history), log |diag R|)`` of the vectors' ``QR`` (``Q``
    with a positive diagonal of ``R``; the logs ``[size, p]``)."""
    if ty.shape[0] <= GRAM_SCHMIDT:
        return _gram_schmidt(ty, th)
    q, r = jnp.linalg.qr(_flat(ty, th))
    logs = jnp.log(jnp.abs(jnp.diagonal(r, axis1=-2, axis2=-1)))
    return _unflat(q, ty, th), logs


def _renormalise(
    follow: Follow, perturbed: Perturbed, carry: Carry, counted: jax.Array
) -> Perturbed:
    """QR of the vectors: ``Q`` becomes the vectors, ``log |diag R|`` is
    added to the sums when ``counted`` (after the transient)."""
    ty, th = perturbed.vectors
    if follow.method == "difference":
        ty = (ty - carry.y) / follow.eps
        if not isinstance(th, tuple):
            th = (th - carry.history) / follow.eps
    (ty, th), growth = _orthonormalise(ty, th)
    if follow.method == "difference":
        ty = carry.y + follow.eps * ty
        th = th if isinstance(th, tuple) else carry.history + follow.eps * th
    logs = perturbed.logs + jnp.where(counted, growth, 0.0)
    return Perturbed((ty, th), logs, perturbed.renormalised + counted)


def follow(
    body: Body, carry0: Carry, follows: Sequence[Follow], n_transient: int
) -> tuple[Body, FollowedCarry]:
    """``body`` that also moves each :class:`Follow`'s vectors, and its
    initial carry.

    Renormalisations fall every ``every`` steps counted from the end of the
    transient; those after it are summed (the transient aligns the vectors).
    """

    def step_of(carry: Carry, z_k: Any):
        def moved(y: jax.Array, history: Any) -> tuple[tuple, tuple[Carry, Any]]:
            new, out = body(Carry(y, history, carry.k, carry.z), z_k)
            return (new.y, new.history), (new, out)

        return moved

    def wrapped(state: FollowedCarry, z_k: Any) -> tuple[FollowedCarry, Any]:
        carry = state.carry
        moved = step_of(carry, z_k)
        primals = (carry.y, carry.history)
        _, (new, out) = moved(*primals)

        def tangent(y: jax.Array, history: Any) -> Any:
            # the primal inside is not batched: computed once, shared
            return jax.jvp(lambda *x: moved(*x)[0], primals, (y, history))[1]

        phase = new.k - n_transient
        perturbed = []
        for f, p in zip(follows, state.perturbed, strict=True):
            if f.method == "jvp":
                vectors = jax.vmap(tangent)(*p.vectors)
            else:
                vectors = jax.vmap(lambda y, h: moved(y, h)[0])(*p.vectors)
            p = Perturbed(vectors, p.logs, p.renormalised)
            if f.every == 1:
                p = _renormalise(f, p, new, phase > 0)
            else:
                p = jax.lax.cond(
                    phase % f.every == 0,
                    lambda p, f=f: _renormalise(f, p, new, phase > 0),
                    lambda p: p,
                    p,
                )
            perturbed.append(p)
        return FollowedCarry(new, tuple(perturbed)), out

    start = tuple(_start(carry0, f) for f in follows)
    return wrapped, FollowedCarry(carry0, start)


def exponents(perturbed: Perturbed, every: int, dt: float) -> jax.Array:
    """``[size, p]`` the exponents (per unit of ``dt``), largest first:
    the mean growth rate over the renormalisations counted (NaN with none)."""
    time = perturbed.renormalised * (every * dt)
    rates = perturbed.logs / jnp.where(time > 0, time, jnp.nan)
    return -jnp.sort(-rates, axis=-1)
