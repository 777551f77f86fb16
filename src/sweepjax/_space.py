"""Space: a lazy, indexable sequence of the pytrees a state with axes describes."""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from sweepjax._axes import AbstractAxis, _is_key_array
from sweepjax._tree import find_hidden, object_cells, path_name

__all__ = ["Space", "EffectiveAxis"]

_MODES = ("product", "zip")
_ITER_BLOCK = 4096
_INT64_SAFE = 2**62


def _is_axis(x: Any) -> bool:
    return isinstance(x, AbstractAxis)


@dataclass(frozen=True)
class EffectiveAxis:
    """One dimension of a Space: a single axis, or the axes zipped by a group.

    `names` are the member leaves' key-path names, `size` the number of values
    (the shortest member's), `group` the shared label or None.
    """

    names: tuple[str, ...]
    size: int
    group: Hashable = None

    @property
    def name(self) -> str:
        """Dimension name: the group label as a string, else the leaf name."""
        return str(self.group) if self.group is not None else self.names[0]


class Space:
    """Every combination of the axes in a pytree, computed on demand.

    Replace any leaf of any pytree (dict, list, tuple, NamedTuple, registered
    dataclass, Equinox module, `Config`) with an axis. In ``"product"`` mode
    the space is the Cartesian product of the axes (the last axis varies
    fastest); in ``"zip"`` mode the i-th point takes the i-th value of every
    axis. Axes with the same ``group`` label are zipped first, then combined by
    the mode. Nothing proportional to the number of points is ever built:
    ``space[i]`` turns `i` into one position per axis by mixed-radix
    arithmetic on Python ints.

    Args:
        state: a pytree whose leaves may be axes.
        mode: ``"zip"`` (default) or ``"product"``.
        key: PRNG key for random axes; ``jax.random.key(0)`` when None. With
            ``m`` axes in flatten order, axis ``i`` receives
            ``jax.random.split(key, m + 1)[i + 1]``.

    >>> space = Space({"G": GridAxis(0.0, 1.0, 3), "dt": 0.1}, mode="product")
    >>> len(space), float(space[1]["G"]), space[1]["dt"]
    (3, 0.5, 0.1)
    """

    def __init__(self, state: Any, mode: str = "zip", key: jax.Array | None = None):
        if mode not in _MODES:
            raise ValueError(f"`mode` must be one of {_MODES}, got mode={mode!r}.")
        self._mode = mode
        flat, self._treedef = jax.tree_util.tree_flatten_with_path(
            state, is_leaf=_is_axis
        )
        self._leaves = tuple(leaf for _, leaf in flat)
        self._check_hidden_axes(flat)
        axis_slots = [i for i, (_, leaf) in enumerate(flat) if _is_axis(leaf)]
        if not axis_slots:
            raise ValueError(
                "`state` contains no axis: replace at least one leaf with an axis "
                "such as GridAxis(0.0, 1.0, 5)."
            )
        self._slots = tuple(axis_slots)
        self._axes = tuple(flat[i][1] for i in axis_slots)
        self._names = tuple(path_name(flat[i][0]) for i in axis_slots)
        self._tables = self._generate(key)
        self._host = tuple(_host_table(t) for t in self._tables)
        self._effective, self._axis_to_eff = self._group_axes()
        sizes = [e.size for e in self._effective]
        if mode == "product":
            total = math.prod(sizes)
        else:
            total = min(sizes)
            if len(set(sizes)) > 1:
                warnings.warn(
                    f"In zip mode, effective axes have different sizes {sizes}. "
                    f"Using minimum size {total}, losing {max(sizes) - total} "
                    "combinations.",
                    UserWarning,
                    stacklevel=2,
                )
        self._index = range(total)

    # -- construction ---------------------------------------------------------

    def _check_hidden_axes(self, flat) -> None:
        for path, leaf in flat:
            where = find_hidden(leaf, _is_axis)
            if where is not None:
                owner = type(leaf).__name__
                raise TypeError(
                    f"An axis sits at `{path_name(path)}{where}` inside a "
                    f"{owner} object, which JAX does not flatten as a pytree, so "
                    f"the axis would never vary. Register {owner} as a pytree "
                    "(jax.tree_util.register_dataclass or "
                    "register_pytree_with_keys_class, or make it an equinox.Module),"
                    " or use a dict or sweepjax.Config instead."
                )

    def _generate(self, key: jax.Array | None) -> tuple[jax.Array, ...]:
        if any(axis.uses_key for axis in self._axes):
            key = jax.random.key(0) if key is None else key
            subkeys = jax.random.split(key, len(self._axes) + 1)
        else:
            subkeys = [None] * (len(self._axes) + 1)
        tables = []
        for i, (name, axis) in enumerate(zip(self._names, self._axes)):
            values = axis.generate_values(subkeys[i + 1])
            if not _is_key_array(values):
                values = jnp.asarray(values)
            if values.ndim == 0 or values.shape[0] != axis.size:
                raise ValueError(
                    f"Axis at `{name}` ({axis!r}) generated values of shape "
                    f"{tuple(values.shape)}; expected a leading dimension equal "
                    f"to its size {axis.size}."
                )
            tables.append(values)
        return tuple(tables)

    def _group_axes(self):
        # Groups come first (in order of their first member), then ungrouped
        # axes in flatten order; this ordering reproduces the reference
        # system's grouped tables, where the group varies slowest.
        members: dict[Hashable, list[int]] = {}
        for a, axis in enumerate(self._axes):
            if axis.group is not None:
                members.setdefault(("group", axis.group), []).append(a)
        for a, axis in enumerate(self._axes):
            if axis.group is None:
                members[("axis", a)] = [a]
        order = list(members)
        effective, axis_to_eff = [], [0] * len(self._axes)
        for e, label in enumerate(order):
            idx = members[label]
            sizes = [self._axes[a].size for a in idx]
            group = label[1] if label[0] == "group" else None
            if len(set(sizes)) > 1:
                warnings.warn(
                    f"Axes of group {group!r} have different sizes {sizes} "
                    f"({', '.join(self._names[a] for a in idx)}). Using minimum "
                    f"size {min(sizes)}, losing {max(sizes) - min(sizes)} values.",
                    UserWarning,
                    stacklevel=3,
                )
            effective.append(
                EffectiveAxis(tuple(self._names[a] for a in idx), min(sizes), group)
            )
            for a in idx:
                axis_to_eff[a] = e
        return tuple(effective), tuple(axis_to_eff)

    def _with_index(self, index: range) -> Space:
        new = object.__new__(Space)
        new.__dict__.update(self.__dict__)
        new._index = index
        return new

    # -- description ----------------------------------------------------------

    @property
    def mode(self) -> str:
        """``"product"`` or ``"zip"``."""
        return self._mode

    @property
    def N(self) -> int:
        """Number of combinations (exact at any size; ``len`` stops at 2**63)."""
        return _range_len(self._index)

    def __len__(self) -> int:
        return self.N

    @property
    def axes(self) -> dict[str, AbstractAxis]:
        """The axes by key-path name, in flatten order."""
        return dict(zip(self._names, self._axes))

    @property
    def effective_axes(self) -> tuple[EffectiveAxis, ...]:
        """The dimensions of the space after zipping groups, in order."""
        return self._effective

    @property
    def values(self) -> dict[str, jax.Array]:
        """Each axis's generated values `[size, *value_shape]`, by name."""
        return dict(zip(self._names, self._tables))

    @property
    def is_grid(self) -> bool:
        """True for an unsliced product space: its points form a full grid."""
        return self._mode == "product" and self._index == range(
            math.prod(e.size for e in self._effective)
        )

    @property
    def grid_shape(self) -> tuple[int, ...]:
        """Sizes of the effective axes (the grid's shape in product mode)."""
        return tuple(e.size for e in self._effective)

    def __repr__(self) -> str:
        groups = sum(e.group is not None for e in self._effective)
        extra = f", groups={groups}" if groups else ""
        return f"Space(N={self.N}, mode={self._mode!r}, axes={len(self._axes)}{extra})"

    def describe(self) -> dict[str, Any]:
        """A JSON-able description that identifies the space's points.

        Two spaces with equal descriptions hold the same points in the same
        order (values are fingerprinted), which is what resuming relies on.
        """
        axes = []
        for name, axis, table, e in zip(
            self._names, self._axes, self._tables, self._axis_to_eff
        ):
            data = jax.random.key_data(table) if _is_key_array(table) else table
            digest = hashlib.sha1(np.ascontiguousarray(np.asarray(data)).tobytes())
            axes.append(
                {
                    "name": name,
                    "type": type(axis).__name__,
                    "repr": repr(axis),
                    "size": axis.size,
                    "dimension": e,
                    "group": None if axis.group is None else repr(axis.group),
                    "value_shape": list(table.shape[1:]),
                    "dtype": str(table.dtype),
                    "sha1": digest.hexdigest(),
                }
            )
        r = self._index
        return {
            "mode": self._mode,
            "N": self.N,
            "index": [r.start, r.stop, r.step],
            "axes": axes,
            "structure": str(self._treedef),
        }

    def _host_items(self):
        return zip(self._names, self._host)

    # -- index arithmetic -----------------------------------------------------

    def _normalise(self, i: Any) -> int:
        if isinstance(i, bool) or not isinstance(i, int | np.integer):
            raise TypeError(
                f"Space indices must be integers or slices, got {type(i).__name__}."
            )
        i = int(i)
        n = self.N
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of range for a Space of N={n}.")
        return i + n if i < 0 else i

    def positions(self, indices: Any) -> np.ndarray:
        """Per-dimension positions of flat indices: `[*indices.shape, n_dims]`.

        Vectorised mixed-radix arithmetic; indices must lie in ``[0, N)``.
        """
        r, sizes = self._index, self.grid_shape
        if max(abs(r.start), abs(r.stop)) + abs(r.step) >= _INT64_SAFE:
            # Beyond int64: the same arithmetic on Python ints, point by point.
            idx = np.asarray(indices, dtype=object)
            out = np.empty(idx.shape + (len(sizes),), np.int64)
            for at in np.ndindex(idx.shape):
                out[at] = self._digits(r.start + int(idx[at]) * r.step)
            return out
        flat = r.start + np.asarray(indices, dtype=np.int64) * r.step
        if self._mode == "zip":
            return np.repeat(flat[..., None], len(sizes), -1)
        out = np.empty(flat.shape + (len(sizes),), np.int64)
        for e in range(len(sizes) - 1, -1, -1):
            flat, out[..., e] = np.divmod(flat, sizes[e])
        return out

    def _digits(self, flat: int) -> list[int]:
        """Mixed-radix digits of one flat index of the unsliced space."""
        if self._mode == "zip":
            return [flat] * len(self._effective)
        digits = []
        for size in reversed(self.grid_shape):
            flat, rem = divmod(flat, size)
            digits.append(rem)
        return digits[::-1]

    def assemble(
        self,
        positions: Any,
        tables: Sequence[Any] | None = None,
        leaves: Sequence[Any] | None = None,
    ) -> Any:
        """The state pytree at `positions` (`[..., n_dims]` ints).

        The single path from positions to values: used by indexing, iteration,
        `collect`, `to_dataframe` and every executor. Works on NumPy and on
        traced JAX positions; leading dimensions of `positions` become leading
        dimensions of every axis leaf. `tables` and `leaves` override the axis
        values and the non-axis leaves (executors pass device arrays here).
        """
        tables = self._host if tables is None else tables
        out = list(self._leaves if leaves is None else leaves)
        for slot, table, e in zip(self._slots, tables, self._axis_to_eff):
            out[slot] = table[positions[..., e], ...]
        return self._treedef.unflatten(out)

    def gather(self, indices: Any) -> Any:
        """The states at flat `indices`, batched: every axis leaf gets the
        leading shape of `indices`; other leaves are left as they are.

        >>> batch = space.gather(np.arange(4))   # leaves [4, *value_shape]
        """
        idx = np.asarray(indices)
        if idx.size and (idx.min() < 0 or idx.max() >= self.N):
            raise IndexError(f"indices must lie in [0, {self.N}), got {idx}.")
        return self.assemble(self.positions(idx))

    # -- sequence protocol ----------------------------------------------------

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, slice):
            index = self._index[item]
            if _range_len(index) == 0:
                raise ValueError(
                    f"slice {item} of a Space of N={self.N} selects no combination."
                )
            return self._with_index(index)
        i = self._normalise(item)
        return self.assemble(self.positions(i))

    def __iter__(self) -> Iterator[Any]:
        for start in range(0, self.N, _ITER_BLOCK):
            block = self.positions(np.arange(start, min(start + _ITER_BLOCK, self.N)))
            for row in block:
                yield self.assemble(row)

    # -- bulk views -----------------------------------------------------------

    def to_dataframe(self) -> pd.DataFrame:
        """One row per combination, one column per axis (named by key path).

        Scalar axes give numeric columns; array-valued axes give object cells.

        >>> Space({"a": GridAxis(0, 1, 3)}).to_dataframe().columns.tolist()
        ['a']
        """
        return pd.DataFrame(self._axis_columns(self.gather(np.arange(self.N))))

    def _axis_columns(self, batched: Any) -> dict[str, Any]:
        """The axis leaves of a batched state as table columns, by name."""
        leaves = self._treedef.flatten_up_to(batched)
        columns = {}
        for name, slot in zip(self._names, self._slots):
            values = leaves[slot]
            scalar = values.ndim == 1 and not _is_key_array(values)
            columns[name] = values if scalar else object_cells(values)
        return columns

    def collect(
        self,
        n_vmap: int | None = None,
        n_pmap: int | None = None,
        fill_value: float = float("nan"),
        combine: bool = True,
    ) -> Any:
        """All combinations as one batched pytree, for driving vmap/pmap by hand.

        Axis leaves get leading dimensions ``(n_pmap, n_vmap, n_map)``, where
        ``n_map = ceil(N / (n_pmap * n_vmap))`` and a dimension not asked for is
        omitted (neither given: ``(N,)``). Padding slots hold `fill_value` for
        floating leaves and the first combination's value otherwise (integers
        and PRNG keys cannot hold NaN). With ``combine=False`` the non-axis
        leaves are None, leaving only the varying part (pair it with your own
        fixed part, Equinox-style).

        >>> batch = space.collect(n_vmap=4)       # leaves [4, n_map, ...]
        """
        for arg, v in (("n_vmap", n_vmap), ("n_pmap", n_pmap)):
            if v is not None and (not isinstance(v, int) or v <= 0):
                raise ValueError(f"`{arg}` must be a positive int or None, got {v!r}.")
        lead = [d for d in (n_pmap, n_vmap) if d is not None]
        per_map = math.prod(lead)
        n_map = -(-self.N // per_map)
        padded = per_map * n_map
        idx = np.minimum(np.arange(padded), self.N - 1)
        idx[self.N :] = 0
        shape = tuple(lead) + ((n_map,) if lead else (padded,))
        pos = self.positions(idx).reshape(shape + (len(self._effective),))
        leaves = None if combine else [None] * len(self._leaves)
        batched = self.assemble(pos, tables=self._tables, leaves=leaves)
        if padded == self.N:
            return batched
        pad_mask = (np.arange(padded) >= self.N).reshape(shape)

        def fill(leaf, slot_is_axis):
            if not slot_is_axis or not jnp.issubdtype(leaf.dtype, jnp.inexact):
                return leaf
            mask = pad_mask.reshape(shape + (1,) * (leaf.ndim - len(shape)))
            return jnp.where(mask, jnp.asarray(fill_value, leaf.dtype), leaf)

        flat = self._treedef.flatten_up_to(batched)
        slots = set(self._slots)
        flat = [fill(x, i in slots) for i, x in enumerate(flat)]
        return self._treedef.unflatten(flat)


def _range_len(r: range) -> int:
    """``len(r)`` without Python's ``sys.maxsize`` limit."""
    if r.step > 0:
        return max(0, (r.stop - r.start + r.step - 1) // r.step)
    return max(0, (r.start - r.stop - r.step - 1) // -r.step)


def _host_table(table: jax.Array) -> Any:
    """A read-only NumPy copy of an axis's values (PRNG keys stay JAX arrays)."""
    if _is_key_array(table):
        return table
    host = np.asarray(table).copy()
    host.flags.writeable = False
    return host
