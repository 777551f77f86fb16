"""Diffrax: integrate a network with any Diffrax solver (ODEs and SDEs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import diffrax as dfx
import jax.numpy as jnp
import lineax as lx

from sweepjax._config import Config
from sweepjax.network._monitors import AbstractMonitor, Raw, SubSample
from sweepjax.network._network import Network
from sweepjax.network._rhs import make_rhs


class Diffrax:
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
    by ``config.noise.key`` whose increments are scaled by ``config.noise.sigma``
    on the noisy states, so a swept key still runs replicates with one
    compilation. Delayed couplings and ``TemporalAverage`` are not supported
    (use the native solvers); ``noise_samples`` injection neither.

    >>> import diffrax
    >>> solver = Diffrax(diffrax.Tsit5())
    """

    def __init__(
        self,
        solver: dfx.AbstractSolver,
        stepsize_controller: dfx.AbstractStepSizeController | None = None,
        dt0: float | None = None,
        max_steps: int | None = None,
        brownian_tol: float | None = None,
    ):
        if not isinstance(solver, dfx.AbstractSolver):
            raise TypeError(
                f"solver must be a Diffrax solver such as diffrax.Tsit5(), got "
                f"{solver!r}."
            )
        self.solver = solver
        self.stepsize_controller = stepsize_controller or dfx.ConstantStepSize()
        self.dt0 = dt0
        self.max_steps = max_steps
        self.brownian_tol = brownian_tol

    def __repr__(self) -> str:
        return f"Diffrax({self.solver!r}, {self.stepsize_controller!r})"


def build_diffrax(
    network: Network,
    solver: Diffrax,
    t0: float,
    dt: float,
    n_steps: int,
    monitor: AbstractMonitor,
) -> Callable[[Config], Any]:
    """The solve function of ``network`` integrated by ``solver``."""
    from sweepjax.network._prepare import Solution

    delayed = [name for name, c in network.coupling.items() if c.delayed]
    if delayed:
        raise ValueError(
            f"Diffrax does not support delayed couplings ({delayed}); use Euler(), "
            "Heun() or RK4()."
        )
    if type(monitor) not in (Raw, SubSample):
        raise ValueError(
            f"Diffrax supports the Raw and SubSample monitors, got {monitor!r}."
        )
    n_records = n_steps // monitor.every
    ts_host = monitor.times(t0, dt, n_records)
    t_end = t0 + n_steps * dt
    dt0 = dt if solver.dt0 is None else solver.dt0
    max_steps = solver.max_steps or max(4096, 4 * n_steps)
    tol = dt / 2 if solver.brownian_tol is None else solver.brownian_tol
    n_states, n_nodes = network.dynamics.n_states, network.n_nodes

    def solve(config: Config) -> Solution:
        dtype = jnp.result_type(float)
        y0 = jnp.broadcast_to(
            jnp.asarray(config.initial_state, dtype), (n_states, n_nodes)
        )
        rhs = make_rhs(network, config)
        terms: dfx.AbstractTerm = dfx.ODETerm(lambda t, y, args: rhs(t, y, {}))
        if network.noise is not None:
            if config._internal.noise_samples is not None:
                raise ValueError(
                    "config._internal.noise_samples is not used by Diffrax, which "
                    "draws a VirtualBrownianTree from config.noise.key; set it to "
                    "None or use a native solver."
                )
            mask = (
                jnp.zeros((n_states, 1), dtype)
                .at[jnp.asarray(network.noise_index)]
                .set(1.0)
            )
            sigma = jnp.asarray(config.noise.sigma, dtype)
            diag = jnp.broadcast_to(mask * sigma, (n_states, n_nodes))
            brownian = dfx.VirtualBrownianTree(
                t0, t_end, tol=tol, shape=(n_states, n_nodes), key=config.noise.key
            )
            diffusion = dfx.ControlTerm(
                lambda t, y, args: lx.DiagonalLinearOperator(diag), brownian
            )
            terms = dfx.MultiTerm(terms, diffusion)
        ts = jnp.asarray(ts_host, dtype)
        sol = dfx.diffeqsolve(
            terms,
            solver.solver,
            t0,
            t_end,
            dt0,
            y0,
            saveat=dfx.SaveAt(ts=ts),
            stepsize_controller=solver.stepsize_controller,
            max_steps=max_steps,
        )
        return Solution(ts, sol.ys)

    return solve
