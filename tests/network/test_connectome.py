"""Connectomes shipped by tvb-data."""

from __future__ import annotations

import numpy as np
import pytest

from sweepjax.network import (
    DenseDelayGraph,
    DenseGraph,
    available_connectomes,
    load_connectome,
)


@pytest.mark.parametrize("name", ["68", 76, "connectivity_76", "192"])
def test_load_connectome(name):
    c = load_connectome(name)
    n = int(str(name).removeprefix("connectivity_"))
    assert c.n_regions == n
    assert c.weights.shape == c.tract_lengths.shape == (n, n)
    assert c.centres.shape == (n, 3)
    assert len(c.region_labels) == n and all(
        isinstance(s, str) for s in c.region_labels
    )
    assert c.weights.max() > 0 and np.all(c.tract_lengths >= 0)


def test_available_connectomes():
    assert {"66", "68", "76", "96", "192"} <= set(available_connectomes())


def test_connectome_graphs():
    c = load_connectome("76")
    assert c.region_labels[0] == "rA1"
    graph = c.graph()
    assert isinstance(graph, DenseGraph) and graph.weights.max() == 1.0
    delayed = c.graph(speed=4.0)
    assert isinstance(delayed, DenseDelayGraph)
    np.testing.assert_allclose(delayed.delays, c.tract_lengths / 4.0)
    with pytest.raises(ValueError, match="speed must be > 0"):
        c.graph(speed=0.0)


def test_unknown_connectome_lists_available():
    with pytest.raises(ValueError, match=r"unknown connectome 'human'.*'76'"):
        load_connectome("human")


def test_graph_scaling_is_stated_and_self_connections_are_dropped():
    connectome = load_connectome("68")  # its largest entry is on the diagonal
    raw = connectome.weights
    off_diagonal = raw - np.diag(np.diag(raw))
    assert np.diag(raw).max() > off_diagonal.max()  # the case this guards
    np.testing.assert_allclose(
        connectome.graph().weights, off_diagonal / off_diagonal.max()
    )
    np.testing.assert_allclose(
        connectome.graph(self_connections=True).weights, raw / raw.max()
    )
    np.testing.assert_array_equal(
        connectome.graph(normalize=None, self_connections=True).weights, raw
    )
    with pytest.raises(ValueError, match='normalize must be "max".*got True'):
        connectome.graph(normalize=True)


def test_graph_takes_a_max_delay_for_longer_swept_delays():
    c = load_connectome("76")
    largest = float((c.tract_lengths / 4.0).max())
    assert c.graph(speed=4.0).max_delay == largest
    for sparse in (False, True):
        graph = c.graph(speed=4.0, max_delay=2 * largest, sparse=sparse)
        assert graph.max_delay == 2 * largest
    with pytest.raises(ValueError, match="max_delay must be finite and >= the"):
        c.graph(speed=4.0, max_delay=largest / 2)
    with pytest.raises(ValueError, match="a graph without speed has no delays"):
        c.graph(max_delay=100.0)
