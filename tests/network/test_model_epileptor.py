"""Epileptor: TVB's equations, defaults and state order; runs in a network."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax._config import Config
from sweepjax.network import DenseGraph, Heun, LinearCoupling, Network, prepare
from sweepjax.network._models.epileptor import Epileptor

N_NODES = 64
#: TVB's parameters that our Epileptor leaves out, with the reason.
LEFT_OUT = {"s"}  # declared by TVB, never read by its equations


def tvb_parameter_names(model) -> set[str]:
    not_parameters = {
        "state_variable_range",
        "state_variable_boundaries",
        "variables_of_interest",
        "gid",
    }
    return set(type(model).declarative_attrs) - not_parameters


def random_state(rng, ranges, n):
    """States in TVB's ``state_variable_range``; ``z`` reaches below 0 so that
    both sides of its ``z < 0`` branch are covered (TVB's range is [2, 5])."""
    lo = {k: v[0] for k, v in ranges.items()}
    hi = {k: v[1] for k, v in ranges.items()}
    lo["z"] = -1.0
    return np.stack([rng.uniform(lo[k], hi[k], n) for k in Epileptor.state_names])


def random_parameters(rng, modification):
    params = {}
    for name, value in Epileptor.default_parameters.items():
        if name == "modification":
            params[name] = float(modification)
        elif value == 0.0:
            params[name] = rng.uniform(-1.0, 1.0)
        else:
            params[name] = value * rng.uniform(0.5, 1.5)
    return params


def ours(state, coupling, params):
    out = Epileptor().derivative(
        0.0,
        jnp.asarray(state),
        {"c": jnp.asarray(coupling)},
        Config({k: jnp.asarray(v) for k, v in params.items()}),
    )
    return np.asarray(out)


def test_state_names_parameters_and_defaults_are_tvbs(x64):
    models = pytest.importorskip("tvb.simulator.models")
    tvb = models.Epileptor()
    assert Epileptor.state_names == tuple(tvb.state_variables)
    assert set(Epileptor.default_parameters) == tvb_parameter_names(tvb) - LEFT_OUT
    for name, value in Epileptor.default_parameters.items():
        assert value == float(getattr(tvb, name)[0]), name
    # One coupling component per TVB cvar, and the initial state in TVB's range.
    assert Epileptor.coupling_inputs == {"c": len(tvb.cvar)}
    for name, value in Epileptor.default_initial_state.items():
        lo, hi = tvb.state_variable_range[name]
        assert lo <= value <= hi, name


@pytest.mark.parametrize("which", ["defaults", "random", "random_modified"])
def test_derivative_equals_tvb_dfun(x64, which):
    models = pytest.importorskip("tvb.simulator.models")
    rng = np.random.default_rng(["defaults", "random", "random_modified"].index(which))
    if which == "defaults":
        params = dict(Epileptor.default_parameters)
    else:
        params = random_parameters(rng, modification=which == "random_modified")
    tvb = models.Epileptor(
        **{
            k: np.array([bool(v)]) if k == "modification" else np.array([v])
            for k, v in params.items()
        }
    )
    tvb.configure()
    state = random_state(rng, tvb.state_variable_range, N_NODES)
    coupling = rng.uniform(-1.0, 1.0, (2, N_NODES))
    x1, z, x2 = state[0], state[2], state[3]
    for below in (x1 < 0.0, z < 0.0, x2 < -0.25):  # both sides of every branch
        assert below.any() and not below.all()

    expected = tvb.dfun(state[..., None], coupling[..., None])[..., 0]
    got = ours(state, coupling, params)
    assert got.shape == expected.shape == (6, N_NODES)
    rel = np.abs(got - expected) / np.maximum(np.abs(expected), 1e-300)
    print(f"max relative error ({which}): {rel.max():.2e}")
    assert rel.max() < 1e-10, rel.max()


def test_runs_in_a_coupled_network():
    weights = np.ones((3, 3)) - np.eye(3)
    dynamics = Epileptor(Kvf=0.5, Kf=0.5, Ks=-0.5)
    coupling = {"c": LinearCoupling(("x1", "x2"), G=0.1)}
    network = Network(dynamics, coupling, DenseGraph(weights))
    solve_fn, config = prepare(network, Heun(), 0.0, 2.0, 0.1)
    ys = np.asarray(solve_fn(config).ys)
    assert ys.shape == (20, 6, 3)
    assert np.all(np.isfinite(ys))
    assert not np.allclose(ys[-1], ys[0])


def test_per_node_parameters(x64):
    x0 = np.array([-2.2, -1.6, -1.2])
    modification = np.array([0.0, 1.0, 0.0])
    rng = np.random.default_rng(3)
    state = random_state(rng, {k: (-1.0, 1.0) for k in Epileptor.state_names}, 3)
    coupling = rng.uniform(-1.0, 1.0, (2, 3))
    params = dict(Epileptor.default_parameters, x0=x0, modification=modification)
    got = ours(state, coupling, params)
    for i in range(3):
        node = dict(params, x0=x0[i], modification=modification[i])
        expected = ours(state[:, i : i + 1], coupling[:, i : i + 1], node)[:, 0]
        np.testing.assert_allclose(got[:, i], expected, rtol=1e-14)

    # Through prepare: identical initial states, different x0 per node.
    network = Network(Epileptor(x0=x0), {}, DenseGraph(np.zeros((3, 3))))
    solve_fn, config = prepare(network, Heun(), 0.0, 2.0, 0.1)
    assert config.dynamics.x0.shape == (3,)
    ys = np.asarray(solve_fn(config).ys)
    assert np.all(np.isfinite(ys))
    z = ys[-1, 2]
    assert z[0] != z[1] != z[2]
