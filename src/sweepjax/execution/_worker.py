"""The Dask worker side of DistributedExecution: one task computes one chunk.

Each worker process keeps a small cache of compiled sweeps (keyed by the
executor's token), so a sweep compiles once per worker, not once per task,
and one store writer per run.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import cloudpickle
import jax

from sweepjax._sink import MemorySink, describe_outputs
from sweepjax._store import ZarrSink
from sweepjax.execution._base import PointFailed, batches
from sweepjax.execution._parallel import CompiledSweep, stream

__all__ = ["ChunkFailed", "identity", "run_chunk"]

_CACHE_SIZE = 4
_CACHE: OrderedDict[str, tuple[CompiledSweep, dict]] = OrderedDict()
_LOCK = threading.Lock()


class ChunkFailed(Exception):
    """A chunk failed on a worker: the failing point's index and the cause.

    Plain arguments only, so it pickles back to the client unchanged.
    """

    def __init__(self, index: int, message: str):
        super().__init__(index, message)
        self.index, self.message = index, message

    def __str__(self) -> str:
        return self.message


def identity(x: Any) -> Any:
    """A task that returns its argument (how the payload travels as a task)."""
    return x


def _worker_state(token: str, run: str, payload: bytes, store: str | None):
    """This worker's compiled sweep for executor `token` (built by its first
    task, reused by every later task and run) and its store writer for `run`."""
    with _LOCK:
        if token not in _CACHE:
            model, space, args, kwargs, n_vmap, expected = cloudpickle.loads(payload)
            sweep = CompiledSweep(model, space, args, kwargs, n_vmap, 1)
            got = describe_outputs(sweep.point_struct)
            if got != expected:
                raise ValueError(
                    f"The compiled model's outputs {got} differ from the traced "
                    f"ones {expected}."
                )
            _CACHE[token] = (sweep, {})
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        _CACHE.move_to_end(token)
        sweep, writers = _CACHE[token]
        if store is not None and run not in writers:
            writers.clear()  # one run at a time per executor
            writers[run] = ZarrSink.attach(store, sweep.space, sweep.point_struct)
        return sweep, writers.get(run)


class _NoBar:
    def update(self, n: int) -> None:
        pass


def run_chunk(payload, token, run, start, stop, n_vmap, store):
    """Task body: compute points [start, stop) in batches of `n_vmap`; write
    them to `store` (then return only a summary) or return them.

    Returns ``(start, stop, leaves or None, (n_nonfinite, first indices))``.
    """
    sweep, writer = _worker_state(token, run, payload, store)
    sink = MemorySink()
    sink.begin(sweep.space[start:stop], "", stop - start)
    sink.open(sweep.point_struct)
    try:
        stream(sweep, batches([(start, stop)], n_vmap), sink, _NoBar(), offset=start)
    except PointFailed as failed:
        cause = failed.cause
        raise ChunkFailed(failed.index, f"{type(cause).__name__}: {cause}") from None
    leaves = jax.tree.leaves(sink.result().outputs)
    count, first = sink.nonfinite
    nonfinite = (count, [start + i for i in first])
    if writer is None:
        return start, stop, leaves, nonfinite
    writer.write(start, stop, leaves)
    return start, stop, None, nonfinite
