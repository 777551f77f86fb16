"""ReducedWongWangExcInh against The Virtual Brain's model of the same name."""

from __future__ import annotations

import numpy as np
import pytest
import tvb_models as tm

from sweepjax.network._models.reduced_wong_wang_exc_inh import ReducedWongWangExcInh

RWW = ReducedWongWangExcInh
N_NODES = 5
TVB_PARAMETERS = [
    "a_e", "b_e", "d_e", "gamma_e", "tau_e", "w_p", "J_N", "W_e", "a_i", "b_i",
    "d_i", "gamma_i", "tau_i", "J_i", "W_i", "I_o", "I_ext", "G", "lamda",
]  # fmt: skip


def rww_state(rng, n=N_NODES):
    ranges = tm.tvb_model("ReducedWongWangExcInh").state_variable_range
    return tm.random_state(ranges, RWW.state_names, rng, n)


def test_names_defaults_and_coupled_states_match_tvb():
    model = tm.tvb_model("ReducedWongWangExcInh")
    tm.check_names_and_defaults(RWW, model, cvar=[0], strict=True)  # S_e
    assert list(RWW.default_parameters) == TVB_PARAMETERS
    assert RWW.coupling_inputs == {"c": len(model.cvar)}


@pytest.mark.parametrize("parameter_set", ["default", "random"])
def test_derivative_equals_tvb_dfun(x64, parameter_set):
    rng = np.random.default_rng(1 if parameter_set == "default" else 2)
    parameters = dict(RWW.default_parameters)
    if parameter_set == "random":
        parameters = tm.random_parameters(
            parameters, rng, scale=(0.7, 1.3), zero=(0.1, 0.9)
        )
    for _ in range(4):
        state = rww_state(rng)
        c = rng.uniform(0.0, 2.0, (1, N_NODES))
        ref = tm.tvb_dfun(tm.tvb_model("ReducedWongWangExcInh", parameters), state, c)
        got = tm.ours(RWW, parameters, state, c)
        assert tm.max_relative_error(got, ref) < 1e-10


def test_coupling_enters_like_tvb(x64):
    """Coupling changes both derivatives (through lamda) exactly as in TVB."""
    rng = np.random.default_rng(3)
    parameters = {**RWW.default_parameters, "lamda": 0.5}
    near_fixed_point = np.array([[0.16], [0.04]])
    state = near_fixed_point * rng.uniform(0.8, 1.2, (2, N_NODES))
    c0, c1 = np.zeros((1, N_NODES)), rng.uniform(0.1, 0.3, (1, N_NODES))
    model = tm.tvb_model("ReducedWongWangExcInh", parameters)
    got = tm.ours(RWW, parameters, state, c1) - tm.ours(RWW, parameters, state, c0)
    ref = tm.tvb_dfun(model, state, c1) - tm.tvb_dfun(model, state, c0)
    assert np.all(np.abs(ref) > 1e-8)
    np.testing.assert_allclose(got, ref, rtol=1e-9)


def test_runs_coupled_with_heun_like_tvb(x64):
    rng = np.random.default_rng(4)
    weights = rng.uniform(0.0, 1.0, (3, 3))
    np.fill_diagonal(weights, 0.0)
    y0 = rww_state(rng, 3) * 0.5
    ys, _, _ = tm.solve(RWW(), "S_e", G=0.8, weights=weights, initial_state=y0)
    assert ys.shape == (20, 2, 3)
    assert np.all(np.isfinite(ys))
    ref = tm.tvb_heun(tm.tvb_model("ReducedWongWangExcInh"), y0, weights, 0.8, cvar=[0])
    np.testing.assert_allclose(ys, ref, rtol=1e-10)


def test_per_node_parameters(x64):
    rng = np.random.default_rng(5)
    I_o = np.array([0.30, 0.36, 0.42])
    w_p = np.array([1.2, 1.4, 1.6])
    dynamics = RWW(I_o=I_o, w_p=w_p)
    tm.check_per_node_through_prepare(dynamics, "I_o", I_o, 0)

    state, c = rww_state(rng, 3), rng.uniform(0.0, 1.0, (1, 3))
    got = tm.ours(RWW, dynamics.parameters, state, c)
    for i in range(3):
        model = tm.tvb_model("ReducedWongWangExcInh", {"I_o": I_o[i], "w_p": w_p[i]})
        ref = tm.tvb_dfun(model, state[:, i : i + 1], c[:, i : i + 1])
        np.testing.assert_allclose(got[:, i : i + 1], ref, rtol=1e-10)
