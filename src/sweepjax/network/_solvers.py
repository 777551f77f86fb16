"""Fixed-step solvers, each one step of a single ``lax.scan``."""

from __future__ import annotations

import abc
from collections.abc import Callable

import jax

Derivative = Callable[[jax.Array, jax.Array], jax.Array]


class AbstractSolver(abc.ABC):
    """A fixed-step scheme: ``step(f, t, y, dt, dW) -> y_next``.

    ``f(t, y)`` is the full right-hand side (instantaneous coupling included,
    delayed coupling already held fixed for the step), ``y`` is
    ``[n_states, n_nodes]`` and ``dW`` the additive noise increment of the step
    (same shape) or None for a deterministic run. ``order`` is the
    deterministic convergence order. A new scheme is one small subclass.
    """

    order: int

    @abc.abstractmethod
    def step(
        self, f: Derivative, t: jax.Array, y: jax.Array, dt: float, dW: jax.Array | None
    ) -> jax.Array:
        """Advance ``y`` from ``t`` to ``t + dt``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _add(y: jax.Array, dW: jax.Array | None) -> jax.Array:
    return y if dW is None else y + dW


class Euler(AbstractSolver):
    """Euler(-Maruyama): ``y' = y + dt*f(t, y) + dW``. Order 1.

    >>> solver = Euler()
    """

    order = 1

    def step(self, f, t, y, dt, dW):
        return _add(y + dt * f(t, y), dW)


class Heun(AbstractSolver):
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


class RK4(AbstractSolver):
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
