"""ZarrSink: stream a sweep's outputs to a Zarr store, chunk by chunk, and resume."""

from __future__ import annotations

import math
import os
import shutil
import warnings
from os import PathLike
from typing import Any

import jax
import numpy as np
import zarr

from sweepjax._result import Result, output_names
from sweepjax._sink import AbstractSink, default_chunk_size, describe_outputs
from sweepjax._space import Space
from sweepjax._store._check import check_resume
from sweepjax._store._format import (
    ATTR,
    DONE,
    FORMAT,
    META,
    POINT,
    array_name,
    check_path,
    codec,
    fill_value,
    open_store,
    store_exists,
    structure,
)
from sweepjax._store._reader import stored_outputs
from sweepjax._tree import is_key_array

__all__ = ["ZarrSink", "remove_store"]


class ZarrSink(AbstractSink):
    """Streams a sweep to a Zarr store at `path`; the sink behind ``run(store=...)``.

    Points arrive in any ranges; a chunk of the store (``chunk_size`` points)
    is written once it holds all its points, then marked done, so a sweep
    killed at any moment can be resumed with ``resume=True``: done chunks are
    skipped, never rewritten, whatever executor, ``n_vmap`` or ``n_pmap`` the
    resuming run uses. Resuming checks that the space (values fingerprinted),
    the model's name, the output structure and (when given) the chunk size
    match the stored ones and refuses with a `ValueError` listing what
    differs. Without ``resume=True`` an existing store is never overwritten
    (`FileExistsError`); with it, a missing store is simply created. Read a
    store with `sweepjax.open_result`, or ``xarray.open_zarr(path)``.

    >>> sink = ZarrSink("sweep.zarr", resume=True)   # what run(store=...) uses
    """

    def __init__(self, path: str | PathLike, resume: bool = False):
        super().__init__()
        self.path = check_path(path)
        if not isinstance(resume, bool):
            raise TypeError(f"`resume` must be True or False, got {resume!r}.")
        self.resume = resume
        self._buffers: dict[int, list[np.ndarray]] = {}

    # -- the sink protocol ------------------------------------------------------

    def begin(self, space: Space, model_name: str, chunk_size: int | None) -> None:
        super().begin(space, model_name, chunk_size)
        described = space.describe()
        if not store_exists(self.path):
            meta = {
                "format": FORMAT,
                "model": model_name,
                "chunk_size": None,  # set when the outputs are laid out
                "space": described,
                "axes": _axes_meta(space),
                "outputs": None,
            }
            group = zarr.open_group(self.path, mode="w-", attributes={ATTR: meta})
        elif not self.resume:
            raise FileExistsError(
                f"`store`={str(self.path)!r} already exists. Pass resume=True to "
                "continue the sweep stored there, or choose a new path (or delete "
                "the old store) to start over."
            )
        else:
            group, meta = open_store(self.path, "r+")
            pairs = [
                ("model name", meta["model"], model_name),
                ("space", meta["space"], described),
            ]
            stored_chunk = meta["chunk_size"]
            if stored_chunk is not None:
                if self.chunk_size is not None:
                    pairs.append(("chunk size", stored_chunk, self.chunk_size))
                self.chunk_size = stored_chunk
            check_resume(self.path, pairs)
        self._group, self._meta = group, meta

    def open(self, point_struct: Any, done: np.ndarray | None = None) -> None:
        outputs = self._meta["outputs"]
        if outputs is not None:
            if point_struct is not None:  # None: a complete store, nothing to run
                described = describe_outputs(point_struct)
                check_resume(
                    self.path, [("output structure", outputs["leaves"], described)]
                )
        else:
            if self.chunk_size is None:
                self.chunk_size = default_chunk_size(point_struct)
            self._lay_out(point_struct)
        self._attach_arrays()
        super().open(point_struct, done)

    def done_chunks(self) -> np.ndarray:
        """Bool ``[n_chunks]``: which chunks are written and marked done."""
        return np.asarray(self._done[:], dtype=bool)

    def first_pending(self) -> int:
        if self._meta["outputs"] is None:
            return 0
        done = np.asarray(self._group[DONE][:], dtype=bool)
        todo = np.flatnonzero(~done)
        return int(todo[0]) * self.chunk_size if len(todo) else len(self.space)

    def _put(self, start, stop, leaves) -> None:
        size = self.chunk_size
        for k, a, b in self._chunks_in(start, stop):
            buffers = self._buffers.get(k)
            if buffers is None or a == k * size:
                n = min(size, len(self.space) - k * size)
                buffers = [np.empty((n, *x.shape[1:]), x.dtype) for x in leaves]
                self._buffers[k] = buffers
            for buf, leaf in zip(buffers, leaves, strict=True):
                buf[a - k * size : b - k * size] = leaf[a - start : b - start]

    def _chunk_complete(self, k: int) -> None:
        start = k * self.chunk_size
        buffers = self._buffers.pop(k)
        self._write_rows(start, start + len(buffers[0]), buffers)
        # The marker last: a chunk is done only once everything it holds is in.
        self._done[k] = 1

    def flush(self) -> None:
        """Write the points of partly filled chunks (not marked done), so a
        failed run's ``.partial`` result reads them."""
        for k, buffers in sorted(self._buffers.items()):
            start = k * self.chunk_size
            self._write_rows(start, start + int(self._filled[k]), buffers)
        self._buffers.clear()

    def result(self, stop: int | None = None) -> Result:
        n = len(self.space)
        stop = n if stop is None else stop
        outputs = stored_outputs(self._group, self._meta, self.path)
        if stop == n:
            return Result(self.space, outputs)
        return Result(self.space[:stop], jax.tree.map(lambda x: x[:stop], outputs))

    @classmethod
    def attach(cls, path: str | PathLike, space: Space, point_struct: Any) -> ZarrSink:
        """Open a store that another process laid out, to write whole chunks
        into it (a Dask worker), without checking or rewriting its metadata.
        It does not read the done markers: it writes the chunks it is given."""
        sink = cls(path, resume=True)
        sink._group, sink._meta = open_store(sink.path, "r+")
        AbstractSink.begin(sink, space, sink._meta["model"], sink._meta["chunk_size"])
        sink._attach_arrays()
        n_chunks = -(-len(space) // sink.chunk_size)
        AbstractSink.open(sink, point_struct, done=np.zeros(n_chunks, bool))
        return sink

    # -- layout -------------------------------------------------------------------

    def _lay_out(self, point_struct: Any) -> None:
        """Create the arrays (a run killed while laying the store out left
        some: they are recreated, as no chunk was written yet), then record
        the chunk size and outputs, which is what makes the layout final."""
        group, meta, n, size = self._group, self._meta, len(self.space), self.chunk_size
        group.create_array(
            DONE,
            shape=(math.ceil(n / size),),
            chunks=(1,),
            dtype="uint8",
            fill_value=0,
            compressors=None,
            overwrite=True,
        )
        used = {META, POINT}
        params = []
        for k, (axis, table) in enumerate(
            zip(meta["axes"], self.space.tables, strict=True)
        ):
            data = np.asarray(
                jax.random.key_data(table) if is_key_array(table) else table
            )
            group.create_array(
                f"{META}/axes/{k}",
                shape=data.shape,
                chunks=data.shape or (1,),
                dtype=data.dtype,
                overwrite=True,
            )[...] = data
            if axis["column"]:
                column = array_name(axis["name"], used)
                params.append(column)
                self._create(column, (), data.dtype, [POINT], None)
        taken = {a["name"] for a in meta["axes"]}
        arrays = []
        coords = " ".join(a for a in params if " " not in a)
        for name, s in zip(
            output_names(point_struct), jax.tree.leaves(point_struct), strict=True
        ):
            column = f"result.{name}" if name in taken else name
            array = array_name(column, used)
            arrays.append([column, array])
            dims = [POINT] + [f"{column}_dim_{d}" for d in range(len(s.shape))]
            self._create(array, s.shape, np.dtype(s.dtype), dims, coords)
        self._meta = {
            **meta,
            "chunk_size": size,
            "n_chunks": math.ceil(n / size),
            "outputs": {
                "leaves": describe_outputs(point_struct),
                "arrays": arrays,
                "structure": structure(point_struct),
            },
        }
        group.attrs[ATTR] = self._meta
        with warnings.catch_warnings():
            # Zarr warns that consolidated metadata is not in the v3 spec yet;
            # it is what lets xarray.open_zarr read the store without warnings.
            warnings.simplefilter("ignore")
            zarr.consolidate_metadata(self.path)

    def _create(self, name, shape, dtype, dims, coords) -> None:
        self._group.create_array(
            name,
            shape=(len(self.space), *shape),
            chunks=(self.chunk_size, *[max(s, 1) for s in shape]),
            dtype=dtype,
            fill_value=fill_value(dtype),
            dimension_names=dims,
            compressors=codec(),
            attributes={"coordinates": coords} if coords else None,
            overwrite=True,
        )

    def _attach_arrays(self) -> None:
        group, meta, space = self._group, self._meta, self.space
        self._done = group[DONE]
        used = {META, POINT}
        self._param_arrays = [
            (
                group[array_name(a["name"], used)],
                np.asarray(space.values[a["name"]]),
                space.dimension(a["name"]),
            )
            for a in meta["axes"]
            if a["column"]
        ]
        self._out_arrays = [group[array] for _, array in meta["outputs"]["arrays"]]

    def _write_rows(self, start: int, stop: int, leaves: list[np.ndarray]) -> None:
        if stop <= start:
            return
        rows = slice(start, stop)
        if self._param_arrays:
            pos = self.space.positions(np.arange(start, stop))
            for array, table, dim in self._param_arrays:
                array[rows] = table[pos[:, dim]]
        for array, leaf in zip(self._out_arrays, leaves, strict=True):
            array[rows] = leaf[: stop - start]


def _axes_meta(space: Space) -> list[dict[str, Any]]:
    """Per axis: name, group, PRNG key implementation, whether it is a column."""
    axes = []
    for name, table in space.values.items():
        group = space.axes[name].group
        axes.append(
            {
                "name": name,
                "group": None if group is None else str(group),
                "key_impl": (
                    str(jax.random.key_impl(table)) if is_key_array(table) else None
                ),
                "column": table.ndim == 1 and not is_key_array(table),
            }
        )
    return axes


def remove_store(path: str | PathLike) -> None:
    """Delete a sweepjax store (refuses to delete anything else)."""
    path = check_path(path)
    if not store_exists(path):
        return
    open_store(path, "r")  # refuses anything but a sweepjax store
    shutil.rmtree(path) if path.is_dir() else os.remove(path)
