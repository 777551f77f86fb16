"""The smooth FCD distance: exact W1 equals scipy's, the smoothed one tends to
it, gradients match central finite differences, and the defaults give
TVB-Optim 0.4.0's FCD loss."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from tvboptim.observations import compute_fcd, fcd_distribution, wasserstein_1d

from sweepjax.network import fcd, fcd_distance, fcd_wasserstein, wasserstein_distance


def samples(seed=0, n_a=15, n_b=22):
    rng = np.random.default_rng(seed)
    a = rng.uniform(-0.8, 0.8, n_a)
    b = np.clip(rng.normal(0.1, 0.3, n_b), -0.9, 0.9)
    return a, b


def fcd_pair(seed=0):
    """Two FCD matrices (3 regions, 12 windows) from random series."""
    rng = np.random.default_rng(seed)
    series_a = rng.normal(size=(60, 3))
    series_b = rng.normal(size=(60, 3)) + 0.8 * rng.normal(size=(60, 1))
    return series_a, series_b


@pytest.mark.parametrize("seed", [0, 1])
def test_exact_distance_equals_scipy(x64, seed):
    a, b = samples(seed)
    ours = wasserstein_distance(a, b)
    assert ours.dtype == jnp.float64
    np.testing.assert_allclose(
        float(ours), scipy.stats.wasserstein_distance(a, b), rtol=1e-12
    )
    # ties and one-point samples too
    a, b = np.array([0.0, 0.0, 1.0]), np.array([0.0, 2.0])
    np.testing.assert_allclose(
        float(wasserstein_distance(a, b)), scipy.stats.wasserstein_distance(a, b)
    )


def test_smoothed_distance_tends_to_scipy_as_the_kernel_narrows(x64):
    """Error O(width) with a grid spacing well under the width: each tenfold
    narrower kernel brings it about tenfold closer."""
    a, b = samples()
    exact = scipy.stats.wasserstein_distance(a, b)
    errors = []
    for width in (1e-2, 1e-3):
        grid = np.linspace(-1.0, 1.0, int(round(40 / width)) + 1)  # dx = width / 20
        errors.append(abs(float(wasserstein_distance(a, b, width, grid)) - exact))
    assert errors[0] < 1e-2 * exact and errors[1] < 1e-3 * exact
    assert errors[1] < errors[0] / 5


def central_difference(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for i in range(x.size):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


@pytest.mark.parametrize("bandwidth", [0.0, 0.05, "scott"])
def test_gradient_equals_central_differences(x64, bandwidth):
    a, b = samples(n_a=6, n_b=5)

    def loss(a):
        return float(wasserstein_distance(a, b, bandwidth))

    grad = jax.grad(lambda a: wasserstein_distance(a, b, bandwidth))(jnp.asarray(a))
    assert np.any(np.asarray(grad) != 0)
    np.testing.assert_allclose(grad, central_difference(loss, a), rtol=1e-6, atol=1e-9)


def test_fcd_gradient_is_informative_where_ks_is_flat(x64):
    """The point of the smooth distance: KS gives a zero gradient."""
    series_a, series_b = fcd_pair()
    common = np.sin(np.arange(60) / 3.0)[:, None] * np.array([1.0, 1.0, 0.0])
    target = fcd(series_b, window=20, step=4)

    @functools.partial(jax.jit, static_argnums=0)
    def score(distance, mix):
        return distance(fcd(series_a + mix * common, 20, 4), target)

    assert float(jax.grad(score, 1)(fcd_distance, 0.5)) == 0
    grad = float(jax.grad(score, 1)(fcd_wasserstein, 0.5))
    eps = 1e-6
    fd = (score(fcd_wasserstein, 0.5 + eps) - score(fcd_wasserstein, 0.5 - eps)) / (
        2 * eps
    )
    assert abs(grad) > 1e-3
    np.testing.assert_allclose(grad, float(fd), rtol=1e-6)


def test_fcd_wasserstein_is_tvb_optims_fcd_loss(x64):
    """Same FCD matrices (TVB-Optim's own compute_fcd), same value and gradient
    with respect to the series, float64."""
    series_a, series_b = fcd_pair()
    grid = jnp.linspace(-0.99, 0.99, 100)

    def theirs(series):
        fcd_a, _ = compute_fcd(series, 20, 4)
        fcd_b, _ = compute_fcd(jnp.asarray(series_b), 20, 4)
        return wasserstein_1d(
            fcd_distribution(fcd_a, grid), fcd_distribution(fcd_b, grid), grid
        )

    def ours(series):
        return fcd_wasserstein(fcd(series, 20, 4), fcd(series_b, 20, 4))

    # Compiled with XLA's CPU fusion emitters, as outside the suite: the
    # suite turns them off (conftest.py), and XLA's older emitter with its
    # optimisations off miscompiles this gradient (10% off its own finite
    # differences; right with either setting back on).
    series_a = jnp.asarray(series_a)
    (value, grad), (their_value, their_grad) = (
        jax.jit(jax.value_and_grad(f))
        .lower(series_a)
        .compile(compiler_options={"xla_cpu_use_fusion_emitters": True})(series_a)
        for f in (ours, theirs)
    )
    assert value > 0.05
    np.testing.assert_allclose(float(value), float(their_value), rtol=1e-6)
    np.testing.assert_allclose(grad, their_grad, rtol=1e-6, atol=1e-10)


def test_fcd_wasserstein_works_under_vmap_and_with_other_sizes(x64):
    series_a, series_b = fcd_pair()
    fcd_a, fcd_b = fcd(series_a, 20, 4), fcd(series_b, 30, 4)  # 11 and 8 windows
    batch = jnp.stack([fcd_a, fcd_a + 0.01])
    values = jax.vmap(lambda m: fcd_wasserstein(m, fcd_b, bandwidth=0))(batch)
    rows, cols = np.triu_indices(11, 1)
    expected = scipy.stats.wasserstein_distance(
        np.asarray(fcd_a)[rows, cols], np.asarray(fcd_b)[np.triu_indices(8, 1)]
    )
    np.testing.assert_allclose(float(values[0]), expected, rtol=1e-12)


def test_bad_bandwidth_and_grid_are_refused():
    a, b = samples()
    with pytest.raises(ValueError, match="bandwidth.*'scott', got 'silverman'"):
        wasserstein_distance(a, b, "silverman")
    with pytest.raises(TypeError, match="bandwidth.*got NoneType"):
        wasserstein_distance(a, b, None)
    with pytest.raises(ValueError, match="finite and >= 0.*bandwidth=-0.1"):
        wasserstein_distance(a, b, -0.1)
    with pytest.raises(ValueError, match="with bandwidth=0 the distance is exact"):
        wasserstein_distance(a, b, 0.0, grid=np.linspace(-1, 1, 5))
    with pytest.raises(ValueError, match="grid.*at least 2.*got shape \\(1,\\)"):
        wasserstein_distance(a, b, 0.1, grid=np.zeros(1))
    with pytest.raises(
        ValueError, match=r"`fcd_a` must be a square FCD matrix.*got shape \(3,\)"
    ):
        fcd_wasserstein(np.zeros(3), np.eye(3))
