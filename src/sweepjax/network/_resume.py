"""Continued runs: where a solve ends, and how the next one starts there.

A solve prepared with ``final_state=True`` hands back a :class:`RunState`
(``Solution.final``): the state reached, the delay history and the number
of steps taken. Set on ``config.start``, the next solve starts from it: the
same steps, times and noise as one longer run, bit for bit. The noise
continues because step ``k`` of a run takes row ``k`` of the key's draw
(:mod:`._body`): a continued solve draws rows ``step, step + 1, ...``.

The history is handed back "rotated": slot ``s`` holds what the nodes sent
``H - s`` steps before the end (:func:`final_state`), so a continued solve
that counts its own steps from 0 reads it as the first one left it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from sweepjax._config import Config
from sweepjax.network._batching import Points
from sweepjax.network._delays import delay_line, interpolates
from sweepjax.network._interpolated import interpolated_line
from sweepjax.network._layout import initial_state_of
from sweepjax.network._network import Network


class RunState(NamedTuple):
    """Where a run stopped: what a continued solve starts from.

    Attributes:
        y: ``[n_states, n_nodes]`` the last state.
        history: ``[H * n_nodes, n_signals]`` what the nodes sent during the
            last ``H`` steps (``H = ceil(max_delay / dt) + 1``), ``()``
            without delayed couplings.
        step: the steps taken since ``t0`` (int32): the next step's index,
            its time ``t0 + step * dt`` and the row of the noise it draws.

    >>> solve_fn, config = prepare(network, Heun(), 0.0, 5.0, 0.1, final_state=True)
    >>> first = solve_fn(config)
    >>> config.start = first.final       # the next 5 ms
    >>> int(solve_fn(config).final.step)
    100
    """

    y: jax.Array
    history: Any
    step: jax.Array


def start_of(network: Network, dt: float, config: Config) -> RunState:
    """The :class:`RunState` a solve of ``config`` starts from: its
    ``config.start`` when set, else the initial state with a history that
    holds it in every slot, at step 0."""
    if config.start is not None:
        return config.start
    y0 = initial_state_of(network, config)
    line = interpolated_line if interpolates(network) else delay_line
    init = line(network, Points.single(config), dt, y0[None]).init
    history = () if isinstance(init, tuple) else init[..., 0]
    return RunState(y0, history, jnp.zeros((), jnp.int32))


def start_y(network: Network, config: Config) -> jax.Array:
    """The state ``[n_states, n_nodes]`` a solve of ``config`` starts from."""
    if config.start is None:
        return initial_state_of(network, config)
    return jnp.asarray(config.start.y, jnp.result_type(float))


def offset_of(config: Config) -> jax.Array:
    """The steps already taken before this solve (0 for a fresh run)."""
    start = config.start
    return jnp.zeros((), jnp.int32) if start is None else start.step


def check_start(network: Network, config: Config) -> None:
    """A ``TypeError``/``ValueError`` when ``config.start`` is not a
    :class:`RunState` of this network's shapes (at trace time)."""
    start = config.start
    if start is None:
        return
    if not isinstance(start, RunState):
        raise TypeError(
            "config.start must be None or a RunState (solution.final of a solve "
            f"prepared with final_state=True), got {type(start).__name__}."
        )
    shape = (network.dynamics.n_states, network.n_nodes)
    if tuple(jnp.shape(start.y))[-2:] != shape:  # a batch's: [size, *shape]
        raise ValueError(
            f"config.start.y must have shape [n_states, n_nodes] = {shape}, got "
            f"{tuple(jnp.shape(start.y))}; continue from a solve of this network."
        )


def initial_history(points: Points, init: Any) -> Any:
    """The delay line's first buffer ``[H * n_nodes, n_signals, size]``:
    ``init`` (from the initial state) or the points' ``config.start.history``."""
    if points.config.start is None or isinstance(init, tuple):
        return init
    history = points.map(lambda config: config.start.history)
    history = jnp.transpose(history, (1, 2, 0)).astype(init.dtype)
    if history.shape != init.shape:
        raise ValueError(
            f"config.start.history has shape {history.shape[:2]}, but this solve's "
            f"delay history is {init.shape[:2]} ([H * n_nodes, n_signals]): "
            "continue with the same graph, max_delay, couplings and dt."
        )
    return history


def final_state(
    points: Points, y: jax.Array, history: Any, n_nodes: int, n_steps: int
) -> RunState:
    """The batch's :class:`RunState` after ``n_steps`` steps, each field with
    a leading ``size`` axis: the carry's state, its history rotated so that
    the next step's slot comes first and laid out per point."""
    if not isinstance(history, tuple):
        slots = history.shape[0] // n_nodes
        ring = history.reshape(slots, n_nodes, *history.shape[1:])
        ring = jnp.roll(ring, -(n_steps % slots), axis=0)
        history = jnp.transpose(ring.reshape(history.shape), (2, 0, 1))
    step = points.map(lambda config: offset_of(config) + n_steps)
    return RunState(y, history, step)
