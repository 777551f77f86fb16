"""Linear: TVB's equation and default, in a network, per-node parameters."""

from __future__ import annotations

import numpy as np
import pytest
import tvb_models as tm

from sweepjax.network._models.linear import Linear

N_NODES = 5


def test_names_defaults_and_initial_state_match_tvb():
    model = tm.tvb_model("Linear")
    tm.check_names_and_defaults(Linear, model, cvar=[0])
    assert set(Linear.default_parameters) == set(model.parameter_names)


@pytest.mark.parametrize("which", ["default", "random"])
def test_derivative_matches_tvb_dfun(x64, which):
    rng = np.random.default_rng(1)
    params = dict(Linear.default_parameters)
    if which == "random":
        params = {"gamma": rng.uniform(-5.0, -1.0)}
    tvb_params = None if which == "default" else params
    model = tm.tvb_model("Linear", tvb_params)
    tm.check_dfun_matches(Linear, model, params, rng, N_NODES, components=1)


def test_runs_coupled_with_heun():
    tm.check_runs_coupled(Linear(), "x", n_states=1)


def test_per_node_parameters(x64):
    gamma = np.array([-1.0, -2.0, -4.0])
    state = np.array([[0.1, -0.4, 0.7]])
    c = np.array([[0.3, -0.2, 0.1]])
    got = tm.ours(Linear, {"gamma": gamma}, state, c)
    np.testing.assert_allclose(got, gamma * state + c, rtol=1e-12)
    tm.check_per_node_through_prepare(
        Linear(gamma=gamma), "gamma", gamma, 0, coupled="x"
    )
