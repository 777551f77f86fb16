"""The gradient with respect to conduction speed through a delayed BOLD-FC
loss equals central finite differences (4 regions here; the 80-region check
is ``examples/fit_conduction_speed.py``)."""

from __future__ import annotations

import copy

import jax
import numpy as np

from sweepjax.network import (
    BOLD,
    FC,
    DenseLengthGraph,
    Euler,
    LinearCoupling,
    Network,
    ReducedWongWang,
    fc_correlation,
    prepare,
)


def test_speed_gradient_of_a_bold_fc_loss_equals_finite_differences():
    with jax.enable_x64(True):
        _check_speed_gradient()


def _check_speed_gradient():
    rng = np.random.default_rng(3)
    n = 4
    weights = rng.uniform(0.2, 1.0, (n, n))
    np.fill_diagonal(weights, 0.0)
    lengths = rng.uniform(10.0, 60.0, (n, n))
    network = Network(
        ReducedWongWang(),
        {"c": LinearCoupling("S", G=0.8, delayed=True)},
        DenseLengthGraph(weights, lengths, speed=6.0, max_delay=12.0),
        initial_state=rng.uniform(0.05, 0.6, (1, n)),
    )
    solve_fn, config = prepare(
        network, Euler(False), 0.0, 800.0, 1.0, observe={"fc": FC(BOLD("S", 100.0))}
    )
    target = np.eye(n) + 0.3 * (1 - np.eye(n))
    target[0, 1] = target[1, 0] = 0.8

    def loss(speed):
        cfg = copy.copy(config)
        cfg.graph.speed = speed
        return -fc_correlation(solve_fn(cfg).observed["fc"], target)

    speed, h = 6.0, 1e-2  # smaller steps meet the round-off of the FC
    value, gradient = jax.value_and_grad(loss)(speed)
    central = (loss(speed + h) - loss(speed - h)) / (2 * h)
    assert abs(float(gradient)) > 1e-4
    np.testing.assert_allclose(gradient, central, rtol=1e-4)
