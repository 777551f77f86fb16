"""Additive noise: keys, replicates, injected samples, one compilation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from network_helpers import replace_leaf, rww_network

from sweepjax.network import Euler, Heun, SubSample, prepare


def test_replicate_keys_distinct_and_same_key_reproduces():
    solve_fn, config = prepare(rww_network(n=3, sigma=1e-2), Heun(), 0.0, 3.0, 0.1)
    keys = jax.random.split(jax.random.key(0), 4)

    def run(key):
        return solve_fn(replace_leaf(config, "noise.key", key)).ys

    ys = jax.vmap(run)(keys)
    for i in range(4):
        for j in range(i):
            assert not np.allclose(ys[i], ys[j])
    np.testing.assert_array_equal(run(keys[2]), run(keys[2]))
    np.testing.assert_allclose(ys[2], run(keys[2]), rtol=1e-6)


def test_noise_is_normal_draw_of_the_key():
    network = rww_network(n=3, sigma=0.05)
    solve_fn, config = prepare(network, Euler(), 0.0, 1.0, 0.1)
    z = jax.random.normal(config.noise.key, (10, 1, 3))
    config._internal.noise_samples = z
    injected = solve_fn(config).ys
    config._internal.noise_samples = None
    np.testing.assert_allclose(solve_fn(config).ys, injected, rtol=1e-6)
    # Euler's first step: y0 + dt*f(y0) + sigma*sqrt(dt)*z[0]
    config.noise.sigma = jnp.asarray(0.0)
    deterministic = solve_fn(config).ys
    np.testing.assert_allclose(
        injected[0] - deterministic[0], 0.05 * np.sqrt(0.1) * z[0], rtol=1e-4
    )


def test_injected_zero_noise_equals_sigma_zero():
    solve_fn, config = prepare(rww_network(n=4, sigma=1e-2), Heun(), 0.0, 2.0, 0.1)
    config._internal.noise_samples = jnp.zeros((20, 1, 4))
    zero_noise = solve_fn(config).ys
    config._internal.noise_samples = None
    config.noise.sigma = jnp.asarray(0.0)
    np.testing.assert_array_equal(zero_noise, solve_fn(config).ys)


def test_wrong_noise_samples_shape_names_expected_shape():
    solve_fn, config = prepare(rww_network(n=4), Heun(), 0.0, 2.0, 0.1)
    config._internal.noise_samples = jnp.zeros((19, 1, 4))
    with pytest.raises(
        ValueError, match=r"noise_samples must have shape .*\(20, 1, 4\)"
    ):
        solve_fn(config)


def test_key_axis_runs_with_one_compilation():
    solve_fn, config = prepare(rww_network(n=3, sigma=1e-2), Heun(), 0.0, 1.0, 0.1)
    solve_fn(config)
    before = solve_fn._cache_size()
    for key in jax.random.split(jax.random.key(3), 3):
        solve_fn(replace_leaf(config, "noise.key", key))
    assert solve_fn._cache_size() == before


def test_noise_on_selected_states_only():
    from sweepjax.network import (
        AdditiveNoise,
        DenseGraph,
        Network,
        SupHopf,
    )

    network = Network(
        SupHopf(), {}, DenseGraph(np.zeros((2, 2))), AdditiveNoise(0.1, states="y")
    )
    solve_fn, config = prepare(network, Euler(), 0.0, 0.1, 0.1)
    config._internal.noise_samples = jnp.ones((1, 1, 2))
    noisy = solve_fn(config).ys
    config._internal.noise_samples = jnp.zeros((1, 1, 2))
    quiet = solve_fn(config).ys
    np.testing.assert_allclose(noisy[0, 0], quiet[0, 0])
    np.testing.assert_allclose(noisy[0, 1] - quiet[0, 1], 0.1 * np.sqrt(0.1), rtol=1e-5)


def test_blockwise_noise_with_monitor_has_same_statistics():
    from network_helpers import Linear

    from sweepjax.network import AdditiveNoise, DenseGraph, Network

    # Ornstein-Uhlenbeck nodes: stationary std = sigma * sqrt(tau / 2) = 0.1
    network = Network(
        Linear(tau=2.0),
        {},
        DenseGraph(np.zeros((64, 64))),
        AdditiveNoise(0.1),
        initial_state=0.0,
    )
    raw_fn, config = prepare(network, Heun(), 0.0, 200.0, 0.1)
    sub_fn, _ = prepare(network, Heun(), 0.0, 200.0, 0.1, monitor=SubSample(10))
    raw, sub = raw_fn(config).ys[9::10], sub_fn(config).ys
    assert sub.shape == raw.shape == (200, 1, 64)
    assert not np.allclose(raw, sub)
    for ys in (raw, sub):
        assert abs(float(ys.mean())) < 0.01
        np.testing.assert_allclose(float(ys[20:].std()), 0.1, rtol=0.1)


def test_injected_noise_with_monitor_matches_raw():
    network = rww_network(n=3, sigma=1e-2)
    raw_fn, config = prepare(network, Heun(), 0.0, 2.0, 0.1)
    sub_fn, _ = prepare(network, Heun(), 0.0, 2.0, 0.1, monitor=SubSample(4))
    config._internal.noise_samples = jax.random.normal(jax.random.key(7), (20, 1, 3))
    np.testing.assert_allclose(
        sub_fn(config).ys, raw_fn(config).ys[3::4], rtol=1e-6, atol=1e-8
    )
