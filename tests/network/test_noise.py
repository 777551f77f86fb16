"""AdditiveNoise: keys, noisy states, config leaves, one compilation per key."""

from __future__ import annotations

import copy

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from network_helpers import replace_leaf, rww_network

from sweepjax._tree import is_key_array
from sweepjax.network import (
    AdditiveNoise,
    DenseGraph,
    Diffrax,
    Euler,
    Heun,
    Linear,
    Mean,
    MultiplicativeNoise,
    Network,
    SupHopf,
    prepare,
)
from sweepjax.network._noise import SIGMA


@pytest.mark.parametrize(
    "key",
    [None, 3, jax.random.key(3), jax.random.PRNGKey(3)],
    ids=("none", "int", "typed", "raw"),
)
def test_key_forms(key):
    noise = AdditiveNoise(0.1, key)
    assert is_key_array(noise.key, raw=True)
    assert noise.leaves() == {"sigma": (0.1, SIGMA), "key": (noise.key, None)}


def test_int_seed_is_a_typed_key():
    noise = AdditiveNoise(0.1, 3)
    assert is_key_array(noise.key)
    assert jax.random.key_data(noise.key).tolist() == (
        jax.random.key_data(jax.random.key(3)).tolist()
    )


@pytest.mark.parametrize("key", ["seed", True, jax.numpy.zeros(2)], ids=repr)
def test_bad_key(key):
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        AdditiveNoise(0.1, key=key)


def test_states():
    assert AdditiveNoise(0.1).states is None
    assert AdditiveNoise(0.1, states="y").states == ("y",)
    assert AdditiveNoise(0.1, states=["x", "y"]).states == ("x", "y")
    with pytest.raises(TypeError, match="states must be a state name"):
        AdditiveNoise(0.1, states=3)


def test_repr():
    assert (
        repr(AdditiveNoise(0.1, states="y"))
        == "AdditiveNoise(sigma=0.1, key=key<fry>[], states=('y',))"
    )


def test_key_axis_runs_with_one_compilation():
    solve_fn, config = prepare(rww_network(n=3, sigma=1e-2), Heun(), 0.0, 1.0, 0.1)
    solve_fn(config)
    before = solve_fn._cache_size()
    for key in jax.random.split(jax.random.key(3), 3):
        solve_fn(replace_leaf(config, "noise.key", key))
    assert solve_fn._cache_size() == before


def linear_network(noise, y0):
    return Network(
        Linear(gamma=-1.0), {}, DenseGraph(np.zeros((2, 2))), noise=noise,
        initial_state=y0,
    )  # fmt: skip


def test_multiplicative_noise_scales_by_a_linear_function_of_the_state(x64):
    """Euler-Maruyama: x' = x + dt*f(x) + sigma*(a*x + b)*sqrt(dt)*z."""
    z = np.random.default_rng(0).normal(size=(20, 1, 2))
    noise = MultiplicativeNoise(0.3, a=2.0, b=0.1, key=0)
    solve_fn, config = prepare(linear_network(noise, [[0.5, -0.4]]), Euler(), 0, 2, 0.1)
    config.noise_samples = jnp.asarray(z)
    ys = np.asarray(solve_fn(config).ys)
    x = np.array([0.5, -0.4])
    for k in range(20):
        x = x + 0.1 * -x + 0.3 * (2.0 * x + 0.1) * np.sqrt(0.1) * z[k, 0]
        np.testing.assert_allclose(ys[k, 0], x, rtol=1e-12)


def test_multiplicative_with_a_zero_and_b_one_is_additive(x64):
    runs = []
    for noise in (MultiplicativeNoise(0.2, a=0.0, b=1.0, key=4), AdditiveNoise(0.2, 4)):
        solve_fn, config = prepare(linear_network(noise, 0.3), Heun(), 0, 2, 0.1)
        runs.append(np.asarray(solve_fn(config).ys))
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-12)


@pytest.mark.parametrize("solver", [Heun(), Diffrax(diffrax.Heun())], ids=repr)
def test_multiplicative_noise_vanishes_at_the_zero_state(solver):
    noise = MultiplicativeNoise(0.5, key=1)  # a = 1, b = 0: g(0) = 0
    solve_fn, config = prepare(linear_network(noise, 0.0), solver, 0, 2, 0.1)
    assert np.all(np.asarray(solve_fn(config).ys) == 0.0)
    config.initial_state = jnp.full((1, 2), 0.5)
    assert np.std(np.asarray(solve_fn(config).ys)) > 0


def test_per_state_sigma(x64):
    """sigma [n_noise_states, 1]: each state its own amplitude (first Euler
    step from the fixed point 0: only the noise moves the state)."""
    network = Network(
        SupHopf(a=-1.0), {}, DenseGraph(np.zeros((2, 2))),
        noise=AdditiveNoise(np.array([[0.1], [0.4]]), key=2), initial_state=0.0,
    )  # fmt: skip
    solve_fn, config = prepare(network, Euler(), 0, 0.1, 0.1)
    z = np.random.default_rng(1).normal(size=(1, 2, 2))
    config.noise_samples = jnp.asarray(z)
    step = np.asarray(solve_fn(config).ys)[0]
    np.testing.assert_allclose(step, np.array([[0.1], [0.4]]) * np.sqrt(0.1) * z[0])


def test_multiplicative_parameters_are_checked():
    noise = MultiplicativeNoise(0.1, a=2.0, b=0.5)
    assert list(noise.leaves()) == ["sigma", "key", "a", "b"]
    assert "MultiplicativeNoise(sigma=0.1, key=key<fry>[], a=2.0, b=0.5" in repr(noise)
    with pytest.raises(ValueError, match="a must hold finite values"):
        MultiplicativeNoise(0.1, a=np.inf)
    with pytest.raises(ValueError, match="sigma must hold finite values >= 0"):
        MultiplicativeNoise(-0.1)


@pytest.mark.parametrize("unroll", [1, 2])
def test_injected_noise_shared_by_a_batch_stays_one_copy(unroll):
    """A sweep that does not sweep ``config.noise_samples`` reads the one
    array (no ``[size, n_steps, ...]`` broadcast: the compiled program's
    scratch stays under one copy per point); a sweep of it reads each
    point's own; both equal per-point solves, a row a step (``unroll=1``)
    or blocks of rows (unrolled)."""
    network = Network(
        SupHopf(a=-0.5), {}, DenseGraph(np.zeros((2, 2))),
        noise=AdditiveNoise(0.1, key=2), initial_state=0.0,
    )  # fmt: skip
    observe = {"m": Mean("x")}
    solve_fn, config = prepare(
        network, Euler(), 0, 100, 0.1, observe=observe, unroll=unroll
    )
    z = np.random.default_rng(1).normal(size=(16, 1000, 2, 2)).astype(np.float32)
    sigma = jnp.linspace(0.05, 0.4, 16)

    def run(s, samples):
        c = copy.copy(config)
        c.noise.sigma, c.noise_samples = s, samples
        return solve_fn(c).observed["m"]

    shared = jax.jit(jax.vmap(run, (0, None)))
    scratch = shared.lower(sigma, z[0]).compile().memory_analysis().temp_size_in_bytes
    assert scratch < len(sigma) * z[0].nbytes
    each = jax.jit(jax.vmap(run))(sigma, z)
    # the first point's mean, stepped in NumPy: Euler-Maruyama on its normals
    y, total = np.zeros((2, 2)), 0.0
    for k in range(1000):
        x, v = y
        r2 = x**2 + v**2
        f = np.stack([(-0.5 - r2) * x - v, (-0.5 - r2) * v + x])
        y = y + 0.1 * f + float(sigma[0]) * np.sqrt(0.1) * z[0, k]
        total = total + y[0]
    np.testing.assert_allclose(shared(sigma, z[0])[0], total / 1000, atol=1e-6)
    for i in (0, 15):
        np.testing.assert_allclose(
            shared(sigma, z[0])[i], run(sigma[i], z[0]), atol=1e-7
        )
        np.testing.assert_allclose(each[i], run(sigma[i], z[i]), atol=1e-7)
