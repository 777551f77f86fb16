"""Dynamics and couplings: interface, parameters, equations."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from network_helpers import Linear

from sweepjax.network import (
    DenseGraph,
    Euler,
    Generic2dOscillator,
    JansenRit,
    Kuramoto,
    KuramotoCoupling,
    LinearCoupling,
    Network,
    ReducedWongWang,
    SupHopf,
    make_config,
    prepare,
)

MODELS = (ReducedWongWang, Generic2dOscillator, SupHopf, JansenRit, Kuramoto)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_model_solves_coupled(model):
    dynamics = model()
    k = next(iter(dynamics.coupling_inputs.values()))
    incoming = dynamics.state_names[:k]
    coupling = (
        KuramotoCoupling(incoming, G=1.0) if model is Kuramoto
        else LinearCoupling(incoming, G=0.01)
    )  # fmt: skip
    weights = np.ones((3, 3)) - np.eye(3)
    network = Network(dynamics, {"c": coupling}, DenseGraph(weights))
    solve_fn, config = prepare(network, Euler(), 0.0, 1.0, 0.1)
    ys = solve_fn(config).ys
    assert ys.shape == (10, dynamics.n_states, 3)
    assert np.all(np.isfinite(ys))
    assert set(config.dynamics.keys()) == set(model.default_parameters)


def test_rww_defaults_and_initial_state():
    config = make_config(Network(ReducedWongWang(), {}, DenseGraph(np.zeros((5, 5)))))
    assert float(config.dynamics.J_N) == pytest.approx(0.2609)
    assert float(config.dynamics.I_o) == pytest.approx(0.33)
    np.testing.assert_allclose(config.initial_state, np.full((1, 5), 0.1))


def test_parameter_overrides_and_per_node_values():
    dynamics = ReducedWongWang(w=0.9, I_o=np.array([0.3, 0.4]))
    network = Network(dynamics, {}, DenseGraph(np.zeros((2, 2))))
    solve_fn, config = prepare(network, Euler(), 0.0, 1.0, 0.1)
    assert float(config.dynamics.w) == pytest.approx(0.9)
    ys = solve_fn(config).ys
    assert ys[-1, 0, 0] != ys[-1, 0, 1]


def test_unknown_parameter_is_rejected():
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['G'\]"):
        ReducedWongWang(G=0.5)


def test_user_model_in_a_few_lines():
    network = Network(
        Linear(tau=2.0), {"c": LinearCoupling("x", G=0.0)}, DenseGraph(np.eye(2))
    )
    solve_fn, config = prepare(network, Euler(), 0.0, 1.0, 0.5)
    np.testing.assert_allclose(solve_fn(config).ys[:, 0, 0], [0.75, 0.5625])


def test_linear_coupling_formula():
    W = jnp.array([[0.0, 2.0], [1.0, 0.0]])
    c = LinearCoupling("S", G=0.5, b=0.1)
    out = c(make_params(G=0.5, b=0.1), W, jnp.array([[1.0, 3.0]]))
    np.testing.assert_allclose(out, [[0.5 * 6.0 + 0.1, 0.5 * 1.0 + 0.1]])


def test_kuramoto_coupling_formula():
    W = jnp.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.0], [0.2, 0.3, 0.0]])
    theta = jnp.array([[0.1, 1.2, -2.0]])
    out = KuramotoCoupling("theta", G=1.5)(make_params(G=1.5), W, theta)
    t = np.asarray(theta[0])
    expected = 1.5 / 3 * (np.asarray(W) * np.sin(t[None, :] - t[:, None])).sum(1)
    np.testing.assert_allclose(out[0], expected, rtol=1e-5, atol=1e-7)


def test_multi_component_coupling_feeds_suphopf():
    W = np.array([[0.0, 1.0], [1.0, 0.0]])
    network = Network(
        SupHopf(), {"c": LinearCoupling(("x", "y"), G=0.2)}, DenseGraph(W)
    )
    solve_fn, config = prepare(network, Euler(), 0.0, 0.1, 0.1)
    y0 = np.asarray(config.initial_state)
    x, y = y0
    r = -0.5 - x**2 - y**2
    expected = y0 + 0.1 * np.stack(
        [r * x - y + 0.2 * (W @ x), r * y + x + 0.2 * (W @ y)]
    )
    np.testing.assert_allclose(solve_fn(config).ys[0], expected, rtol=1e-6)


def make_params(**values):
    from sweepjax import Config

    return Config({k: jnp.asarray(v) for k, v in values.items()})
