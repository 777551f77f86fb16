"""The checks behind the axes: arguments at construction, values after
generation, and the size of an axis's table before it is made.

Arguments are checked in O(1) where they are written: bounds are real, finite
and ordered *in the float dtype the values will have* (JAX's default, float32
unless x64 is enabled), so ``GridAxis(0, 1e39, 3)`` fails at once. When a
Space generates an axis: `check_size` first (the table must be indexable and
fit in memory; XLA aborts the interpreter otherwise), then the axis's
`check_values` (no NaN/inf, no duplicate grid points), naming its leaf path.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Hashable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._tree import check_positive_int, is_key_array


def check_group(group: Any) -> Hashable:
    try:
        hash(group)
    except TypeError:
        raise TypeError(
            f"`group` must be hashable (a string, int or tuple), got {group!r} "
            f"of type {type(group).__name__}."
        ) from None
    return group


def check_wrap(wrap: Any, cls: str) -> Callable[[Any], Any] | None:
    """`wrap` is None or a callable (e.g. a Parameter type)."""
    if wrap is not None and not callable(wrap):
        raise TypeError(
            f"{cls}: `wrap` must be None or a callable applied to each value, "
            f"e.g. functools.partial(SigmoidBoundedParameter, low=0.0, "
            f"high=1.0); got {wrap!r}."
        )
    return wrap


def describe_wrap(wrap: Callable[[Any], Any]) -> str:
    """A stable name for `wrap` (no memory addresses): a store compares it
    when resuming. ``partial(f, low=0)`` gives ``'f(low=0)'``."""
    if isinstance(wrap, functools.partial):
        args = [repr(a) for a in wrap.args]
        args += [f"{k}={v!r}" for k, v in wrap.keywords.items()]
        return f"{describe_wrap(wrap.func)}({', '.join(args)})"
    return getattr(wrap, "__qualname__", type(wrap).__qualname__)


def check_n(n: Any, cls: str) -> int:
    try:
        return check_positive_int("n", n)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{cls}: {err}") from None


def check_bounds(
    low: Any, high: Any, cls: str, *, positive: bool = False, span: bool = False
):
    for name, v in (("low", low), ("high", high)):
        if not isinstance(v, int | float | np.number) or isinstance(v, bool):
            raise TypeError(f"{cls}: `{name}` must be a real number, got {v!r}.")
        if not math.isfinite(v):
            raise ValueError(f"{cls}: `{name}` must be finite, got {name}={v}.")
        if positive and v <= 0:
            raise ValueError(
                f"{cls}: `{name}` must be > 0 on a log scale, got {name}={v}."
            )
    if low >= high:
        raise ValueError(
            f"{cls}: `low` must be smaller than `high`, got low={low}, high={high}."
        )
    _bounds_in_dtype(float(low), float(high), cls, positive, span)
    return float(low), float(high)


def float_dtype() -> np.dtype:
    """The dtype of values JAX makes from Python floats now: float32, or
    float64 with ``jax_enable_x64``."""
    return np.dtype(jax.dtypes.canonicalize_dtype(np.float64))


def precision_fix(dtype: Any, otherwise: str) -> str:
    """How to fix values that `dtype` cannot hold: 64-bit floats, or `otherwise`."""
    if jnp.issubdtype(dtype, jnp.inexact) and jnp.finfo(dtype).bits < 64:
        return (
            'Enable 64-bit floats with jax.config.update("jax_enable_x64", True) '
            f"before creating the axis, or {otherwise}."
        )
    return f"{otherwise[0].upper()}{otherwise[1:]}."


def _bounds_in_dtype(
    low: float, high: float, cls: str, positive: bool, span: bool
) -> None:
    dtype = float_dtype()
    with np.errstate(over="ignore", under="ignore"):
        cast = {"low": dtype.type(low), "high": dtype.type(high)}
        width = cast["high"] - cast["low"]
    fix = precision_fix(dtype, "change the bounds")
    for name, v in cast.items():
        given = low if name == "low" else high
        if not np.isfinite(v):
            raise ValueError(
                f"{cls}: `{name}`={given} overflows to {v} in {dtype}, the dtype "
                f"of its values. {fix}"
            )
        if positive and v < np.finfo(dtype).tiny:
            raise ValueError(
                f"{cls}: `{name}`={given} is below {dtype}'s smallest normal "
                f"number {np.finfo(dtype).tiny:.3g} (it becomes {v:.3g}), so a "
                f"log scale gives NaN. {fix}"
            )
    if cast["low"] >= cast["high"]:
        raise ValueError(
            f"{cls}: low={low} and high={high} are the same number in {dtype}, "
            f"the dtype of its values ({cast['low']}). {fix}"
        )
    if span and not np.isfinite(width):
        raise ValueError(
            f"{cls}: high - low = {high - low} overflows to {width} in {dtype}, "
            f"the dtype of its values. {fix}"
        )


def check_shape(shape: Any, cls: str, arg: str = "shape") -> tuple[int, ...] | None:
    if shape is None:
        return None
    if isinstance(shape, int | np.integer):
        shape = (shape,)
    try:
        if isinstance(shape, str) or not all(
            isinstance(s, int | np.integer) for s in shape
        ):
            raise TypeError
        shape = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(
            f"{cls}: `{arg}` must be a tuple of ints or None, got {shape!r}."
        ) from None
    if any(s < 0 for s in shape):
        raise ValueError(f"{cls}: `{arg}` must not be negative, got {shape}.")
    return shape


# -- checks of generated values -----------------------------------------------


def axis_label(axis: Any, name: str | None) -> str:
    return f"Axis `{name}` ({axis!r})" if name is not None else repr(axis)


def _at(index: tuple[int, ...]) -> str:
    return f"values[{', '.join(str(int(i)) for i in index)}]"


def check_conversion(source: Any, array: jax.Array) -> None:
    """Raise if converting `source` to `array`'s dtype turned finite numbers
    into inf (NaN and inf already in `source` are the user's own)."""
    if not jnp.issubdtype(array.dtype, jnp.inexact):
        return
    source = np.asarray(source)
    if not np.issubdtype(source.dtype, np.number) or source.dtype == array.dtype:
        return  # nothing was converted
    lost = np.isfinite(source) & ~np.isfinite(np.asarray(array))
    if lost.any():
        first = np.unravel_index(np.argmax(lost), lost.shape)
        raise ValueError(
            f"DataAxis: `values` holds finite numbers that become inf in "
            f"{array.dtype}, the dtype JAX stores them in ({int(lost.sum())} of "
            f"{source.size}; the first is {_at(first)} = {source[first]}). "
            + precision_fix(array.dtype, "rescale the data")
        )


def check_resolution(source: np.ndarray, array: jax.Array) -> None:
    """Raise if converting `source` to `array`'s narrower float dtype made
    distinct points equal (float64 data without x64): the sweep would run
    the same point several times, as `check_distinct` refuses for grids."""
    if not (
        np.issubdtype(source.dtype, np.inexact)
        and jnp.issubdtype(array.dtype, jnp.inexact)
        and np.dtype(array.dtype).itemsize < source.dtype.itemsize
        and source.ndim > 0
        and len(source) > 1
    ):
        return
    rows = source.reshape(len(source), -1)
    made = np.asarray(array).reshape(len(source), -1)
    if np.array_equal(made.astype(source.dtype), rows, equal_nan=True):
        return  # nothing was rounded
    _, point = np.unique(rows, axis=0, return_inverse=True)
    _, kept = np.unique(made, axis=0, return_inverse=True)
    point, kept = point.ravel(), kept.ravel()
    order = np.lexsort((point, kept))
    merged = (kept[order][1:] == kept[order][:-1]) & (
        point[order][1:] != point[order][:-1]
    )
    if not merged.any():
        return
    n_points, n_kept = point.max() + 1, kept.max() + 1
    j = int(np.argmax(merged))
    a, b = sorted((int(order[j]), int(order[j + 1])))
    if source.ndim == 1:
        example = (
            f"values[{a}] = {source[a].item()!r} and values[{b}] = "
            f"{source[b].item()!r} both become {made[a, 0].item()!r}"
        )
    else:
        example = f"values[{a}] and values[{b}] become the same array"
    raise ValueError(
        f"DataAxis: `values` holds {n_points} distinct {source.dtype} points, "
        f"but {array.dtype}, the dtype JAX stores them in, tells only {n_kept} "
        f"apart ({n_points - n_kept} lost: {example}), so the sweep would run "
        "the same point several times. "
        + precision_fix(array.dtype, "rescale the data")
    )


def check_finite(axis: Any, values: Any, name: str | None, otherwise: str) -> None:
    if is_key_array(values) or not jnp.issubdtype(values.dtype, jnp.inexact):
        return
    host = np.asarray(values)
    finite = np.isfinite(host)
    if finite.all():
        return
    n_nan = int(np.isnan(host).sum())
    n_inf = host.size - int(finite.sum()) - n_nan
    first = np.unravel_index(np.argmin(finite), finite.shape)
    raise ValueError(
        f"{axis_label(axis, name)} generated values that are not finite in "
        f"{host.dtype}: {n_nan} NaN and {n_inf} inf among {host.size}, the first "
        f"at {_at(first)} = {host[first]}. " + precision_fix(host.dtype, otherwise)
    )


def check_distinct(axis: Any, values: Any, name: str | None) -> None:
    host = np.asarray(values)
    if host.size == 0 or host.shape[0] < 2:
        return
    points = host.reshape(host.shape[0], -1)[:, 0]
    repeats = np.flatnonzero(np.diff(points) <= 0)
    if repeats.size:
        i = int(repeats[0])
        raise ValueError(
            f"{axis_label(axis, name)} generated duplicate points in {host.dtype}: "
            f"{repeats.size} of its {len(points)} points do not increase, the "
            f"first at values[{i}] = {points[i]} and values[{i + 1}] = "
            f"{points[i + 1]}; {host.dtype} cannot tell them apart. "
            + precision_fix(host.dtype, "use wider bounds or fewer points")
        )


# -- the size of an axis's table ----------------------------------------------


def _bytes(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1000
    raise AssertionError  # unreachable


@functools.cache
def _memory() -> tuple[int, str] | None:
    """``(bytes one table may take, what holds them)``; None when unknown.

    A table lives on the default device and a Space keeps a host copy, so on
    the CPU both share the machine's memory; on an accelerator the table must
    fit the device and its copy the host.
    """
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        ram = None
    device = jax.devices()[0]
    limit = (device.memory_stats() or {}).get("bytes_limit")
    if limit:
        where = f"the {_bytes(limit)} of memory of {device.device_kind}"
        if ram is not None and ram < limit:
            return ram, f"this machine's {_bytes(ram)} of memory (the host copy)"
        return limit, where
    if ram is not None:
        return ram // 2, (
            f"half of this machine's {_bytes(ram)} of memory (the table and the "
            "Space's host copy of it)"
        )
    return None


def check_size(
    axis: Any, key: jax.Array | None = None, name: str | None = None
) -> None:
    """Raise `ValueError` when `axis`'s table `[size, *value_shape]` cannot be
    made, before anything is allocated (XLA aborts the interpreter instead).

    The rule: at most as many values as JAX's default integers index (2**31 - 1
    without x64: executors index tables with them), and no more bytes than
    memory holds (`_memory`). An axis whose shape is unknown (`values_spec`
    gives None) counts one byte per value.

    >>> check_size(GridAxis(0, 1, 1000, shape=(68,)))
    """
    spec = axis.values_spec(key)
    size = axis.size
    shape = tuple(spec.shape) if spec is not None else (size,)
    itemsize = spec.dtype.itemsize if spec is not None else 1
    dtype = spec.dtype if spec is not None else "unknown dtype"
    nbytes = size * max(1, math.prod(shape[1:])) * itemsize
    need = (
        f"{size:,} values of shape {shape[1:]} in {dtype} need {_bytes(nbytes)} "
        f"({nbytes:,} bytes)"
    )
    split = (
        "Use fewer points, or split it into several axes combined in "
        "mode='product' (axes of sizes a and b give a*b points from tables of "
        "a + b values)."
    )
    index_dtype = np.dtype(jax.dtypes.canonicalize_dtype(np.int64))
    limit = int(np.iinfo(index_dtype).max)
    memory = _memory()
    fits = memory is None or nbytes <= memory[0]
    if size > limit:
        fix = split
        if fits and index_dtype.itemsize < 8:
            fix = (
                'Enable 64-bit integers with jax.config.update("jax_enable_x64", '
                "True) before creating the axis (executors then index it with "
                f"int64), or {split[0].lower()}{split[1:]}"
            )
        raise ValueError(
            f"{axis_label(axis, name)} is too large for one table: {need}, and JAX "
            f"indexes it with {index_dtype}, which reaches only {limit:,} values. "
            + fix
        )
    if not fits:
        raise ValueError(
            f"{axis_label(axis, name)} is too large for one table: {need}, more than "
            f"{memory[1]}. " + split
        )
