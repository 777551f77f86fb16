"""Conduction delays: one ring-buffer history per batch, batch innermost.

Every delayed coupling is ``post(sum_j W[i, j] * pre(x_j(t - d_ij)), x_i)``
(see :class:`AbstractCoupling`). What the nodes send, ``pre(x)``, enters a
ring buffer once per step; each edge then reads one row of it. When the
delays are the same for every point of a batch (only couplings, noise,
model parameters or weights are swept), the points share one buffer
``[H * n_nodes, n_signals, size]`` whose innermost axis is the batch: each
edge reads a contiguous ``[n_signals, size]`` block, and each target sums
its edges by one batched product over a padded table (:func:`padded_edges`;
a segment sum where that table would be much larger than the edges). Swept
delays solve each point on its own (``size = 1``), the same code; a graph
with ``interpolation="linear"`` reads the history by :mod:`._interpolated`
instead (a segment sum), whose batch shares one buffer even when the delays
differ per point.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax import AbstractAxis, UniformAxis
from sweepjax._config import Config
from sweepjax.network._batching import Points
from sweepjax.network._edge_coupling import coupling_edge_weights
from sweepjax.network._network import Network
from sweepjax.network._rhs import take_states

#: ``{coupling input: [size, n_components, n_nodes]}``, fixed for a step.
Held = dict[str, jax.Array]


class DelayLine(NamedTuple):
    """The delayed couplings of a batch of points.

    Attributes:
        init: the history ``[H * n_nodes, n_signals, size]`` at ``t0`` (every
            slot holds what the initial state sends), carried through the
            scan; ``()`` when nothing is delayed.
        hold: ``hold(history, y, k) -> (held, history)`` stores what the
            states ``y`` ``[size, n_states, n_nodes]`` at the start of step
            ``k`` send and evaluates the delayed couplings of that step.
    """

    init: Any
    hold: Any


def _no_delays(history: Any, y: jax.Array, k: jax.Array) -> tuple[Held, Any]:
    return {}, history


def interpolates(network: Network) -> bool:
    """Whether the network's delayed couplings read the history by linear
    interpolation (its graph's ``interpolation="linear"``, :mod:`._interpolated`)."""
    return getattr(network.graph, "interpolation", "nearest") == "linear"


def delay_leaves(network: Network, graph: Config) -> list[Any]:
    """The graph's config leaves that the delays depend on (all but the
    weights): ``delays``, or ``lengths`` and ``speed``."""
    names = [name for name in network.graph.leaves() if name != "weights"]
    return [getattr(graph, name) for name in names]


def shares_layout(network: Network, points: Points) -> bool:
    """Whether the points of a batch can share one history layout: the
    delays do not vary (or nothing is delayed, or the history is read by
    interpolation, which reads each point's own rows)."""
    if not any(c.delayed for c in network.coupling.values()) or interpolates(network):
        return True
    return not points.varies(lambda config: delay_leaves(network, config.graph))


def buffer_slots(max_delay: float, dt: float) -> int:
    """``H``: the history buffer's slots, ``ceil(max_delay / dt) + 1``."""
    return int(np.ceil(max_delay / dt)) + 1


def _larger_buffer(graph: str, largest: str) -> str:
    """How to build the graph (a type name) with a buffer for delays up to
    ``largest``."""
    return (
        f"Build the graph with max_delay >= {largest} ms ({graph}"
        f"(..., max_delay=...) or Connectome.graph(speed=..., max_delay=...)) "
        "and prepare again."
    )


def _delay_steps(network: Network, leaves: Config, dt: float) -> jax.Array:
    """``[n_edges]`` delay of each edge in steps (checked against the buffer
    before the solve: :func:`buffer_errors`)."""
    dtype = jnp.result_type(float)
    steps = jnp.rint(jnp.asarray(network.graph.edge_delays(leaves), dtype) / dt)
    return steps.astype(jnp.int32)


def buffer_errors(
    network: Network, leaves: Config, dt: float
) -> list[tuple[jax.Array, str]]:
    """``[(bad, message)]``: whether a delay of ``leaves`` (the config's
    graph) exceeds the history buffer, for the solve's checks (values set
    on the config are checked on the host before, by :class:`BufferCheck`;
    this catches what reaches the solve another way)."""
    if not any(c.delayed for c in network.coupling.values()):
        return []
    graph = network.graph
    H = buffer_slots(graph.max_delay, dt)
    message = (
        f"config.graph.delays received a delay that exceeds the history buffer "
        f"of {H - 1} steps; allowed: delays up to max_delay="
        f"{graph.max_delay} ms (at dt={dt}). "
        + _larger_buffer(type(graph).__name__, "the largest delay")
    )
    return [(jnp.any(_delay_steps(network, leaves, dt) > H - 1), message)]


@dataclasses.dataclass(frozen=True)
class BufferCheck:
    """Refuses delays, a value or every value of an axis, that the history
    buffer of a prepared solve cannot hold: ``prepare`` sets it on
    ``config.graph.delays`` (:meth:`sweepjax.Config.add_field_check`), so a
    sweep's delays are checked when the axis is set, before anything is
    compiled, rather than when the solve runs.

    >>> check = BufferCheck("DenseDelayGraph", max_delay=2.0, dt=0.1)
    >>> check(DataAxis(np.array([[1.0], [3.5]])))
    Traceback (most recent call last):
    ValueError: config.graph.delays: the delays set reach 3.5 ms, ...
    """

    graph: str
    max_delay: float
    dt: float

    def __call__(self, value: Any) -> None:
        if isinstance(value, UniformAxis):  # drawn later, below `high`
            value = np.asarray(value.high)
        elif isinstance(value, AbstractAxis):
            if value.uses_key:  # values drawn when the Space is made
                return
            value = value.generate_values()
        try:
            delays = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            return  # not numbers: the solve's own checks name the problem
        if not delays.size or not np.all(np.isfinite(delays)):
            return  # NaN and inf: refused by the solve's rule for the leaf
        H = buffer_slots(self.max_delay, self.dt)
        largest = float(delays.max())
        if np.rint(largest / self.dt) <= H - 1:
            return
        raise ValueError(
            f"config.graph.delays: the delays set reach {largest:g} ms, beyond "
            f"the history buffer of this prepared solve: {H - 1} steps of "
            f"dt={self.dt:g} ms, delays up to max_delay={self.max_delay:g} ms.\n"
            + _larger_buffer(self.graph, f"{largest:g}")
        )


#: ``prepare`` warns when more than this fraction of the positive delays
#: round to 0 steps (a few short tracts always do at usual steps).
UNRESOLVED_FRACTION = 0.1


def warn_unresolved_delays(network: Network, dt: float) -> None:
    """Warn when more than ``UNRESOLVED_FRACTION`` of the positive delays
    of the connections round to 0 steps at ``dt``: those connections act
    instantly (``rint(delay / dt) == 0``), naming how many, the smallest
    delay and the steps that resolve them."""
    graph = network.graph
    if not graph.has_delays or not any(c.delayed for c in network.coupling.values()):
        return
    targets, sources = graph.edge_index()
    delays = np.asarray(graph.delays, dtype=float)
    if delays.ndim == 2:  # dense: the connections' entries
        delays = delays[targets, sources]
    positive = np.sort(delays[delays > 0])
    lost = int(np.count_nonzero(np.rint(positive / dt) == 0))
    if lost <= UNRESOLVED_FRACTION * positive.size:
        return
    # dt < 2 * d resolves the delay d (rint(1/2) is 0)
    tolerated = 2 * positive[int(UNRESOLVED_FRACTION * positive.size)]
    warnings.warn(
        f"dt={dt:g} ms rounds {lost} of the {positive.size} positive delays of "
        f"the connections ({lost / positive.size:.0%}) to 0 steps, so those "
        f"connections act without delay (the smallest delay is "
        f"{positive[0]:.3g} ms). dt < {tolerated:.3g} ms leaves at most "
        f"{UNRESOLVED_FRACTION:.0%} of them at 0 steps; dt < "
        f"{2 * positive[0]:.3g} ms resolves every one.",
        UserWarning,
        stacklevel=3,
    )


def delay_line(network: Network, points: Points, dt: float, y0: jax.Array) -> DelayLine:
    """The :class:`DelayLine` of a batch (trivial when nothing is delayed).

    The buffer has ``H = ceil(max_delay / dt) + 1`` slots of ``n_nodes`` rows.
    At step ``k`` slot ``k % H`` takes what the nodes send and edge ``e``
    (``sources[e] -> targets[e]``, delay ``D[e] = rint(delay / dt)`` steps)
    reads row ``((k - D[e]) % H) * n_nodes + sources[e]``. ``y0`` is
    ``[size, n_states, n_nodes]``; the points must share the delays
    (:func:`shares_layout`).

    >>> points = Points.single(config)
    >>> line = delay_line(network, points, 0.1, y0[None])
    >>> held, history = line.hold(line.init, y0[None], jnp.int32(0))
    """
    delayed = [(name, c) for name, c in network.coupling.items() if c.delayed]
    if not delayed:
        return DelayLine((), _no_delays)
    graph = network.graph
    n = network.n_nodes
    H = buffer_slots(graph.max_delay, dt)
    targets, sources = graph.edge_index()
    steps = _delay_steps(network, points.config.graph, dt)
    table = padded_edges(targets, n)

    sent = signals(network, points, delayed, y0, table)

    # edge e reads row (k % H) * n + first[e], less H * n where that passes
    # the end: one add and a select per edge and step, no integer division
    # (delays past the buffer are refused by the solve's checks; clipped,
    # their reads stay inside it until then)
    first = sources - jnp.clip(steps, 0, H - 1) * n  # [n_edges], at k % H == 0
    if table is not None:  # read by target, in the table's order (pads: row 0)
        flat = table.reshape(-1)
        first = jnp.where(flat >= 0, first[np.maximum(flat, 0)], 0)

    def hold(history: jax.Array, y: jax.Array, k: jax.Array) -> tuple[Held, Any]:
        history, slot = sent.store(history, y, k)
        rows = slot + first
        rows = jnp.where(rows < 0, rows + H * n, rows)
        arriving = history.at[rows].get(mode="promise_in_bounds")
        return sent.deliver(arriving, y), history

    return DelayLine(sent.ring(y0, H), hold)


#: The rounded delay line reads the edges into a table ``[n_nodes, K]``
#: (``K``: the largest in-degree; the missing entries weigh 0) and sums each
#: target's row by one batched product, about 2x faster on CPU than a
#: segment sum over the edges at batches of 8-16 and no slower at 1-4
#: (``benchmarks/gather_forms.py``), where the table holds at most this many
#: times the edges; sparser, uneven graphs keep the segment sum.
PADDING_LIMIT = 1.5


def padded_edges(targets: np.ndarray, n_nodes: int) -> np.ndarray | None:
    """``[n_nodes, K]``: the edges (``targets`` sorted, as ``edge_index``)
    into each node, padded with -1 to the largest in-degree ``K``; None
    when that table would exceed ``PADDING_LIMIT`` times the edges."""
    targets = np.asarray(targets)
    counts = np.bincount(targets, minlength=n_nodes)
    width = int(counts.max()) if targets.size else 0
    if not targets.size or n_nodes * width > PADDING_LIMIT * targets.size:
        return None
    table = np.full((n_nodes, width), -1, np.int32)
    rank = np.arange(targets.size) - (np.cumsum(counts) - counts)[targets]
    table[targets, rank] = np.arange(targets.size)
    return table


class Signals(NamedTuple):
    """What the delayed couplings of a batch send and how they receive.

    ``batch_inner(y)`` lays out what the nodes send, ``[size, n_states,
    n_nodes] -> [n_nodes, n_signals, size]`` (every delayed coupling's
    ``pre``, concatenated); ``deliver(arriving, y)`` weights what arrives on
    each edge ``[n_edges, n_signals, size]``, sums it into its target and
    turns each point's sum into every target's held coupling (the couplings'
    ``post``). ``counts``: the signals of each delayed coupling, in order.
    """

    batch_inner: Callable[[jax.Array], jax.Array]
    deliver: Callable[[jax.Array, jax.Array], Held]
    counts: tuple[int, ...]

    def ring(self, y0: jax.Array, slots: int) -> jax.Array:
        """The history before the run: ``slots`` copies of what ``y0``
        sends, ``[slots * n_nodes, n_signals, size]``."""
        return jnp.tile(self.batch_inner(y0), (slots, 1, 1))

    def store(
        self, history: jax.Array, y: jax.Array, k: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        """What ``y`` sends written into slot ``k % slots`` of the ring: the
        ring, and the slot's first row."""
        sent = self.batch_inner(y).astype(history.dtype)
        n = sent.shape[0]
        slot = ((k % (history.shape[0] // n)) * n).astype(jnp.int32)
        zero = jnp.int32(0)
        return jax.lax.dynamic_update_slice(history, sent, (slot, zero, zero)), slot


def _delivery_weights(
    network: Network, points: Points, delayed: list, counts: list[int]
) -> jax.Array:
    """``[n_edges, 1 or n_signals, 1 or size]``: the weight of each edge for
    each signal, per point where it varies: the graph's weights, times the
    per-edge leaves of the coupling that sends the signal (``edge_leaves``,
    :mod:`._edge_coupling`)."""
    graph = network.graph
    scaled = [(name, c) for name, c in delayed if getattr(c, "edge_leaves", ())]

    def leaves(config: Config) -> list[Any]:
        edges = [config.coupling[name][e] for name, c in scaled for e in c.edge_leaves]
        return [config.graph.weights, *edges]

    def weights(config: Config) -> jax.Array:
        if not scaled:  # one weight per edge for every signal
            return graph.edge_weights(config.graph)[:, None]
        rows = [
            jnp.repeat(coupling_edge_weights(graph, config, name, c)[:, None], k, 1)
            for (name, c), k in zip(delayed, counts, strict=True)
        ]
        return jnp.concatenate(rows, axis=1)

    if points.varies(leaves):
        return jnp.moveaxis(points.map(weights), 0, -1)
    return weights(points.config)[..., None]


def signals(
    network: Network,
    points: Points,
    delayed: list,
    y0: jax.Array,
    table: np.ndarray | None = None,
) -> Signals:
    """The :class:`Signals` of the ``delayed`` couplings ``[(name, coupling)]``
    of a batch: shared by the rounded and the interpolated delay lines.
    With a ``table`` (:func:`padded_edges`) what arrives is laid out by it,
    ``[n_nodes * K, n_signals, size]``, and each target sums its row."""
    targets, _ = network.graph.edge_index()

    def sends(config: Config, y: jax.Array) -> list[jax.Array]:
        # what each node sends, [n_signals, n_nodes] per delayed coupling
        return [
            c.pre(config.coupling[name], take_states(y, network.incoming_index[name]))
            for name, c in delayed
        ]

    def send(config: Config, y: jax.Array) -> jax.Array:
        return jnp.concatenate(sends(config, y))

    counts = [s.shape[1] for s in jax.eval_shape(lambda: points.map(sends, y0))]
    starts = np.cumsum([0, *counts])
    weights = _delivery_weights(network, points, delayed, counts)
    if table is not None:
        flat = table.reshape(-1)
        weights = jnp.where(
            flat[:, None, None] >= 0, weights[np.maximum(flat, 0)], 0
        ).reshape(*table.shape, *weights.shape[1:])

    def receive(config: Config, summed: jax.Array, y: jax.Array) -> Held:
        held: Held = {}
        for (name, c), start, stop in zip(
            delayed, starts[:-1], starts[1:], strict=True
        ):
            x = take_states(y, network.incoming_index[name])
            out = c.post(config.coupling[name], summed[start:stop], x)
            target = network.targets[name]
            held[target] = held[target] + out if target in held else out
        return held

    def batch_inner(y: jax.Array) -> jax.Array:
        return jnp.transpose(points.map(send, y), (2, 1, 0))

    def deliver(arriving: jax.Array, y: jax.Array) -> Held:
        w = weights.astype(arriving.dtype)
        if table is None:
            summed = jax.ops.segment_sum(
                arriving * w, targets, network.n_nodes, indices_are_sorted=True
            )
        else:  # [n_nodes, K, n_signals, size]: one batched product per target
            arriving = arriving.reshape(*table.shape, *arriving.shape[1:])
            if w.shape[-1] != 1:  # weights per point
                summed = jnp.sum(w * arriving, axis=1)
            elif w.shape[-2] == 1:
                summed = jnp.einsum("ik,iksb->isb", w[..., 0, 0], arriving)
            else:
                summed = jnp.einsum("iks,iksb->isb", w[..., 0], arriving)
        summed = jnp.transpose(summed, (2, 1, 0))  # [size, n_signals, n_nodes]
        return points.map(receive, summed, y)

    return Signals(batch_inner, deliver, tuple(counts))
