"""Solvers: each builds the solve function that ``prepare`` jits.

:class:`AbstractSolver` is the one interface ``prepare`` knows. The native
fixed-step schemes share :class:`AbstractFixedStepSolver`, whose ``build``
runs the scheme's ``step`` in one ``lax.scan`` (see ``_integrate.py``); a new
scheme is one small subclass that writes ``step``.
"""

from __future__ import annotations

import abc

import jax

from sweepjax.network._integrate import Derivative, integrate
from sweepjax.network._monitors import AbstractMonitor
from sweepjax.network._network import Network
from sweepjax.network._observers import Observation
from sweepjax.network._solution import SolveFn


class AbstractSolver(abc.ABC):
    """How a network is integrated: ``build(...)`` returns ``solve(config)``.

    ``build(network, t0, dt, n_steps, monitor, unroll)`` is called once by
    ``prepare`` with a validated time grid (``n_steps`` steps of ``dt`` from
    ``t0``, a multiple of ``monitor.every``); it rejects what the solver does
    not support with a ``ValueError`` and returns a pure function
    ``solve(config) -> Solution`` with ``ys``
    ``[n_steps // monitor.every, n_states, n_nodes]``, which ``prepare`` jits.

    >>> solve = Heun().build(network, 0.0, 0.1, 50, Raw(), unroll=1)
    """

    @abc.abstractmethod
    def build(
        self,
        network: Network,
        t0: float,
        dt: float,
        n_steps: int,
        monitor: AbstractMonitor,
        unroll: int,
        observation: Observation | None = None,
    ) -> SolveFn:
        """The solve function of ``network`` on this time grid (observing
        instead of recording when ``observation`` is given)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class AbstractFixedStepSolver(AbstractSolver):
    """A fixed-step scheme: ``step(f, t, y, dt, dW) -> y_next``.

    ``f(t, y)`` is the full right-hand side (instantaneous coupling included,
    delayed coupling already held fixed for the step), ``y`` is
    ``[n_states, n_nodes]`` and ``dW`` the additive noise increment of the step
    (same shape) or None for a deterministic run. ``order`` is the
    deterministic convergence order. Supports delays, every monitor and
    injected ``noise_samples``; ``unroll`` sets the scan's unrolling.

    ``checkpoint=True`` (the default) runs the steps of a derivative in
    blocks under ``jax.checkpoint`` (a forward run is one plain loop either
    way, with the same numbers): a gradient keeps
    one state per block and recomputes the steps inside (memory about
    ``sqrt(n_steps)`` steps' worth instead of ``n_steps``), so long, noisy
    and delayed runs differentiate in bounded memory. ``False`` keeps every
    step's residuals (faster gradients of short runs).

    >>> class Midpoint(AbstractFixedStepSolver):
    ...     order = 2
    ...     def step(self, f, t, y, dt, dW):
    ...         y_half = y + 0.5 * dt * f(t, y)
    ...         y_next = y + dt * f(t + 0.5 * dt, y_half)
    ...         return y_next if dW is None else y_next + dW
    """

    order: int

    def __init__(self, checkpoint: bool = True):
        if not isinstance(checkpoint, bool):
            raise TypeError(f"checkpoint must be True or False, got {checkpoint!r}.")
        self.checkpoint = checkpoint

    @abc.abstractmethod
    def step(
        self, f: Derivative, t: jax.Array, y: jax.Array, dt: float, dW: jax.Array | None
    ) -> jax.Array:
        """Advance ``y`` from ``t`` to ``t + dt``."""

    def build(
        self,
        network: Network,
        t0: float,
        dt: float,
        n_steps: int,
        monitor: AbstractMonitor,
        unroll: int,
        observation: Observation | None = None,
    ) -> SolveFn:
        return integrate(
            network,
            self.step,
            t0,
            dt,
            n_steps,
            monitor,
            unroll,
            observation,
            self.checkpoint,
        )

    def __repr__(self) -> str:
        flag = "" if self.checkpoint else "checkpoint=False"
        return f"{type(self).__name__}({flag})"


def _add(y: jax.Array, dW: jax.Array | None) -> jax.Array:
    return y if dW is None else y + dW


class Euler(AbstractFixedStepSolver):
    """Euler(-Maruyama): ``y' = y + dt*f(t, y) + dW``. Order 1.

    >>> solver = Euler()
    """

    order = 1

    def step(self, f, t, y, dt, dW):
        return _add(y + dt * f(t, y), dW)


class Heun(AbstractFixedStepSolver):
    """Heun's predictor-corrector, as The Virtual Brain's Heun integrators.

    ``k1 = f(t, y)``, ``y~ = y + dt*k1 + dW``, ``k2 = f(t + dt, y~)``,
    ``y' = y + dt/2*(k1 + k2) + dW``. Order 2 (deterministic).

    >>> solver = Heun()
    """

    order = 2

    def step(self, f, t, y, dt, dW):
        k1 = f(t, y)
        predictor = _add(y + dt * k1, dW)
        k2 = f(t + dt, predictor)
        return _add(y + 0.5 * dt * (k1 + k2), dW)


class RK4(AbstractFixedStepSolver):
    """Classic fourth-order Runge-Kutta; noise ``dW`` is added once per step.

    Order 4 for ODEs (the additive-noise variant is strong order 1).

    >>> solver = RK4()
    """

    order = 4

    def step(self, f, t, y, dt, dW):
        half = 0.5 * dt
        k1 = f(t, y)
        k2 = f(t + half, y + half * k1)
        k3 = f(t + half, y + half * k2)
        k4 = f(t + dt, y + dt * k3)
        return _add(y + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4), dW)
