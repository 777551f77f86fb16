"""The neural mass models: defaults, overrides and equations."""

from __future__ import annotations

import numpy as np
import pytest

import sweepjax.network
from sweepjax.network import (
    AbstractDynamics,
    DenseGraph,
    Euler,
    Kuramoto,
    KuramotoCoupling,
    LinearCoupling,
    Network,
    ReducedWongWang,
    SupHopf,
    prepare,
)
from sweepjax.network._models import MODELS, REFERENCE_FLOWS


def test_the_registry_holds_every_exported_model():
    exported = {
        name
        for name in sweepjax.network.__all__
        if isinstance(getattr(sweepjax.network, name), type)
        and issubclass(getattr(sweepjax.network, name), AbstractDynamics)
        and name != "AbstractDynamics"
    }
    assert exported == set(MODELS) | set(REFERENCE_FLOWS)
    assert all(getattr(sweepjax.network, name) is MODELS[name] for name in MODELS)


@pytest.mark.parametrize("model", list(MODELS.values()), ids=list(MODELS))
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


def test_parameter_overrides_and_per_node_values():
    dynamics = ReducedWongWang(w=0.9, I_o=np.array([0.3, 0.4]))
    network = Network(dynamics, {}, DenseGraph(np.zeros((2, 2))))
    solve_fn, config = prepare(network, Euler(), 0.0, 1.0, 0.1)
    assert float(config.dynamics.w) == pytest.approx(0.9)
    ys = solve_fn(config).ys
    assert ys[-1, 0, 0] != ys[-1, 0, 1]


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
