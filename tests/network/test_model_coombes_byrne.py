"""CoombesByrne: TVB's equations and defaults, in a network, per-node parameters."""

from __future__ import annotations

import numpy as np
import pytest
import tvb_models as tm

from sweepjax.network._models.coombes_byrne import CoombesByrne

N_NODES = 5


def test_names_defaults_and_initial_state_match_tvb():
    model = tm.tvb_model("CoombesByrne")
    tm.check_names_and_defaults(CoombesByrne, model, cvar=[0, 1, 2, 3])
    assert CoombesByrne.coupling_inputs == {"c": 1}  # TVB reads only r's
    assert set(model.state_variable_boundaries) == {"r"}  # documented, not applied


@pytest.mark.parametrize("which", ["default", "random"])
def test_derivative_matches_tvb_dfun(x64, which):
    rng = np.random.default_rng(1)
    params = dict(CoombesByrne.default_parameters)
    if which == "random":
        params = tm.random_parameters(params, rng)
    tvb_params = None if which == "default" else params
    model = tm.tvb_model("CoombesByrne", tvb_params)
    tm.check_dfun_matches(CoombesByrne, model, params, rng, N_NODES, components=1)


def test_tvb_reads_only_the_coupling_of_r(x64):
    """Why ``c`` has one component: TVB's dfun reads only ``coupling[0]``."""
    model = tm.tvb_model("CoombesByrne")
    tm.check_tvb_reads_only_first_cvar(model, np.random.default_rng(2), N_NODES)


def test_runs_coupled_with_heun():
    tm.check_runs_coupled(CoombesByrne(), "r", n_states=4)


def test_per_node_parameters(x64):
    eta = np.array([5.0, 10.0, 20.0])
    state = np.array(
        [[0.5, 1.0, 2.0], [-2.0, 0.5, 3.0], [1.2, 1.5, 1.8], [-0.3, 0.1, 0.4]]
    )
    c = np.array([[0.3, -0.2, 0.1]])
    defaults = CoombesByrne.default_parameters
    tm.check_per_node_like_scalar(CoombesByrne, defaults, {"eta": eta}, state, c, 1e-12)
    tm.check_per_node_through_prepare(CoombesByrne(eta=eta), "eta", eta, 1, coupled="r")
