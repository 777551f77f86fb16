"""Stimuli: external inputs added to chosen states of chosen nodes.

A stimulus adds ``weights[i] * s(t_k)`` to the derivative of its states on
node ``i`` during step ``k`` (``t_k = t0 + k*dt``, the step's start),
held for every stage of the step as The Virtual Brain's region stimuli
are: a Heun step gains ``dt * s(t_k)`` exactly. Its numbers are config
leaves under ``config.stimulus.<name>``, so amplitudes, onsets and
frequencies take sweep axes. Times are in ms and frequencies in kHz (1/ms),
as in TVB's equations.
"""

import abc
import functools
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from equinox import AbstractVar

from sweepjax._config import Config
from sweepjax.network._checks import Allowed
from sweepjax.network._component import AbstractComponent, leaf
from sweepjax.network._dynamics import as_state_names

#: Any number: finite.
FINITE = Allowed()
#: A duration or a rate: finite, >= 0.
NON_NEGATIVE = Allowed(minimum=0.0)

_as_states = functools.partial(as_state_names, argument="states")


class AbstractStimulus(AbstractComponent):
    """An input ``weights * s(t)`` on the derivative of ``states``.

    ``states`` names the stimulated state variables; ``weights`` is the
    spatial pattern, a scalar or one value per node (0 leaves a node
    unstimulated). Subclasses declare their parameters as :func:`leaf`
    fields (finite, or as their rule says) and ``weights`` last,
    and write ``value(params, t, k)``: ``s`` at time ``t`` of step ``k``, a
    scalar or ``[n_nodes]``, and ``check_steps``.

    >>> pulses = PulseTrain("S", onset=100.0, T=50.0, tau=5.0, amp=0.2)
    >>> isinstance(pulses, AbstractStimulus)
    True
    """

    states: tuple[str, ...] = eqx.field(converter=_as_states)
    weights: AbstractVar[Any]

    @abc.abstractmethod
    def check_steps(self, params: Config, n_steps: int, path: str) -> None:
        """Raise ``ValueError`` if this stimulus cannot cover a solve of
        ``n_steps`` steps (``path`` names its config leaves)."""

    @abc.abstractmethod
    def value(self, params: Config, t: jax.Array, k: jax.Array) -> jax.Array:
        """``s(t)`` at the start ``t`` of step ``k``: a scalar or ``[n_nodes]``."""

    def __call__(self, params: Config, t: jax.Array, k: jax.Array) -> jax.Array:
        """The input ``[n_nodes]`` (or a scalar) of step ``k``."""
        return params.weights * self.value(params, t, k)


class _AbstractEquation(AbstractStimulus):
    """A stimulus given by an equation of time: it covers any solve."""

    def check_steps(self, params: Config, n_steps: int, path: str) -> None:
        """Nothing to check: ``s`` is defined at every time."""


class PulseTrain(_AbstractEquation):
    """TVB's ``PulseTrain``: ``amp`` while ``t > onset`` and
    ``(t - onset) mod T < tau``, else 0 (pulses of ``tau`` ms every ``T`` ms;
    ``T`` and ``tau`` finite and >= 0, the others finite).

    >>> stimulus = PulseTrain("S", onset=100.0, T=50.0, tau=5.0, amp=0.2)
    """

    onset: Any = leaf(30.0, allowed=FINITE)
    T: Any = leaf(42.0, allowed=NON_NEGATIVE)
    tau: Any = leaf(13.0, allowed=NON_NEGATIVE)
    amp: Any = leaf(1.0, allowed=FINITE)
    weights: Any = leaf(1.0, allowed=FINITE)

    def value(self, params: Config, t: jax.Array, k: jax.Array) -> jax.Array:
        p = params
        on = (t > p.onset) & (jnp.mod(t - p.onset, p.T) < p.tau)
        return jnp.where(on, p.amp, 0.0)


class Sinusoid(_AbstractEquation):
    """TVB's ``Sinusoid`` from ``onset``: ``amp * sin(2 pi frequency
    (t - onset))`` for ``t >= onset``, else 0 (``frequency`` in kHz;
    ``onset = 0`` is TVB's equation).

    >>> stimulus = Sinusoid("x", amp=0.5, frequency=0.04)   # 40 Hz
    """

    amp: Any = leaf(1.0, allowed=FINITE)
    frequency: Any = leaf(0.01, allowed=FINITE)
    onset: Any = leaf(0.0, allowed=FINITE)
    weights: Any = leaf(1.0, allowed=FINITE)

    def value(self, params: Config, t: jax.Array, k: jax.Array) -> jax.Array:
        phase = 2.0 * jnp.pi * params.frequency * (t - params.onset)
        return jnp.where(t >= params.onset, params.amp * jnp.sin(phase), 0.0)


class DataStimulus(AbstractStimulus):
    """A recorded input: ``data[k]`` during step ``k``, one row per step of
    ``dt`` from ``t0``. ``data`` is ``[n_steps]`` (the same on every node,
    times ``weights``) or ``[n_steps, n_nodes]``; it must have a row for
    every step of the solve.

    >>> stimulus = DataStimulus("x", data=np.sin(np.arange(1000) * 0.01))
    """

    data: Any = leaf(allowed=FINITE)
    weights: Any = leaf(1.0, allowed=FINITE)

    def check_steps(self, params: Config, n_steps: int, path: str) -> None:
        rows = jnp.shape(params.data)[0]
        if rows < n_steps:
            raise ValueError(
                f"{path}.data has {rows} rows but the solve takes {n_steps} "
                "steps; expected one row per step of dt."
            )

    def value(self, params: Config, t: jax.Array, k: jax.Array) -> jax.Array:
        return params.data[k]


class Constant(_AbstractEquation):
    """A constant input ``amp`` at every time (TVB-Optim's ``ConstantInput``).

    >>> stimulus = Constant("x", amp=0.5)
    """

    amp: Any = leaf(1.0, allowed=FINITE)
    weights: Any = leaf(1.0, allowed=FINITE)

    def value(self, params: Config, t: jax.Array, k: jax.Array) -> jax.Array:
        return params.amp + 0.0 * t


class Step(_AbstractEquation):
    """A step, or with a finite ``duration`` one rectangular pulse: ``amp``
    while ``onset <= t < onset + duration``, else 0 (TVB-Optim's
    ``PulseInput``; the default ``duration`` never ends).

    >>> stimulus = Step("x", onset=100.0, amp=0.2)
    """

    onset: Any = leaf(0.0, allowed=FINITE)
    amp: Any = leaf(1.0, allowed=FINITE)
    duration: Any = leaf(float(np.finfo(np.float32).max), allowed=NON_NEGATIVE)
    weights: Any = leaf(1.0, allowed=FINITE)

    def value(self, params: Config, t: jax.Array, k: jax.Array) -> jax.Array:
        p = params
        on = (t >= p.onset) & (t - p.onset < p.duration)
        return jnp.where(on, p.amp, 0.0)


class Ramp(_AbstractEquation):
    """A linear ramp from 0 at ``onset`` to ``amp`` at ``onset + duration``,
    then ``amp`` (TVB-Optim's ``RampInput`` from ``t_start = onset`` to
    ``t_end = onset + duration``; ``duration`` > 0).

    >>> stimulus = Ramp("x", onset=50.0, duration=100.0, amp=1.0)
    """

    onset: Any = leaf(0.0, allowed=FINITE)
    duration: Any = leaf(10.0, allowed=NON_NEGATIVE)
    amp: Any = leaf(1.0, allowed=FINITE)
    weights: Any = leaf(1.0, allowed=FINITE)

    def value(self, params: Config, t: jax.Array, k: jax.Array) -> jax.Array:
        p = params
        return jnp.clip((t - p.onset) / p.duration, 0.0, 1.0) * p.amp
