"""LarterBreakspear: TVB's equations, defaults and state order; runs in a network."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax._config import Config
from sweepjax.network import DenseGraph, Heun, LinearCoupling, Network, prepare
from sweepjax.network._models.larter_breakspear import LarterBreakspear

N_NODES = 64


def tvb_parameter_names(model) -> set[str]:
    not_parameters = {
        "state_variable_range",
        "state_variable_boundaries",
        "variables_of_interest",
        "gid",
    }
    return set(type(model).declarative_attrs) - not_parameters


def random_state(rng, ranges, n):
    """States in TVB's ``state_variable_range``."""
    return np.stack([rng.uniform(*ranges[k], n) for k in LarterBreakspear.state_names])


def random_parameters(rng):
    params = {}
    for name, value in LarterBreakspear.default_parameters.items():
        if value == 0.0:
            params[name] = rng.uniform(-0.1, 0.1)
        else:
            params[name] = value * rng.uniform(0.5, 1.5)
    return params


def ours(state, coupling, params):
    out = LarterBreakspear().derivative(
        0.0,
        jnp.asarray(state),
        {"c": jnp.asarray(coupling)},
        Config({k: jnp.asarray(v) for k, v in params.items()}),
    )
    return np.asarray(out)


def test_state_names_parameters_and_defaults_are_tvbs(x64):
    models = pytest.importorskip("tvb.simulator.models")
    tvb = models.LarterBreakspear()
    assert LarterBreakspear.state_names == tuple(tvb.state_variables)
    assert set(LarterBreakspear.default_parameters) == tvb_parameter_names(tvb)
    for name, value in LarterBreakspear.default_parameters.items():
        assert value == float(getattr(tvb, name)[0]), name
    # One coupling component per TVB cvar, and the initial state in TVB's range.
    assert LarterBreakspear.coupling_inputs == {"c": len(tvb.cvar)}
    for name, value in LarterBreakspear.default_initial_state.items():
        lo, hi = tvb.state_variable_range[name]
        assert lo <= value <= hi, name


@pytest.mark.parametrize("which", ["defaults", "random"])
def test_derivative_equals_tvb_dfun(x64, which):
    models = pytest.importorskip("tvb.simulator.models")
    rng = np.random.default_rng(["defaults", "random"].index(which))
    if which == "defaults":
        params = dict(LarterBreakspear.default_parameters)
    else:
        params = random_parameters(rng)
    tvb = models.LarterBreakspear(**{k: np.array([v]) for k, v in params.items()})
    tvb.configure()
    state = random_state(rng, tvb.state_variable_range, N_NODES)
    coupling = rng.uniform(-1.5, 1.5, (1, N_NODES))

    expected = tvb.dfun(state[..., None], coupling[..., None])[..., 0]
    got = ours(state, coupling, params)
    assert got.shape == expected.shape == (3, N_NODES)
    rel = np.abs(got - expected) / np.maximum(np.abs(expected), 1e-300)
    print(f"max relative error ({which}): {rel.max():.2e}")
    assert rel.max() < 1e-10, rel.max()


def test_runs_in_a_coupled_network():
    weights = np.ones((3, 3)) - np.eye(3)
    coupling = {"c": LinearCoupling("V", G=0.5)}
    network = Network(LarterBreakspear(), coupling, DenseGraph(weights))
    solve_fn, config = prepare(network, Heun(), 0.0, 2.0, 0.1)
    ys = np.asarray(solve_fn(config).ys)
    assert ys.shape == (20, 3, 3)
    assert np.all(np.isfinite(ys))
    assert not np.allclose(ys[-1], ys[0])


def test_per_node_parameters(x64):
    d_V = np.array([0.5, 0.6, 0.7])
    Iext = np.array([0.165, 0.3, 0.2])
    rng = np.random.default_rng(3)
    state = random_state(rng, {k: (-1.0, 1.0) for k in LarterBreakspear.state_names}, 3)
    coupling = rng.uniform(-1.0, 1.0, (1, 3))
    params = dict(LarterBreakspear.default_parameters, d_V=d_V, Iext=Iext)
    got = ours(state, coupling, params)
    for i in range(3):
        node = dict(params, d_V=d_V[i], Iext=Iext[i])
        expected = ours(state[:, i : i + 1], coupling[:, i : i + 1], node)[:, 0]
        np.testing.assert_allclose(got[:, i], expected, rtol=1e-14)

    # Through prepare: identical initial states, different d_V per node.
    network = Network(LarterBreakspear(d_V=d_V), {}, DenseGraph(np.zeros((3, 3))))
    solve_fn, config = prepare(network, Heun(), 0.0, 2.0, 0.1)
    assert config.dynamics.d_V.shape == (3,)
    ys = np.asarray(solve_fn(config).ys)
    assert np.all(np.isfinite(ys))
    V = ys[-1, 0]
    assert V[0] != V[1] != V[2]
