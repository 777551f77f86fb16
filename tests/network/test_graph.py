"""Graphs: weights and delays validated at construction, the delayed edge list."""

from __future__ import annotations

import numpy as np
import pytest

from sweepjax.network import DenseDelayGraph, DenseGraph


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


def test_arrays_and_delays_flag():
    graph = DenseGraph(np.eye(3))
    assert graph.n_nodes == 3 and not graph.has_delays
    assert list(graph.arrays()) == ["weights"]
    delayed = DenseDelayGraph(np.eye(2), np.ones((2, 2)))
    assert delayed.has_delays and delayed.max_delay == 1.0
    assert list(delayed.arrays()) == ["weights", "delays"]


def test_edge_index_visits_nonzero_weights_or_all():
    weights = np.array([[0.0, 1.0], [0.0, 0.0]])
    targets, sources = DenseDelayGraph(weights, np.ones((2, 2))).edge_index()
    assert targets.tolist() == [0] and sources.tolist() == [1]
    every = DenseDelayGraph(weights, np.ones((2, 2)), all_edges=True).edge_index()
    assert [a.tolist() for a in every] == [[0, 0, 1, 1], [0, 1, 0, 1]]
