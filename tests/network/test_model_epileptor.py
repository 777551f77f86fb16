"""Epileptor: TVB's equations, defaults and state order; runs in a network."""

from __future__ import annotations

import numpy as np
import pytest
import tvb_models as tm

from sweepjax.network._models.epileptor import Epileptor

N_NODES = 64
#: TVB's parameters that our Epileptor leaves out, with the reason.
LEFT_OUT = {"s"}  # declared by TVB, never read by its equations
#: ``z`` reaches below 0 so that both sides of its ``z < 0`` branch are
#: covered (TVB's range is [2, 5]).
Z_BOTH_BRANCHES = {"z": (-1.0, 5.0)}


def test_state_names_parameters_and_defaults_are_tvbs(x64):
    model = tm.tvb_model("Epileptor")
    tm.check_names_and_defaults(Epileptor, model, cvar=[0, 3], left_out=LEFT_OUT)
    # One coupling component per TVB cvar.
    assert Epileptor.coupling_inputs == {"c": len(model.cvar)}


@pytest.mark.parametrize("which", ["defaults", "random", "random_modified"])
def test_derivative_equals_tvb_dfun(x64, which):
    rng = np.random.default_rng(["defaults", "random", "random_modified"].index(which))
    params = dict(Epileptor.default_parameters)
    if which != "defaults":
        fixed = {"modification": float(which == "random_modified")}
        params = tm.random_parameters(params, rng, zero=(-1.0, 1.0), fixed=fixed)
    model = tm.tvb_model("Epileptor", params, booleans=("modification",))
    ranges = model.state_variable_range
    assert ranges["z"][1] == Z_BOTH_BRANCHES["z"][1]
    state = tm.random_state(
        ranges, Epileptor.state_names, rng, N_NODES, Z_BOTH_BRANCHES
    )
    coupling = rng.uniform(-1.0, 1.0, (2, N_NODES))
    x1, z, x2 = state[0], state[2], state[3]
    for below in (x1 < 0.0, z < 0.0, x2 < -0.25):  # both sides of every branch
        assert below.any() and not below.all()

    expected = tm.tvb_dfun(model, state, coupling)
    got = tm.ours(Epileptor, params, state, coupling)
    assert got.shape == expected.shape == (6, N_NODES)
    rel = tm.max_relative_error(got, expected)
    print(f"max relative error ({which}): {rel:.2e}")
    assert rel < 1e-10, rel


def test_runs_in_a_coupled_network():
    dynamics = Epileptor(Kvf=0.5, Kf=0.5, Ks=-0.5)
    tm.check_runs_coupled(dynamics, ("x1", "x2"), n_states=6)


def test_per_node_parameters(x64):
    x0 = np.array([-2.2, -1.6, -1.2])
    modification = np.array([0.0, 1.0, 0.0])
    rng = np.random.default_rng(3)
    unit = {k: (-1.0, 1.0) for k in Epileptor.state_names}
    state = tm.random_state(unit, Epileptor.state_names, rng, 3)
    coupling = rng.uniform(-1.0, 1.0, (2, 3))
    per_node = {"x0": x0, "modification": modification}
    defaults = Epileptor.default_parameters
    tm.check_per_node_like_scalar(Epileptor, defaults, per_node, state, coupling, 1e-14)
    # Through prepare: identical initial states, different x0 per node.
    tm.check_per_node_through_prepare(Epileptor(x0=x0), "x0", x0, 2)
