"""The native integrator: noise draws and injection, the Raw and block loops."""

from __future__ import annotations

import copy
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from network_helpers import Linear, rww_network

from sweepjax.network import (
    AdditiveNoise,
    DelayedLinearCoupling,
    DenseDelayGraph,
    DenseGraph,
    Euler,
    Heun,
    Mean,
    Network,
    Raw,
    SubSample,
    SupHopf,
    TemporalAverage,
    make_config,
    prepare,
)
from sweepjax.network._batching import Points
from sweepjax.network._body import make_body, noise_increment, noise_shape
from sweepjax.network._integrate import integrate
from sweepjax.network._solution import Plan

_PREPARED = {}


def noisy_heun(t1: float, monitor=None):
    """``prepare(rww_network(n=3, sigma=1e-2), Heun(), 0.0, t1, 0.1, monitor)``,
    prepared once per ``t1`` and monitor for the module (so a solve compiled by
    one test serves the next), with a fresh copy of the config."""
    key = (t1, repr(monitor))
    if key not in _PREPARED:
        network = rww_network(n=3, sigma=1e-2)
        _PREPARED[key] = prepare(network, Heun(), 0.0, t1, 0.1, monitor)
    solve_fn, config = _PREPARED[key]
    return solve_fn, copy.deepcopy(config)


def test_noise_increment_only_on_noisy_states():
    network = Network(
        SupHopf(), {}, DenseGraph(np.zeros((2, 2))), AdditiveNoise(1.0, states="y")
    )
    y = jnp.zeros((2, 2))
    dW = noise_increment(network, jnp.asarray(0.5), jnp.ones((1, 2)), y)
    np.testing.assert_array_equal(dW, [[0.0, 0.0], [0.5, 0.5]])
    assert noise_shape(network, 10) == (10, 1, 2)


@pytest.mark.parametrize("monitor", [Raw(), SubSample(5)], ids=repr)
def test_unroll_does_not_change_results(monitor):
    network = rww_network(n=3)
    a_fn, config = prepare(network, Heun(), 0.0, 1.0, 0.1, monitor)
    b_fn, _ = prepare(network, Heun(), 0.0, 1.0, 0.1, monitor, unroll=4)
    np.testing.assert_allclose(a_fn(config).ys, b_fn(config).ys, rtol=1e-6)


def test_noise_is_normal_draw_of_the_key():
    network = rww_network(n=3, sigma=0.05)
    solve_fn, config = prepare(network, Euler(), 0.0, 1.0, 0.1)
    z = jax.random.normal(config.noise.key, (10, 1, 3))
    config.noise_samples = z
    injected = solve_fn(config).ys
    config.noise_samples = None
    np.testing.assert_allclose(solve_fn(config).ys, injected, rtol=1e-6)
    # Euler's first step: y0 + dt*f(y0) + sigma*sqrt(dt)*z[0]
    config.noise.sigma = jnp.zeros_like(config.noise.sigma)  # no recompile
    deterministic = solve_fn(config).ys
    np.testing.assert_allclose(
        injected[0] - deterministic[0], 0.05 * np.sqrt(0.1) * z[0], rtol=1e-4
    )


def test_injected_zero_noise_equals_sigma_zero():
    solve_fn, config = noisy_heun(2.0)
    config.noise_samples = jnp.zeros((20, 1, 3))
    zero_noise = solve_fn(config).ys
    config.noise_samples = None
    config.noise.sigma = jnp.zeros_like(config.noise.sigma)
    np.testing.assert_array_equal(zero_noise, solve_fn(config).ys)


@pytest.mark.parametrize("monitor", [Raw(), SubSample(5)], ids=repr)
def test_wrong_noise_samples_shape_names_expected_shape(monitor):
    solve_fn, config = prepare(rww_network(n=4), Heun(), 0.0, 2.0, 0.1, monitor)
    config.noise_samples = jnp.zeros((19, 1, 4))
    with pytest.raises(
        ValueError, match=r"noise_samples must have shape .*\(20, 1, 4\)"
    ):
        solve_fn(config)


def test_noise_samples_ignored_without_noise():
    solve_fn, config = prepare(rww_network(n=2, sigma=None), Heun(), 0.0, 1.0, 0.1)
    quiet = solve_fn(config).ys
    config.noise_samples = jnp.ones((10, 1, 2))
    np.testing.assert_array_equal(solve_fn(config).ys, quiet)


def test_noise_on_selected_states_only():
    network = Network(
        SupHopf(), {}, DenseGraph(np.zeros((2, 2))), AdditiveNoise(0.1, states="y")
    )
    solve_fn, config = prepare(network, Euler(), 0.0, 0.1, 0.1)
    config.noise_samples = jnp.ones((1, 1, 2))
    noisy = solve_fn(config).ys
    config.noise_samples = jnp.zeros((1, 1, 2))
    quiet = solve_fn(config).ys
    np.testing.assert_allclose(noisy[0, 0], quiet[0, 0])
    np.testing.assert_allclose(noisy[0, 1] - quiet[0, 1], 0.1 * np.sqrt(0.1), rtol=1e-5)


def test_subsampled_noise_is_the_raw_runs():
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
    np.testing.assert_array_equal(raw, sub)  # the same noise, whatever is recorded
    for ys in (raw, sub):
        assert abs(float(ys.mean())) < 0.01
        np.testing.assert_allclose(float(ys[20:].std()), 0.1, rtol=0.1)


@pytest.mark.parametrize("monitor", [SubSample(4), TemporalAverage(4)], ids=repr)
def test_injected_noise_with_monitor_matches_raw(monitor):
    raw_fn, config = noisy_heun(2.0)
    mon_fn, _ = noisy_heun(2.0, monitor)
    config.noise_samples = jax.random.normal(jax.random.key(7), (20, 1, 3))
    raw = np.asarray(raw_fn(config).ys).reshape(5, 4, 1, 3)
    expected = raw[:, -1] if isinstance(monitor, SubSample) else raw.mean(axis=1)
    np.testing.assert_allclose(mon_fn(config).ys, expected, rtol=1e-6, atol=1e-8)


def test_initial_state_is_not_a_row():
    network = Network(Linear(), {}, DenseGraph(np.zeros((1, 1))))
    ys = integrate(network, Euler().step, Plan.recording(0.0, 0.5, 2))(
        make_config(network)
    ).ys
    np.testing.assert_allclose(ys[:, 0, 0], [0.5, 0.25])


# The random connectome has sub-step delays; rounding them is not the point.
@pytest.mark.filterwarnings("ignore:dt=0.1 ms rounds:UserWarning")
@pytest.mark.parametrize(
    ("loop", "unroll"),
    [("raw", 1), ("subsample", 1), ("observed", 1), ("observed", 3)],
)
def test_noise_drawn_in_the_loop_is_the_specified_draw_of_each_points_key(loop, unroll):
    # two points with their own keys share one delay history; each step's
    # normals, drawn inside the loop (per step, or per block when unrolled),
    # are the rows of the specified draws
    rng = np.random.default_rng(3)
    weights = rng.uniform(0.0, 1.0, (4, 4)) * (1 - np.eye(4))
    network = Network(
        SupHopf(),
        {"c": DelayedLinearCoupling("x", G=[[0.3], [0.0]])},
        DenseDelayGraph(weights, rng.uniform(0.0, 1.0, (4, 4))),
        AdditiveNoise(0.05),
        initial_state=0.1,
    )
    n_steps, every = 12, 4
    kwargs = {
        "raw": {},
        "subsample": {"monitor": SubSample(every)},
        "observed": {"observe": {"mean": Mean("x")}},
    }[loop]
    solve_fn, config = prepare(network, Heun(), 0.0, 1.2, 0.1, unroll=unroll, **kwargs)
    raw_fn, _ = prepare(network, Heun(), 0.0, 1.2, 0.1)
    keys = jax.random.split(jax.random.key(5), 2)

    def solve(fn, key, samples=None):
        point = copy.deepcopy(config)
        point.noise.key = key
        point.noise_samples = samples
        solution = fn(point)
        return (
            solution.observed if fn is solve_fn and loop == "observed" else solution.ys
        )

    shape = (n_steps, 2, 4)  # both SupHopf states are noisy

    def draw(key):  # the same whatever is recorded or observed
        return jax.random.normal(key, shape)

    drawn = jax.jit(jax.vmap(partial(solve, solve_fn)))(keys)
    if loop == "observed":
        ys = jax.jit(jax.vmap(partial(solve, raw_fn)))(keys, jax.vmap(draw)(keys))
        np.testing.assert_allclose(drawn["mean"], ys[:, :, 0].mean(1), rtol=1e-5)
    else:
        injected = jax.jit(jax.vmap(partial(solve, solve_fn)))(
            keys, jax.vmap(draw)(keys)
        )
        assert drawn.shape == injected.shape
        np.testing.assert_allclose(drawn, injected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("monitor", [Raw(), SubSample(5)], ids=repr)
def test_keys_of_another_generator_are_drawn_whole(monitor):
    # an rbg key's draws cannot be made row by row: the loop slices one draw
    # of the run, whatever is recorded
    solve_fn, config = noisy_heun(2.0, monitor)
    key = jax.random.key(3, impl="rbg")
    config.noise.key = key
    drawn = solve_fn(config).ys
    z = jax.random.normal(key, (20, 1, 3))
    raw_fn, _ = noisy_heun(2.0)
    config.noise_samples = z
    expected = raw_fn(config).ys
    expected = expected[4::5] if isinstance(monitor, SubSample) else expected
    np.testing.assert_allclose(drawn, expected, rtol=1e-6, atol=1e-8)


def test_a_forward_run_skips_the_checkpointed_blocks():
    """``checkpoint=True`` splits a loop into checkpointed blocks for a
    gradient only: a forward run (sweeps) is one plain loop, which is faster,
    while a gradient still goes through the checkpointed blocks."""
    solve_fn, config = noisy_heun(10.0)  # 100 steps: split when checkpointed

    def loss(G):
        config.coupling.instant.G = G
        return solve_fn(config).ys.sum()

    forward = str(jax.make_jaxpr(loss)(0.5))
    gradient = str(jax.make_jaxpr(jax.grad(loss))(0.5))
    assert "remat" not in forward  # jax.checkpoint's primitive
    assert "remat" in gradient


def test_points_sharing_a_key_share_one_draw_per_step():
    """A sweep that leaves the key alone draws each step's normals once for
    the batch (not once per point, broadcast and copied through the carry);
    every point still gets the specified draw of the key."""
    solve_fn, config = noisy_heun(2.0)  # 20 steps, 3 nodes
    network = rww_network(n=3, sigma=1e-2)
    batch = copy.deepcopy(config)
    batch.noise.sigma = jnp.array([1e-2, 3e-2])
    axes = jax.tree.map(lambda _: None, config)
    axes.noise.sigma = 0
    _, carry, _ = make_body(network, Points(batch, axes, 2), Heun().step, 0.0, 0.1, 20)
    assert carry.z.shape == (1, 3)  # [n_noise_states, n_nodes]: no batch axis
    batch.noise.key = jax.random.split(jax.random.key(1), 2)
    axes.noise.key = 0
    _, carry, _ = make_body(network, Points(batch, axes, 2), Heun().step, 0.0, 0.1, 20)
    assert carry.z.shape == (2, 1, 3)  # each point its own draw

    def solve(sigma, samples=None):
        point = copy.deepcopy(config)
        point.noise.sigma = sigma
        point.noise_samples = samples
        return solve_fn(point).ys

    swept = jax.jit(jax.vmap(solve))(jnp.array([1e-2, 3e-2]))
    z = jax.random.normal(config.noise.key, (20, 1, 3))
    for i, sigma in enumerate((1e-2, 3e-2)):
        np.testing.assert_allclose(swept[i], solve(sigma, z), rtol=1e-6, atol=1e-8)
