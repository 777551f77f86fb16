"""WilsonCowan: TVB's equations and defaults, in a network, per-node parameters."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax._config import Config
from sweepjax.network import DenseGraph, Heun, LinearCoupling, Network, prepare
from sweepjax.network._models.wilson_cowan import WilsonCowan

N_NODES = 5


@pytest.fixture(scope="module")
def tvb_class():
    return pytest.importorskip("tvb.simulator.models").WilsonCowan


def tvb_model(tvb_class, params=None):
    """TVB's model with ``params``, or with TVB's own defaults if None."""
    if params is None:
        model = tvb_class()
        model.configure()
        return model
    arrays = {k: np.array([v], float) for k, v in params.items()}
    arrays["shift_sigmoid"] = np.array([bool(params["shift_sigmoid"])])
    model = tvb_class(**arrays)
    model.configure()
    return model


def random_state(model, rng):
    ranges = model.state_variable_range
    return np.stack(
        [rng.uniform(*ranges[name], N_NODES) for name in model.state_variables]
    )


def random_parameters(rng):
    params = {}
    for name, value in WilsonCowan.default_parameters.items():
        scale = rng.uniform(0.5, 1.5)
        params[name] = value * scale if value != 0.0 else rng.uniform(0.1, 1.0)
    params["shift_sigmoid"] = 0.0  # TVB's default is True (1.0)
    return params


def ours(params, state, c):
    dx = WilsonCowan(**params).derivative(
        0.0, jnp.asarray(state), {"c": jnp.asarray(c)}, Config(params)
    )
    return np.asarray(dx)


def test_names_defaults_and_initial_state_match_tvb(tvb_class):
    model = tvb_model(tvb_class)
    assert WilsonCowan.state_names == tuple(model.state_variables)
    assert list(model.cvar) == [0, 1]
    for name, value in WilsonCowan.default_parameters.items():
        assert float(getattr(model, name)[0]) == value, name
    NArray = pytest.importorskip("tvb.basic.neotraits.api").NArray
    attrs = tvb_class.declarative_attrs
    tvb_names = {n for n in attrs if isinstance(getattr(tvb_class, n), NArray)}
    assert set(WilsonCowan.default_parameters) == tvb_names
    for name, value in WilsonCowan.default_initial_state.items():
        lo, hi = model.state_variable_range[name]
        assert lo <= value <= hi


@pytest.mark.parametrize("which", ["default", "random"])
def test_derivative_matches_tvb_dfun(x64, tvb_class, which):
    rng = np.random.default_rng(1)
    defaults = dict(WilsonCowan.default_parameters)
    params = defaults if which == "default" else random_parameters(rng)
    model = tvb_model(tvb_class, None if which == "default" else params)
    for _ in range(3):
        state = random_state(model, rng)
        coupling = rng.uniform(-1.0, 1.0, (2, N_NODES))  # TVB: one row per cvar
        expected = model.dfun(state[..., None], coupling[..., None])[..., 0]
        got = ours(params, state, coupling[:1])
        scale = np.abs(expected).max()
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12 * scale)


def test_tvb_ignores_the_coupling_of_i(x64, tvb_class):
    """Why ``c`` has one component: TVB's dfun reads only ``coupling[0]``."""
    rng = np.random.default_rng(2)
    model = tvb_model(tvb_class)
    state = random_state(model, rng)[..., None]
    coupling = rng.uniform(-1.0, 1.0, (2, N_NODES, 1))
    before = model.dfun(state, coupling)
    changed = coupling.copy()
    changed[1] += 5.0
    np.testing.assert_array_equal(model.dfun(state, changed), before)
    changed[0] += 5.0
    assert not np.allclose(model.dfun(state, changed), before)


def solve(dynamics, n_nodes=3, G=0.1):
    weights = np.ones((n_nodes, n_nodes)) - np.eye(n_nodes)
    coupling = {"c": LinearCoupling("E", G=G)}
    network = Network(dynamics, coupling, DenseGraph(weights))
    solve_fn, config = prepare(network, Heun(), 0.0, 2.0, 0.1)
    return np.asarray(solve_fn(config).ys), np.asarray(config.initial_state)


def test_runs_coupled_with_heun():
    ys, y0 = solve(WilsonCowan(P=1.0))
    assert ys.shape == (20, 2, 3)
    assert np.all(np.isfinite(ys))
    assert not np.allclose(ys[-1], y0)


def test_per_node_parameters(x64):
    P = np.array([0.0, 0.5, 1.0])
    state = np.array([[0.1, 0.4, 0.7], [0.2, 0.3, 0.9]])
    c = np.array([[0.3, -0.2, 0.1]])
    params = {**WilsonCowan.default_parameters, "P": P}
    got = ours(params, state, c)
    for i in range(3):
        scalar = {**WilsonCowan.default_parameters, "P": float(P[i])}
        expected = ours(scalar, state[:, i : i + 1], c[:, i : i + 1])
        np.testing.assert_allclose(got[:, i : i + 1], expected, rtol=1e-12)
    ys, _ = solve(WilsonCowan(P=P))
    assert np.all(np.isfinite(ys))
    assert len(np.unique(ys[-1, 0])) == 3
