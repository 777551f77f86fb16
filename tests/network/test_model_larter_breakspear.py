"""LarterBreakspear: TVB's equations, defaults and state order; runs in a network."""

from __future__ import annotations

import numpy as np
import pytest
import tvb_models as tm

from sweepjax.network._models.larter_breakspear import LarterBreakspear

LB = LarterBreakspear
N_NODES = 64


def test_state_names_parameters_and_defaults_are_tvbs(x64):
    model = tm.tvb_model("LarterBreakspear")
    tm.check_names_and_defaults(LB, model, cvar=model.cvar)
    # One coupling component per TVB cvar.
    assert LB.coupling_inputs == {"c": len(model.cvar)}


@pytest.mark.parametrize("which", ["defaults", "random"])
def test_derivative_equals_tvb_dfun(x64, which):
    rng = np.random.default_rng(["defaults", "random"].index(which))
    params = dict(LB.default_parameters)
    if which == "random":
        params = tm.random_parameters(params, rng, zero=(-0.1, 0.1))
    model = tm.tvb_model("LarterBreakspear", params)
    state = tm.random_state(model.state_variable_range, LB.state_names, rng, N_NODES)
    coupling = rng.uniform(-1.5, 1.5, (1, N_NODES))

    expected = tm.tvb_dfun(model, state, coupling)
    got = tm.ours(LB, params, state, coupling)
    assert got.shape == expected.shape == (3, N_NODES)
    rel = tm.max_relative_error(got, expected)
    print(f"max relative error ({which}): {rel:.2e}")
    assert rel < 1e-10, rel


def test_runs_in_a_coupled_network():
    tm.check_runs_coupled(LB(), "V", n_states=3, G=0.5)


def test_per_node_parameters(x64):
    d_V = np.array([0.5, 0.6, 0.7])
    Iext = np.array([0.165, 0.3, 0.2])
    rng = np.random.default_rng(3)
    state = tm.random_state(
        {k: (-1.0, 1.0) for k in LB.state_names}, LB.state_names, rng, 3
    )
    coupling = rng.uniform(-1.0, 1.0, (1, 3))
    per_node = {"d_V": d_V, "Iext": Iext}
    defaults = LB.default_parameters
    tm.check_per_node_like_scalar(LB, defaults, per_node, state, coupling, 1e-14)
    # Through prepare: identical initial states, different d_V per node.
    tm.check_per_node_through_prepare(LB(d_V=d_V), "d_V", d_V, 0)
