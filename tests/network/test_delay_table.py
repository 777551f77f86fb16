"""The rounded delay line's padded edge table: each target's delayed edges
summed by one batched product (no scatter), the same numbers as the segment
sum for shared, per-signal and per-point weights."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax.network import (
    DelayedLinearCoupling,
    DenseDelayGraph,
    DifferenceCoupling,
    EdgeLinearCoupling,
    Linear,
    Network,
    SparseDelayGraph,
    _delays,
    make_config,
)
from sweepjax.network._batching import Points
from sweepjax.network._delays import delay_line, padded_edges

N, SIZE = 4, 3


def _graph() -> DenseDelayGraph:
    rng = np.random.default_rng(1)
    weights = rng.uniform(0.2, 1.0, (N, N))
    np.fill_diagonal(weights, 0.0)
    weights[2, 0] = 0.0  # in-degrees 3, 3, 2, 3: a padded row
    delays = rng.uniform(0.0, 0.5, (N, N))  # 0-5 steps of 0.1
    return DenseDelayGraph(weights, delays)


def _network(kind: str) -> Network:
    if kind == "per signal":  # an edge-scaled and a plain signal: [E, 2, 1]
        coupling = {
            "c": EdgeLinearCoupling(
                "x",
                G=0.5,
                gain=np.linspace(0.0, 2.0, N * N).reshape(N, N),
                delayed=True,
            ),
            "d": DifferenceCoupling("x", a=0.3, delayed=True),
        }
    else:
        coupling = {"c": DelayedLinearCoupling("x", G=0.5)}
    return Network(Linear(gamma=-1.0), coupling, _graph())


def _points(network: Network, kind: str) -> Points:
    config = make_config(network)
    axes = jax.tree.map(lambda _: None, config)
    if kind == "per point":  # the weights swept: [E, 1, size]
        config.graph.weights = jnp.stack([config.graph.weights * s for s in (1, 2, 3)])
        axes.graph.weights = 0
    else:
        config.coupling.c.G = jnp.array([0.5, 1.0, 2.0])
        axes.coupling.c.G = 0
    return Points(config, axes, SIZE)


def _held(network: Network, points: Points) -> jax.Array:
    """What arrives at the coupling input over 6 steps (one compiled scan)."""

    @jax.jit
    def run(y0: jax.Array) -> jax.Array:
        line = delay_line(network, points, 0.1, y0)

        def step(history, k):
            y = y0 * (1.0 + 0.3 * k.astype(y0.dtype))
            held, history = line.hold(history, y, k)
            return history, held["c"]

        return jax.lax.scan(step, line.init, jnp.arange(6, dtype=jnp.int32))[1]

    return run(jnp.linspace(0.1, 1.0, SIZE * N).reshape(SIZE, 1, N))


def test_padded_edges_table_and_its_limit():
    table = padded_edges(np.array([0, 0, 1, 2, 2, 2]), 3)
    np.testing.assert_array_equal(table, [[0, 1, -1], [2, -1, -1], [3, 4, 5]])
    # a hub with all the edges: a 4 x 4 table for 7 edges exceeds the limit
    assert padded_edges(np.array([0, 1, 2, 3, 3, 3, 3]), 4) is None
    assert padded_edges(np.array([], np.int32), 4) is None


@pytest.mark.parametrize("kind", ["shared", "per signal", "per point"])
def test_table_sums_equal_the_segment_sum(kind, monkeypatch):
    network = _network(kind)
    points = _points(network, kind)
    targets, _ = network.graph.edge_index()
    assert padded_edges(targets, N) is not None
    padded = _held(network, points)
    monkeypatch.setattr(_delays, "PADDING_LIMIT", 0.0)  # the segment sum
    assert padded_edges(targets, N) is None
    summed = _held(network, points)
    np.testing.assert_allclose(padded, summed, rtol=1e-6, atol=1e-7)
    assert float(jnp.abs(summed[-1]).max()) > 0.1  # something arrived


def _ops(network: Network) -> str:
    """The jaxpr of a step of the delay line (traced, not compiled)."""
    points = Points.single(make_config(network))

    def step(y0: jax.Array) -> dict:
        line = delay_line(network, points, 0.1, y0)
        return line.hold(line.init, y0, jnp.int32(3))[0]

    return str(jax.make_jaxpr(step)(jnp.zeros((1, 1, N))))


def test_dense_graphs_sum_by_a_product_sparse_ones_by_a_segment_sum():
    # a scatter per step cost the delayed gw fit half its time on CPU
    ops = _ops(_network("shared"))
    assert "dot_general" in ops
    assert "scatter" not in ops
    hub = np.zeros((N, N))
    hub[0, 1:] = 1.0  # node 0 receives from all: a 4 x 3 table for 3 edges
    hub[1, 0] = 1.0
    sparse = SparseDelayGraph.from_dense(hub, hub * 0.3)
    ops = _ops(Network(Linear(), {"c": DelayedLinearCoupling("x")}, sparse))
    assert "scatter" in ops
