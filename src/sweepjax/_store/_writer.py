"""ZarrSink: stream a sweep's outputs to a Zarr store, chunk by chunk, and resume."""

from __future__ import annotations

import os
import shutil
import warnings
from os import PathLike
from typing import Any

import jax
import numpy as np

from sweepjax._result import Result, output_names
from sweepjax._sink import (
    AbstractSink,
    check_storable,
    default_chunk_size,
    describe_outputs,
)
from sweepjax._space import Space
from sweepjax._store._check import check_resume, resume_differences
from sweepjax._store._format import (
    ATTR,
    DONE,
    FORMAT,
    axes_meta,
    check_file_names,
    check_path,
    open_store,
    store_exists,
)
from sweepjax._store._integrity import (
    checksum,
    chunk_files,
    fsync,
    read_done,
    verify_chunks,
    warn_damaged,
    write_error,
    write_sums,
)
from sweepjax._store._layout import lay_out, open_arrays
from sweepjax._store._lock import LOCK, StoreLock, holds, lock_owner, read_only
from sweepjax._store._provenance import describe_space
from sweepjax._store._reader import stored_outputs

__all__ = ["ZarrSink", "remove_store"]

#: What resume compares besides the space, the chunk size and the outputs;
#: ``resume="force"`` accepts differences in these.
_PROVENANCE = {
    "model": "model",
    "fixed": "fixed parameters",
    "args": "positional arguments",
    "kwargs": "keyword arguments",
    "solves": "prepared solve",
    "x64": "x64 mode",
    "versions": "package versions",
    "program": "program",
}
_FORCE_HINT = (
    " If you changed the model or its parameters on purpose and want its new"
    " points in this store, resume with resume='force'."
)


class ZarrSink(AbstractSink):
    """Streams a sweep to a Zarr store at `path`; the sink behind ``run(store=...)``.

    Points arrive in any ranges; a chunk of the store (``chunk_size`` points)
    is written once it holds all its points, fsynced with a checksum record,
    then marked done, so a sweep killed at any moment can be resumed with
    ``resume=True``: done chunks are skipped, never rewritten, whatever
    executor, ``n_vmap`` or ``n_pmap`` the resuming run uses.

    One process writes a store at a time (a lock file names the owner; see
    `sweepjax._store._lock`). The store records the run's provenance: the
    fixed leaves, extra arguments, the model's name and source hash, x64 mode
    and package versions. Resuming refuses any difference in those, in the
    space (values fingerprinted), in the output schema (by leaf path) or in a
    given chunk size, with a `ValueError` listing each changed leaf (old ->
    new); ``resume="force"`` accepts a deliberately changed model or
    parameters (not a changed space or outputs) and records that it did. On
    resume every done chunk is read back and checked: a damaged one is named
    and computed again. Without ``resume`` an existing store is never
    overwritten (`FileExistsError`); with it, a missing store is created.
    Read a store with `sweepjax.open_result`, or ``xarray.open_zarr(path)``.

    >>> sink = ZarrSink("sweep.zarr", resume=True)   # what run(store=...) uses
    """

    def __init__(self, path: str | PathLike, resume: bool | str = False):
        super().__init__()
        self.path = check_path(path)
        if resume not in (False, True, "force") or not isinstance(resume, bool | str):
            raise ValueError(
                f"`resume` must be False, True or 'force', got {resume!r}."
            )
        self.resume = resume
        self._buffers: dict[int, list[np.ndarray]] = {}
        self._lock = StoreLock(self.path)
        self._verified: np.ndarray | None = None
        self._fence: str | None = None  # the run a worker's writes belong to
        self.fenced = False  # a write was dropped: the run no longer owns the lock

    # -- the sink protocol ------------------------------------------------------

    def begin(self, space: Space, provenance: dict, chunk_size: int | None) -> None:
        super().begin(space, provenance, chunk_size)
        path = self.path
        laid = (path / "zarr.json").is_file()
        if path.is_file() or (
            not laid and store_exists(path) and not (path / LOCK).exists()
        ):
            open_store(path, "r")  # names what the path holds instead
        if laid and not self.resume:
            raise FileExistsError(
                f"`store`={str(path)!r} already exists. Pass resume=True to "
                "continue the sweep stored there, or choose a new path (or delete "
                "the old store) to start over."
            )
        path.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except OSError as err:
            if not (laid and self.resume and read_only(err)):
                raise
            self._begin_read_only(space, provenance, err)
            return
        try:
            self._begin_locked(space, provenance, laid)
        except BaseException:
            self._lock.release()
            raise

    def _begin_read_only(self, space: Space, provenance: dict, err: OSError) -> None:
        """A store that cannot be written: resuming it, with nothing left to
        compute, just returns its result (no lock is needed to read)."""
        self._begin_locked(space, provenance, True)
        if self.first_pending() < len(space):
            raise OSError(
                err.errno,
                f"The store at {str(self.path)!r} cannot be written ({err}) and has "
                "points left to compute. Copy it to a writable place and resume "
                "there, or read its finished points with open_result.",
            ) from err

    @property
    def token(self) -> str:
        """The token of this run, recorded in the store's lock; Dask workers
        write for the run only while the lock holds it."""
        return self._lock.token

    def _begin_locked(self, space: Space, provenance: dict, laid: bool) -> None:
        described = describe_space(space)
        if not laid:
            meta = {
                "format": FORMAT,
                "model": provenance["model"]["name"],
                "chunk_size": None,  # set when the outputs are laid out
                "space": described,
                "axes": axes_meta(space),
                "provenance": provenance,
                "outputs": None,
            }
            import zarr  # heavy: imported when a store is used

            group = zarr.open_group(self.path, mode="a", use_consolidated=False)
            group.attrs[ATTR] = meta
            self._group, self._meta = group, meta
            return
        group, meta = open_store(self.path, "r+")
        pairs = [("space", meta["space"], described)]
        stored_chunk = meta["chunk_size"]
        if stored_chunk is not None:
            if self.chunk_size is not None:
                pairs.append(("chunk size", stored_chunk, self.chunk_size))
            self.chunk_size = stored_chunk
        check_resume(self.path, pairs)
        stored = meta.get("provenance")
        if stored is None:
            stored = {"model": {"name": meta["model"]}}
        now = {k: provenance[k] for k in _PROVENANCE}
        if "source_sha1" not in stored.get("model", {}):
            now["model"] = {"name": provenance["model"]["name"]}
        # A record the store lacks (a format-1 store has none; older format-2
        # stores lack newer ones) was not kept, so it cannot differ.
        pairs = [
            (_PROVENANCE[k], stored[k], now[k]) for k in _PROVENANCE if k in stored
        ]
        if self.resume == "force":
            differences = resume_differences(pairs)
            if differences:
                warnings.warn(
                    f"Resuming the sweep stored at {str(self.path)!r} with "
                    f"resume='force' although {'; '.join(differences)}.",
                    UserWarning,
                    stacklevel=5,
                )
                forced = meta.get("forced_resumes", [])
                meta = {**meta, "forced_resumes": [*forced, differences]}
                group.attrs[ATTR] = meta
        else:
            check_resume(self.path, pairs, _FORCE_HINT)
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
            check_storable(point_struct, store=True)
            check_file_names(output_names(point_struct), LOCK)
            if self.chunk_size is None:
                self.chunk_size = default_chunk_size(point_struct, len(self.space))
            self._lay_out(point_struct)
        self._attach_arrays(point_struct)
        if done is None and outputs is not None:
            self.first_pending()  # reads the done chunks back, once
            done = self._verified
        super().open(point_struct, done)

    def close(self) -> None:
        """Release the store's lock."""
        self._lock.release()

    def done_chunks(self) -> np.ndarray:
        """Bool ``[n_chunks]``: which chunks are written and marked done (a
        damaged marker counts as not done, with a warning naming it)."""
        done, damaged = read_done(self.path, self._meta.get("n_chunks", 0))
        warn_damaged(damaged, "their chunks are not done and are computed again.")
        return done

    def first_pending(self) -> int:
        """The first point of the first chunk that is not done, or whose files
        do not read back as written (checked here, once per run)."""
        if self._meta["outputs"] is None:
            return 0
        if self._verified is None:
            self._attach_arrays(None)
            self._verified = self._verified_done()
        todo = np.flatnonzero(~self._verified)
        return int(todo[0]) * self.chunk_size if len(todo) else len(self.space)

    def _verified_done(self) -> np.ndarray:
        """The done chunks whose files all read back with their checksums.
        Their non-finite points are counted as they are read, so the warning
        at the end of a resumed run counts every point of the store."""
        done, damaged, count, first = verify_chunks(
            self.path,
            self.done_chunks(),
            self.chunk_size,
            self._arrays.named(),
            {name for name, _ in self._arrays.outputs},
            recorded=self._meta["format"] >= 2,
        )
        warn_damaged(damaged, "their chunks are computed again.")
        self.add_nonfinite(count, first)
        return done

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
        stop = start + len(buffers[0])
        if not self.owned():
            return
        try:
            sums = self._write_rows(start, stop, buffers)
            files = [f for name in sums for f in chunk_files(self.path, name, k)]
            fsync([*files, write_sums(self.path, k, sums)])
            # The marker last, and only while this run still owns the store:
            # a chunk is done only once everything it holds is on disk.
            if not self.owned():
                return
            self._arrays.done[k] = 1
            fsync(chunk_files(self.path, DONE, k))
        except OSError as err:  # a full disk, a filesystem gone read-only, ...
            raise write_error(err, self.path, k, start, stop) from err

    def flush(self) -> None:
        """Write the points of partly filled chunks (not marked done), so a
        failed run's ``.partial`` result reads them."""
        for k, buffers in sorted(self._buffers.items()):
            start = k * self.chunk_size
            try:
                self._write_rows(start, start + int(self._filled[k]), buffers)
            except OSError as err:  # a full disk: keep the run's own error
                warnings.warn(str(write_error(err, self.path, k)), RuntimeWarning)
        self._buffers.clear()

    def result(self, stop: int | None = None) -> Result:
        n = len(self.space)
        stop = n if stop is None else stop
        outputs = stored_outputs(self._group, self._meta, self.path)
        if stop == n:
            return Result(self.space, outputs)
        return Result(self.space[:stop], jax.tree.map(lambda x: x[:stop], outputs))

    def owned(self) -> bool:
        """Whether this writer may write: always in the run's own process; on
        a worker, only while the lock holds the run's token (a run that
        ended, however, gets no more writes)."""
        if self._fence is None or holds(self.path, self._fence):
            return True
        self.fenced = True
        return False

    @classmethod
    def attach(
        cls, path: str | PathLike, space: Space, point_struct: Any, run: str
    ) -> ZarrSink:
        """Open a store that another process laid out (and holds the lock
        of, for the run whose `token` is `run`), to write whole chunks into it
        from a Dask worker, without checking or rewriting its metadata. It
        does not read the done markers: it writes the chunks it is given, and
        drops them (setting `fenced`) once the lock no longer holds `run`."""
        sink = cls(path, resume=True)
        sink._fence = run
        sink._group, sink._meta = open_store(sink.path, "r+")
        meta = sink._meta
        provenance = meta.get("provenance", {"model": {"name": meta["model"]}})
        AbstractSink.begin(sink, space, provenance, meta["chunk_size"])
        sink._attach_arrays(point_struct)
        n_chunks = -(-len(space) // sink.chunk_size)
        AbstractSink.open(sink, point_struct, done=np.zeros(n_chunks, bool))
        return sink

    # -- layout -------------------------------------------------------------------

    def _lay_out(self, point_struct: Any) -> None:
        """Create the store's arrays and record the final layout (`lay_out`)."""
        self._meta = lay_out(
            self._group,
            self.path,
            self._meta,
            self.space,
            point_struct,
            self.chunk_size,
        )

    def _attach_arrays(self, point_struct: Any) -> None:
        """Open the arrays (`open_arrays`: outputs matched by leaf path)."""
        self._arrays = open_arrays(
            self._group, self.path, self._meta, self.space, point_struct
        )

    def _write_rows(
        self, start: int, stop: int, leaves: list[np.ndarray]
    ) -> dict[str, int]:
        """Write points [start, stop); returns each array's rows' checksum."""
        sums: dict[str, int] = {}
        if stop <= start:
            return sums
        rows = slice(start, stop)
        if self._arrays.params:
            pos = self.space.positions(np.arange(start, stop))
            for name, array, table, dim in self._arrays.params:
                data = table[pos[:, dim]]
                array[rows] = data
                sums[name] = checksum(data.astype(array.dtype))
        for (name, array), leaf in zip(self._arrays.outputs, leaves, strict=True):
            data = leaf[: stop - start]
            array[rows] = data
            sums[name] = checksum(data.astype(array.dtype))
        return sums


def remove_store(path: str | PathLike) -> None:
    """Delete a sweepjax store (refuses anything else, and a store another
    process is writing)."""
    path = check_path(path)
    if not store_exists(path):
        return
    owner = lock_owner(path)
    if owner is not None:
        lock = StoreLock(path)
        lock.acquire()  # raises StoreBusyError if its owner still runs
        lock.release()
    if not (path / LOCK).exists() or (path / "zarr.json").exists():
        open_store(path, "r")  # refuses anything but a sweepjax store
    shutil.rmtree(path) if path.is_dir() else os.remove(path)
