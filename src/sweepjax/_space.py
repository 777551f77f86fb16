"""Space: a lazy, indexable sequence of the pytrees a state with axes describes.

Its parts live below it: `_dimensions` names the leaves and zips grouped axes
into dimensions, `_positions` turns flat indices into per-dimension positions,
`_tables` makes and keeps the axes' values. The record of a space a store
keeps (to refuse resuming another space) is `sweepjax._store.describe_space`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._axes import AbstractAxis
from sweepjax._dimensions import (
    EffectiveAxis,
    check_hidden_axes,
    count_points,
    group_axes,
    is_axis,
    leaf_names,
)
from sweepjax._html import space_html
from sweepjax._positions import digits, position_dtype, positions, range_len
from sweepjax._tables import AxisTables
from sweepjax._tree import (
    as_index,
    check_positive_int,
    is_key_array,
    object_cells,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EffectiveAxis", "Space"]

_MODES = ("product", "zip")
_ITER_BLOCK = 4096


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
    `parameters` and `axis_columns` (axis values as host data), `host_tables`,
    `index_range` and `treedef` (what a store's record of the space reads).

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
            state, is_leaf=is_axis
        )
        self._leaves = tuple(leaf for _, leaf in flat)
        check_hidden_axes(flat)
        axis_slots = [i for i, (_, leaf) in enumerate(flat) if is_axis(leaf)]
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
            if not is_axis(leaf)
        )
        self._effective, self._axis_to_eff = group_axes(self._names, self._axes)
        self._values = AxisTables(self._names, self._axes, key)
        self._tables, self._host = self._values.device, self._values.host
        self._index = range(count_points(mode, self._effective))

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
        return range_len(self._index)

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

    @property
    def host_tables(self) -> tuple[Any, ...]:
        """The same values as read-only NumPy arrays (PRNG keys stay JAX
        arrays): what tables, messages and stores read, with no transfer."""
        return self._host

    @property
    def index_range(self) -> range:
        """The indices of the unsliced space that this space's points are
        (``space[2:8:2].index_range == range(2, 8, 2)``)."""
        return self._index

    @property
    def treedef(self) -> Any:
        """The state's tree structure, each axis a leaf."""
        return self._treedef

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
        return position_dtype(self._effective)

    def __repr__(self) -> str:
        groups = sum(e.group is not None for e in self._effective)
        extra = f", groups={groups}" if groups else ""
        return f"Space(N={self.N}, mode={self._mode!r}, axes={len(self._axes)}{extra})"

    def _repr_html_(self) -> str:
        return space_html(self)

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
        return positions(self._index, self.grid_shape, self._mode, indices)

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
            else:  # positions are in range: clip (XLA's own) spares the
                # wrap-around of negative indices that table[i] traces
                value = jnp.take(table, positions[..., e], axis=0, mode="clip")
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
            if range_len(index) == 0:
                raise ValueError(
                    f"slice {item} of a Space of N={self.N} selects no combination."
                )
            return self._with_index(index)
        r = self._index
        flat = r.start + as_index(item, self.N) * r.step
        pos = digits(self.grid_shape, self._mode, flat)
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
