"""Native solvers: convergence orders, Diffrax agreement, jit and vmap."""

from __future__ import annotations

import copy

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from network_helpers import Linear, replace_leaf, rww_network

from sweepjax.network import (
    RK4,
    DenseGraph,
    Diffrax,
    Euler,
    Heun,
    LinearCoupling,
    Network,
    prepare,
)

SOLVERS = (Euler(), Heun(), RK4())


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


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda s: type(s).__name__)
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


def test_time_grid_and_shapes():
    solve_fn, config = prepare(rww_network(n=5), Heun(), 0.0, 5.0, 0.1)
    sol = solve_fn(config)
    assert sol.ys.shape == (len(jnp.arange(0.0, 5.0, 0.1)), 1, 5)
    np.testing.assert_allclose(sol.ts, 0.1 * np.arange(1, 51), rtol=1e-6)


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


@pytest.mark.parametrize(
    "solver",
    (Diffrax(diffrax.Heun()), Diffrax(diffrax.Tsit5(), dt0=0.05)),
    ids=("diffrax-heun", "diffrax-tsit5"),
)
def test_diffrax_agrees_with_native_heun(solver):
    network = rww_network(n=4, G=0.9, sigma=None)
    native_fn, config = prepare(network, Heun(), 0.0, 20.0, 0.1)
    diffrax_fn, _ = prepare(network, solver, 0.0, 20.0, 0.1)
    native, other = native_fn(config), diffrax_fn(config)
    np.testing.assert_allclose(other.ts, native.ts, rtol=1e-6)
    np.testing.assert_allclose(other.ys, native.ys, rtol=1e-4)


def test_diffrax_sde_replicates_by_key():
    network = rww_network(n=3, sigma=1e-2)
    solve_fn, config = prepare(network, Diffrax(diffrax.Heun()), 0.0, 5.0, 0.1)

    def run(key):
        return solve_fn(replace_leaf(config, "noise.key", key)).ys

    ys = jax.vmap(run)(jax.random.split(jax.random.key(1), 3))
    assert ys.shape == (3, 50, 1, 3)
    assert not np.allclose(ys[0], ys[1])
    again = run(jax.random.split(jax.random.key(1), 3)[0])
    np.testing.assert_allclose(ys[0], again, rtol=1e-5)


def test_diffrax_sweeps_across_devices():
    from sweepjax import DataAxis, ParallelExecution, Space

    network = rww_network(n=3, sigma=1e-2)
    solve_fn, config = prepare(network, Diffrax(diffrax.Heun()), 0.0, 2.0, 0.1)
    sweep = copy.deepcopy(config)
    sweep.noise.key = DataAxis(jax.random.split(jax.random.key(3), 4))
    space = Space(sweep, mode="product")

    def observe(cfg):
        return solve_fn(cfg).ys.mean()

    one = ParallelExecution(observe, space, n_vmap=4, progress=False).run()
    two = ParallelExecution(observe, space, n_vmap=2, n_pmap=2, progress=False).run()
    np.testing.assert_allclose(two.outputs, one.outputs, rtol=1e-5)


def test_one_trace_for_many_parameter_values():
    traces = []

    class Counting(Linear):
        def derivative(self, t, state, coupling, params):
            traces.append(1)
            return super().derivative(t, state, coupling, params)

    network = Network(
        Counting(), {"c": LinearCoupling("x", G=0.1)}, DenseGraph(np.ones((3, 3)))
    )
    solve_fn, config = prepare(network, RK4(), 0.0, 1.0, 0.1)
    solve_fn(config)
    first = len(traces)
    for G in (0.2, 0.3, 0.4):
        config.coupling.c.G = jnp.asarray(G, jnp.float32)
        config.dynamics.tau = jnp.asarray(1.0 + G, jnp.float32)
        solve_fn(config)
    assert len(traces) == first > 0


def test_vmap_over_G_equals_loop():
    solve_fn, config = prepare(rww_network(n=4), Heun(), 0.0, 3.0, 0.1)
    Gs = jnp.linspace(0.1, 1.0, 4)

    def run(G):
        return solve_fn(replace_leaf(config, "coupling.instant.G", G)).ys

    batched = jax.vmap(run)(Gs)
    looped = jnp.stack([run(G) for G in Gs])
    np.testing.assert_allclose(batched, looped, rtol=1e-6, atol=1e-7)
    jitted_eager = jax.jit(run)(Gs[1])
    np.testing.assert_allclose(jitted_eager, looped[1], rtol=1e-6)


def test_unroll_does_not_change_results():
    network = rww_network(n=3)
    a_fn, config = prepare(network, Heun(), 0.0, 2.0, 0.1)
    b_fn, _ = prepare(network, Heun(), 0.0, 2.0, 0.1, unroll=4)
    np.testing.assert_allclose(a_fn(config).ys, b_fn(config).ys, rtol=1e-6)


@pytest.mark.parametrize(
    ("path", "values"),
    [
        ("dynamics.tau_s", jnp.array([80.0, 100.0, 120.0])),
        ("initial_state", jnp.linspace(0.05, 0.3, 3)[:, None, None] * jnp.ones(4)),
        ("graph.weights", jnp.stack([k * (1 - jnp.eye(4)) for k in (0.5, 1.0, 2.0)])),
        ("noise.sigma", jnp.array([0.0, 1e-3, 1e-2])),
    ],
)
def test_any_leaf_vmaps_like_a_loop(path, values):
    solve_fn, config = prepare(rww_network(n=4), Heun(), 0.0, 2.0, 0.1)

    def run(value):
        return solve_fn(replace_leaf(config, path, value)).ys

    batched = jax.vmap(run)(values)
    looped = jnp.stack([run(v) for v in values])
    np.testing.assert_allclose(batched, looped, rtol=1e-5, atol=1e-7)
    assert not np.allclose(batched[0], batched[-1])
