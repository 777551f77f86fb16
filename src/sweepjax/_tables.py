"""The values of a Space's axes: made and checked once, kept on the device
(what executors index) and on the host (what tables, messages and points
read), and handed out as JAX values without compiling anything.

Building a Space and reading its first point is interactive work, so it
compiles at most one XLA program: the grid axes' values (`range_tables`).
Uniform draws are made on the host, bit for bit as JAX makes them
(`sweepjax._host_random`); everything else is NumPy on the host and plain
device transfers.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from sweepjax._axes import PROGRAMMED_AXES, AbstractAxis, UniformAxis
from sweepjax._axis_checks import check_size
from sweepjax._host_random import host_key_data, host_split, host_uniform
from sweepjax._tree import is_key_array

__all__ = ["AxisTables", "check_key", "range_tables"]

# Points hand out axis values as JAX arrays made in blocks of this many rows;
# each axis keeps its latest blocks (at most this many).
_ROW_BLOCK = 16
_ROW_BLOCKS_KEPT = 4096


def check_key(key: Any) -> None:
    """`key` must be None or one PRNG key: `TypeError`/`ValueError` naming it.

    >>> check_key(0)
    Traceback (most recent call last):
    ...
    TypeError: `key` must be a JAX PRNG key, got int: 0. Pass key=jax.random.key(0).
    """
    if key is None:
        return
    if not is_key_array(key, raw=True):
        seed = key if isinstance(key, int) and not isinstance(key, bool) else 0
        raise TypeError(
            f"`key` must be a JAX PRNG key, got {type(key).__name__}: {key!r}. "
            f"Pass key=jax.random.key({seed})."
        )
    if is_key_array(key) and key.shape != ():
        raise ValueError(
            f"`key` must be a single PRNG key, got a key array of shape "
            f"{tuple(key.shape)}; pass one of them, e.g. key[0], or "
            "jax.random.key(0)."
        )


class AxisTables:
    """Each axis's values `[size, *value_shape]` for a Space, checked.

    `device` holds JAX arrays (what executors index), `host` read-only NumPy
    copies (PRNG keys stay JAX arrays). Construction checks sizes before
    anything is made (`check_size`), then values (`check_values`, `wrap`).
    With ``m`` axes, axis ``i`` receives ``jax.random.split(key, m + 1)[i +
    1]`` (`key` defaults to ``jax.random.key(0)``).
    """

    def __init__(
        self, names: Sequence[str], axes: Sequence[AbstractAxis], key: Any = None
    ):
        check_key(key)
        keys: list[Any] = [None] * len(axes)
        if any(a.uses_key and type(a) not in PROGRAMMED_AXES for a in axes):
            # Axes made outside the one program draw from eagerly split keys.
            subkeys = jax.random.split(
                jax.random.key(0) if key is None else key, len(axes) + 1
            )
            for i, axis in enumerate(axes):
                if axis.uses_key and type(axis) not in PROGRAMMED_AXES:
                    keys[i] = subkeys[i + 1]
        for name, axis, k in zip(names, axes, keys, strict=True):
            check_size(axis, k, name)
        made = range_tables(axes, key)
        device, host = [], []
        for name, axis, k, values in zip(names, axes, keys, made, strict=True):
            if values is None:
                values = _as_jax(axis.generate_values(k))
            if values.ndim == 0 or values.shape[0] != axis.size:
                raise ValueError(
                    f"Axis at `{name}` ({axis!r}) generated values of shape "
                    f"{tuple(values.shape)}; expected a leading dimension equal "
                    f"to its size {axis.size}."
                )
            device.append(values)
            host.append(_host_table(values))
            axis.check_values(host[-1], name)
            _check_wrap(name, axis, values)
        self.device, self.host = tuple(device), tuple(host)
        self._rows: dict[int, dict[int, list[jax.Array]]] = {}
        self._key_data: dict[int, np.ndarray] = {}

    def take(self, k: int, positions: np.ndarray) -> jax.Array:
        """Axis `k`'s values at `positions` (any shape), gathered on the host
        and sent to the device as one JAX array."""
        table = self.host[k]
        if is_key_array(table):
            return table[positions]
        return jax.device_put(table[positions])

    def rows(self, k: int, positions: Sequence[int]) -> list[jax.Array]:
        """Axis `k`'s values at `positions` (ints), one JAX array each.

        Values are made in blocks of `_ROW_BLOCK` rows, one batched transfer
        each (no compilation), and the latest blocks are kept: indexing and
        iteration then cost no transfer per point.
        """
        cache = self._rows.setdefault(k, {})
        out = []
        for p in positions:
            block, row = divmod(p, _ROW_BLOCK)
            rows = cache.get(block)
            if rows is None:
                if len(cache) >= _ROW_BLOCKS_KEPT:
                    del cache[next(iter(cache))]
                rows = cache[block] = self._make_rows(k, block)
            out.append(rows[row])
        return out

    def _make_rows(self, k: int, block: int) -> list[jax.Array]:
        table = self.device[k]
        if not is_key_array(table):
            rows = self.host[k][block * _ROW_BLOCK : (block + 1) * _ROW_BLOCK]
            # 0-d arrays, not NumPy scalars: JAX takes scalars 5x slower.
            return jax.device_put([np.asarray(row) for row in rows])
        if k not in self._key_data:  # keys travel as their raw data, fetched once
            self._key_data[k] = np.asarray(jax.random.key_data(table))
        rows = self._key_data[k][block * _ROW_BLOCK : (block + 1) * _ROW_BLOCK]
        n = len(rows)
        # A full block keeps one compiled split per key type and shape.
        padded = np.concatenate([rows, np.repeat(rows[-1:], _ROW_BLOCK - n, 0)])
        values = jax.random.wrap_key_data(
            jax.device_put(padded), impl=jax.random.key_impl(table)
        )
        return list(values)[:n]


def _as_jax(values: Any) -> jax.Array:
    """An axis's generated values as a JAX array (NumPy data is converted on
    the host: `jnp.asarray` would compile a cast)."""
    if isinstance(values, jax.Array):
        return values
    return jax.device_put(np.asarray(values))


def _check_wrap(name: str, axis: AbstractAxis, values: Any) -> None:
    """Apply ``axis.wrap`` to the whole table once: every value it would
    reject raises now, naming the axis, before any point runs."""
    if axis.wrap is None:
        return
    try:
        axis.wrap(values)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"Axis at `{name}` ({axis!r}): its wrap rejects a value: {err}"
        ) from err


def _host_table(table: jax.Array) -> Any:
    """A read-only NumPy array of an axis's values (PRNG keys stay JAX
    arrays): on a CPU, JAX's own view of the buffer (a second copy would
    cost a pass over the table), elsewhere its host copy."""
    if is_key_array(table):
        return table
    host = np.asarray(table)
    host.flags.writeable = False
    return host


def range_tables(
    axes: Sequence[AbstractAxis], key: jax.Array | None = None
) -> list[jax.Array | None]:
    """The values of the `GridAxis`, `LogGridAxis` and `UniformAxis` among
    `axes` (None for the others): the uniform draws in NumPy where the
    emulation applies (`host_key_data`), the rest by one compiled program.

    Axis ``i`` gets exactly what ``axes[i].generate_values(subkeys[i + 1])``
    gives, with ``subkeys = jax.random.split(key, len(axes) + 1)`` (`key`
    defaults to ``jax.random.key(0)``). The program depends only on the
    axes' types, sizes and shapes (the bounds and key are its inputs), so a
    process compiles it once per such layout, where making the tables one by
    one costs a compilation per operation (the key, the split, each
    indexing, each draw).

    >>> from sweepjax import GridAxis
    >>> [t.shape for t in range_tables([GridAxis(0, 1, 3), UniformAxis(0, 1, 2)])]
    [(3,), (2,)]
    """
    out: list[Any] = [None] * len(axes)
    data = None
    if any(type(a) is UniformAxis for a in axes):
        data = host_key_data(key)
    if data is not None:  # uniform draws on the host, bit for bit: no program
        subkeys = host_split(data, len(axes) + 1)
        for i, a in enumerate(axes):
            if type(a) is UniformAxis:
                out[i] = host_uniform(subkeys[i + 1], a.n, a.low, a.high)
    plan, bounds = [], []
    slots = [i for i, a in enumerate(axes) if type(a) in PROGRAMMED_AXES]
    slots = [i for i in slots if out[i] is None]
    keyed = any(axes[i].uses_key for i in slots)
    for i in slots:
        axis = axes[i]
        # Keyless axes do not depend on their place: layouts share programs.
        where = i if axis.uses_key else -1
        plan.append((where, type(axis), axis.n, axis.shape))
        bounds.append((axis.low, axis.high))
    tables = []
    if plan:
        tables = _range_program(
            key if keyed else None,
            tuple(bounds),
            plan=tuple(plan),
            n_keys=len(axes) + 1 if keyed else 0,
        )
    for i, points in zip(slots, tables, strict=True):
        out[i] = points
    for i, axis in enumerate(axes):
        if out[i] is None or type(axis) not in PROGRAMMED_AXES:
            continue
        points, shape = out[i], axis.shape
        if shape is not None:  # on the host: a copy, and a program of its own
            n = points.shape[0]
            column = np.asarray(points).reshape((n,) + (1,) * len(shape))
            points = np.broadcast_to(column, (n, *shape))
        out[i] = points if isinstance(points, jax.Array) else jax.device_put(points)
    return out


@functools.partial(jax.jit, static_argnames=("plan", "n_keys"))
def _range_program(key, bounds, plan, n_keys):
    subkeys = None
    if n_keys:
        subkeys = jax.random.split(jax.random.key(0) if key is None else key, n_keys)
    # The points alone: a broadcast fused with them could round differently.
    return [
        cls._points(low, high, n, None if i < 0 else subkeys[i + 1])
        for (i, cls, n, _), (low, high) in zip(plan, bounds, strict=True)
    ]
