"""Stimuli: external inputs added to chosen states of chosen nodes.

A stimulus adds ``weights[i] * s(t_k)`` to the derivative of its states on
node ``i`` during step ``k`` (``t_k = t0 + k*dt``, the step's start),
held for every stage of the step as The Virtual Brain's region stimuli
are: a Heun step gains ``dt * s(t_k)`` exactly. Its numbers are config
leaves under ``config.stimulus.<name>``, so amplitudes, onsets and
frequencies take sweep axes. Times are in ms and frequencies in kHz (1/ms),
as in TVB's equations.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from sweepjax._config import Config
from sweepjax.network._checks import Allowed
from sweepjax.network._dynamics import as_state_names

#: Any number: finite.
FINITE = Allowed()
#: A duration or a rate: finite, >= 0.
NON_NEGATIVE = Allowed(minimum=0.0)


class AbstractStimulus(abc.ABC):
    """An input ``weights * s(t)`` on the derivative of ``states``.

    ``states`` names the stimulated state variables; ``weights`` is the
    spatial pattern, a scalar or one value per node (0 leaves a node
    unstimulated). Subclasses set their parameters, list them in
    ``parameter_names`` (checked against ``allowed()``) and write
    ``value(params, t, k)``: ``s`` at time ``t`` of step ``k``, a scalar or
    ``[n_nodes]``.
    """

    parameter_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, states: str | tuple[str, ...], weights: Any = 1.0):
        self.states = as_state_names(states, "states")
        self.weights = weights
        rules = self.allowed()
        for name, value in self.parameters().items():
            rules[name].check(name, value)

    def parameters(self) -> dict[str, Any]:
        """``{name: value}`` of the leaves under ``config.stimulus.<name>``."""
        values = {name: getattr(self, name) for name in self.parameter_names}
        return {**values, "weights": self.weights}

    def allowed(self) -> dict[str, Allowed]:
        """``{name: rule}`` for the leaves: finite by default."""
        return dict.fromkeys(self.parameters(), FINITE)

    def check_steps(self, params: Config, n_steps: int, path: str) -> None:
        """Raise ``ValueError`` if this stimulus cannot cover a solve of
        ``n_steps`` steps (``path`` names its config leaves)."""

    @abc.abstractmethod
    def value(self, params: Config, t: jax.Array, k: jax.Array) -> jax.Array:
        """``s(t)`` at the start ``t`` of step ``k``: a scalar or ``[n_nodes]``."""

    def __call__(self, params: Config, t: jax.Array, k: jax.Array) -> jax.Array:
        """The input ``[n_nodes]`` (or a scalar) of step ``k``."""
        return params.weights * self.value(params, t, k)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.parameters().items())
        return f"{type(self).__name__}(states={self.states!r}, {inner})"


class PulseTrain(AbstractStimulus):
    """TVB's ``PulseTrain``: ``amp`` while ``t > onset`` and
    ``(t - onset) mod T < tau``, else 0 (pulses of ``tau`` ms every ``T`` ms).

    >>> stimulus = PulseTrain("S", onset=100.0, T=50.0, tau=5.0, amp=0.2)
    """

    parameter_names = ("onset", "T", "tau", "amp")

    def __init__(
        self,
        states: str | tuple[str, ...],
        onset: Any = 30.0,
        T: Any = 42.0,
        tau: Any = 13.0,
        amp: Any = 1.0,
        weights: Any = 1.0,
    ):
        self.onset, self.T, self.tau, self.amp = onset, T, tau, amp
        super().__init__(states, weights)

    def allowed(self) -> dict[str, Allowed]:
        """``T`` and ``tau``: finite, >= 0; the others finite."""
        return {**super().allowed(), "T": NON_NEGATIVE, "tau": NON_NEGATIVE}

    def value(self, params: Config, t: jax.Array, k: jax.Array) -> jax.Array:
        p = params
        on = (t > p.onset) & (jnp.mod(t - p.onset, p.T) < p.tau)
        return jnp.where(on, p.amp, 0.0)


class Sinusoid(AbstractStimulus):
    """TVB's ``Sinusoid`` from ``onset``: ``amp * sin(2 pi frequency
    (t - onset))`` for ``t >= onset``, else 0 (``frequency`` in kHz;
    ``onset = 0`` is TVB's equation).

    >>> stimulus = Sinusoid("x", amp=0.5, frequency=0.04)   # 40 Hz
    """

    parameter_names = ("amp", "frequency", "onset")

    def __init__(
        self,
        states: str | tuple[str, ...],
        amp: Any = 1.0,
        frequency: Any = 0.01,
        onset: Any = 0.0,
        weights: Any = 1.0,
    ):
        self.amp, self.frequency, self.onset = amp, frequency, onset
        super().__init__(states, weights)

    def value(self, params: Config, t: jax.Array, k: jax.Array) -> jax.Array:
        p = params
        wave = p.amp * jnp.sin(2.0 * jnp.pi * p.frequency * (t - p.onset))
        return jnp.where(t >= p.onset, wave, 0.0)


class DataStimulus(AbstractStimulus):
    """A recorded input: ``data[k]`` during step ``k``, one row per step of
    ``dt`` from ``t0``. ``data`` is ``[n_steps]`` (the same on every node,
    times ``weights``) or ``[n_steps, n_nodes]``; it must have a row for
    every step of the solve.

    >>> stimulus = DataStimulus("x", data=np.sin(np.arange(1000) * 0.01))
    """

    parameter_names = ("data",)

    def __init__(self, states: str | tuple[str, ...], data: Any, weights: Any = 1.0):
        self.data = data
        super().__init__(states, weights)

    def check_steps(self, params: Config, n_steps: int, path: str) -> None:
        rows = jnp.shape(params.data)[0]
        if rows < n_steps:
            raise ValueError(
                f"{path}.data has {rows} rows but the solve takes {n_steps} "
                "steps; expected one row per step of dt."
            )

    def value(self, params: Config, t: jax.Array, k: jax.Array) -> jax.Array:
        return params.data[k]

    def __repr__(self) -> str:
        shape = jnp.shape(self.data)
        return f"DataStimulus(states={self.states!r}, data=<{shape}>)"
