"""MontbrioPazoRoxin against The Virtual Brain's model of the same name."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax._config import Config
from sweepjax.network import DenseGraph, Heun, LinearCoupling, Network, prepare
from sweepjax.network._models.montbrio_pazo_roxin import MontbrioPazoRoxin

tvb_models = pytest.importorskip("tvb.simulator.models")
from tvb.basic.neotraits.api import NArray  # noqa: E402

N_NODES = 5
#: TVB's parameters; its ``Gamma`` is left out: TVB's dfun never reads it.
TVB_PARAMETERS = ["tau", "I", "Delta", "J", "eta", "cr", "cv"]


def tvb_model(**parameters):
    model = tvb_models.MontbrioPazoRoxin(
        **{k: np.atleast_1d(np.asarray(v, float)) for k, v in parameters.items()}
    )
    model.configure()
    return model


def tvb_dfun(model, state, c):
    """TVB's derivative for our shapes: state [2, n], c [2, n] -> [2, n]."""
    return model.dfun(state[..., None], c[..., None])[..., 0]


def ours(state, c, parameters):
    params = Config({k: jnp.asarray(v) for k, v in parameters.items()})
    return np.asarray(
        MontbrioPazoRoxin().derivative(
            0.0, jnp.asarray(state), {"c": jnp.asarray(c)}, params
        )
    )


def random_state(rng, n=N_NODES):
    ranges = tvb_models.MontbrioPazoRoxin().state_variable_range
    lo_hi = [ranges[name] for name in MontbrioPazoRoxin.state_names]
    return np.stack([rng.uniform(lo, hi, n) for lo, hi in lo_hi])


def random_parameters(rng):
    """Every parameter moved off its default (zeros replaced by 0.1..0.9)."""
    return {
        k: v * rng.uniform(0.7, 1.3) if v != 0.0 else rng.uniform(0.1, 0.9)
        for k, v in MontbrioPazoRoxin.default_parameters.items()
    }


def max_relative_error(got, ref):
    return float(np.max(np.abs(got - ref) / np.abs(ref)))


def test_names_defaults_and_coupled_states_match_tvb():
    model = tvb_models.MontbrioPazoRoxin()
    cls = type(model)
    narrays = [k for k in cls.declarative_attrs if isinstance(getattr(cls, k), NArray)]
    assert sorted(narrays) == sorted([*TVB_PARAMETERS, "Gamma"])
    assert sorted(model.parameter_names) == sorted(TVB_PARAMETERS)
    assert list(MontbrioPazoRoxin.default_parameters) == TVB_PARAMETERS
    for name, value in MontbrioPazoRoxin.default_parameters.items():
        assert isinstance(value, float), name
        np.testing.assert_array_equal(getattr(model, name), [value], err_msg=name)
    assert MontbrioPazoRoxin.state_names == tuple(model.state_variables)
    assert MontbrioPazoRoxin.coupling_inputs == {"c": len(model.cvar)}
    assert list(model.cvar) == [0, 1]  # r and V
    for name, value in MontbrioPazoRoxin.default_initial_state.items():
        lo, hi = model.state_variable_range[name]
        assert lo < value < hi, name


@pytest.mark.parametrize("parameter_set", ["default", "random"])
def test_derivative_equals_tvb_dfun(x64, parameter_set):
    rng = np.random.default_rng(1 if parameter_set == "default" else 2)
    parameters = dict(MontbrioPazoRoxin.default_parameters)
    if parameter_set == "random":
        parameters = random_parameters(rng)
    for _ in range(4):
        state = random_state(rng)
        c = rng.uniform(-2.0, 2.0, (2, N_NODES))
        ref = tvb_dfun(tvb_model(**parameters), state, c)
        got = ours(state, c, parameters)
        assert max_relative_error(got, ref) < 1e-10


def test_coupling_enters_like_tvb(x64):
    """Both coupling components reach dV/dt (weighted by cr and cv), not dr/dt."""
    rng = np.random.default_rng(3)
    parameters = {**MontbrioPazoRoxin.default_parameters, "cr": 0.7, "cv": 0.4}
    model = tvb_model(**parameters)
    state = random_state(rng)
    c0 = np.zeros((2, N_NODES))
    for component in range(2):
        c1 = c0.copy()
        c1[component] = rng.uniform(0.5, 1.0, N_NODES)
        got = ours(state, c1, parameters) - ours(state, c0, parameters)
        ref = tvb_dfun(model, state, c1) - tvb_dfun(model, state, c0)
        assert np.all(ref[0] == 0.0) and np.all(np.abs(ref[1]) > 0.1)
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-15)


def tvb_heun(model, y0, weights, G, dt, n_steps):
    """Heun with instantaneous linear coupling on r and V, using TVB's dfun."""

    def f(y):
        return tvb_dfun(model, y, G * (weights @ y.T).T)

    ys, y = [], y0
    for _ in range(n_steps):
        k1 = f(y)
        y = y + 0.5 * dt * (k1 + f(y + dt * k1))
        ys.append(y)
    return np.stack(ys)


def test_runs_coupled_with_heun_like_tvb(x64):
    rng = np.random.default_rng(4)
    weights = rng.uniform(0.0, 1.0, (3, 3))
    np.fill_diagonal(weights, 0.0)
    y0 = random_state(rng, 3)
    network = Network(
        MontbrioPazoRoxin(cv=0.5),
        {"c": LinearCoupling(("r", "V"), G=0.8)},
        DenseGraph(weights),
        initial_state=y0,
    )
    solve_fn, config = prepare(network, Heun(), 0.0, 2.0, 0.1)
    ys = np.asarray(solve_fn(config).ys)
    assert ys.shape == (20, 2, 3)
    assert np.all(np.isfinite(ys))
    ref = tvb_heun(tvb_model(cv=0.5), y0, weights, 0.8, 0.1, 20)
    np.testing.assert_allclose(ys, ref, rtol=1e-10)


def test_per_node_parameters(x64):
    rng = np.random.default_rng(5)
    eta = np.array([-5.0, -4.6, -4.2])
    J = np.array([14.0, 15.0, 16.0])
    dynamics = MontbrioPazoRoxin(eta=eta, J=J)
    network = Network(dynamics, {}, DenseGraph(np.zeros((3, 3))))
    solve_fn, config = prepare(network, Heun(), 0.0, 2.0, 0.1)
    np.testing.assert_array_equal(config.dynamics.eta, eta)
    ys = np.asarray(solve_fn(config).ys)
    assert np.all(np.isfinite(ys))
    assert len(np.unique(ys[-1, 0])) == 3  # same start, different parameters

    state, c = random_state(rng, 3), rng.uniform(-1.0, 1.0, (2, 3))
    got = ours(state, c, dynamics.parameters)
    for i in range(3):
        model = tvb_model(eta=eta[i], J=J[i])
        ref = tvb_dfun(model, state[:, i : i + 1], c[:, i : i + 1])
        np.testing.assert_allclose(got[:, i : i + 1], ref, rtol=1e-10)
