"""Space: a lazy, indexable sequence of the pytrees a state with axes describes."""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._axes import AbstractAxis
from sweepjax._tables import AxisTables
from sweepjax._tree import (
    as_index,
    check_positive_int,
    find_hidden,
    is_key_array,
    object_cells,
    path_name,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Space", "EffectiveAxis", "leaf_names"]

_MODES = ("product", "zip")
_ITER_BLOCK = 4096
_INT64_SAFE = 2**62
_INT32_MAX = int(np.iinfo(np.int32).max)


def _is_axis(x: Any) -> bool:
    return isinstance(x, AbstractAxis)


def leaf_names(flat: Sequence[tuple[Any, Any]], what: str) -> list[str]:
    """The key-path names of `flat`'s ``(path, leaf)`` pairs, which must differ.

    Names label DataFrame columns, xarray variables and store arrays, so two
    leaves that print alike (a dict key ``"a.b"`` and a nested ``{"a": {"b":
    ...}}``) raise `ValueError` naming both paths; `what` names the tree.

    >>> leaf_names([((jax.tree_util.DictKey("a"),), 1.0)], "`state`")
    ['a']
    """
    names = [path_name(path) for path, _ in flat]
    if len(set(names)) < len(names):
        first: dict[str, Any] = {}
        for name, (path, _) in zip(names, flat, strict=True):
            other = first.setdefault(name, path)
            if other is not path:
                raise ValueError(
                    f"Two leaves of {what} are both named {name!r}: "
                    f"{jax.tree_util.keystr(other)} and "
                    f"{jax.tree_util.keystr(path)}. Names label table columns "
                    "and store arrays, so they must differ: rename a key (a "
                    "dict key with '.' or '[' prints like a nested path)."
                )
    return names


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
    arithmetic on Python ints. Points (indexing, iteration, `collect`,
    `gather`) hold JAX arrays at their axis leaves; the other leaves are
    passed through as given.

    The interface executors and stores build on: `positions` (flat indices to
    per-dimension positions), `assemble` (positions to states, also traced),
    `tables` and `fixed_leaves` (the two halves `assemble` joins),
    `parameters` and `axis_columns` (axis values as host data), `describe`.

    Args:
        state: a pytree whose leaves may be axes.
        mode: ``"zip"`` (default) or ``"product"``.
        key: PRNG key for random axes; ``jax.random.key(0)`` when None. With
            ``m`` axes in flatten order, axis ``i`` receives
            ``jax.random.split(key, m + 1)[i + 1]`` (None if its ``uses_key``
            is False).

    Construction checks what it makes: leaf names must differ (they name
    columns and store arrays), each axis's table must fit (`check_size`,
    before anything is allocated) and hold values its axis accepts
    (`AbstractAxis.check_values`, with the leaf path in the message).

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
        names = leaf_names(flat, "`state`")
        self._slots = tuple(axis_slots)
        self._axes = tuple(flat[i][1] for i in axis_slots)
        self._names = tuple(names[i] for i in axis_slots)
        self._fixed_items = tuple(
            (name, leaf)
            for name, (_, leaf) in zip(names, flat, strict=True)
            if not _is_axis(leaf)
        )
        self._effective, self._axis_to_eff = self._group_axes()
        self._values = AxisTables(self._names, self._axes, key)
        self._tables, self._host = self._values.device, self._values.host
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
        _check_dimension_names(effective, axis_to_eff, self._names)
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
        return dict(zip(self._names, self._axes, strict=True))

    @property
    def effective_axes(self) -> tuple[EffectiveAxis, ...]:
        """The dimensions of the space after zipping groups, in order."""
        return self._effective

    @property
    def values(self) -> dict[str, jax.Array]:
        """Each axis's generated values `[size, *value_shape]`, by name."""
        return dict(zip(self._names, self._tables, strict=True))

    @property
    def tables(self) -> tuple[jax.Array, ...]:
        """The axes' values in flatten order (what `assemble` indexes)."""
        return self._tables

    def fixed_leaves(self) -> list[Any]:
        """The state's leaves in flatten order, None where an axis sits.

        With `tables`, the two halves of the state: executors keep the fixed
        leaves' arrays on the device and hand both to `assemble`.
        """
        slots = set(self._slots)
        return [None if i in slots else x for i, x in enumerate(self._leaves)]

    def fixed_items(self) -> tuple[tuple[str, Any], ...]:
        """``(key-path name, leaf)`` of every leaf that is not an axis, in
        flatten order: what a store records as the sweep's fixed parameters.

        >>> Space({"G": GridAxis(0, 1, 2), "dt": 0.1}).fixed_items()
        (('dt', 0.1),)
        """
        return self._fixed_items

    def dimension(self, name: str) -> int:
        """The effective dimension (position column) of the axis `name`."""
        try:
            return self._axis_to_eff[self._names.index(name)]
        except ValueError:
            raise KeyError(f"no axis named {name!r}; axes: {list(self._names)}.")

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

    @property
    def position_dtype(self) -> np.dtype:
        """The integer dtype positions need on a device: int32 while every
        dimension has at most 2**31 - 1 values, else int64 (which needs JAX's
        x64 mode: without it this raises `ValueError` naming the dimension).

        >>> Space({"a": GridAxis(0, 1, 3)}).position_dtype
        dtype('int32')
        """
        long = [e for e in self._effective if e.size > _INT32_MAX]
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
        for name, axis, table, host, e in zip(
            self._names,
            self._axes,
            self._tables,
            self._host,
            self._axis_to_eff,
            strict=True,
        ):
            data = jax.random.key_data(table) if is_key_array(table) else host
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

    def parameters(self, index: Any) -> dict[str, Any]:
        """The axis values of point `index`, by name, as host data (Python
        numbers for scalars): for messages and tables.

        >>> Space({"a": GridAxis(0, 1, 3)}).parameters(1)
        {'a': 0.5}
        """
        pos = self.positions(as_index(index, self.N))
        values = {}
        for name, table, e in zip(
            self._names, self._host, self._axis_to_eff, strict=True
        ):
            value = table[pos[e]]
            scalar = isinstance(value, np.ndarray | np.generic) and value.ndim == 0
            values[name] = value.item() if scalar else value
        return values

    def axis_columns(self, indices: Any) -> dict[str, Any]:
        """The axis values of points `indices` (1-d) as table columns, by name:
        NumPy arrays for scalar axes, object cells for the others."""
        pos = self.positions(np.asarray(indices))
        columns = {}
        for name, table, e in zip(
            self._names, self._host, self._axis_to_eff, strict=True
        ):
            values = table[pos[:, e]]
            scalar = values.ndim == 1 and not is_key_array(values)
            columns[name] = values if scalar else object_cells(values)
        return columns

    # -- index arithmetic -----------------------------------------------------

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
        fixed: Sequence[Any] | None = None,
    ) -> Any:
        """The state pytree at `positions` (`[..., n_dims]` ints).

        The single path from positions to values: used by indexing, iteration,
        `collect`, `gather` and every executor. Works on NumPy and on traced
        JAX positions; leading dimensions of `positions` become leading
        dimensions of every axis leaf. `tables` (default `self.tables`) and
        `fixed` (default `fixed_leaves()`) replace the two halves of the state:
        executors pass their device-resident or traced copies.
        """
        out = list(self._leaves if fixed is None else fixed)
        on_host = tables is None and not isinstance(positions, jax.Array)
        if on_host:  # a NumPy gather and one transfer per axis: no compilation
            positions = np.asarray(positions)
        tables = self._tables if tables is None else tables
        for k, (slot, table, e) in enumerate(
            zip(self._slots, tables, self._axis_to_eff, strict=True)
        ):
            if on_host:
                value = self._values.take(k, positions[..., e])
            else:
                value = table[positions[..., e], ...]
            out[slot] = self._wrapped(k, value)
        return self._treedef.unflatten(out)

    def _wrapped(self, k: int, value: Any) -> Any:
        """What axis `k` puts into the state for `value`: ``wrap(value)``."""
        wrap = self._axes[k].wrap
        return value if wrap is None else wrap(value)

    def gather(self, indices: Any) -> Any:
        """The states at flat `indices`, batched: every axis leaf gets the
        leading shape of `indices`; other leaves are left as they are.

        >>> space = Space({"a": GridAxis(0, 1, 5)})
        >>> space.gather(np.arange(4))["a"].shape
        (4,)
        """
        idx = np.asarray(indices)
        if idx.size and (idx.min() < 0 or idx.max() >= self.N):
            raise IndexError(f"indices must lie in [0, {self.N}), got {idx}.")
        return self.assemble(self.positions(idx))

    def iterate(self, start: int = 0, stop: int | None = None) -> Iterator[Any]:
        """The points ``start, ..., stop - 1`` one by one (JAX axis leaves),
        gathered in blocks so each point costs no device transfer of its own.

        >>> [float(p["a"]) for p in Space({"a": GridAxis(0, 1, 5)}).iterate(1, 3)]
        [0.25, 0.5]
        """
        stop = self.N if stop is None else stop
        if not 0 <= start <= stop <= self.N:
            raise IndexError(
                f"iterate needs 0 <= start <= stop <= N={self.N}, got start={start},"
                f" stop={stop}."
            )
        for a in range(start, stop, _ITER_BLOCK):
            pos = self.positions(np.arange(a, min(a + _ITER_BLOCK, stop)))
            columns = [
                self._values.rows(k, pos[:, e].tolist())
                for k, e in enumerate(self._axis_to_eff)
            ]
            out = list(self._leaves)
            for values in zip(*columns, strict=True):
                for k, (slot, value) in enumerate(
                    zip(self._slots, values, strict=True)
                ):
                    out[slot] = self._wrapped(k, value)
                yield self._treedef.unflatten(out)

    # -- sequence protocol ----------------------------------------------------

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, slice):
            index = self._index[item]
            if _range_len(index) == 0:
                raise ValueError(
                    f"slice {item} of a Space of N={self.N} selects no combination."
                )
            return self._with_index(index)
        r = self._index
        pos = self._digits(r.start + as_index(item, self.N) * r.step)
        out = list(self._leaves)
        for k, (slot, e) in enumerate(zip(self._slots, self._axis_to_eff, strict=True)):
            out[slot] = self._wrapped(k, self._values.rows(k, [pos[e]])[0])
        return self._treedef.unflatten(out)

    def __iter__(self) -> Iterator[Any]:
        return self.iterate()

    # -- bulk views -----------------------------------------------------------

    def to_dataframe(self) -> pd.DataFrame:
        """One row per combination, one column per axis (named by key path).

        Scalar axes give numeric columns; array-valued axes give object cells.

        >>> Space({"a": GridAxis(0, 1, 3)}).to_dataframe().columns.tolist()
        ['a']
        """
        import pandas as pd  # heavy: imported when a table is asked for

        return pd.DataFrame(self.axis_columns(np.arange(self.N)))

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
        and PRNG keys cannot hold NaN).

        With ``combine=False`` it returns the two halves separately, as
        ``(axis_tree, static_state)``: the batched axis values with None at the
        fixed leaves, and the fixed leaves with None at the axes, which
        ``equinox.combine(axis_tree, static_state)`` joins back. The axis
        values are raw: a wrapped axis (``wrap=``) is not applied, and
        ``combine=True`` refuses wrapped axes (a wrap makes one object per
        point, which a batched pytree cannot hold leaf by leaf).

        >>> space = Space({"a": GridAxis(0, 1, 5), "dt": 0.1})
        >>> space.collect(n_vmap=2)["a"].shape
        (2, 3)
        >>> axes, static = space.collect(combine=False)
        >>> axes["dt"], static["a"], static["dt"]
        (None, None, 0.1)
        """
        wrapped = [n for n, a in zip(self._names, self._axes, strict=True) if a.wrap]
        if combine and wrapped:
            raise ValueError(
                f"Space.collect(combine=True) cannot apply the wrap= of the axes "
                f"at {wrapped}: use collect(combine=False) for the raw values (and "
                "apply the wrap inside your vmapped function), iterate the space "
                "(space[i] applies it), or run it with ParallelExecution."
            )
        lead = [
            check_positive_int(name, v)
            for name, v in (("n_pmap", n_pmap), ("n_vmap", n_vmap))
            if v is not None
        ]
        per_map = math.prod(lead)
        n_map = -(-self.N // per_map)
        padded = per_map * n_map
        idx = np.arange(padded)
        idx[self.N :] = 0
        shape = tuple(lead) + ((n_map,) if lead else (padded,))
        pos = self.positions(idx).reshape(shape + (len(self._effective),))
        axis_leaves: list[Any] = [None] * len(self._leaves)
        pad = (np.arange(padded) >= self.N).reshape(shape)
        for k, (slot, host, e) in enumerate(
            zip(self._slots, self._host, self._axis_to_eff, strict=True)
        ):
            if is_key_array(host) or padded == self.N:
                axis_leaves[slot] = self._values.take(k, pos[..., e])
                continue
            leaf = host[pos[..., e]]
            if jnp.issubdtype(leaf.dtype, jnp.inexact):  # on the host: no compiling
                mask = pad.reshape(shape + (1,) * (leaf.ndim - len(shape)))
                leaf = np.where(mask, leaf.dtype.type(fill_value), leaf)
            axis_leaves[slot] = jax.device_put(leaf)
        fixed = self.fixed_leaves()
        if combine:
            merged = [
                a if a is not None else f
                for a, f in zip(axis_leaves, fixed, strict=True)
            ]
            return self._treedef.unflatten(merged)
        return self._treedef.unflatten(axis_leaves), self._treedef.unflatten(fixed)


def _check_dimension_names(effective, axis_to_eff, names) -> None:
    """Dimension names (a group's label as a string, else the axis's name)
    name xarray dimensions: they must differ from each other and from every
    axis outside the dimension. A group labelled like one of its own members
    is fine: that member's values index the dimension."""
    owner = {name: axis_to_eff[a] for a, name in enumerate(names)}
    dims: dict[str, int] = {}
    for e, eff in enumerate(effective):
        if eff.group is None:
            continue
        outside = owner.get(eff.name, e)
        if outside != e:
            raise ValueError(
                f"Group {eff.group!r} (axes {', '.join(eff.names)}) names its "
                f"dimension {eff.name!r}, the name of the axis `{eff.name}` "
                "outside the group: a table or xarray Dataset would give two "
                "dimensions one name. Label the group otherwise, e.g. "
                f"group={eff.name + '_group'!r}."
            )
        other = dims.setdefault(eff.name, e)
        if other != e:
            raise ValueError(
                f"Groups {effective[other].group!r} and {eff.group!r} both name "
                f"their dimension {eff.name!r} (a dimension is named str(group)). "
                "Give them labels that print differently."
            )


def _range_len(r: range) -> int:
    """``len(r)`` without Python's ``sys.maxsize`` limit."""
    if r.step > 0:
        return max(0, (r.stop - r.start + r.step - 1) // r.step)
    return max(0, (r.start - r.stop - r.step - 1) // -r.step)
