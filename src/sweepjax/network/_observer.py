"""The observer interface: what the loop asks of a summary of a run, and
the checks every observer shares (one state by name, durations in ms)."""

from __future__ import annotations

import abc
import math
from typing import Any, ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from sweepjax.network._network import Network


class Timing(NamedTuple):
    """The run an observer is bound to (:meth:`AbstractObserver.bind`)."""

    dt: float  # the step, ms
    n_steps: int  # the observed steps (after the transient)


class AbstractObserver(eqx.Module):
    """Folds the observed states of each step into a summary.

    ``states`` names the state variables it watches: one name gives ``x``
    ``[n_nodes]`` per step, a tuple ``[len(states), n_nodes]``. The loop calls
    ``init(x)`` once (``x`` is a template), ``update(acc, x, count)`` after
    each step past the transient (``count``: states folded so far, this one
    included) and ``finalize(acc, count)`` at the end. ``prepare`` first
    calls ``bind(dt, n_steps)`` with the step (ms) and the number of
    observed steps; an observer whose accumulator depends on them returns a
    new one, bound to that ``timing``. Observers are Equinox Modules:
    immutable, equal by value.
    Observers with ``warms = True`` also see the transient, through
    ``warm(acc, x)``: state that the summary depends on but must not record
    (BOLD's hemodynamics) settles there instead of in the observed time.
    Every class is abstract or final, and overrides only abstract methods:
    :class:`AbstractUnboundObserver` and :class:`AbstractStepObserver`
    implement ``bind``/``warm`` and ``update_block`` for the common cases.

    >>> isinstance(Mean("S"), AbstractObserver)
    True
    """

    # ``states``, the state variables watched (None: every one, as monitors
    # do), is each subclass's field or property: not declared here, where it
    # would be a field that a property cannot replace.
    warms: ClassVar[bool] = False
    #: The sampling period (ms) of the series this observer makes (None: it
    #: makes none); what :class:`FC`, :class:`FCD` and :class:`Power` of it
    #: need.
    period_ms: ClassVar[float | None] = None
    #: The run it is bound to (None until ``bind``, for those that need it).
    timing: ClassVar[Timing | None] = None
    _n_samples: ClassVar[int] = 0

    @property
    def n_samples(self) -> int:
        """The samples of the series it makes, once bound (0: none)."""
        return self._n_samples

    @abc.abstractmethod
    def bind(self, dt: float, n_steps: int) -> AbstractObserver:
        """This observer for ``n_steps`` observed steps of ``dt`` ms: itself,
        unless it needs to know them, then a new observer made by its
        constructor with ``timing=Timing(dt, n_steps)`` (observers are never
        changed once made)."""

    def index(self, network: Network) -> Any:
        """Where ``states`` sit in a state ``[n_states, n_nodes]``: an int for
        one name, a tuple of ints for several (clear error if unknown), every
        state variable for ``states=None``."""
        if self.states is None:
            return tuple(range(network.dynamics.n_states))
        found = network.dynamics.state_index(self.states)
        return found[0] if isinstance(self.states, str) else found

    @abc.abstractmethod
    def init(self, x: jax.Array) -> Any:
        """The empty accumulator, shaped after the template ``x``."""

    @abc.abstractmethod
    def update(self, acc: Any, x: jax.Array, count: jax.Array) -> Any:
        """Fold one more observed state into ``acc``."""

    @abc.abstractmethod
    def finalize(self, acc: Any, count: jax.Array) -> Any:
        """The summary, from the accumulator of ``count`` states."""

    @abc.abstractmethod
    def warm(self, acc: Any, x: jax.Array) -> Any:
        """A step of the transient (called only when ``warms``)."""

    @abc.abstractmethod
    def update_block(self, acc: Any, xs: jax.Array, count: jax.Array) -> Any:
        """Fold the states ``xs`` ``[rows, ...]`` of consecutive steps;
        ``count`` states were folded before them."""

    def warm_block(self, acc: Any, xs: jax.Array) -> Any:
        """``warm`` for each of the states ``xs`` of consecutive steps."""
        return jax.lax.scan(lambda acc, x: (self.warm(acc, x), None), acc, xs)[0]

    def __repr__(self) -> str:
        # Not Equinox's repr: stores fingerprint repr(observer), spelled so.
        return f"{type(self).__name__}({self.states!r})"


class AbstractUnboundObserver(AbstractObserver):
    """An observer that needs neither the run's timing nor the transient:
    ``bind`` returns it as it is."""

    def bind(self, dt: float, n_steps: int) -> AbstractObserver:
        return self

    def warm(self, acc: Any, x: jax.Array) -> Any:
        return acc


class AbstractFoldless(AbstractObserver):
    """An observer that folds nothing into an accumulator (a recorded series,
    an exponent carried by the step): the fold methods are no-ops."""

    def init(self, x: jax.Array) -> Any:
        return ()

    def update(self, acc: Any, x: jax.Array, count: jax.Array) -> Any:
        return acc

    def update_block(self, acc: Any, xs: jax.Array, count: jax.Array) -> Any:
        return acc

    def warm(self, acc: Any, x: jax.Array) -> Any:
        return acc

    def finalize(self, acc: Any, count: jax.Array) -> Any:
        return acc


class AbstractStepObserver(AbstractObserver):
    """An observer that folds one step at a time: a block is one ``update``
    per row (a forward run calls ``update`` inside its loop of steps)."""

    def update_block(self, acc: Any, xs: jax.Array, count: jax.Array) -> Any:
        def one(acc: Any, item: tuple[jax.Array, jax.Array]) -> tuple[Any, None]:
            i, x = item
            return self.update(acc, x, count + i), None

        rows = jnp.arange(1, xs.shape[0] + 1, dtype=count.dtype)
        return jax.lax.scan(one, acc, (rows, xs))[0]


def one_state(observer: str, state: Any) -> str:
    if not isinstance(state, str):
        raise TypeError(
            f"{observer} observes one state variable by name, got {state!r}; "
            f"e.g. {observer}('S')."
        )
    return state


def check_ms(name: str, value: Any, zero: bool = False) -> float:
    """``value``, a duration in ms, as a float: a finite number > 0 (>= 0
    with ``zero``), else an error naming ``name`` (every duration of an
    observer and the transient go through here)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise TypeError(f"{name} must be a number of ms, got {value!r}.")
    if not math.isfinite(value) or not (value >= 0 if zero else value > 0):
        bound = ">= 0" if zero else "> 0"
        raise ValueError(f"{name} must be {bound} ms and finite, got {name}={value}.")
    return float(value)


def steps_of(what: str, ms: float, dt: float) -> int:
    """``ms`` (checked by :func:`check_ms`) as a whole number of steps of
    ``dt`` ms, else a ValueError naming ``what``."""
    steps = ms / dt
    n = round(steps)
    if abs(steps - n) > 1e-6 * max(1.0, steps):
        raise ValueError(
            f"{what} must be a whole number of steps of dt={dt} ms, got {ms} ms "
            f"({steps:g} steps)."
        )
    return n


def sampling(
    observer: str, period: str, period_ms: float, dt: float, n_steps: int
) -> tuple[int, int]:
    """``(steps per sample, samples)`` of a series sampled every ``period_ms``
    over ``n_steps`` observed steps of ``dt`` (clear error for no sample)."""
    every = steps_of(f"{observer}'s {period}", period_ms, dt)
    if not n_steps // every:
        raise ValueError(
            f"{observer}({period}={period_ms}) needs at least one "
            f"{'TR' if period == 'tr_ms' else 'period'} of observed time; the "
            f"run observes {n_steps * dt} ms."
        )
    return every, n_steps // every
