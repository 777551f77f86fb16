"""JAX's `random.split` and float32 `random.uniform` (threefry2x32) redone in
NumPy, bit for bit: a Space's uniform draws are then made on the host, with
no XLA program to lower and compile on the interactive path (the threefry
program was most of a fresh Space's cost).

`host_key_data` says when the emulation applies (None: the caller runs JAX).
Grids stay in JAX: XLA's float32 `linspace` rounds differently by position
(LLVM fuses multiply-adds in the vectorised loop, folds constants in its
remainder), so a host copy would match only one compiler's choices.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

__all__ = ["fma32", "host_key_data", "host_split", "host_uniform", "threefry2x32"]

_U32 = np.uint32
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _rotl(x: np.ndarray, d: int) -> np.ndarray:
    return (x << _U32(d)) | (x >> _U32(32 - d))


def threefry2x32(k1: int, k2: int, x1: np.ndarray, x2: np.ndarray):
    """The Threefry-2x32 hash of the counter pairs `(x1, x2)` under the key
    `(k1, k2)`: 20 rounds, key injection every 4 (as `jax.random`'s)."""
    ks = (_U32(k1), _U32(k2), _U32(k1) ^ _U32(k2) ^ _U32(0x1BD11BDA))
    x = [x1.astype(_U32) + ks[0], x2.astype(_U32) + ks[1]]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x[0] = x[0] + x[1]
            x[1] = _rotl(x[1], r) ^ x[0]
        x[0] = x[0] + ks[(i + 1) % 3]
        x[1] = x[1] + ks[(i + 2) % 3] + _U32(i + 1)
    return x[0], x[1]


def fma32(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``a * b + c`` in float32 rounded once, as XLA's CPU backend fuses it.

    The float32 product is exact in float64; the float64 sum is made
    round-to-odd (its error from TwoSum), so rounding it to float32 rounds
    once (53 >= 24 + 2 bits).
    """
    f64 = np.float64
    s = np.asarray(a, f64) * np.asarray(b, f64)
    c = np.asarray(c, f64)
    t = s + c
    bb = t - s
    e = (s - (t - bb)) + (c - bb)
    bits = t.view(np.int64)
    inexact_even = (e != 0) & ((bits & 1) == 0)
    step = np.where(np.signbit(e) == np.signbit(t), 1, -1)
    t = np.where(inexact_even, bits + step, bits).view(f64)
    return t.astype(np.float32)


def _unoptimised() -> bool:
    """Whether JAX compiles without XLA's optimisations (a flag, not a
    config attribute)."""
    return bool(jax.config.values.get("jax_disable_most_optimizations", False))


def host_key_data(key: Any) -> np.ndarray | None:
    """`key`'s threefry2x32 data `[2] uint32` (`key` None: that of
    ``jax.random.key(0)``), read without a program; None where the emulation
    does not apply: 64-bit floats, the non-default split/draw scheme
    (``jax_threefry_partitionable`` off), another PRNG implementation, a
    traced key, anything but one key, a default backend other than the CPU
    (whose fused multiply-add was checked; a GPU's was not), or XLA without
    its optimisations (``jax_disable_most_optimizations``: it does not fuse
    the multiply-add, so its draws differ from the emulation in the last bit)."""
    if jax.config.jax_enable_x64 or not jax.config.jax_threefry_partitionable:
        return None
    if jax.default_backend() != "cpu" or _unoptimised():
        return None
    if key is None:
        return np.zeros(2, _U32)
    if isinstance(key, jax.core.Tracer) or not isinstance(key, jax.Array):
        return None
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != () or str(jax.random.key_impl(key)) != "threefry2x32":
            return None
        data = np.asarray(jax.random.key_data(key))
    elif jax.config.jax_default_prng_impl == "threefry2x32":
        data = np.asarray(key)  # a raw key: data of the default implementation
    else:
        return None
    return data if data.shape == (2,) and data.dtype == _U32 else None


def _counts(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The counters 0..n-1 as (high, low) uint32 halves (`iota_2x32_shape`)."""
    iota = np.arange(n, dtype=np.uint64)
    return (iota >> np.uint64(32)).astype(_U32), iota.astype(_U32)


def host_split(data: np.ndarray, num: int) -> np.ndarray:
    """``jax.random.split(key, num)``'s key data `[num, 2]` (partitionable
    threefry, JAX's default: one hash per counter pair)."""
    b1, b2 = threefry2x32(data[0], data[1], *_counts(num))
    return np.stack([b1, b2], axis=1)


def host_uniform(data: np.ndarray, n: int, low: float, high: float) -> np.ndarray:
    """``jax.random.uniform(key, (n,), float32, low, high)`` (partitionable
    threefry): 23 random mantissa bits in [1, 2), minus 1, scaled and shifted
    in float32, at least `low`."""
    b1, b2 = threefry2x32(data[0], data[1], *_counts(n))
    bits = ((b1 ^ b2) >> _U32(9)) | _U32(0x3F800000)
    floats = bits.view(np.float32) - np.float32(1.0)
    lo, hi = np.float32(low), np.float32(high)
    return np.maximum(lo, fma32(floats, hi - lo, lo))
