"""Graphs: weights and delays validated at construction, the delayed edge list."""

from __future__ import annotations

import numpy as np
import pytest

from sweepjax.network import (
    Connectome,
    DenseDelayGraph,
    DenseGraph,
    SparseDelayGraph,
    SparseGraph,
    load_connectome,
)


@pytest.mark.parametrize(
    ("weights", "error", "match"),
    [
        (np.ones((3, 4)), ValueError, r"square \[n_nodes, n_nodes\].*\(3, 4\)"),
        (np.ones(3), ValueError, r"square .*\(3,\)"),
        (
            np.array([[0.0, np.nan], [1.0, 0.0]]),
            ValueError,
            "weights must hold finite values, got NaN",
        ),
        ("abc", TypeError, "numeric"),
    ],
)
def test_bad_weights(weights, error, match):
    with pytest.raises(error, match=match):
        DenseGraph(weights)


def test_bad_delays():
    with pytest.raises(ValueError, match=r"delays must have the shape of weights"):
        DenseDelayGraph(np.ones((3, 3)), np.ones((2, 2)))
    with pytest.raises(
        ValueError, match=r"delays must hold finite values >= 0 ms, got a negative"
    ):
        DenseDelayGraph(np.ones((2, 2)), -np.ones((2, 2)))
    with pytest.raises(ValueError, match="delays must hold finite .* got inf"):
        DenseDelayGraph(np.ones((2, 2)), np.full((2, 2), np.inf))
    with pytest.raises(ValueError, match="max_delay must be finite and >= the largest"):
        DenseDelayGraph(np.ones((2, 2)), np.ones((2, 2)), max_delay=0.5)


def test_leaves_and_delays_flag():
    graph = DenseGraph(np.eye(3))
    assert graph.n_nodes == 3 and not graph.has_delays
    assert list(graph.leaves()) == ["weights"]
    delayed = DenseDelayGraph(np.eye(2), np.ones((2, 2)))
    assert delayed.has_delays and delayed.max_delay == 1.0
    assert list(delayed.leaves()) == ["weights", "delays"]


def test_edge_index_visits_nonzero_weights_or_all():
    weights = np.array([[0.0, 1.0], [0.0, 0.0]])
    targets, sources = DenseDelayGraph(weights, np.ones((2, 2))).edge_index()
    assert targets.tolist() == [0] and sources.tolist() == [1]
    every = DenseDelayGraph(weights, np.ones((2, 2)), all_edges=True).edge_index()
    assert [a.tolist() for a in every] == [[0, 0, 1, 1], [0, 1, 0, 1]]


def test_sparse_graphs_sort_their_edges_and_round_trip_to_dense():
    graph = SparseDelayGraph([1, 0, 1], [0, 1, 2], [1.0, 2.0, 3.0], [4.0, 5.0, 6.0], 3)
    np.testing.assert_array_equal(graph.targets, [0, 1, 1])
    np.testing.assert_array_equal(graph.sources, [1, 0, 2])
    np.testing.assert_array_equal(graph.weights, [2.0, 1.0, 3.0])
    np.testing.assert_array_equal(graph.delays, [5.0, 4.0, 6.0])
    weights, delays = graph.to_dense()
    again = SparseDelayGraph.from_dense(weights, delays)
    np.testing.assert_array_equal(again.weights, graph.weights)
    np.testing.assert_array_equal(again.delays, graph.delays)
    assert graph.max_delay == 6.0 and graph.n_nodes == 3
    dense = np.array([[0.0, 2.0], [0.5, 0.0]])
    np.testing.assert_array_equal(SparseGraph.from_dense(dense).to_dense(), dense)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (([0, 0], [1, 1], [1.0, 2.0], 2), ValueError, "the edge 1 -> 0 is given twice"),
        (([0, 2], [1, 0], [1.0, 2.0], 2), ValueError, r"targets must hold node"),
        (([0.5], [1], [1.0], 2), TypeError, "targets must be a 1-d integer array"),
        (([0, 1], [1], [1.0, 2.0], 2), ValueError, "same length"),
        (([0], [1], [1.0, 2.0], 2), ValueError, r"weights must have one value per"),
        (([0], [1], [np.nan], 2), ValueError, "weights"),
        (([0], [1], [1.0], 0), ValueError, "n_nodes must be >= 1"),
    ],
)
def test_sparse_graph_errors_name_the_argument(args, error, match):
    with pytest.raises(error, match=match):
        SparseGraph(*args)


def test_sparse_delay_graph_checks_delays():
    with pytest.raises(ValueError, match="delays"):
        SparseDelayGraph([0], [1], [1.0], [-1.0], 2)
    with pytest.raises(ValueError, match="max_delay must be finite and >= the largest"):
        SparseDelayGraph([0], [1], [1.0], [3.0], 2, max_delay=2.0)


def test_connectome_graph_goes_sparse_for_large_or_sparse_connectomes():
    connectome = load_connectome("76")
    assert isinstance(connectome.graph(), DenseGraph)
    assert isinstance(connectome.graph(sparse=True), SparseGraph)
    sparse = connectome.graph(speed=3.0, sparse=True)
    assert isinstance(sparse, SparseDelayGraph)
    dense = connectome.graph(speed=3.0)
    weights, delays = sparse.to_dense()
    np.testing.assert_allclose(weights, dense.weights)
    np.testing.assert_allclose(delays[weights != 0], dense.delays[weights != 0])
    n = 1000
    big = Connectome(
        "big",
        np.eye(n)[::-1],
        np.ones((n, n)),
        tuple(map(str, range(n))),
        np.zeros((n, 3)),
    )
    assert isinstance(big.graph(), SparseGraph)
