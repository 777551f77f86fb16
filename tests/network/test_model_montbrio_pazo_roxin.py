"""MontbrioPazoRoxin against The Virtual Brain's model of the same name."""

from __future__ import annotations

import numpy as np
import pytest
import tvb_models as tm

from sweepjax.network._models.montbrio_pazo_roxin import MontbrioPazoRoxin

MPR = MontbrioPazoRoxin
N_NODES = 5
#: TVB's parameters; its ``Gamma`` is left out: TVB's dfun never reads it.
TVB_PARAMETERS = ["tau", "I", "Delta", "J", "eta", "cr", "cv"]


def mpr_state(rng, n=N_NODES):
    ranges = tm.tvb_model("MontbrioPazoRoxin").state_variable_range
    return tm.random_state(ranges, MPR.state_names, rng, n)


def test_names_defaults_and_coupled_states_match_tvb():
    model = tm.tvb_model("MontbrioPazoRoxin")
    tm.check_names_and_defaults(MPR, model, [0, 1], left_out={"Gamma"}, strict=True)
    assert sorted(model.parameter_names) == sorted(TVB_PARAMETERS)
    assert list(MPR.default_parameters) == TVB_PARAMETERS
    assert MPR.coupling_inputs == {"c": len(model.cvar)}  # r and V


@pytest.mark.parametrize("parameter_set", ["default", "random"])
def test_derivative_equals_tvb_dfun(x64, parameter_set):
    rng = np.random.default_rng(1 if parameter_set == "default" else 2)
    parameters = dict(MPR.default_parameters)
    if parameter_set == "random":
        parameters = tm.random_parameters(
            parameters, rng, scale=(0.7, 1.3), zero=(0.1, 0.9)
        )
    for _ in range(4):
        state = mpr_state(rng)
        c = rng.uniform(-2.0, 2.0, (2, N_NODES))
        ref = tm.tvb_dfun(tm.tvb_model("MontbrioPazoRoxin", parameters), state, c)
        got = tm.ours(MPR, parameters, state, c)
        assert tm.max_relative_error(got, ref) < 1e-10


def test_coupling_enters_like_tvb(x64):
    """Both coupling components reach dV/dt (weighted by cr and cv), not dr/dt."""
    rng = np.random.default_rng(3)
    parameters = {**MPR.default_parameters, "cr": 0.7, "cv": 0.4}
    model = tm.tvb_model("MontbrioPazoRoxin", parameters)
    state = mpr_state(rng)
    c0 = np.zeros((2, N_NODES))
    for component in range(2):
        c1 = c0.copy()
        c1[component] = rng.uniform(0.5, 1.0, N_NODES)
        got = tm.ours(MPR, parameters, state, c1) - tm.ours(MPR, parameters, state, c0)
        ref = tm.tvb_dfun(model, state, c1) - tm.tvb_dfun(model, state, c0)
        assert np.all(ref[0] == 0.0) and np.all(np.abs(ref[1]) > 0.1)
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-15)


def test_runs_coupled_with_heun_like_tvb(x64):
    rng = np.random.default_rng(4)
    weights = rng.uniform(0.0, 1.0, (3, 3))
    np.fill_diagonal(weights, 0.0)
    y0 = mpr_state(rng, 3)
    ys, _, _ = tm.solve(
        MPR(cv=0.5), ("r", "V"), G=0.8, weights=weights, initial_state=y0
    )
    assert ys.shape == (20, 2, 3)
    assert np.all(np.isfinite(ys))
    model = tm.tvb_model("MontbrioPazoRoxin", {"cv": 0.5})
    ref = tm.tvb_heun(model, y0, weights, 0.8, cvar=[0, 1])
    np.testing.assert_allclose(ys, ref, rtol=1e-10)


def test_per_node_parameters(x64):
    rng = np.random.default_rng(5)
    eta = np.array([-5.0, -4.6, -4.2])
    J = np.array([14.0, 15.0, 16.0])
    dynamics = MPR(eta=eta, J=J)
    tm.check_per_node_through_prepare(dynamics, "eta", eta, 0)

    state, c = mpr_state(rng, 3), rng.uniform(-1.0, 1.0, (2, 3))
    got = tm.ours(MPR, dynamics.parameters, state, c)
    for i in range(3):
        model = tm.tvb_model("MontbrioPazoRoxin", {"eta": eta[i], "J": J[i]})
        ref = tm.tvb_dfun(model, state[:, i : i + 1], c[:, i : i + 1])
        np.testing.assert_allclose(got[:, i : i + 1], ref, rtol=1e-10)
