"""Zarr stores: stream a sweep's outputs to disk chunk by chunk, and resume it.

Layout of a store (Zarr format 3, one group)::

    <path>/
      zarr.json            group; attrs["sweepjax"] holds the JSON metadata
      <output leaf>        [N, *leaf_shape], chunks [chunk_size, *leaf_shape],
                           dimension_names ("point", "<name>_dim_0", ...)
      <scalar axis>        [N] parameter column, chunked like the outputs
      _sweepjax/done       [n_chunks] uint8, one file per chunk: 1 = done
      _sweepjax/axes/<k>   the k-th axis's values [size, *value_shape]

A chunk's done marker is written only after its outputs and parameters, and
every Zarr file is written to a temporary name and renamed into place, so a
process killed at any moment leaves done chunks intact and at worst a
half-written chunk that is not marked done (and is recomputed on resume).
Reading a store back lives in `sweepjax._store_read`.
"""

from __future__ import annotations

import math
import os
import warnings
from os import PathLike
from pathlib import Path
from typing import Any

import jax
import numpy as np
import zarr

from sweepjax._axes import _is_key_array
from sweepjax._result import Result, output_names
from sweepjax._space import Space
from sweepjax._store_check import check_resume
from sweepjax.execution._sink import AbstractSink, Bounds, describe_outputs

__all__ = ["ZarrSink"]

FORMAT = 1
ATTR = "sweepjax"
META = "_sweepjax"
DONE = f"{META}/done"
POINT = "point"


def _codec():
    # Blosc-LZ4 with byte shuffle: on float outputs it compresses about as
    # well as Zarr's default zstd while writing several times faster, so the
    # store keeps up with cheap models.
    return zarr.codecs.BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")


def check_path(path: Any) -> Path:
    """`path` as a Path, or a TypeError naming what was received."""
    if not isinstance(path, str | PathLike):
        raise TypeError(
            f"`store` must be a local directory path (str or os.PathLike), got "
            f"{type(path).__name__}: {path!r}."
        )
    return Path(path)


def store_exists(path: Path) -> bool:
    """True when `path` is a file or a non-empty directory."""
    return path.is_file() or (path.is_dir() and any(path.iterdir()))


def open_store(path: Path, mode: str) -> tuple[zarr.Group, dict[str, Any]]:
    """The root group of the sweepjax store at `path` and its metadata, or a
    ValueError when `path` holds something else."""
    try:
        group = zarr.open_group(path, mode=mode, use_consolidated=False)
    except (zarr.errors.BaseZarrError, FileNotFoundError, NotADirectoryError):
        group = None
    meta = None if group is None else group.attrs.get(ATTR)
    if not isinstance(meta, dict) or "space" not in meta:
        raise ValueError(
            f"{str(path)!r} is not a sweepjax store (no Zarr group with a "
            f"{ATTR!r} attribute); it was not written by sweepjax. Point `store` "
            "at a sweepjax store or at a new directory."
        )
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"The store at {str(path)!r} has sweepjax store format "
            f"{meta.get('format')!r}; this version reads format {FORMAT}."
        )
    return group, meta


def _fill(dtype: np.dtype) -> Any:
    """Fill value for unwritten points: NaN for floats, zero otherwise."""
    return np.nan if np.issubdtype(dtype, np.inexact) else 0


def _array_name(name: str, taken: set[str]) -> str:
    """A Zarr node name for a column: no '/', no reserved '__' prefix."""
    out = name.replace("/", "_")
    if out.startswith("__") or out == META or not out.strip("."):
        out = f"x{out}"
    if out in taken:
        raise ValueError(
            f"Column {name!r} would be stored as {out!r}, which another column "
            "already uses; rename one of the leaves."
        )
    taken.add(out)
    return out


def _structure(tree: Any) -> Any:
    """JSON description of a pytree of dicts/lists/tuples (None if other nodes).

    Dict keys are listed in sorted order, the order JAX flattens them in, so
    leaves can be handed back in `jax.tree.leaves` order when rebuilding.
    """
    if isinstance(tree, jax.ShapeDtypeStruct):
        return "leaf"
    if tree is None:
        return {"none": None}
    if type(tree) is dict and all(isinstance(k, str) for k in tree):
        items = [[k, _structure(tree[k])] for k in sorted(tree)]
        return None if any(s is None for _, s in items) else {"dict": items}
    if type(tree) in (list, tuple):
        items = [_structure(x) for x in tree]
        kind = type(tree).__name__
        return None if any(s is None for s in items) else {kind: items}
    return None


class ZarrSink(AbstractSink):
    """Streams a sweep to a Zarr store at `path`; the sink behind ``run(store=...)``.

    Each chunk's outputs and parameter columns are written, then the chunk is
    marked done, so a sweep killed at any moment can be resumed with
    ``resume=True``: done chunks are skipped, never rewritten. Resuming
    checks that the space (values fingerprinted), the model's name, the
    output structure and the chunk size match the stored ones and refuses
    with a `ValueError` listing what differs. Without ``resume=True`` an
    existing store is never overwritten (`FileExistsError`); with it, a
    missing store is simply created. Read a store with
    `sweepjax.open_result`, or ``xarray.open_zarr(path)``.

    >>> ParallelExecution(model, space, n_vmap=64).run(store="sweep.zarr")
    >>> ParallelExecution(model, space, n_vmap=64).run("sweep.zarr", resume=True)
    """

    def __init__(self, path: str | PathLike, resume: bool = False):
        super().__init__()
        self.path = check_path(path)
        if not isinstance(resume, bool):
            raise TypeError(f"`resume` must be True or False, got {resume!r}.")
        self.resume = resume

    # -- the sink protocol ------------------------------------------------------

    def begin(self, space: Space, chunk_size: int, model_name: str) -> None:
        super().begin(space, chunk_size, model_name)
        described = space.describe()
        axes = []
        for axis, (name, table) in zip(described["axes"], space.values.items()):
            group = space.axes[name].group
            axes.append(
                {
                    "name": name,
                    "group": None if group is None else str(group),
                    "key_impl": (
                        str(jax.random.key_impl(table))
                        if _is_key_array(table)
                        else None
                    ),
                    "column": table.ndim == 1 and not _is_key_array(table),
                }
            )
        meta = {
            "format": FORMAT,
            "model": model_name,
            "chunk_size": chunk_size,
            "n_chunks": math.ceil(len(space) / chunk_size),
            "space": described,
            "axes": axes,
            "outputs": None,
        }
        if store_exists(self.path):
            if not self.resume:
                raise FileExistsError(
                    f"`store`={str(self.path)!r} already exists. Pass "
                    "resume=True to continue the sweep stored there, or choose a "
                    "new path (or delete the old store) to start over."
                )
            group, stored = open_store(self.path, "r+")
            check_resume(
                self.path,
                [
                    ("model name", stored["model"], model_name),
                    ("space", stored["space"], described),
                    ("chunk size", stored["chunk_size"], chunk_size),
                ],
            )
            meta = stored
        else:
            group = zarr.open_group(self.path, mode="w-", attributes={ATTR: meta})
        self._group, self._meta = group, meta
        self._write_layout(space)
        self._attach_arrays()

    def pending(self, bounds: Bounds) -> Bounds:
        done = self.done_chunks()
        return [(a, b) for a, b in bounds if not done[a // self.chunk_size]]

    def open(self, point_struct: Any) -> None:
        described = describe_outputs(point_struct)
        outputs = self._meta["outputs"]
        if outputs is not None:
            check_resume(
                self.path, [("output structure", outputs["leaves"], described)]
            )
        else:
            taken = {a["name"] for a in self._meta["axes"]}
            used = {_array_name(a["name"], set()) for a in self._meta["axes"]}
            used |= {META, POINT}
            arrays = []
            for name in output_names(point_struct):
                column = f"result.{name}" if name in taken else name
                arrays.append([column, _array_name(column, used)])
            outputs = {
                "leaves": described,
                "arrays": arrays,
                "structure": _structure(point_struct),
            }
            params = [self._columns[n] for n in self._columns]
            coords = " ".join(a for a in params if " " not in a)
            for (column, array), desc in zip(arrays, described.values()):
                dtype = np.dtype(desc["dtype"])
                dims = [POINT] + [
                    f"{column}_dim_{k}" for k in range(len(desc["shape"]))
                ]
                self._group.create_array(
                    array,
                    shape=(len(self.space), *desc["shape"]),
                    chunks=(self.chunk_size, *[max(s, 1) for s in desc["shape"]]),
                    dtype=dtype,
                    fill_value=_fill(dtype),
                    dimension_names=dims,
                    compressors=_codec(),
                    attributes={"coordinates": coords} if coords else None,
                    overwrite=True,  # no chunk is written before the attrs are
                )
            self._meta = {**self._meta, "outputs": outputs}
            self._group.attrs[ATTR] = self._meta
        with warnings.catch_warnings():
            # Zarr warns that consolidated metadata is not in the v3 spec yet;
            # it is what lets xarray.open_zarr read the store without warnings.
            warnings.simplefilter("ignore")
            zarr.consolidate_metadata(self.path)
        self._attach_arrays()

    def _store(self, start, stop, leaves, complete) -> None:
        # Parameters and outputs first, the done marker last: a chunk is done
        # only once everything it holds is on disk.
        rows = slice(start, stop)
        if self._param_arrays:
            pos = self.space.positions(np.arange(start, stop))
            for array, table, dim in self._param_arrays:
                array[rows] = table[pos[:, dim]]
        for array, leaf in zip(self._out_arrays, leaves):
            array[rows] = leaf
        if complete:
            if start % self.chunk_size:
                raise ValueError(
                    f"chunk start {start} is not a multiple of the store's chunk "
                    f"size {self.chunk_size}."
                )
            self._done[start // self.chunk_size] = 1

    def result(self, stop: int | None = None) -> Result:
        from sweepjax._store_read import stored_outputs

        n = len(self.space)
        stop = n if stop is None else stop
        outputs = stored_outputs(self._group, self._meta, self.path)
        if stop == n:
            return Result(self.space, outputs)
        return Result(self.space[:stop], jax.tree.map(lambda x: x[:stop], outputs))

    # -- helpers ------------------------------------------------------------------

    def done_chunks(self) -> np.ndarray:
        """Bool `[n_chunks]`: which chunks are written and marked done."""
        return np.asarray(self._done[:], dtype=bool)

    @classmethod
    def attach(cls, path: str | PathLike, space: Space) -> ZarrSink:
        """Open a store that `begin` and `open` already laid out, to write
        chunks into it from another process (a Dask worker), without
        rewriting its metadata."""
        sink = cls(path, resume=True)
        sink._group, sink._meta = open_store(sink.path, "r+")
        AbstractSink.begin(sink, space, sink._meta["chunk_size"], sink._meta["model"])
        sink._attach_arrays()
        return sink

    def _write_layout(self, space: Space) -> None:
        """Create what is missing (a run may have been killed while laying the
        store out) and (re)write the axis tables, which the space matches."""
        group, meta, n = self._group, self._meta, len(space)
        if DONE not in group:
            group.create_array(
                DONE,
                shape=(meta["n_chunks"],),
                chunks=(1,),
                dtype="uint8",
                fill_value=0,
                compressors=None,
            )
        for k, (axis, table) in enumerate(zip(meta["axes"], space.values.values())):
            data = jax.random.key_data(table) if _is_key_array(table) else table
            data = np.asarray(data)
            name = f"{META}/axes/{k}"
            if name not in group:
                group.create_array(
                    name, shape=data.shape, chunks=data.shape or (1,), dtype=data.dtype
                )
            group[name][...] = data
            if axis["column"]:
                column = _array_name(axis["name"], set())
                if column not in group:
                    group.create_array(
                        column,
                        shape=(n,),
                        chunks=(self.chunk_size,),
                        dtype=data.dtype,
                        fill_value=_fill(data.dtype),
                        dimension_names=[POINT],
                        compressors=_codec(),
                    )

    def _attach_arrays(self) -> None:
        group, meta = self._group, self._meta
        self._done = group[DONE]
        self._columns = {
            a["name"]: _array_name(a["name"], set())
            for a in meta["axes"]
            if a["column"]
        }
        described = {a["name"]: a for a in meta["space"]["axes"]}
        values = self.space.values
        self._param_arrays = [
            (group[array], np.asarray(values[name]), described[name]["dimension"])
            for name, array in self._columns.items()
        ]
        outputs = meta["outputs"]
        arrays = [] if outputs is None else outputs["arrays"]
        self._out_arrays = [group[array] for _, array in arrays]


def remove_store(path: str | PathLike) -> None:
    """Delete a sweepjax store (refuses to delete anything else)."""
    import shutil

    path = check_path(path)
    if not store_exists(path):
        return
    open_store(path, "r")  # refuses anything but a sweepjax store
    shutil.rmtree(path) if path.is_dir() else os.remove(path)
