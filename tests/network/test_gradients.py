"""Gradients through the solvers: against central finite differences in
float64, through noise and delays and observers, and in bounded memory."""

from __future__ import annotations

import functools

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax.network import (
    FC,
    RK4,
    AdditiveNoise,
    DenseDelayGraph,
    DenseGraph,
    Diffrax,
    Euler,
    Heun,
    LinearCoupling,
    Mean,
    Network,
    SupHopf,
    prepare,
)

RNG = np.random.default_rng(7)
N = 3
W = RNG.uniform(0.0, 1.0, (N, N))
D = RNG.uniform(0.2, 1.5, (N, N))  # ms: 2-15 steps at dt = 0.1
Y0 = RNG.uniform(-0.5, 0.5, (2, N))


def network(delayed):
    graph = DenseDelayGraph(W, D) if delayed else DenseGraph(W)
    coupling = LinearCoupling(("x", "y"), G=0.3, delayed=delayed)
    noise = AdditiveNoise(0.05, key=3)
    return Network(SupHopf(a=-0.2), {"c": coupling}, graph, noise, Y0)


def loss_of(solve_fn, config, observed=False):
    """``loss(G, a)`` (jitted): a smooth scalar of the run at coupling G and
    bifurcation parameter a."""

    @jax.jit
    def loss(G, a):
        config.coupling.c.G = G
        config.dynamics.a = a
        solution = solve_fn(config)
        if observed:
            return sum(jnp.sum(v**2) for v in solution.observed.values())
        return jnp.mean(solution.ys**2)

    return loss


@functools.cache
def value_and_grad_of(loss):
    """``loss``'s value and gradient in ``(G, a)``, one compiled program for
    both (the central differences take their values from it too)."""
    return jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))


def check_against_central_differences(loss, point, rtol=1e-5):
    value_and_grad = value_and_grad_of(loss)
    _, grads = value_and_grad(*point)
    for i, g in enumerate(grads):
        h = 1e-6 * max(1.0, abs(point[i]))
        up, down = list(point), list(point)
        up[i] += h
        down[i] -= h
        fd = (value_and_grad(*up)[0] - value_and_grad(*down)[0]) / (2 * h)
        assert float(g) != 0.0
        np.testing.assert_allclose(float(g), float(fd), rtol=rtol)


@pytest.mark.parametrize("solver", [Euler(), Heun(), RK4()], ids=repr)
def test_noisy_delayed_gradient_equals_central_differences(x64, solver):
    solve_fn, config = prepare(network(True), solver, 0.0, 20.0, 0.1)
    check_against_central_differences(loss_of(solve_fn, config), (0.3, -0.2))


def test_noisy_diffrax_gradient_equals_central_differences(x64):
    solver = Diffrax(diffrax.Heun())
    solve_fn, config = prepare(network(False), solver, 0.0, 10.0, 0.1)
    check_against_central_differences(loss_of(solve_fn, config), (0.3, -0.2))


def test_observed_gradient_equals_central_differences_checkpointed_or_not(x64):
    """Through the observers and the transient, checkpointed (the default)
    and not: the same gradient, and the finite differences'."""
    gradients = []
    for solver in (Heun(), Heun(checkpoint=False)):
        solve_fn, config = prepare(
            network(True), solver, 0.0, 30.0, 0.1,
            observe={"fc": FC("x"), "mean": Mean("y")}, transient=5.0,
        )  # fmt: skip
        loss = loss_of(solve_fn, config, observed=True)
        gradients.append(value_and_grad_of(loss)(0.3, -0.2)[1])
    check_against_central_differences(loss, (0.3, -0.2))
    np.testing.assert_allclose(gradients[0], gradients[1], rtol=1e-12)


def gradient_temp_bytes(solver, n_steps, n_nodes=16):
    """XLA's temporary memory of the compiled gradient of an observed run."""
    weights = np.random.default_rng(0).uniform(0.0, 1.0, (n_nodes, n_nodes))
    deterministic = Network(
        SupHopf(a=-0.2), {"c": LinearCoupling(("x", "y"), G=0.01, delayed=True)},
        DenseDelayGraph(weights, np.ones((n_nodes, n_nodes))),
    )  # fmt: skip
    solve_fn, config = prepare(
        deterministic, solver, 0.0, n_steps * 0.1, 0.1, observe={"fc": FC("x")}
    )
    loss = loss_of(solve_fn, config, observed=True)
    compiled = jax.jit(jax.grad(loss)).lower(0.3, -0.2).compile()
    return compiled.memory_analysis().temp_size_in_bytes


def test_checkpointing_bounds_the_gradients_memory():
    """XLA's own accounting of the compiled gradient (not a timing): the
    unchecked gradient keeps every step, so 4x the steps take 4x the memory;
    the checkpointed one keeps a state per block and one block of observed
    states (at most BLOCK_NUMBERS numbers), the same for 4x the steps."""
    checked = gradient_temp_bytes(Heun(), 2**16)
    unchecked = gradient_temp_bytes(Heun(checkpoint=False), 2**16)
    assert checked * 5 < unchecked, (checked, unchecked)
    assert gradient_temp_bytes(Heun(), 2**18) < 1.2 * checked


def test_checkpoint_flag_is_checked_and_shown():
    assert repr(Heun(checkpoint=False)) == "Heun(checkpoint=False)"
    assert repr(Euler()) == "Euler()"
    with pytest.raises(TypeError, match="checkpoint must be True or False"):
        RK4(checkpoint="yes")
