"""Delayed couplings read by linear interpolation of the history.

Beside the rounded delay line of :mod:`._delays` (``rint(delay / dt)``
steps, whose gradient with respect to a delay is zero), a graph built with
``interpolation="linear"`` reads what node ``j`` sent ``d = delay / dt``
steps ago as ``(1 - f) * x(k - m) + f * x(k - m - 1)`` with ``m =
floor(d)`` and ``f = d - m``: a delay, a tract length or a conduction speed
then has an exact gradient (the interpolant's). The buffer is the same ring
``[H * n_nodes, n_signals, size]``, one slot longer (the read ``m + 1``);
the delays may differ from point to point (a swept speed), the batch
still shares one buffer and each point reads its own rows.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from sweepjax.network._batching import Points
from sweepjax.network._delays import (
    DelayLine,
    Held,
    buffer_slots,
    delay_leaves,
    signals,
)
from sweepjax.network._network import Network


def interpolated_line(
    network: Network, points: Points, dt: float, y0: jax.Array
) -> DelayLine:
    """The :class:`DelayLine` of a batch whose graph interpolates.

    ``H = ceil(max_delay / dt) + 2`` slots; at step ``k`` slot ``k % H``
    takes what the nodes send, then edge ``e`` of point ``p`` blends rows
    ``((k - m) % H) * n_nodes + sources[e]`` and the one a step older
    (``m = floor(d[e, p])``). ``y0`` is ``[size, n_states, n_nodes]``.
    """
    delayed = [(name, c) for name, c in network.coupling.items() if c.delayed]
    if not delayed:
        return DelayLine((), lambda history, y, k: ({}, history))
    graph = network.graph
    n = network.n_nodes
    H = buffer_slots(graph.max_delay, dt) + 1
    _, sources = graph.edge_index()
    dtype = y0.dtype
    own = points.varies(lambda config: delay_leaves(network, config.graph))
    if own:  # [n_edges, size]: each point its delays
        delays = points.map(lambda config: graph.edge_delays(config.graph)).T
    else:  # [n_edges, 1]
        delays = graph.edge_delays(points.config.graph)[:, None]
    d = jnp.asarray(delays, dtype) / dt
    whole = jnp.floor(d)
    frac = (d - whole)[:, None, :]  # [n_edges, 1, size or 1]
    whole = whole.astype(jnp.int32)
    columns = jnp.arange(points.size)[None, :]

    batch_inner, deliver = signals(network, points, delayed, y0)

    def read(history: jax.Array, lag: jax.Array, k: jax.Array) -> jax.Array:
        """``[n_edges, n_signals, size]``: what each edge's source sent
        ``lag`` ``[n_edges, size or 1]`` steps before step ``k``."""
        rows = ((k - lag) % H) * n + sources[:, None]
        if not own:
            return history.at[rows[:, 0]].get(mode="promise_in_bounds")
        taken = history.at[rows, :, columns].get(mode="promise_in_bounds")
        return jnp.transpose(taken, (0, 2, 1))  # from [n_edges, size, n_signals]

    init = jnp.tile(batch_inner(y0), (H, 1, 1))

    def hold(history: jax.Array, y: jax.Array, k: jax.Array) -> tuple[Held, Any]:
        slot = ((k % H) * n).astype(jnp.int32)
        history = jax.lax.dynamic_update_slice(
            history,
            batch_inner(y).astype(history.dtype),
            (slot, jnp.int32(0), jnp.int32(0)),
        )
        near, far = read(history, whole, k), read(history, whole + 1, k)
        f = frac.astype(history.dtype)
        return deliver(near + f * (far - near), y), history

    return DelayLine(init, hold)
