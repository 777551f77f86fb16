"""A store's arrays: created once, when the first run knows its outputs,
and opened by every run that writes into it.

The layout is what makes a store final: one array per swept column and per
output leaf, ``point`` as their first dimension and `chunk_size` points per
chunk, the done markers, the axis tables under the metadata prefix, and the
outputs' record (leaf paths, array names, structure) in the group's
attributes. Recording that last is what marks the layout as complete.
`lay_out` creates the arrays; `open_arrays` opens them again from the record,
naming them the same way (`column_arrays`).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import numpy as np

from sweepjax._result import output_names
from sweepjax._sink import describe_outputs
from sweepjax._space import Space
from sweepjax._store._format import (
    ATTR,
    DONE,
    META,
    POINT,
    array_name,
    codec,
    fill_value,
    structure,
)
from sweepjax._tree import is_key_array

if TYPE_CHECKING:
    import zarr

__all__ = ["StoreArrays", "column_arrays", "lay_out", "node", "open_arrays"]


def column_arrays(axes: list[dict], used: set[str]) -> list[tuple[int, str]]:
    """``(axis number, array name)`` of each axis stored as a column (a
    scalar axis), named in order; the names are added to `used`."""
    return [(k, array_name(a["name"], used)) for k, a in enumerate(axes) if a["column"]]


def lay_out(
    group: zarr.Group,
    path: Path,
    meta: dict,
    space: Space,
    point_struct: Any,
    chunk_size: int,
) -> dict:
    """Create the arrays of a store whose metadata `meta` has no outputs yet,
    and return the metadata that records them (also written to `group`).

    A run killed while laying the store out left some arrays: they are
    recreated, since no chunk was written yet; a store holding done markers
    but no layout is damaged and refused.
    """
    n = len(space)
    markers = path / DONE / "c"  # any marker: a writer has been here
    if markers.is_dir() and any(markers.iterdir()):
        raise RuntimeError(
            f"The store at {str(path)!r} holds done chunks but no output "
            "layout: it is damaged; write the sweep to a new store."
        )
    group.create_array(
        DONE,
        shape=(math.ceil(n / chunk_size),),
        chunks=(1,),
        dtype="uint8",
        fill_value=0,
        compressors=None,
        overwrite=True,
    )

    def create(name, shape, dtype, dims, coords) -> None:
        group.create_array(
            name,
            shape=(n, *shape),
            chunks=(chunk_size, *[max(s, 1) for s in shape]),
            dtype=dtype,
            fill_value=fill_value(dtype),
            dimension_names=dims,
            compressors=codec(),
            attributes={"coordinates": coords} if coords else None,
            overwrite=True,
        )

    tables = []
    for k, table in enumerate(space.tables):
        data = np.asarray(jax.random.key_data(table) if is_key_array(table) else table)
        group.create_array(
            f"{META}/axes/{k}",
            shape=data.shape,
            chunks=data.shape or (1,),
            dtype=data.dtype,
            overwrite=True,
        )[...] = data
        tables.append(data)
    used = {META, POINT}
    params = []
    for k, column in column_arrays(meta["axes"], used):
        params.append(column)
        create(column, (), tables[k].dtype, [POINT], None)
    taken = {a["name"] for a in meta["axes"]}
    arrays = []
    coords = " ".join(a for a in params if " " not in a)
    for name, s in zip(
        output_names(point_struct), jax.tree.leaves(point_struct), strict=True
    ):
        if name == POINT or name.startswith(META):
            raise ValueError(
                f"Output leaf {name!r} has a name the store reserves (the "
                f"{POINT!r} dimension, {META!r} metadata); rename it, e.g. "
                f"return {{'{name}_value': ...}}."
            )
        column = f"result.{name}" if name in taken else name
        array = array_name(column, used)
        arrays.append([column, array])
        dims = [POINT] + [f"{column}_dim_{d}" for d in range(len(s.shape))]
        create(array, s.shape, np.dtype(s.dtype), dims, coords)
    meta = {
        **meta,
        "chunk_size": chunk_size,
        "n_chunks": math.ceil(n / chunk_size),
        "outputs": {
            "leaves": describe_outputs(point_struct),
            "arrays": arrays,
            "structure": structure(point_struct),
        },
    }
    group.attrs[ATTR] = meta
    with warnings.catch_warnings():
        # Zarr warns that consolidated metadata is not in the v3 spec yet;
        # it is what lets xarray.open_zarr read the store without warnings.
        warnings.simplefilter("ignore")
        import zarr

        zarr.consolidate_metadata(path)
    return meta


class StoreArrays(NamedTuple):
    """The open arrays a run writes: the done markers, the swept columns as
    ``(array name, array, host table, dimension)`` and the outputs as
    ``(array name, array)`` in the order of the run's output leaves."""

    done: zarr.Array
    params: list[tuple[str, zarr.Array, np.ndarray, int]]
    outputs: list[tuple[str, zarr.Array]]

    def named(self) -> list[tuple[str, zarr.Array]]:
        """``(array name, array)`` of every array a chunk writes."""
        params = [(name, array) for name, array, _, _ in self.params]
        return params + list(self.outputs)


def open_arrays(
    group: zarr.Group, path: Path, meta: dict, space: Space, point_struct: Any
) -> StoreArrays:
    """Open a laid-out store's arrays. Outputs are matched to
    `point_struct`'s leaves by leaf path (the stored order when None), never
    by position."""
    params = []
    for k, name in column_arrays(meta["axes"], {META, POINT}):
        dim = space.dimension(meta["axes"][k]["name"])
        table = np.asarray(space.host_tables[k])  # a scalar axis: never keys
        params.append((name, node(group, path, name), table, dim))
    stored = meta["outputs"]
    by_leaf = dict(zip(stored["leaves"], stored["arrays"], strict=True))
    names = list(stored["leaves"])
    if point_struct is not None:
        names = output_names(point_struct)
    outputs = [(by_leaf[n][1], node(group, path, by_leaf[n][1])) for n in names]
    return StoreArrays(node(group, path, DONE), params, outputs)


def node(group: zarr.Group, path: Path, name: str) -> zarr.Array:
    """The array `name` of the store at `path`, or a ValueError naming its
    unreadable metadata."""
    import zarr  # heavy: imported when a store is used

    try:
        return group[name]
    except (KeyError, ValueError, zarr.errors.BaseZarrError) as err:
        raise ValueError(
            f"The store at {str(path)!r} is damaged: the metadata file "
            f"{str(path / name / 'zarr.json')!r} cannot be read "
            f"({type(err).__name__}: {err}). Restore it, or write the sweep to "
            "a new store."
        ) from err
