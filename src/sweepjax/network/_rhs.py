"""The right-hand side of a network: dynamics fed by its couplings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._config import Config
from sweepjax.network._coupling import Edges
from sweepjax.network._network import Network

Rhs = Callable[[jax.Array, jax.Array, dict[str, jax.Array]], jax.Array]


def take_states(y: jax.Array, index: tuple[int, ...]) -> jax.Array:
    """``y[index]`` for a static index tuple; a slice when it is contiguous."""
    start = index[0]
    if index == tuple(range(start, start + len(index))):
        return y[start : start + len(index)]
    return y[np.asarray(index)]


def make_rhs(network: Network, config: Config) -> Rhs:
    """``rhs(t, y, held) -> dy/dt`` with the instantaneous couplings evaluated
    at ``y`` and ``held`` (``{input: [k, n_nodes]}``, the delayed couplings of
    the step) added to their inputs."""
    dtype = jnp.result_type(float)
    weights = jnp.asarray(config.graph.weights, dtype)
    instant = [(n, c) for n, c in network.coupling.items() if not c.delayed]
    inputs = network.dynamics.coupling_inputs
    n_nodes = network.n_nodes

    def rhs(t: jax.Array, y: jax.Array, held: dict[str, jax.Array]) -> jax.Array:
        total = dict(held)
        for name, c in instant:
            x = take_states(y, network.incoming_index[name])
            out = c(config.coupling[name], weights, x)
            target = network.targets[name]
            total[target] = total[target] + out if target in total else out
        for name, k in inputs.items():
            if name not in total:
                total[name] = jnp.zeros((k, n_nodes), y.dtype)
        return network.dynamics.derivative(t, y, total, config.dynamics)

    return rhs


class DelayState(NamedTuple):
    """History buffers (``init``, a scan-carry pytree) and
    ``hold(history, y, k) -> (held, history)``, which stores the state at the
    start of step ``k`` and evaluates the delayed couplings for that step."""

    init: Any
    hold: Callable[[Any, jax.Array, jax.Array], tuple[dict, Any]]


def delayed_inputs(network: Network, config: Config, dt: float, y0: jax.Array):
    """The delay machinery of a network (trivial when nothing is delayed).

    Each distinct set of incoming states has a ring buffer
    ``[n_incoming, H * n_nodes]`` with ``H = ceil(max_delay / dt) + 1`` slots of
    ``n_nodes``; every slot starts as the initial state, so states before
    ``t0`` equal it. At step ``k`` slot ``k % H`` takes the current state and
    each edge ``e`` (``sources[e] -> targets[e]``, delay ``D[e]`` steps) reads
    ``buffer[:, ((k - D[e]) % H) * n + sources[e]]``: one gather of
    ``n_edges`` values per step.
    """
    delayed = [(n, c) for n, c in network.coupling.items() if c.delayed]
    if not delayed:
        return DelayState((), lambda history, y, k: ({}, history))
    dtype = y0.dtype
    graph = network.graph
    n = network.n_nodes
    max_steps = int(np.ceil(graph.max_delay / dt))
    H = max_steps + 1
    targets, sources = graph.edge_index()
    weights = jnp.asarray(config.graph.weights, dtype)
    outside = np.ones((n, n), bool)
    outside[targets, sources] = False
    weights = eqx.error_if(
        weights,
        jnp.any(jnp.where(outside, weights, 0.0) != 0.0),
        "config.graph.weights has a nonzero weight where the DenseDelayGraph "
        "given to the Network had none; build it with all_edges=True to sweep "
        "weights whose zero pattern changes.",
    )
    delays = jnp.asarray(config.graph.delays, dtype)[targets, sources]
    steps = jnp.rint(delays / dt).astype(jnp.int32)
    steps = eqx.error_if(
        steps,
        jnp.any(steps > max_steps),
        f"a delay exceeds the history buffer of {max_steps} steps (max_delay="
        f"{graph.max_delay} ms at dt={dt}); pass a larger max_delay to "
        "DenseDelayGraph.",
    )
    edges = Edges(targets, sources, weights[targets, sources], n)
    groups = sorted({network.incoming_index[name] for name, _ in delayed})
    init = tuple(jnp.tile(take_states(y0, g), (1, H)) for g in groups)

    def hold(history, y, k):
        slot = ((k % H) * n).astype(jnp.int32)
        history = tuple(
            jax.lax.dynamic_update_slice(buf, take_states(y, g), (jnp.int32(0), slot))
            for buf, g in zip(history, groups)
        )
        flat = ((k - steps) % H) * n + sources
        held: dict[str, jax.Array] = {}
        for name, c in delayed:
            buf = history[groups.index(network.incoming_index[name])]
            x = buf.at[:, flat].get(mode="promise_in_bounds")
            out = c(config.coupling[name], edges, x)
            target = network.targets[name]
            held[target] = held[target] + out if target in held else out
        return held, history

    return DelayState(init, hold)
