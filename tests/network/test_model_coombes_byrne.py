"""CoombesByrne: TVB's equations and defaults, in a network, per-node parameters."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax._config import Config
from sweepjax.network import DenseGraph, Heun, LinearCoupling, Network, prepare
from sweepjax.network._models.coombes_byrne import CoombesByrne

N_NODES = 5


@pytest.fixture(scope="module")
def tvb_class():
    return pytest.importorskip("tvb.simulator.models").CoombesByrne


def tvb_model(tvb_class, params=None):
    """TVB's model with ``params``, or with TVB's own defaults if None."""
    if params is None:
        model = tvb_class()
        model.configure()
        return model
    model = tvb_class(**{k: np.array([v], float) for k, v in params.items()})
    model.configure()
    return model


def random_state(model, rng):
    ranges = model.state_variable_range
    return np.stack(
        [rng.uniform(*ranges[name], N_NODES) for name in model.state_variables]
    )


def random_parameters(rng):
    return {
        name: value * rng.uniform(0.5, 1.5)
        for name, value in CoombesByrne.default_parameters.items()
    }


def ours(params, state, c):
    dx = CoombesByrne(**params).derivative(
        0.0, jnp.asarray(state), {"c": jnp.asarray(c)}, Config(params)
    )
    return np.asarray(dx)


def test_names_defaults_and_initial_state_match_tvb(tvb_class):
    model = tvb_model(tvb_class)
    assert CoombesByrne.state_names == tuple(model.state_variables)
    assert list(model.cvar) == [0, 1, 2, 3]
    NArray = pytest.importorskip("tvb.basic.neotraits.api").NArray
    attrs = tvb_class.declarative_attrs
    tvb_names = {n for n in attrs if isinstance(getattr(tvb_class, n), NArray)}
    assert set(CoombesByrne.default_parameters) == tvb_names
    for name, value in CoombesByrne.default_parameters.items():
        assert float(getattr(model, name)[0]) == value, name
    for name, value in CoombesByrne.default_initial_state.items():
        lo, hi = model.state_variable_range[name]
        assert lo <= value <= hi
    assert set(model.state_variable_boundaries) == {"r"}  # documented, not applied


@pytest.mark.parametrize("which", ["default", "random"])
def test_derivative_matches_tvb_dfun(x64, tvb_class, which):
    rng = np.random.default_rng(1)
    defaults = dict(CoombesByrne.default_parameters)
    params = defaults if which == "default" else random_parameters(rng)
    model = tvb_model(tvb_class, None if which == "default" else params)
    for _ in range(3):
        state = random_state(model, rng)
        coupling = rng.uniform(-1.0, 1.0, (4, N_NODES))  # TVB: one row per cvar
        expected = model.dfun(state[..., None], coupling[..., None])[..., 0]
        got = ours(params, state, coupling[:1])
        scale = np.abs(expected).max()
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12 * scale)


def test_tvb_reads_only_the_coupling_of_r(x64, tvb_class):
    """Why ``c`` has one component: TVB's dfun reads only ``coupling[0]``."""
    rng = np.random.default_rng(2)
    model = tvb_model(tvb_class)
    state = random_state(model, rng)[..., None]
    coupling = rng.uniform(-1.0, 1.0, (4, N_NODES, 1))
    before = model.dfun(state, coupling)
    changed = coupling.copy()
    changed[1:] += 5.0
    np.testing.assert_array_equal(model.dfun(state, changed), before)
    changed[0] += 5.0
    assert not np.allclose(model.dfun(state, changed), before)


def solve(dynamics, n_nodes=3, G=0.1):
    weights = np.ones((n_nodes, n_nodes)) - np.eye(n_nodes)
    coupling = {"c": LinearCoupling("r", G=G)}
    network = Network(dynamics, coupling, DenseGraph(weights))
    solve_fn, config = prepare(network, Heun(), 0.0, 2.0, 0.1)
    return np.asarray(solve_fn(config).ys), np.asarray(config.initial_state)


def test_runs_coupled_with_heun():
    ys, y0 = solve(CoombesByrne())
    assert ys.shape == (20, 4, 3)
    assert np.all(np.isfinite(ys))
    assert not np.allclose(ys[-1], y0)


def test_per_node_parameters(x64):
    eta = np.array([5.0, 10.0, 20.0])
    state = np.array(
        [[0.5, 1.0, 2.0], [-2.0, 0.5, 3.0], [1.2, 1.5, 1.8], [-0.3, 0.1, 0.4]]
    )
    c = np.array([[0.3, -0.2, 0.1]])
    params = {**CoombesByrne.default_parameters, "eta": eta}
    got = ours(params, state, c)
    for i in range(3):
        scalar = {**CoombesByrne.default_parameters, "eta": float(eta[i])}
        expected = ours(scalar, state[:, i : i + 1], c[:, i : i + 1])
        np.testing.assert_allclose(got[:, i : i + 1], expected, rtol=1e-12)
    ys, _ = solve(CoombesByrne(eta=eta))
    assert np.all(np.isfinite(ys))
    assert len(np.unique(ys[-1, 1])) == 3
