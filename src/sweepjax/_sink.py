"""Sinks: where a sweep's outputs go, chunk by chunk, and the output schema.

A sink owns the *storage* chunking of a sweep (``chunk_size`` points per
chunk, the unit of resume); executors compute in batches of their own size
and write any range of points. So a sweep's answer, and its store, do not
depend on ``n_vmap``, ``n_pmap`` or the executor.
"""

from __future__ import annotations

import abc
import math
import warnings
from typing import Any

import jax
import numpy as np

from sweepjax._result import Result, output_names
from sweepjax._space import Space
from sweepjax._tree import check_positive_int

__all__ = [
    "AbstractSink",
    "MemorySink",
    "default_chunk_size",
    "describe_outputs",
    "model_name",
    "nbytes",
    "output_struct",
    "warn_slow_chunks",
]

_SHOW_INDICES = 5
#: A chunk of the default size holds about this many bytes of outputs.
CHUNK_BYTES = 8 * 2**20
#: ... and at most this many points.
MAX_CHUNK = 4096
#: A store of more chunks than this, each under `SMALL_CHUNK` bytes, spends
#: more time writing chunk files than data: each chunk costs about
#: `CHUNK_SECONDS` of file writes and fsyncs (measured on a local disk).
MANY_CHUNKS = 1000
SMALL_CHUNK = 2**20
CHUNK_SECONDS = 0.03

#: NumPy dtype kinds a store holds (bool, ints, floats, complex); extension
#: types such as bfloat16 have kind "V".
_STORABLE_KINDS = "biufc"

Ranges = list[tuple[int, int]]


def output_struct(x: Any) -> jax.ShapeDtypeStruct:
    """Shape and dtype of one output leaf (a Python number gets the dtype JAX
    would give it, without a device transfer).

    >>> output_struct(1.0)
    ShapeDtypeStruct(shape=(), dtype=float32)
    """
    if hasattr(x, "dtype"):
        return jax.ShapeDtypeStruct(np.shape(x), x.dtype)
    dtype = jax.dtypes.canonicalize_dtype(np.asarray(x).dtype)
    return jax.ShapeDtypeStruct(np.shape(x), dtype)


def describe_outputs(point_struct: Any) -> dict[str, Any]:
    """JSON-able names, shapes and dtypes of a per-point output structure.

    >>> describe_outputs({"y": jax.ShapeDtypeStruct((2,), jnp.float32)})
    {'y': {'shape': [2], 'dtype': 'float32'}}
    """
    leaves = jax.tree.leaves(point_struct)
    return {
        name: {"shape": list(s.shape), "dtype": str(s.dtype)}
        for name, s in zip(output_names(point_struct), leaves, strict=True)
    }


def model_name(model: Any) -> str:
    """A stable name for a model: ``module.qualname`` of the function or class."""
    target = model if hasattr(model, "__qualname__") else type(model)
    return f"{getattr(target, '__module__', '?')}.{target.__qualname__}"


def nbytes(n: float) -> str:
    """A byte count for people.

    >>> nbytes(3 * 2**30), nbytes(1500), nbytes(12)
    ('3.0 GiB', '1.5 KiB', '12 B')
    """
    if n < 1024:
        return f"{n:.0f} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024 or unit == "GiB":
            break
    return f"{n:.1f} {unit}"


def _point_bytes(point_struct: Any) -> int:
    return sum(
        math.prod(s.shape) * np.dtype(s.dtype).itemsize
        for s in jax.tree.leaves(point_struct)
    )


def default_chunk_size(point_struct: Any, n_points: int = 0) -> int:
    """Points per storage chunk: about `CHUNK_BYTES` of outputs, at most
    `MAX_CHUNK` points, at least one; and for a space of `n_points` so large
    that this makes more than `MANY_CHUNKS` small chunks, larger chunks (up
    to `SMALL_CHUNK` bytes), so writing chunk files never dominates.

    >>> default_chunk_size(jax.ShapeDtypeStruct((), jnp.float32))
    4096
    >>> default_chunk_size(jax.ShapeDtypeStruct((), jnp.float32), 10**7)
    10000
    """
    per_point = max(_point_bytes(point_struct), 1)
    size = max(1, min(MAX_CHUNK, CHUNK_BYTES // per_point))
    if n_points > size * MANY_CHUNKS:
        size = max(size, min(-(-n_points // MANY_CHUNKS), SMALL_CHUNK // per_point))
    return size


def warn_slow_chunks(sink: AbstractSink, batch: int) -> None:
    """Warn when a new store's chunks are so many and small (or smaller than
    a batch of `batch` points) that writing them is a large cost: each chunk
    costs about `CHUNK_SECONDS`, whatever its size."""
    if isinstance(sink, MemorySink) or getattr(sink, "resume", False):
        return
    n, size = len(sink.space), sink.chunk_size
    n_chunks = -(-n // size)
    chunk_bytes = size * _point_bytes(sink.point_struct)
    tiny = n_chunks > MANY_CHUNKS and chunk_bytes < SMALL_CHUNK
    split = size < batch and n_chunks > MANY_CHUNKS // 10
    if not (tiny or split):
        return
    better = default_chunk_size(sink.point_struct, n)
    better = -(-better // batch) * batch  # whole batches per chunk
    why = (
        f"; a batch of {batch} points writes {-(-batch // size)} chunks"
        if split
        else ""
    )
    warnings.warn(
        f"chunk_size={size} lays {n} points out in {n_chunks} chunks of "
        f"{nbytes(chunk_bytes)}; each chunk costs about {CHUNK_SECONDS * 1e3:.0f} "
        f"ms of file writes and fsyncs, about {n_chunks * CHUNK_SECONDS / 60:.1f} "
        f"min in all{why}, and a resume verifies every chunk. chunk_size={better} "
        f"makes {-(-n // better)} chunks (chunk_size=None picks one).",
        UserWarning,
        stacklevel=5,
    )


def check_storable(point_struct: Any, store: bool = False) -> None:
    """Refuse outputs that cannot be stored as numbers (PRNG keys); for a
    store (`store`), also no outputs at all, and dtypes Zarr cannot store
    (bfloat16, float8, int4, ...), before anything is computed."""
    leaves = jax.tree.leaves(point_struct)
    if store and not leaves:
        raise ValueError(
            f"`model` returned no arrays (its output is {point_struct!r}), so "
            "there is nothing to store; it must return at least one array, e.g. "
            "{'y': value}."
        )
    for name, s in zip(output_names(point_struct), leaves, strict=True):
        if jax.dtypes.issubdtype(s.dtype, jax.dtypes.prng_key):
            raise TypeError(
                f"Output leaf {name!r} is a PRNG key array ({s.dtype}); results "
                "hold numbers: return jax.random.key_data(key) instead."
            )
        if store and np.dtype(s.dtype).kind not in _STORABLE_KINDS:
            raise TypeError(
                f"Output leaf {name!r} has dtype {s.dtype}, which a Zarr store "
                f"cannot hold; return it as a standard type, e.g. "
                f"{name.rsplit('.', 1)[-1]}.astype(jnp.float32)."
            )


def merge_ranges(ranges: Ranges) -> Ranges:
    """Sorted ``[start, stop)`` ranges with touching neighbours joined."""
    merged: Ranges = []
    for a, b in sorted(ranges):
        if merged and merged[-1][1] == a:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


class AbstractSink(abc.ABC):
    """Receives a sweep's outputs and hands back a `Result`.

    The run template (`sweepjax.execution`) calls, in order:

    1. `begin(space, provenance, chunk_size)`: the sweep and how it is run
       (the record of `sweepjax._store._provenance`); a store checks both
       against what it holds. ``chunk_size`` None means "the stored one, or
       the default once the outputs are known". `first_pending()` then says
       where work starts (``len(space)``: nothing is left).
    2. `open(point_struct)`: the per-point outputs (a pytree of
       `jax.ShapeDtypeStruct`; None is allowed only when nothing is left);
       storage is laid out.
    3. `pending()`: the ``[start, stop)`` ranges still to compute (merged
       runs of whole chunks).
    4. `write(start, stop, outputs)` for any range inside a pending range,
       in increasing order within each chunk; or `mark_written` for chunks
       another process wrote.
    5. `flush()` after a failure (keep what was written, mark nothing done);
       then `result(stop)`; `close()` in every case.

    The base class keeps the chunk accounting (which points are in), counts
    non-finite points as they stream by, and knows the longest fully written
    prefix, which is what a failed sweep's ``.partial`` result holds.

    >>> issubclass(MemorySink, AbstractSink), issubclass(ZarrSink, AbstractSink)
    (True, True)
    """

    def __init__(self) -> None:
        self._nonfinite_count = 0
        self._nonfinite_first: list[int] = []
        self.chunk_size: int | None = None
        self.point_struct: Any = None
        self.opened = False

    # -- the protocol ----------------------------------------------------------

    def begin(self, space: Space, provenance: dict, chunk_size: int | None) -> None:
        """Start a sweep of `space` run as `provenance` describes."""
        self.space = space
        self.provenance = provenance
        if chunk_size is not None:
            chunk_size = check_positive_int("chunk_size", chunk_size)
        self.chunk_size = chunk_size

    def open(self, point_struct: Any, done: np.ndarray | None = None) -> None:
        """Lay out storage for ``len(space)`` points shaped like `point_struct`;
        `done` (default `done_chunks()`) marks the chunks already complete."""
        if point_struct is not None:
            check_storable(point_struct)
        self.point_struct = point_struct
        if self.chunk_size is None:
            self.chunk_size = default_chunk_size(point_struct, len(self.space))
        n, size = len(self.space), self.chunk_size
        self._size = np.full(-(-n // size), size, np.int64)
        self._size[-1] = n - size * (len(self._size) - 1)
        done = self.done_chunks() if done is None else done
        self._filled = np.where(done, self._size, 0)
        self.opened = True

    def done_chunks(self) -> np.ndarray:
        """Bool ``[n_chunks]``: chunks complete before this run (none here)."""
        return np.zeros(-(-len(self.space) // self.chunk_size), bool)

    def first_pending(self) -> int:
        """The first point still to compute (``len(space)`` when none is);
        known after `begin`, before `open`."""
        return 0

    def pending(self) -> Ranges:
        """Merged ``[start, stop)`` ranges of the chunks still to compute."""
        n, size = len(self.space), self.chunk_size
        todo = np.flatnonzero(self._filled < self._size)
        return merge_ranges(
            [(int(k) * size, min((int(k) + 1) * size, n)) for k in todo]
        )

    def write(self, start: int, stop: int, outputs: Any) -> None:
        """Keep host `outputs` (leaves ``[>= stop - start, ...]``) for points
        ``[start, stop)``."""
        leaves = [np.asarray(x)[: stop - start] for x in jax.tree.leaves(outputs)]
        self._track_nonfinite(start, leaves)
        self._put(start, stop, leaves)
        for k, a, b in self._chunks_in(start, stop):
            # A write from a chunk's first point starts it afresh (a retried
            # task rewriting its chunk); later writes continue it in order.
            filled = 0 if a == k * self.chunk_size else self._filled[k]
            self._filled[k] = filled + b - a
            if self._filled[k] == self._size[k]:
                self._chunk_complete(k)

    def mark_written(self, start: int, stop: int) -> None:
        """Count whole chunks ``[start, stop)`` written (and marked done) by
        another process, e.g. a Dask worker writing into the same store."""
        for k, _, _ in self._chunks_in(start, stop):
            self._filled[k] = self._size[k]

    def flush(self) -> None:
        """After a failure: keep what was written (nothing is marked done)."""

    def close(self) -> None:
        """After the run, whatever happened (a store releases its lock)."""

    @abc.abstractmethod
    def result(self, stop: int | None = None) -> Result:
        """A Result over points [0, stop) (all points when None)."""

    @abc.abstractmethod
    def _put(self, start: int, stop: int, leaves: list[np.ndarray]) -> None:
        """Keep `leaves` (each ``[stop - start, ...]``) for points [start, stop)."""

    def _chunk_complete(self, k: int) -> None:
        """Chunk `k` now holds all its points (a store persists it here)."""

    # -- accounting --------------------------------------------------------------

    def _chunks_in(self, start: int, stop: int):
        """``(k, a, b)``: chunk `k` receives points ``[a, b)`` of the range."""
        size = self.chunk_size
        for k in range(start // size, -(-stop // size)):
            yield k, max(start, k * size), min(stop, (k + 1) * size)

    def written_prefix(self) -> int:
        """Points ``[0, p)`` are all written (in earlier runs or this one)."""
        short = np.flatnonzero(self._filled < self._size)
        if not len(short):
            return len(self.space)
        k = int(short[0])
        return k * self.chunk_size + int(self._filled[k])

    def kept_points(self) -> int:
        """Points in complete chunks: what a resume of this sink keeps."""
        if not self.opened:
            return 0
        return int(self._size[self._filled == self._size].sum())

    # -- non-finite outputs --------------------------------------------------------

    def _track_nonfinite(self, start: int, leaves: list[np.ndarray]) -> None:
        bad = None
        for leaf in leaves:
            if not np.issubdtype(leaf.dtype, np.inexact):
                continue
            leaf_bad = ~np.isfinite(leaf.reshape(len(leaf), -1)).all(axis=1)
            bad = leaf_bad if bad is None else bad | leaf_bad
        if bad is None or not bad.any():
            return
        where = np.flatnonzero(bad)
        self.add_nonfinite(len(where), [int(start + i) for i in where[:_SHOW_INDICES]])

    @property
    def nonfinite(self) -> tuple[int, list[int]]:
        """``(count, first indices)`` of the non-finite points seen so far."""
        return self._nonfinite_count, list(self._nonfinite_first)

    def add_nonfinite(self, count: int, first: list[int]) -> None:
        """Count `count` more non-finite points, `first` being their lowest
        indices (also how a worker's findings reach the client's sink)."""
        self._nonfinite_count += count
        merged = sorted(self._nonfinite_first + list(first))
        self._nonfinite_first = merged[:_SHOW_INDICES]

    def warn_nonfinite(self) -> None:
        """Warn once if any point written in this run had NaN or inf outputs."""
        if self._nonfinite_count:
            warnings.warn(
                f"{self._nonfinite_count} of {len(self.space)} points produced NaN "
                f"or infinite outputs (first indices: {self._nonfinite_first}); "
                "inspect them with result[i] and result.space[i].",
                RuntimeWarning,
                stacklevel=4,
            )


class MemorySink(AbstractSink):
    """Preallocated host arrays, ``[N, *leaf_shape]`` per output leaf.

    >>> sink = MemorySink()
    """

    def open(self, point_struct: Any) -> None:
        super().open(point_struct)
        leaves, self._treedef = jax.tree.flatten(point_struct)
        n = len(self.space)
        self._buffers = [np.empty((n, *s.shape), dtype=s.dtype) for s in leaves]

    def _put(self, start, stop, leaves) -> None:
        for buf, leaf in zip(self._buffers, leaves, strict=True):
            buf[start:stop] = leaf

    def result(self, stop: int | None = None) -> Result:
        n = len(self.space)
        stop = n if stop is None else stop
        outputs = self._treedef.unflatten([b[:stop] for b in self._buffers])
        return Result(self.space if stop == n else self.space[:stop], outputs)
