"""Couplings: formulas, pre/post decomposition, argument checks."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax import Config
from sweepjax.network import (
    DelayedLinearCoupling,
    KuramotoCoupling,
    LinearCoupling,
)


def make_params(**values):
    return Config({k: jnp.asarray(v) for k, v in values.items()})


def test_linear_coupling_formula():
    W = jnp.array([[0.0, 2.0], [1.0, 0.0]])
    c = LinearCoupling("S", G=0.5, b=0.1)
    out = c(make_params(G=0.5, b=0.1), W, jnp.array([[1.0, 3.0]]))
    np.testing.assert_allclose(out, [[0.5 * 6.0 + 0.1, 0.5 * 1.0 + 0.1]])


def test_kuramoto_coupling_formula():
    W = jnp.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.0], [0.2, 0.3, 0.0]])
    theta = jnp.array([[0.1, 1.2, -2.0]])
    out = KuramotoCoupling("theta", G=1.5)(make_params(G=1.5), W, theta)
    t = np.asarray(theta[0])
    expected = 1.5 / 3 * (np.asarray(W) * np.sin(t[None, :] - t[:, None])).sum(1)
    np.testing.assert_allclose(out[0], expected, rtol=1e-5, atol=1e-7)


def test_delayed_linear_coupling_sends_states_and_scales_the_sum():
    c = DelayedLinearCoupling("S")
    params = make_params(G=0.5, b=0.1)
    x = jnp.array([[1.0, 3.0, 5.0]])
    np.testing.assert_array_equal(c.pre(params, x), x)
    summed = jnp.array([[2.0, -1.0, 0.0]])
    np.testing.assert_allclose(c.post(params, summed, x), 0.5 * summed + 0.1)


def test_kuramoto_sends_sin_and_cos_and_the_call_equals_pre_sum_post():
    W = jnp.array([[0.0, 1.0], [0.3, 0.0]])
    c = KuramotoCoupling("theta", G=2.0)
    params = make_params(G=2.0)
    theta = jnp.array([[0.4, -1.1]])
    sent = c.pre(params, theta)
    np.testing.assert_allclose(sent, jnp.concatenate([jnp.sin(theta), jnp.cos(theta)]))
    np.testing.assert_allclose(
        c(params, W, theta), c.post(params, sent @ W.T, theta), rtol=1e-6
    )


def test_bad_incoming_states_and_target():
    with pytest.raises(TypeError, match="incoming_states must be a state name"):
        LinearCoupling(3)
    with pytest.raises(TypeError, match="target must be a coupling input name"):
        LinearCoupling("S", target=1)


def test_repr():
    assert repr(LinearCoupling("S", G=0.5)) == (
        "LinearCoupling(incoming_states=('S',), G=0.5)"
    )
