"""Solvers: each builds the solve function that ``prepare`` jits.

:class:`AbstractSolver` is the one interface ``prepare`` knows. The native
fixed-step schemes share :class:`AbstractFixedStepSolver`, whose ``build``
runs the scheme's ``step`` in the one loop (see ``_integrate.py``); a new
scheme is one small subclass that writes ``step``.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax

from sweepjax._tree import check_positive_int
from sweepjax.network._body import Derivative
from sweepjax.network._integrate import integrate
from sweepjax.network._monitors import AbstractMonitor
from sweepjax.network._network import Network
from sweepjax.network._solution import Plan, SolveFn


class AbstractSolver(eqx.Module):
    """How a network is integrated: ``build(network, plan)`` returns
    ``solve(config)``.

    ``build`` is called once by ``prepare`` with a validated :class:`Plan`
    (``n_steps`` steps of ``dt`` from ``t0``, what to save); it returns a
    pure function ``solve(config) -> Solution``, which ``prepare`` jits.
    What a solver supports is in its type: ``observes`` (runs observers),
    ``records`` (the recorded series it can make ``ys`` of) and ``delays``
    (delayed couplings); :meth:`check_plan` turns the rest into a
    ``ValueError`` at ``prepare``. Solvers are Equinox Modules: immutable,
    equal by value.

    >>> solve = Heun().build(network, Plan.recording(0.0, 0.1, 50))
    """

    #: Whether it runs observers (``prepare(observe=...)``).
    observes: ClassVar[bool] = True
    #: The recorded series (monitors) it can save as ``ys``.
    records: ClassVar[tuple[type[AbstractMonitor], ...]] = (AbstractMonitor,)
    #: Whether it integrates delayed couplings.
    delays: ClassVar[bool] = True
    #: Whether it continues runs (``final_state=True``, ``config.start``).
    continues: ClassVar[bool] = True

    @abc.abstractmethod
    def build(self, network: Network, plan: Plan) -> SolveFn:
        """The solve function of ``network`` that runs ``plan``."""

    def check_plan(self, network: Network, plan: Plan) -> None:
        """A ``ValueError`` naming what of ``network`` or ``plan`` this
        solver does not support (its ``observes``, ``records``, ``delays``)."""
        name = type(self).__name__
        natives = "use Euler(), Heun() or RK4()"
        observers = plan.observation.observers
        if not self.observes and set(observers) != {plan.record}:
            raise ValueError(
                f"{name} does not run observers (observe=...); {natives}, or "
                f"compute the summaries from {name}'s ys."
            )
        delayed = [k for k, c in network.coupling.items() if c.delayed]
        if delayed and not self.delays:
            raise ValueError(
                f"{name} does not support delayed couplings ({delayed}); {natives}."
            )
        if plan.final and not self.continues:
            raise ValueError(
                f"{name} does not hand back a final state (final_state=True); "
                f"{natives}."
            )
        monitor = plan.monitor
        if monitor is not None and not isinstance(monitor, self.records):
            kinds = " and ".join(kind.__name__ for kind in self.records)
            raise ValueError(
                f"{name} supports the {kinds} monitors, got {monitor!r}; "
                f"{natives} for other monitors."
            )


class AbstractFixedStepSolver(AbstractSolver):
    """A fixed-step scheme: ``step(f, t, y, dt, dW) -> y_next``.

    ``f(t, y)`` is the full right-hand side (instantaneous coupling included,
    delayed coupling already held fixed for the step), ``y`` is
    ``[n_states, n_nodes]`` and ``dW`` the additive noise increment of the step
    (same shape) or None for a deterministic run. ``order`` is the
    deterministic convergence order. Supports delays, every observer and monitor and
    ``config.noise_samples``; ``unroll`` sets the scan's unrolling.

    ``checkpoint=True`` (the default) runs the steps of a derivative in
    blocks under ``jax.checkpoint`` (a forward run is one plain loop either
    way, with the same numbers): a gradient keeps
    one state per block and recomputes the steps inside (memory about
    ``sqrt(n_steps)`` steps' worth instead of ``n_steps``), so long, noisy
    and delayed runs differentiate in bounded memory. ``False`` keeps every
    step's residuals (faster gradients of short runs).

    ``grad_horizon=W`` (steps) truncates derivatives to windows of ``W``
    steps (truncated backpropagation through time, TVB-Optim's
    ``grad_horizon``): finite where the exact gradient of a long run near a
    bifurcation explodes, exact when ``W`` covers the run; the forward run
    is unchanged.

    ``recompute_coupling_per_stage=False`` evaluates the instantaneous
    couplings once per step, at its start, and holds them for every stage,
    as delayed couplings always are (The Virtual Brain's convention and
    TVB-Optim's default); the default re-evaluates them at each stage,
    which keeps a scheme's order for fast coupling.

    ``stage_time_centroid`` (``sum_i b_i * c_i`` of the scheme: 0 for Euler,
    1/2 for Heun and RK4) is where in a step the scheme evaluates its drift
    on average: a delayed coupling, held over the step, is read that much
    later on a graph with ``interpolation="linear"`` (TVB-Optim's stage-time
    shift, :mod:`._interpolated`). A scheme that leaves it at 0 reads the
    history at the step's start.

    >>> class Midpoint(AbstractFixedStepSolver):
    ...     order = 2
    ...     stage_time_centroid = 0.5  # b = (0, 1), c = (0, 1/2)
    ...     def step(self, f, t, y, dt, dW):
    ...         y_half = y + 0.5 * dt * f(t, y)
    ...         y_next = y + dt * f(t + 0.5 * dt, y_half)
    ...         return y_next if dW is None else y_next + dW
    """

    order: ClassVar[int]
    stage_time_centroid: ClassVar[float] = 0.0
    checkpoint: bool = True
    grad_horizon: int | None = None
    recompute_coupling_per_stage: bool = True

    def __check_init__(self) -> None:
        if not isinstance(self.checkpoint, bool):
            raise TypeError(
                f"checkpoint must be True or False, got {self.checkpoint!r}."
            )
        if self.grad_horizon is not None:
            check_positive_int("grad_horizon", self.grad_horizon)
        if not isinstance(self.recompute_coupling_per_stage, bool):
            raise TypeError(
                "recompute_coupling_per_stage must be True or False, got "
                f"{self.recompute_coupling_per_stage!r}."
            )

    @abc.abstractmethod
    def step(
        self, f: Derivative, t: jax.Array, y: jax.Array, dt: float, dW: jax.Array | None
    ) -> jax.Array:
        """Advance ``y`` from ``t`` to ``t + dt``."""

    def build(self, network: Network, plan: Plan) -> SolveFn:
        self.check_plan(network, plan)
        return integrate(
            network,
            self.step,
            plan,
            self.checkpoint,
            self.grad_horizon,
            self.recompute_coupling_per_stage,
            self.stage_time_centroid,
        )

    def __repr__(self) -> str:
        # Not Equinox's repr (``Heun(checkpoint=True)``): stores fingerprint
        # ``repr(solver)``, and the default spelled ``Heun()`` stays so.
        flags = [] if self.checkpoint else ["checkpoint=False"]
        if self.grad_horizon is not None:
            flags.append(f"grad_horizon={self.grad_horizon}")
        if not self.recompute_coupling_per_stage:
            flags.append("recompute_coupling_per_stage=False")
        return f"{type(self).__name__}({', '.join(flags)})"


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
    stage_time_centroid = 0.5  # b = (1/2, 1/2), c = (0, 1)

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
    stage_time_centroid = 0.5  # b = (1, 2, 2, 1) / 6, c = (0, 1/2, 1/2, 1)

    def step(self, f, t, y, dt, dW):
        half = 0.5 * dt
        k1 = f(t, y)
        k2 = f(t + half, y + half * k1)
        k3 = f(t + half, y + half * k2)
        k4 = f(t + dt, y + dt * k3)
        return _add(y + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4), dW)
