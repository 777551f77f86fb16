"""prepare: turn a Network into one jitted solve function and its config."""

from __future__ import annotations

import dataclasses
import math
import warnings
from functools import partial
from typing import Any

import numpy as np

from sweepjax._config import Config
from sweepjax._tree import check_positive_int
from sweepjax.network._checks import checked, failure_code
from sweepjax.network._degenerate import warn_degenerate
from sweepjax.network._delays import BufferCheck, buffer_errors, warn_unresolved_delays
from sweepjax.network._edge_coupling import add_edge_checks
from sweepjax.network._layout import leaf_rules, make_config
from sweepjax.network._lengths import DenseLengthGraph, length_checks
from sweepjax.network._monitors import AbstractMonitor, Raw
from sweepjax.network._network import Network
from sweepjax.network._observers import AbstractObserver, check_observation
from sweepjax.network._resume import start_of
from sweepjax.network._solution import Plan, SolveFn
from sweepjax.network._solvers import AbstractSolver


def _time_grid(t0: Any, t1: Any, dt: Any) -> int:
    """``n_steps``, ``(t1 - t0) / dt`` rounded when ``dt`` divides the run to
    round-off, else ``len(jnp.arange(t0, t1, dt))`` with a warning naming
    the end time; after checking the numbers."""
    for name, value in (("t0", t0), ("t1", t1), ("dt", dt)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise TypeError(f"{name} must be a Python number, got {value!r}.")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}.")
    if dt <= 0:
        raise ValueError(f"dt must be > 0, got {dt}.")
    if t1 <= t0:
        raise ValueError(f"t1 must be > t0, got t0={t0}, t1={t1}.")
    if dt > t1 - t0:
        raise ValueError(
            f"dt must be at most the run's length t1 - t0 = {t1 - t0:g} ms (t0={t0}, "
            f"t1={t1}), got dt={dt}: one step would overshoot the run. Pass a "
            "smaller dt (or a larger t1)."
        )
    # computed on the host: no JAX computation is dispatched
    ratio = (t1 - t0) / dt
    if abs(ratio - round(ratio)) <= 1e-6 * ratio:  # a whole number, to round-off
        return round(ratio)
    n_steps = math.ceil(ratio)
    warnings.warn(
        f"dt={dt} does not divide the run t1 - t0 = {t1 - t0:g} ms ({ratio:g} "
        f"steps): it takes {n_steps} steps (len(jnp.arange(t0, t1, dt))) and "
        f"ends at {t0 + n_steps * dt:g} ms, not t1={t1}. Pick a dt that divides "
        "t1 - t0, or that t1.",
        UserWarning,
        stacklevel=3,
    )
    return n_steps


def _check_monitor(monitor: Any, n_steps: int, grid: str) -> AbstractMonitor:
    monitor = Raw() if monitor is None else monitor
    if not isinstance(monitor, AbstractMonitor):
        raise TypeError(
            f"monitor must be Raw(), SubSample(k) or TemporalAverage(k), got "
            f"{monitor!r}."
        )
    if n_steps % monitor.every:
        raise ValueError(
            f"the number of steps {n_steps} ({grid}) is not a multiple of "
            f"monitor.every={monitor.every}; adjust t1 or every."
        )
    return monitor


def prepare(
    network: Network,
    solver: AbstractSolver,
    t0: float,
    t1: float,
    dt: float,
    monitor: AbstractMonitor | None = None,
    unroll: int = 1,
    observe: dict[str, AbstractObserver] | None = None,
    transient: float = 0.0,
    final_state: bool = False,
) -> tuple[SolveFn, Config]:
    """Compile a network into ``solve_fn`` and return it with its ``config``.

    ``solve_fn(config)`` integrates ``n_steps = (t1 - t0) / dt`` steps (a
    ``dt`` that does not divide the run warns and takes ``len(jnp.arange(t0,
    t1, dt))`` steps, ending after ``t1``) and returns a :class:`Solution`
    with ``ys`` ``[n_records, n_states, n_nodes]``, the state after each step
    (the initial state is not a row) or the monitor's records. It is jitted
    once: calling it with other values of the same shapes (a swept coupling,
    noise level, noise key, weights, delays, parameters or initial state)
    reuses the compiled code, and it works under ``jax.vmap`` over any config leaf.

    Args:
        network: the :class:`Network`.
        solver: an :class:`AbstractSolver`: :class:`Euler`, :class:`Heun`,
            :class:`RK4` or :class:`Diffrax`.
        t0: start of the time grid (ms).
        t1: end of the time grid (ms).
        dt: step of the time grid (ms), at most ``t1 - t0``. Many delays that
            round to 0 steps warn, and so do observers whose statistics the
            run is too short for (an FC of fewer than 3 samples).
        monitor: :class:`Raw` (default), :class:`SubSample` or
            :class:`TemporalAverage`; ``n_steps`` must be a multiple of
            ``monitor.every``.
        unroll: steps per loop iteration of the native solvers' ``lax.scan``
            (a speed knob; results do not change).
        observe: observers by output name, e.g. ``{"fc": FC("S"), "mean":
            Mean("S")}``, computed inside the loop (:mod:`._observers`):
            ``solve_fn(config).observed`` holds their results and no
            trajectory is recorded or held (``ys`` has no rows), so memory
            does not grow with the run. Not combined with ``monitor``.
        transient: ms at the start of the run that the observers ignore (a
            whole number of steps, shorter than the run).
        final_state: hand back where the run stopped, ``Solution.final`` (a
            :class:`RunState`: state, delay history, steps taken). Set on
            ``config.start``, the next call continues the run: two calls
            equal one run twice as long, bit for bit (noise included; the
            time of a step goes on, ``Solution.ts`` stays that of a fresh
            run). Native solvers only.

    Returns:
        ``(solve_fn, config)``; ``config`` is a :class:`sweepjax.Config` (see
        :func:`make_config`) on whose leaves sweep axes may be placed.
        ``solve_fn.solve_settings`` describes the solve (t0, t1, dt,
        n_steps, solver, monitor, observers, transient, noise): a store
        whose model uses ``solve_fn`` records it, ``sweepjax info`` shows it
        and a resume with other settings is refused, naming them.

    >>> solve_fn, config = prepare(network, Heun(), t0=0.0, t1=5.0, dt=0.1)
    >>> config.coupling.instant.G = 0.8
    >>> solve_fn(config).ys.shape  # [n_steps, n_states, n_nodes], 4 nodes
    (50, 1, 4)
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a Network, got {network!r}.")
    if not isinstance(solver, AbstractSolver):
        raise TypeError(
            "solver must be Euler(), Heun(), RK4(), Diffrax(...) or another "
            f"AbstractSolver, got {solver!r}."
        )
    n_steps = _time_grid(t0, t1, dt)
    observation = check_observation(network, observe, transient, dt, n_steps)
    warn_unresolved_delays(network, dt)
    warn_degenerate(observation, dt, n_steps)
    if observation is not None and monitor is not None:
        raise ValueError(
            f"prepare records a trajectory (monitor={monitor!r}) or observes it "
            "(observe=...), not both; prepare twice for both."
        )
    monitor = _check_monitor(monitor, n_steps, f"t0={t0}, t1={t1}, dt={dt}")
    unroll = check_positive_int("unroll", unroll)
    config = make_config(network)
    add_edge_checks(network.coupling, network.graph, config)
    if any(c.delayed for c in network.coupling.values()):
        # delays set on the config (a sweep's axis) meet the buffer when set
        graph = type(network.graph).__name__
        if isinstance(network.graph, DenseLengthGraph):
            for name, check in length_checks(network.graph).items():
                config.graph.add_field_check(name, check)
        else:
            check = BufferCheck(graph, network.graph.max_delay, dt)
            config.graph.add_field_check("delays", check)
    if observation is None:
        plan = Plan.recording(t0, dt, n_steps, monitor, unroll)
    else:
        plan = Plan(t0, dt, n_steps, observation, unroll=unroll)
    if not isinstance(final_state, bool):
        raise TypeError(f"final_state must be True or False, got {final_state!r}.")
    plan = dataclasses.replace(plan, final=final_state)
    solve = solver.build(network, plan)
    rules = leaf_rules(network)

    def checks(values: Config) -> tuple[Any, list[str]]:
        # the rules the constructors applied, on the values actually received
        graph = values.graph
        errors = network.graph.edge_errors(graph) + buffer_errors(network, graph, dt)
        return failure_code(values, rules, errors)

    jitted = checked(solve, checks)
    jitted.solve_settings = _settings(
        network, solver, (t0, t1, dt, n_steps), monitor, observe, transient
    )
    # what continuations and replicates build their starts from
    jitted.network = network
    jitted.start_of = partial(start_of, network, dt)
    return jitted, config


def _settings(network, solver, grid, monitor, observe, transient) -> dict[str, Any]:
    """What `prepare` was asked for, readably (JSON values), for stores."""
    t0, t1, dt, n_steps = grid
    noise = getattr(network, "noise", None)
    return {
        "t0": float(t0),
        "t1": float(t1),
        "dt": float(dt),
        "n_steps": n_steps,
        "solver": repr(solver),
        "monitor": None if observe else repr(monitor),
        "observe": {k: repr(v) for k, v in observe.items()} if observe else None,
        "transient": float(transient),
        "noise": None if noise is None else repr(noise),
    }
