"""State bounds: clamped after every step and before every stage, as TVB."""

from __future__ import annotations

import diffrax
import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax.network import (
    RK4,
    AbstractDynamics,
    DenseGraph,
    Diffrax,
    Euler,
    Heun,
    Network,
    prepare,
)
from sweepjax.network._models import MODELS

DT = 0.1


class Falling(AbstractDynamics):
    """``dx/dt = -k`` (x bounded below by 0), ``dy/dt = -k*x`` (unbounded)."""

    state_names = ("x", "y")
    default_parameters = {"k": 3.0}
    default_initial_state = {"x": 0.2, "y": 0.0}
    coupling_inputs = {"c": 1}
    state_bounds = {"x": (0.0, np.inf)}

    def derivative(self, t, state, coupling, params):
        x = state[0]
        return jnp.stack([-params.k + 0 * x, -params.k * x])


def solve(solver, n_steps=5):
    network = Network(Falling(), {}, DenseGraph(np.zeros((2, 2))))
    solve_fn, config = prepare(network, solver, 0.0, n_steps * DT, DT)
    return np.asarray(solve_fn(config).ys)


def test_bound_clamps_only_the_bounded_states(x64):
    state = jnp.array([[-1.0, 0.5], [-1.0, 0.5]])
    np.testing.assert_array_equal(Falling().bound(state), [[0.0, 0.5], [-1.0, 0.5]])


def test_euler_clamps_each_step(x64):
    ys = solve(Euler())
    np.testing.assert_allclose(ys[:, 0, 0], [0.0, 0.0, 0.0, 0.0, 0.0], atol=1e-15)
    # y integrates -k * x at the clamped x: -0.06, then nothing more
    np.testing.assert_allclose(ys[:, 1, 0], [-0.06] * 5, rtol=1e-12)


def test_heun_evaluates_the_corrector_at_the_clamped_predictor(x64):
    """TVB's Heun: x~ = clamp(x + dt f(x)); x' = clamp(x + dt/2 (f(x) + f(x~)))."""
    ys = solve(Heun(), n_steps=1)
    # predictor x~ = 0.2 - 0.3 -> clamped to 0, so dy uses x = 0.2 and 0
    np.testing.assert_allclose(ys[0, :, 0], [0.0, -0.05 * 3.0 * 0.2], rtol=1e-12)


def test_rk4_and_diffrax_never_leave_the_bounds(x64):
    for solver in (RK4(), Diffrax(diffrax.Tsit5())):
        assert solve(solver, 10)[:, 0].min() >= 0.0


def test_every_model_declares_tvbs_bounds_and_coupling_variables():
    models = pytest.importorskip("tvb.simulator.models")
    for name, ours in MODELS.items():
        theirs = getattr(models, name)()
        cvar = tuple(theirs.state_variables[i] for i in theirs.cvar)
        assert ours.coupling_variables == cvar, name
        bounds = theirs.state_variable_boundaries or {}
        assert set(ours.state_bounds) == set(bounds), name
        for state, (low, high) in ours.state_bounds.items():
            theirs_ = np.asarray(bounds[state], float)
            # TVB may hold an open side as inf or as the largest float
            theirs_[np.abs(theirs_) >= np.finfo(float).max] *= np.inf
            np.testing.assert_array_equal([low, high], theirs_, err_msg=name)
