"""Linear: TVB's equation and default, in a network, per-node parameters."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax._config import Config
from sweepjax.network import DenseGraph, Heun, LinearCoupling, Network, prepare
from sweepjax.network._models.linear import Linear

N_NODES = 5


@pytest.fixture(scope="module")
def tvb_class():
    return pytest.importorskip("tvb.simulator.models").Linear


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


def ours(params, state, c):
    dx = Linear(**params).derivative(
        0.0, jnp.asarray(state), {"c": jnp.asarray(c)}, Config(params)
    )
    return np.asarray(dx)


def test_names_defaults_and_initial_state_match_tvb(tvb_class):
    model = tvb_model(tvb_class)
    assert Linear.state_names == tuple(model.state_variables)
    assert list(model.cvar) == [0]
    assert set(Linear.default_parameters) == set(model.parameter_names)
    for name, value in Linear.default_parameters.items():
        assert float(getattr(model, name)[0]) == value, name
    for name, value in Linear.default_initial_state.items():
        lo, hi = model.state_variable_range[name]
        assert lo <= value <= hi


@pytest.mark.parametrize("which", ["default", "random"])
def test_derivative_matches_tvb_dfun(x64, tvb_class, which):
    rng = np.random.default_rng(1)
    params = dict(Linear.default_parameters)
    if which == "random":
        params = {"gamma": rng.uniform(-5.0, -1.0)}
    model = tvb_model(tvb_class, None if which == "default" else params)
    for _ in range(3):
        state = random_state(model, rng)
        coupling = rng.uniform(-1.0, 1.0, (1, N_NODES))  # TVB: one row per cvar
        expected = model.dfun(state[..., None], coupling[..., None])[..., 0]
        got = ours(params, state, coupling)
        scale = np.abs(expected).max()
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12 * scale)


def solve(dynamics, n_nodes=3, G=0.1):
    weights = np.ones((n_nodes, n_nodes)) - np.eye(n_nodes)
    coupling = {"c": LinearCoupling("x", G=G)}
    network = Network(dynamics, coupling, DenseGraph(weights))
    solve_fn, config = prepare(network, Heun(), 0.0, 2.0, 0.1)
    return np.asarray(solve_fn(config).ys), np.asarray(config.initial_state)


def test_runs_coupled_with_heun():
    ys, y0 = solve(Linear())
    assert ys.shape == (20, 1, 3)
    assert np.all(np.isfinite(ys))
    assert not np.allclose(ys[-1], y0)


def test_per_node_parameters(x64):
    gamma = np.array([-1.0, -2.0, -4.0])
    state = np.array([[0.1, -0.4, 0.7]])
    c = np.array([[0.3, -0.2, 0.1]])
    got = ours({"gamma": gamma}, state, c)
    np.testing.assert_allclose(got, gamma * state + c, rtol=1e-12)
    ys, _ = solve(Linear(gamma=gamma))
    assert np.all(np.isfinite(ys))
    assert len(np.unique(ys[-1, 0])) == 3
