"""The standard normals of a run, drawn a few rows at a time.

A solve's noise is ``jax.random.normal(key, (n_steps, ...))`` (the spec).
Drawn at once it is one array of every step of every point (hundreds of MB
for a sweep chunk), and drawing it walks that array several times. JAX's
default generator (threefry, with ``jax_threefry_partitionable``, the
default) makes element ``i`` from the key and the counter ``i`` alone, so the
rows of one step (or block of steps) can be drawn on their own, bit for bit
the same numbers, inside the time loop. :func:`rows_of_normal` does that; where the
generator is not that one it is not used (:func:`blockwise`), and a test
checks it against ``jax.random.normal``.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

#: Float dtypes whose uniform draw uses all the generator's bits.
_MANTISSA = {np.dtype(np.float32): (32, 23), np.dtype(np.float64): (64, 52)}


def blockwise(key: Any, shape: tuple[int, ...], dtype: Any) -> bool:
    """Whether :func:`rows_of_normal` reproduces ``jax.random.normal(key,
    shape, dtype)``: a threefry key, partitionable bits, float32 or float64,
    fewer than 2**32 numbers."""
    if not jax.config.jax_threefry_partitionable:
        return False
    if np.dtype(dtype) not in _MANTISSA or math.prod(shape) >= 2**32:
        return False
    if _is_typed(key):
        return str(jax.random.key_impl(key)) == "threefry2x32"
    return jax.config.jax_default_prng_impl == "threefry2x32"


def rows_of_normal(
    key: Any, shape: tuple[int, ...], start: jax.Array, n_rows: int, dtype: Any
) -> jax.Array:
    """Rows ``start : start + n_rows`` of ``jax.random.normal(key, shape,
    dtype)``, ``[n_rows, *shape[1:]]``; requires :func:`blockwise`.

    >>> key = jax.random.key(0)
    >>> block = rows_of_normal(key, (6, 2), jnp.int32(2), 3, jnp.float32)
    >>> bool((block == jax.random.normal(key, (6, 2))[2:5]).all())
    True
    """
    data = jax.random.key_data(key) if _is_typed(key) else jnp.asarray(key)
    return _rows(data, start, tuple(shape), n_rows, np.dtype(dtype))


# Jitted so that the draw is traced once per shape, however many times a solve
# (and its batch rule) asks for rows: its ~130 primitives were a tenth of a
# network sweep's trace. XLA inlines the call; the numbers are the same.
@partial(jax.jit, static_argnums=(2, 3, 4))
def _rows(
    data: jax.Array, start: jax.Array, shape: tuple[int, ...], n_rows: int, dtype: Any
) -> jax.Array:
    row = math.prod(shape[1:])
    first = jnp.asarray(start, jnp.uint32) * np.uint32(row)
    counts = first + jax.lax.iota(jnp.uint32, n_rows * row)
    bits1, bits2 = threefry2x32(data[0], data[1], jnp.zeros_like(counts), counts)
    nbits, nmant = _MANTISSA[dtype]
    if nbits == 32:
        bits = bits1 ^ bits2
        uint = jnp.uint32
    else:
        uint = jnp.uint64
        bits = (bits1.astype(uint) << uint(32)) | bits2.astype(uint)
    one = np.array(1.0, dtype).view(np.dtype(f"uint{nbits}"))
    mantissa = jax.lax.shift_right_logical(bits, jnp.asarray(nbits - nmant, uint))
    floats = jax.lax.bitcast_convert_type(mantissa | jnp.asarray(one, uint), dtype)
    floats = floats - jnp.asarray(1.0, dtype)
    low = jnp.asarray(np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype)))
    high = jnp.asarray(1.0, dtype)
    uniform = jax.lax.max(low, floats * (high - low) + low)
    normal = jnp.asarray(np.sqrt(2), dtype) * jax.lax.erf_inv(uniform)
    return normal.reshape((n_rows, *shape[1:]))


#: Threefry-2x32's rotation constants, alternating every four rounds.
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def threefry2x32(
    key1: jax.Array, key2: jax.Array, x1: jax.Array, x2: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """The Threefry-2x32 block cipher, 20 rounds (Salmon et al. 2011), on
    uint32 counter pairs ``(x1, x2)``: the generator behind ``jax.random``.

    Written with plain array operations so that XLA fuses all rounds into one
    loop over the counters (JAX's own CPU lowering runs the rounds as a loop
    over whole arrays, several passes through memory); the output is the
    same, bit for bit (tested against ``jax.random``).
    """
    # lax operations, not jnp's: one primitive each (this is traced per
    # point under vmap, and jnp's wrappers made it a third of a sweep's trace)
    add, xor = jax.lax.add, jax.lax.bitwise_xor
    ks = (key1, key2, xor(xor(key1, key2), np.uint32(0x1BD11BDA)))
    x1, x2 = add(x1, ks[0]), add(x2, ks[1])
    for group in range(5):
        for rotation in _ROTATIONS[group % 2]:
            x1 = add(x1, x2)
            x2 = jax.lax.bitwise_or(
                jax.lax.shift_left(x2, np.uint32(rotation)),
                jax.lax.shift_right_logical(x2, np.uint32(32 - rotation)),
            )
            x2 = xor(x1, x2)
        x1 = add(x1, ks[(group + 1) % 3])
        x2 = add(add(x2, ks[(group + 2) % 3]), np.uint32(group + 1))
    return x1, x2


def block_rows(n_rows: int, largest: int = 256) -> int:
    """Rows per block: the largest divisor of ``n_rows`` up to ``largest``."""
    return max(d for d in range(1, min(n_rows, largest) + 1) if n_rows % d == 0)


def normal(key: Any, shape: tuple[int, ...], dtype: Any) -> jax.Array:
    """``jax.random.normal(key, shape, dtype)``, through :func:`rows_of_normal`
    when :func:`blockwise` allows it (faster on CPU).

    >>> key = jax.random.key(1)
    >>> bool((normal(key, (3, 2), jnp.float32) == jax.random.normal(key, (3, 2))).all())
    True
    """
    if blockwise(key, shape, dtype):
        return rows_of_normal(key, shape, jnp.int32(0), shape[0], dtype)
    return jax.random.normal(key, shape, dtype)


def _is_typed(key: Any) -> bool:
    return jax.dtypes.issubdtype(jnp.asarray(key).dtype, jax.dtypes.prng_key)
