"""The right-hand side: instantaneous couplings summed into the dynamics' inputs."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from network_helpers import Linear

from sweepjax.network import DenseGraph, LinearCoupling, Network, make_config
from sweepjax.network._rhs import make_rhs, take_states


def test_take_states_slices_or_gathers():
    y = jnp.arange(8.0).reshape(4, 2)
    np.testing.assert_array_equal(take_states(y, (1, 2)), y[1:3])
    np.testing.assert_array_equal(take_states(y, (3, 0)), y[jnp.array([3, 0])])


def test_couplings_on_one_input_are_summed_with_held():
    W = np.array([[0.0, 1.0], [2.0, 0.0]])
    network = Network(
        Linear(tau=1.0),
        {"a": LinearCoupling("x", G=0.5), "b": LinearCoupling("x", G=0.25, b=1.0)},
        DenseGraph(W),
    )
    rhs = make_rhs(network, make_config(network))
    y = jnp.array([[1.0, 3.0]])
    coupling = 0.75 * (W @ np.array([1.0, 3.0])) + 1.0
    np.testing.assert_allclose(rhs(0.0, y, {}), [-np.array([1.0, 3.0]) + coupling])
    held = {"c": jnp.array([[10.0, 20.0]])}
    np.testing.assert_allclose(
        rhs(0.0, y, held), [-np.array([1.0, 3.0]) + coupling + [10.0, 20.0]]
    )


def test_unfed_input_is_zero():
    network = Network(Linear(tau=2.0, rate=0.5), {}, DenseGraph(np.ones((2, 2))))
    rhs = make_rhs(network, make_config(network))
    np.testing.assert_allclose(rhs(0.0, jnp.ones((1, 2)), {}), [[0.0, 0.0]])
