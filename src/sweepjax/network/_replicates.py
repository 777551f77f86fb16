"""Initial-condition replicates: random starts, one key per replicate.

At a parameter point where two attractors coexist, runs from different
starts settle on different states. :func:`random_starts` draws ``n`` starts
(states and, optionally, delay histories) uniformly within the dynamics'
state bounds or a given box; :func:`replicates` makes them an axis of a
sweep (``config.start``), so the spread across replicates shows
multistability (:func:`sweepjax.network.classify_regimes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax import DataAxis
from sweepjax._config import Config
from sweepjax._tree import is_key_array
from sweepjax.network._network import Network
from sweepjax.network._normals import normal
from sweepjax.network._resume import RunState


def state_box(network: Network, box: Mapping[str, Any] | None) -> np.ndarray:
    """``[2, n_states]`` lows and highs: ``box[state]`` where given, else the
    dynamics' ``state_bounds``; a ``ValueError`` names a state left
    unbounded."""
    dynamics = network.dynamics
    box = {} if box is None else box
    if not isinstance(box, Mapping):
        raise TypeError(
            f"box must be a dict {{state: (low, high)}}, e.g. {{'x': (-1, 1)}}, "
            f"got {box!r}."
        )
    unknown = sorted(set(box) - set(dynamics.state_names))
    if unknown:
        raise ValueError(
            f"box names unknown states {unknown}; {type(dynamics).__name__}'s "
            f"states are {list(dynamics.state_names)}."
        )
    limits = np.empty((2, dynamics.n_states))
    for i, name in enumerate(dynamics.state_names):
        given = box.get(name, dynamics.state_bounds.get(name, (-np.inf, np.inf)))
        low, high = (float(v) for v in given)
        if not (np.isfinite(low) and np.isfinite(high) and low <= high):
            raise ValueError(
                f"the starts of state {name!r} need finite bounds low <= high, got "
                f"({low}, {high}) from "
                f"{'box' if name in box else 'the dynamics state_bounds'}; give "
                f"box={{{name!r}: (low, high)}}."
            )
        limits[:, i] = low, high
    return limits


def random_starts(
    solve_fn: Any,
    config: Config,
    key: jax.Array,
    n: int,
    box: Mapping[str, Any] | None = None,
    history: bool = True,
) -> RunState:
    """``n`` random :class:`RunState` starts, each leaf ``[n, ...]``.

    Replicate ``i`` takes row ``i`` of the key's draw (the same whatever
    ``n`` is): its state
    ``[n_states, n_nodes]`` uniform within ``box`` (``{state: (low, high)}``)
    or the dynamics' ``state_bounds``, and with ``history`` (and delayed
    couplings) what each past step of the delay history sent, from states
    drawn alike, one per step; else the history holds the start state.

    >>> solve_fn, config = prepare(network, Heun(), 0.0, 1.0, 0.1, final_state=True)
    >>> starts = random_starts(solve_fn, config, jax.random.key(0), 8)
    >>> starts.y.shape
    (8, 1, 4)
    """
    if not callable(getattr(solve_fn, "start_of", None)):
        raise TypeError(
            "solve_fn must be a solve from prepare(..., final_state=True), got "
            f"{solve_fn!r}."
        )
    if not is_key_array(key, raw=True):
        raise TypeError(f"key must be a JAX PRNG key, got {key!r}.")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int (replicates), got {n!r}.")
    network = solve_fn.network
    low, high = state_box(network, box)
    delayed = any(c.delayed for c in network.coupling.values())
    fresh = jax.eval_shape(
        solve_fn.start_of, _with_initial(config, config.initial_state)
    )
    slots = fresh.history.shape[0] // network.n_nodes if delayed and history else 0
    return _draw(solve_fn, config, key, low, high, n, slots)


@partial(jax.jit, static_argnames=("solve_fn", "n", "slots"))
def _draw(solve_fn, config, key, low, high, n: int, slots: int) -> RunState:
    """:func:`random_starts` as one program (not an operation at a time),
    compiled once per solve, ``n`` and ``slots``: boxes are its inputs."""
    network = solve_fn.network
    shape = (network.dynamics.n_states, network.n_nodes)
    dtype = jnp.result_type(float)
    low, high = (jnp.asarray(side, dtype)[:, None] for side in (low, high))

    def one(u: jax.Array) -> RunState:
        # u [1 + slots, *shape]: the state, then one state per history slot
        states = (low + u * (high - low)).astype(dtype)
        start = solve_fn.start_of(_with_initial(config, states[0]))
        if not slots:
            return start
        # slot s of the history filled from the s-th drawn state
        each = jax.vmap(lambda y: solve_fn.start_of(_with_initial(config, y)).history)(
            states[1:]
        )
        each = each.reshape(slots, slots, network.n_nodes, -1)
        rows = each[np.arange(slots), np.arange(slots)]
        return RunState(start.y, rows.reshape(start.history.shape), start.step)

    # row i of the key's normals is replicate i's, whatever n is (a
    # counter-based draw); their normal CDF makes them uniform
    z = normal(key, (n, 1 + slots, *shape), dtype)
    return jax.vmap(one)(jax.scipy.special.ndtr(z))


def _with_initial(config: Config, y: jax.Array) -> Config:
    config = jax.tree.map(lambda x: x, config)
    config.initial_state = y
    config.start = None
    return config


def replicates(
    solve_fn: Any,
    config: Config,
    key: jax.Array,
    n: int,
    box: Mapping[str, Any] | None = None,
    history: bool = True,
    group: str = "replicate",
) -> RunState:
    """:func:`random_starts` as a sweep axis: set it on ``config.start`` and a
    Space gains a dimension ``group`` of ``n`` replicates (its leaves are
    ``DataAxis`` of one ``group``).

    >>> solve_fn, config = prepare(network, Heun(), 0.0, 1.0, 0.1, final_state=True)
    >>> config.start = replicates(solve_fn, config, jax.random.key(0), 4)
    >>> len(Space(config))
    4
    """
    starts = random_starts(solve_fn, config, key, n, box, history)
    return jax.tree.map(lambda x: DataAxis(x, group=group), starts)
