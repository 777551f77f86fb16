"""Random graphs and null models, and the constant, step and ramp inputs,
against TVB-Optim's ``DenseGraph.random`` and its parametric inputs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax import Config
from sweepjax.network import (
    Constant,
    Ramp,
    SparseGraph,
    Step,
    null_model,
    random_graph,
    random_weights,
)

tnd = pytest.importorskip("tvboptim.experimental.network_dynamics")


@pytest.mark.parametrize(
    "ours, theirs",
    [
        ({"density": 0.4}, {"density": 0.4}),
        (
            {"symmetric": False, "weights": "uniform"},
            {"symmetric": False, "weight_dist": "uniform"},
        ),
        (
            {"density": 0.5, "self_loops": True, "weights": "binary"},
            {"density": 0.5, "allow_self_loops": True, "weight_dist": "binary"},
        ),
    ],
)
def test_random_weights_are_tvboptims_draw(ours, theirs):
    key = jax.random.key(5)
    expected = np.asarray(tnd.DenseGraph.random(7, key=key, **theirs).weights)
    np.testing.assert_array_equal(random_weights(7, key=key, **ours), expected)


def test_sparse_random_graph_and_null_models():
    graph = random_graph(30, density=0.1, key=1, sparse=True)
    assert isinstance(graph, SparseGraph)
    dense = graph.to_dense()
    assert np.array_equal(dense, dense.T) and not dense.diagonal().any()
    assert 0.05 < np.count_nonzero(dense) / (30 * 29) < 0.15
    w = random_weights(10, density=0.5, symmetric=False, key=2)
    shuffled = null_model(w, "shuffle", key=3)
    assert np.array_equal(shuffled != 0, w != 0)
    assert np.allclose(np.sort(shuffled[w != 0]), np.sort(w[w != 0]))
    assert not np.array_equal(shuffled, w)
    rewired = null_model(w, "rewire", key=3)
    for axis in (0, 1):  # in- and out-degrees kept, the connections moved
        assert np.array_equal((rewired != 0).sum(axis), (w != 0).sum(axis))
    assert not np.array_equal(rewired != 0, w != 0)
    symmetric = null_model(dense, key=5)
    assert np.array_equal(symmetric, symmetric.T)
    with pytest.raises(ValueError, match="kind must be 'shuffle'"):
        null_model(w, "random")
    with pytest.raises(ValueError, match=r"density must be in \[0, 1\]"):
        random_weights(4, density=1.5)


def _theirs(name, **params):
    from tvboptim.experimental.network_dynamics.external_input import parametric

    stimulus = getattr(parametric, name)()
    bunch = type(stimulus.DEFAULT_PARAMS)(**params)
    state = jnp.zeros((1, 3))
    return lambda t: stimulus.compute(t, state, None, None, bunch)[0]


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (
            Ramp("x", onset=2.0, duration=3.0, amp=0.7),
            _theirs("RampInput", t_start=2.0, t_end=5.0, amplitude=0.7),
        ),
        (
            Step("x", onset=2.0, duration=1.5, amp=0.7),
            _theirs("PulseInput", onset=2.0, duration=1.5, amplitude=0.7),
        ),
        (Constant("x", amp=0.7), _theirs("ConstantInput", amplitude=0.7)),
    ],
)
def test_inputs_are_tvboptims(ours, theirs):
    params = Config(**{k: jnp.asarray(v.value) for k, v in ours.leaves().items()})
    for t in np.linspace(0.0, 6.0, 25):
        t = jnp.asarray(t)
        expected = theirs(t)
        np.testing.assert_allclose(ours(params, t, 0) + 0 * expected, expected)


def test_a_step_without_duration_stays_on():
    step = Step("x", onset=1.0, amp=2.0)
    params = Config(**{k: jnp.asarray(v.value) for k, v in step.leaves().items()})
    assert float(step(params, jnp.asarray(0.5), 0)) == 0.0
    assert float(step(params, jnp.asarray(1e6), 0)) == 2.0
