"""WilsonCowan: TVB's equations and defaults, in a network, per-node parameters."""

from __future__ import annotations

import numpy as np
import pytest
import tvb_models as tm

from sweepjax.network._models.wilson_cowan import WilsonCowan

N_NODES = 5
BOOLEANS = ("shift_sigmoid",)


def test_names_defaults_and_initial_state_match_tvb():
    model = tm.tvb_model("WilsonCowan")
    tm.check_names_and_defaults(WilsonCowan, model, cvar=[0, 1])
    assert WilsonCowan.coupling_inputs == {"c": 1}  # TVB reads only E's


@pytest.mark.parametrize("which", ["default", "random"])
def test_derivative_matches_tvb_dfun(x64, which):
    rng = np.random.default_rng(1)
    params = dict(WilsonCowan.default_parameters)
    if which == "random":
        fixed = {"shift_sigmoid": 0.0}  # TVB's default is True (1.0)
        params = tm.random_parameters(params, rng, zero=(0.1, 1.0), fixed=fixed)
    tvb_params = None if which == "default" else params
    model = tm.tvb_model("WilsonCowan", tvb_params, booleans=BOOLEANS)
    tm.check_dfun_matches(WilsonCowan, model, params, rng, N_NODES, components=1)


def test_tvb_ignores_the_coupling_of_i(x64):
    """Why ``c`` has one component: TVB's dfun reads only ``coupling[0]``."""
    model = tm.tvb_model("WilsonCowan")
    tm.check_tvb_reads_only_first_cvar(model, np.random.default_rng(2), N_NODES)


def test_runs_coupled_with_heun():
    tm.check_runs_coupled(WilsonCowan(P=1.0), "E", n_states=2)


def test_per_node_parameters(x64):
    P = np.array([0.0, 0.5, 1.0])
    state = np.array([[0.1, 0.4, 0.7], [0.2, 0.3, 0.9]])
    c = np.array([[0.3, -0.2, 0.1]])
    defaults = WilsonCowan.default_parameters
    tm.check_per_node_like_scalar(WilsonCowan, defaults, {"P": P}, state, c, 1e-12)
    tm.check_per_node_through_prepare(WilsonCowan(P=P), "P", P, 0, coupled="E")
