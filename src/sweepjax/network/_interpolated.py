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

A delayed coupling is held over a step, as if evaluated at its start;
a scheme of order 2 or more integrates it as if at ``t + centroid * dt``
(the solver's ``stage_time_centroid``, 1/2 for Heun and RK4). Holding it
therefore lengthens every delay by ``centroid * dt``, a first-order error
that the interpolated read undoes by reading ``d - centroid`` steps back
(clamped at 0): TVB-Optim's stage-time shift, which restores the scheme's
second order. Couplings whose ``post`` reads the receiving nodes' states
(held at the step's start too, an error the shift cannot undo) are read
unshifted, as TVB-Optim does.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._config import Config
from sweepjax.network._batching import Points
from sweepjax.network._coupling import AbstractCoupling
from sweepjax.network._delays import (
    DelayLine,
    Held,
    buffer_slots,
    delay_leaves,
    signals,
)
from sweepjax.network._network import Network


def reads_receiver(network: Network, name: str, coupling: AbstractCoupling) -> bool:
    """Whether the coupling ``name``'s ``post`` uses the receiving nodes'
    states ``x`` (read from its traced program, at its default values)."""
    params = Config({k: jnp.asarray(v.value) for k, v in coupling.leaves().items()})
    shape = (len(network.incoming_index[name]), network.n_nodes)
    x = jax.ShapeDtypeStruct(shape, jnp.result_type(float))
    summed = jax.eval_shape(coupling.pre, params, x)
    jaxpr = jax.make_jaxpr(coupling.post)(params, summed, x).jaxpr
    x_var = jaxpr.invars[-1]
    return x_var in jaxpr.outvars or any(x_var in e.invars for e in jaxpr.eqns)


def stage_shifts(
    network: Network, delayed: list, counts: tuple[int, ...], centroid: float
) -> np.ndarray:
    """``[n_signals]``: the steps each signal's read is moved forward,
    ``centroid`` or 0 for the couplings whose ``post`` reads the receiving
    nodes (:func:`reads_receiver`)."""
    shifts = [
        0.0 if not centroid or reads_receiver(network, name, c) else centroid
        for name, c in delayed
    ]
    return np.repeat(shifts, counts)


def interpolated_line(
    network: Network,
    points: Points,
    dt: float,
    y0: jax.Array,
    centroid: float = 0.0,
) -> DelayLine:
    """The :class:`DelayLine` of a batch whose graph interpolates.

    ``H = ceil(max_delay / dt) + 2`` slots; at step ``k`` slot ``k % H``
    takes what the nodes send, then edge ``e`` of point ``p`` blends rows
    ``((k - m) % H) * n_nodes + sources[e]`` and the one a step older
    (``m = floor(d[e, p] - shift)``, ``shift`` the solver's ``centroid`` or
    0: :func:`stage_shifts`). ``y0`` is ``[size, n_states, n_nodes]``.
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
    columns = jnp.arange(points.size)[None, :]

    sent = signals(network, points, delayed, y0)
    shifts = stage_shifts(network, delayed, sent.counts, centroid)

    def lags(shift: float) -> tuple[jax.Array, jax.Array]:
        """``(m, f)``: whole steps ``[n_edges, size or 1]`` and fractions
        ``[n_edges, 1, size or 1]`` of the delays read ``shift`` steps later."""
        lag = jnp.maximum(d - shift, 0.0) if shift else d
        whole = jnp.floor(lag)
        return whole.astype(jnp.int32), (lag - whole)[:, None, :]

    reads = {float(shift): lags(shift) for shift in np.unique(shifts)}
    shifted = jnp.asarray(shifts == centroid)[None, :, None]  # [1, n_signals, 1]

    def read(history: jax.Array, lag: jax.Array, k: jax.Array) -> jax.Array:
        """``[n_edges, n_signals, size]``: what each edge's source sent
        ``lag`` ``[n_edges, size or 1]`` steps before step ``k``."""
        rows = ((k - lag) % H) * n + sources[:, None]
        if not own:
            return history.at[rows[:, 0]].get(mode="promise_in_bounds")
        taken = history.at[rows, :, columns].get(mode="promise_in_bounds")
        return jnp.transpose(taken, (0, 2, 1))  # from [n_edges, size, n_signals]

    def blend(history: jax.Array, k: jax.Array, whole: Any, frac: Any) -> jax.Array:
        near, far = read(history, whole, k), read(history, whole + 1, k)
        return near + frac.astype(history.dtype) * (far - near)

    def hold(history: jax.Array, y: jax.Array, k: jax.Array) -> tuple[Held, Any]:
        history, _ = sent.store(history, y, k)
        blended = {shift: blend(history, k, *read_) for shift, read_ in reads.items()}
        if len(blended) == 1:
            (arriving,) = blended.values()
        else:  # some couplings shifted, some not
            arriving = jnp.where(shifted, blended[centroid], blended[0.0])
        return sent.deliver(arriving, y), history

    return DelayLine(sent.ring(y0, H), hold)
