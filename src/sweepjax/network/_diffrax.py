"""Diffrax: integrate a network with any Diffrax solver (ODEs and SDEs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._config import Config
from sweepjax.network._body import noise_samples
from sweepjax.network._layout import initial_state_of
from sweepjax.network._monitors import Raw, SubSample
from sweepjax.network._network import Network
from sweepjax.network._rhs import make_drive, make_rhs
from sweepjax.network._solution import Plan, Solution, SolveFn
from sweepjax.network._solvers import AbstractSolver

if TYPE_CHECKING:
    import diffrax as dfx


class Diffrax(AbstractSolver):
    """Use a Diffrax solver instead of the native fixed-step scan.

    Args:
        solver: a Diffrax solver, e.g. ``diffrax.Tsit5()`` (ODEs) or
            ``diffrax.Heun()`` / ``diffrax.ShARK()`` (SDEs).
        stepsize_controller: default ``diffrax.ConstantStepSize()``; e.g.
            ``diffrax.PIDController(rtol=1e-6, atol=1e-8)`` for adaptive steps.
        dt0: initial step; default the ``dt`` given to ``prepare``.
        max_steps: default ``max(4096, 4 * n_steps)``.
        brownian_tol: tolerance of the ``VirtualBrownianTree`` (default
            ``dt / 2``).

    With noise, the Brownian motion is a ``diffrax.VirtualBrownianTree`` keyed
    by ``config.noise.key`` whose increments are scaled by the noise's
    diffusion (``sigma``, or ``sigma * (a*x + b)`` for multiplicative noise)
    on the noisy states, so a swept key still runs replicates with one
    compilation. An adaptive solver has no steps to clamp between: the
    vector field sees states clamped into the dynamics' ``state_bounds`` and
    the saved states are clamped, and a stimulus takes the value of the
    ``dt``-step that holds each evaluation time. Not supported (a
    ``ValueError`` says so): delayed couplings, observers and ``TemporalAverage``
    (at ``prepare``), ``config.noise_samples`` (at the solve); use the
    native solvers for those. ``unroll`` is ignored.

    >>> import diffrax
    >>> solver = Diffrax(diffrax.Tsit5())
    """

    solver: dfx.AbstractSolver
    stepsize_controller: dfx.AbstractStepSizeController
    dt0: float | None
    max_steps: int | None
    brownian_tol: float | None

    #: It records Raw and SubSample only, runs no observers, and takes no
    #: delayed couplings (:meth:`AbstractSolver.check_plan`).
    observes: ClassVar[bool] = False
    records: ClassVar[tuple[type, ...]] = (Raw, SubSample)
    delays: ClassVar[bool] = False
    continues: ClassVar[bool] = False

    def __init__(
        self,
        solver: dfx.AbstractSolver,
        stepsize_controller: dfx.AbstractStepSizeController | None = None,
        dt0: float | None = None,
        max_steps: int | None = None,
        brownian_tol: float | None = None,
    ):
        # Diffrax is heavy (~1.5 s to import); only this solver needs it.
        import diffrax as dfx

        self.solver = solver
        self.stepsize_controller = stepsize_controller or dfx.ConstantStepSize()
        self.dt0 = dt0
        self.max_steps = max_steps
        self.brownian_tol = brownian_tol

    def __check_init__(self) -> None:
        import diffrax as dfx

        if not isinstance(self.solver, dfx.AbstractSolver):
            raise TypeError(
                f"solver must be a Diffrax solver such as diffrax.Tsit5(), got "
                f"{self.solver!r}."
            )

    def __repr__(self) -> str:
        # Not Equinox's repr (every field): stores fingerprint repr(solver).
        return f"Diffrax({self.solver!r}, {self.stepsize_controller!r})"

    def build(self, network: Network, plan: Plan) -> SolveFn:
        self.check_plan(network, plan)
        import diffrax as dfx

        t0, dt, n_steps, monitor = plan.t0, plan.dt, plan.n_steps, plan.monitor
        ts_host = plan.times()
        t_end = t0 + n_steps * dt
        dt0 = dt if self.dt0 is None else self.dt0
        max_steps = self.max_steps or max(4096, 4 * n_steps)
        tol = dt / 2 if self.brownian_tol is None else self.brownian_tol
        # On the dt grid every record is a step's end: save the steps
        # themselves. (SaveAt(ts) interpolates there, and Diffrax's default
        # adjoint then gives gradients off by ~1e-3; saving steps is exact.)
        on_grid = (
            isinstance(self.stepsize_controller, dfx.ConstantStepSize) and dt0 == dt
        )
        every = monitor.every
        if on_grid:
            saveat, max_steps = dfx.SaveAt(steps=True), n_steps
        else:
            saveat = dfx.SaveAt(ts=jnp.asarray(ts_host))

        def solve(config: Config) -> Solution:
            y0 = initial_state_of(network, config)
            rhs = make_rhs(network, config)
            drive = make_drive(network, config, n_steps)

            def field(t, y, args):
                if drive is None:
                    return rhs(t, y, {})
                k = jnp.clip(jnp.floor((t - t0) / dt), 0, n_steps - 1)
                return rhs(t, y, {}, drive(t0 + k * dt, k.astype(jnp.int32)))

            terms: dfx.AbstractTerm = dfx.ODETerm(field)
            if network.noise is not None:
                noise = _diffusion(network, config, plan, tol, y0)
                terms = dfx.MultiTerm(terms, noise)
            sol = dfx.diffeqsolve(
                terms,
                self.solver,
                t0,
                t_end,
                dt0,
                y0,
                saveat=saveat,
                stepsize_controller=self.stepsize_controller,
                max_steps=max_steps,
            )
            ys = sol.ys[every - 1 :: every] if on_grid else sol.ys
            ts = jnp.asarray(ts_host, y0.dtype)
            return Solution(ts, jax.vmap(network.dynamics.bound)(ys))

        return solve


def _diffusion(
    network: Network,
    config: Config,
    plan: Plan,
    tol: float,
    y0: jax.Array,
) -> dfx.ControlTerm:
    """``g(y) * dW`` on the noisy states (``g`` the noise's diffusion), ``dW``
    from a Brownian tree keyed by ``config.noise.key``, ``[n_states,
    n_nodes]``."""
    if noise_samples(network, config, plan.n_steps) is not None:
        raise ValueError(
            "config.noise_samples is not used by Diffrax, which "
            "draws a VirtualBrownianTree from config.noise.key; set it to "
            "None or use a native solver."
        )
    import diffrax as dfx
    import lineax as lx

    index = np.asarray(network.noise_index)
    t_end = plan.t0 + plan.n_steps * plan.dt
    brownian = dfx.VirtualBrownianTree(
        plan.t0, t_end, tol=tol, shape=y0.shape, key=config.noise.key
    )

    def diagonal(t, y, args):
        g = network.noise.diffusion(config.noise, y[index])
        g = jnp.broadcast_to(jnp.asarray(g, y.dtype), (len(index), y.shape[1]))
        return lx.DiagonalLinearOperator(jnp.zeros_like(y).at[index].set(g))

    return dfx.ControlTerm(diagonal, brownian)
