"""AdditiveNoise: keys, noisy states, config leaves, one compilation per key."""

from __future__ import annotations

import jax
import pytest
from network_helpers import replace_leaf, rww_network

from sweepjax._tree import is_key_array
from sweepjax.network import AdditiveNoise, Heun, prepare


@pytest.mark.parametrize(
    "key",
    [None, 3, jax.random.key(3), jax.random.PRNGKey(3)],
    ids=("none", "int", "typed", "raw"),
)
def test_key_forms(key):
    noise = AdditiveNoise(0.1, key)
    assert is_key_array(noise.key, raw=True)
    assert noise.parameters() == {"sigma": 0.1, "key": noise.key}


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
        == "AdditiveNoise(sigma=0.1, states=('y',))"
    )


def test_key_axis_runs_with_one_compilation():
    solve_fn, config = prepare(rww_network(n=3, sigma=1e-2), Heun(), 0.0, 1.0, 0.1)
    solve_fn(config)
    before = solve_fn._cache_size()
    for key in jax.random.split(jax.random.key(3), 3):
        solve_fn(replace_leaf(config, "noise.key", key))
    assert solve_fn._cache_size() == before
