"""Conduction delays: ring-buffer histories and the delayed couplings of a step."""

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
from sweepjax.network._rhs import take_states

#: ``hold(history, y, k) -> (held, history)``, see :class:`DelayState`.
Hold = Callable[[Any, jax.Array, jax.Array], tuple[dict[str, jax.Array], Any]]


class DelayState(NamedTuple):
    """The delay machinery of one solve.

    Attributes:
        init: the history buffers at ``t0``, a pytree carried through the
            scan (``()`` when nothing is delayed).
        hold: ``hold(history, y, k) -> (held, history)`` stores ``y``
            ``[n_states, n_nodes]``, the state at the start of step ``k``,
            and evaluates the delayed couplings for that step: ``held`` is
            ``{input: [n_components, n_nodes]}``, fixed for all solver stages.
    """

    init: Any
    hold: Hold


def _no_delays(history: Any, y: jax.Array, k: jax.Array) -> tuple[dict, Any]:
    return {}, history


def _checked_weights(network: Network, config: Config, dtype: Any) -> jax.Array:
    # The edge list is fixed at prepare time: a swept weight outside it would
    # be silently dropped, so it is an error when the solve runs.
    targets, sources = network.graph.edge_index()
    n = network.n_nodes
    weights = jnp.asarray(config.graph.weights, dtype)
    outside = np.ones((n, n), bool)
    outside[targets, sources] = False
    return eqx.error_if(
        weights,
        jnp.any(jnp.where(outside, weights, 0.0) != 0.0),
        "config.graph.weights has a nonzero weight where the DenseDelayGraph "
        "given to the Network had none; build it with all_edges=True to sweep "
        "weights whose zero pattern changes.",
    )


def _delay_steps(
    network: Network, config: Config, dt: float, dtype: Any, max_steps: int
) -> jax.Array:
    """``[n_edges]`` delay of each edge in steps, checked against the buffer."""
    graph = network.graph
    targets, sources = graph.edge_index()
    delays = jnp.asarray(config.graph.delays, dtype)[targets, sources]
    steps = jnp.rint(delays / dt).astype(jnp.int32)
    return eqx.error_if(
        steps,
        jnp.any(steps > max_steps),
        f"config.graph.delays received a delay that exceeds the history buffer "
        f"of {max_steps} steps; allowed: delays up to max_delay="
        f"{graph.max_delay} ms (at dt={dt}). Pass a larger max_delay to "
        "DenseDelayGraph.",
    )


def delayed_inputs(
    network: Network, config: Config, dt: float, y0: jax.Array
) -> DelayState:
    """The :class:`DelayState` of a network (trivial when nothing is delayed).

    Each distinct set of incoming states has a ring buffer
    ``[n_incoming, H * n_nodes]`` with ``H = ceil(max_delay / dt) + 1`` slots of
    ``n_nodes``; every slot starts as the initial state ``y0``
    ``[n_states, n_nodes]``, so states before ``t0`` equal it. At step ``k``
    slot ``k % H`` takes the current state and each edge ``e``
    (``sources[e] -> targets[e]``, delay ``D[e] = rint(delay / dt)`` steps)
    reads ``buffer[:, ((k - D[e]) % H) * n_nodes + sources[e]]``: one gather
    of ``n_edges`` values per step.

    >>> delays = delayed_inputs(network, config, 0.1, y0)
    >>> held, history = delays.hold(delays.init, y0, jnp.int32(0))
    """
    delayed = [(n, c) for n, c in network.coupling.items() if c.delayed]
    if not delayed:
        return DelayState((), _no_delays)
    dtype = y0.dtype
    n = network.n_nodes
    max_steps = int(np.ceil(network.graph.max_delay / dt))
    H = max_steps + 1
    targets, sources = network.graph.edge_index()
    weights = _checked_weights(network, config, dtype)
    steps = _delay_steps(network, config, dt, dtype, max_steps)
    edges = Edges(targets, sources, weights[targets, sources], n)
    groups = sorted({network.incoming_index[name] for name, _ in delayed})
    init = tuple(jnp.tile(take_states(y0, g), (1, H)) for g in groups)

    def hold(history, y, k):
        slot = ((k % H) * n).astype(jnp.int32)
        history = tuple(
            jax.lax.dynamic_update_slice(buf, take_states(y, g), (jnp.int32(0), slot))
            for buf, g in zip(history, groups, strict=True)
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
