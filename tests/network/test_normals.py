"""Block-by-block normals equal ``jax.random.normal`` bit for bit."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax.network._normals import block_rows, blockwise, rows_of_normal

KEYS = {
    "typed": lambda: jax.random.key(7),
    "raw": lambda: jax.random.PRNGKey(7),
}


@pytest.mark.parametrize("x64", [False, True], ids=["float32", "float64"])
@pytest.mark.parametrize("kind", list(KEYS))
def test_rows_equal_the_rows_of_one_draw(x64, kind):
    with jax.enable_x64(x64):
        dtype = jnp.float64 if x64 else jnp.float32
        key = KEYS[kind]()
        shape = (60, 3, 5)
        assert blockwise(key, shape, dtype)
        full = np.asarray(jax.random.normal(key, shape, dtype))
        draw = jax.jit(lambda start: rows_of_normal(key, shape, start, 12, dtype))
        blocks = np.concatenate([draw(jnp.int32(s)) for s in range(0, 60, 12)])
        np.testing.assert_array_equal(blocks, full)


def test_rows_under_vmap_over_keys():
    keys = jax.random.split(jax.random.key(1), 4)
    shape = (10, 2)
    got = jax.vmap(lambda k: rows_of_normal(k, shape, jnp.int32(4), 3, jnp.float32))(
        keys
    )
    expected = jax.vmap(lambda k: jax.random.normal(k, shape)[4:7])(keys)
    np.testing.assert_array_equal(got, expected)


def test_other_generators_and_dtypes_are_not_blockwise():
    shape = (10, 2)
    assert not blockwise(jax.random.key(0, impl="rbg"), shape, jnp.float32)
    assert not blockwise(jax.random.key(0), shape, jnp.bfloat16)
    assert not blockwise(jax.random.key(0), (2**31, 2), jnp.float32)


def test_block_rows_divide_the_steps():
    assert block_rows(10_000, 100) == 100
    assert block_rows(97, 50) == 1
    assert block_rows(12, 256) == 12
