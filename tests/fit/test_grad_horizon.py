"""Truncated gradients (``grad_horizon``): bounded where the exact gradient
of a chaotic run explodes, exact when the horizon covers the run (the
comparison with TVB-Optim's ``grad_horizon`` is in
``tests/network/test_interpolated_delays.py``)."""

from __future__ import annotations

import copy

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax.network import AbstractDynamics, DenseGraph, Euler, Network, prepare


class Lorenz(AbstractDynamics):
    """Lorenz's system: chaotic at rho = 28 (largest exponent about 0.9)."""

    state_names = ("x", "y", "z")
    default_parameters = {"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0}
    default_initial_state = {"x": 1.0, "y": 1.0, "z": 20.0}
    coupling_inputs = {"c": 1}

    def derivative(self, t, state, coupling, p):
        x, y, z = state
        dx = p.sigma * (y - x) + coupling["c"][0]
        return jnp.stack([dx, x * (p.rho - z) - y, x * y - p.beta * z])


def _gradient(horizon, t1):
    network = Network(Lorenz(), {}, DenseGraph(np.zeros((1, 1))))
    solve_fn, config = prepare(
        network, Euler(checkpoint=False, grad_horizon=horizon), 0.0, t1, 0.01
    )

    def mean_z(rho):
        cfg = copy.copy(config)
        cfg.dynamics.rho = rho
        return jnp.mean(solve_fn(cfg).ys[:, 2])

    return float(jax.grad(mean_z)(28.0))


@pytest.fixture(scope="module")
def chaotic():
    with jax.enable_x64(True):
        return {h: _gradient(h, 20.0) for h in (None, 50)}


def test_truncated_gradient_is_bounded_where_the_exact_one_explodes(chaotic):
    """d<z>/d(rho) of the Lorenz system is about 1 (the climate's response);
    over 2000 steps the exact gradient has grown like exp(0.9 t) to ~1e6,
    while windows of 50 steps give a finite number near 1."""
    assert abs(chaotic[None]) > 1e4
    assert np.isfinite(chaotic[50]) and 0.5 < chaotic[50] < 1.5


def test_a_horizon_covering_the_run_is_the_exact_gradient():
    with jax.enable_x64(True):
        exact, covered = _gradient(None, 2.0), _gradient(200, 2.0)
    assert covered == pytest.approx(exact, rel=1e-12)
