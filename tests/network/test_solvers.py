"""Fixed-step schemes: convergence orders, the Heun formula, a new scheme."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from network_helpers import SOLVERS, Linear, rww_network, solver_id

from sweepjax.network import (
    AbstractFixedStepSolver,
    DenseGraph,
    Heun,
    LinearCoupling,
    Network,
    prepare,
)

FIXED_STEP = tuple(s for s in SOLVERS if isinstance(s, AbstractFixedStepSolver))


class Midpoint(AbstractFixedStepSolver):
    """Explicit midpoint: a new scheme is one ``step``."""

    order = 2

    def step(self, f, t, y, dt, dW):
        y_next = y + dt * f(t + 0.5 * dt, y + 0.5 * dt * f(t, y))
        return y_next if dW is None else y_next + dW


def linear_network():
    weights = np.array([[0.0, 1.0, 0.5], [0.2, 0.0, 1.0], [1.0, 0.3, 0.0]])
    network = Network(
        Linear(tau=2.0),
        {"instant": LinearCoupling("x", G=0.7)},
        DenseGraph(weights),
        initial_state=[[1.0, -0.5, 0.25]],
    )
    A = -np.eye(3) / 2.0 + 0.7 * weights
    return network, A


def test_registry_holds_every_fixed_step_scheme():
    assert {type(s).__name__ for s in FIXED_STEP} == {"Euler", "Heun", "RK4"}


@pytest.mark.parametrize("solver", (*FIXED_STEP, Midpoint()), ids=solver_id)
def test_convergence_order_on_linear_problem(solver, x64):
    network, A = linear_network()
    y0 = np.array([1.0, -0.5, 0.25])
    exact = scipy.linalg.expm(A * 1.0) @ y0
    errors = []
    for dt in (0.1, 0.05, 0.025):
        solve_fn, config = prepare(network, solver, 0.0, 1.0, dt)
        sol = solve_fn(config)
        assert np.isclose(float(sol.ts[-1]), 1.0)
        errors.append(np.max(np.abs(np.asarray(sol.ys[-1, 0]) - exact)))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    np.testing.assert_allclose(orders, solver.order, atol=0.15)


def test_heun_step_matches_formula():
    network = rww_network(n=3, sigma=None)
    solve_fn, config = prepare(network, Heun(), 0.0, 0.1, 0.1)
    y = np.asarray(config.initial_state)
    W = np.asarray(config.graph.weights)

    def f(y):
        S = y[0]
        x = 0.6 * 0.2609 * S + 0.33 + 0.2609 * 0.5 * (W @ S)
        H = (0.27 * x - 0.108) / (1 - np.exp(-154 * (0.27 * x - 0.108)))
        return (-S / 100 + (1 - S) * H * 0.641)[None]

    k1 = f(y)
    expected = y + 0.05 * (k1 + f(y + 0.1 * k1))
    np.testing.assert_allclose(solve_fn(config).ys[0], expected, rtol=1e-6)


def test_new_scheme_gets_noise_through_step():
    solve_fn, config = prepare(rww_network(n=2, sigma=0.1), Midpoint(), 0.0, 0.1, 0.1)
    noisy = solve_fn(config).ys
    config.noise.sigma = np.float32(0.0)
    quiet = solve_fn(config).ys
    assert not np.allclose(noisy, quiet)


def test_fixed_step_solver_needs_step():
    class NoStep(AbstractFixedStepSolver):
        order = 1

    with pytest.raises(TypeError, match="abstract method.*step"):
        NoStep()


def test_repr():
    assert [repr(s) for s in FIXED_STEP] == ["Euler()", "Heun()", "RK4()"]
