"""A Space's index arithmetic: flat indices to per-dimension positions.

A point's flat index `i` of a (possibly sliced) space is ``start + i * step``
of the unsliced space, whose positions are its mixed-radix digits in product
mode (the last dimension varies fastest) and the index itself, repeated, in
zip mode. Vectorised on int64 while the numbers fit, on Python ints beyond.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from sweepjax._dimensions import EffectiveAxis

__all__ = [
    "batch_positions",
    "digits",
    "flat_dtype",
    "position_dtype",
    "positions",
    "range_len",
]

_INT64_SAFE = 2**62
_INT32_MAX = int(np.iinfo(np.int32).max)


def positions(
    index: range, sizes: Sequence[int], mode: str, indices: Any
) -> np.ndarray:
    """Per-dimension positions of flat `indices` of the space selecting `index`
    of the unsliced one: `[*indices.shape, len(sizes)]` int64.

    >>> positions(range(6), (2, 3), "product", [0, 4]).tolist()
    [[0, 0], [1, 1]]
    """
    r = index
    if max(abs(r.start), abs(r.stop)) + abs(r.step) >= _INT64_SAFE:
        # Beyond int64: the same arithmetic on Python ints, point by point.
        idx = np.asarray(indices, dtype=object)
        out = np.empty(idx.shape + (len(sizes),), np.int64)
        for at in np.ndindex(idx.shape):
            out[at] = digits(sizes, mode, r.start + int(idx[at]) * r.step)
        return out
    flat = r.start + np.asarray(indices, dtype=np.int64) * r.step
    if mode == "zip":
        return np.repeat(flat[..., None], len(sizes), -1)
    out = np.empty(flat.shape + (len(sizes),), np.int64)
    for e in range(len(sizes) - 1, -1, -1):
        flat, out[..., e] = np.divmod(flat, sizes[e])
    return out


def digits(sizes: Sequence[int], mode: str, flat: int) -> list[int]:
    """Positions of one flat index of the unsliced space (Python ints)."""
    if mode == "zip":
        return [flat] * len(sizes)
    out = []
    for size in reversed(sizes):
        flat, rem = divmod(flat, size)
        out.append(rem)
    return out[::-1]


def range_len(r: range) -> int:
    """``len(r)`` without Python's ``sys.maxsize`` limit.

    >>> range_len(range(0, 2**64))
    18446744073709551616
    """
    if r.step > 0:
        return max(0, (r.stop - r.start + r.step - 1) // r.step)
    return max(0, (r.start - r.stop - r.step - 1) // -r.step)


def position_dtype(effective: Sequence[EffectiveAxis]) -> np.dtype:
    """int32 while every dimension has at most 2**31 - 1 values, else int64
    (which needs JAX's x64 mode: without it, `ValueError` naming the
    dimension)."""
    long = [e for e in effective if e.size > _INT32_MAX]
    if not long:
        return np.dtype(np.int32)
    if not jax.config.jax_enable_x64:
        e = long[0]
        raise ValueError(
            f"The axis `{e.name}` has {e.size:,} values, more than int32 "
            f"positions reach ({_INT32_MAX:,}), and JAX's x64 mode is off, so "
            "no device can index it. Turn it on before running: "
            'jax.config.update("jax_enable_x64", True).'
        )
    return np.dtype(np.int64)


def flat_dtype(
    index: range, sizes: Sequence[int], mode: str, dtype: np.dtype
) -> np.dtype | None:
    """The integer dtype in which a device can compute the positions of
    `index`'s points (`batch_positions`): the position dtype in zip mode (a
    flat index is a position there); in product mode the narrowest of
    int32/int64 (x64 mode) that holds every flat index of the unsliced
    space; None when none does (positions then come from the host)."""
    if mode == "zip":
        return dtype
    largest = math.prod(sizes)
    if largest <= _INT32_MAX:
        return np.dtype(np.int32)
    if largest < _INT64_SAFE and jax.config.jax_enable_x64:
        return np.dtype(np.int64)
    return None


def batch_positions(
    index: range,
    sizes: Sequence[int],
    mode: str,
    bounds: jax.Array,
    batch: int,
    dtype: np.dtype,
) -> jax.Array:
    """`positions` of the points ``[bounds[0], bounds[1])`` computed on the
    device, padded to `batch` rows by repeating the last point: what a
    compiled sweep reads from two numbers instead of a host array. `bounds`
    holds `flat_dtype` integers; the result is `[batch, len(sizes)]` of
    `dtype`, equal to the host's `positions` (integer arithmetic)."""
    kind = bounds.dtype
    i = jnp.minimum(bounds[0] + lax.iota(kind, batch), bounds[1] - 1)
    flat = index.start + i * index.step
    if mode == "zip":
        return jnp.broadcast_to(flat[:, None], (batch, len(sizes))).astype(dtype)
    columns = []
    for size in reversed(sizes):
        columns.append(lax.rem(flat, jnp.asarray(size, kind)))
        flat = lax.div(flat, jnp.asarray(size, kind))
    return jnp.stack(columns[::-1], axis=-1).astype(dtype)
