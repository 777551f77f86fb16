"""The Dask worker side of DistributedExecution: one task computes one chunk.

Each worker process keeps a small cache of compiled sweeps (keyed by the
executor's token), so a sweep compiles once per worker, not once per task,
and one store writer per run.
"""

from __future__ import annotations

import enum
import os
import socket
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import cloudpickle
import jax

from sweepjax._sink import MemorySink, describe_outputs
from sweepjax._store import ZarrSink
from sweepjax.execution._base import PointFailed, batches
from sweepjax.execution._parallel import CompiledSweep, stream

__all__ = ["ChunkFailed", "identity", "numeric_config", "numeric_flags", "run_chunk"]

#: JAX flags that change what a model computes (dtypes, precision, random
#: numbers, promotion rules): the client's values travel with every task.
NUMERIC_FLAGS = (
    "jax_enable_x64",
    "jax_default_matmul_precision",
    "jax_numpy_dtype_promotion",
    "jax_numpy_rank_promotion",
    "jax_default_prng_impl",
    "jax_threefry_partitionable",
    "jax_softmax_custom_jvp",
)

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


def numeric_config() -> dict[str, Any]:
    """This thread's values of the `NUMERIC_FLAGS` this JAX knows, as plain
    Python values (what a client sends and a worker compares)."""
    config = {}
    for name in NUMERIC_FLAGS:
        if name in jax.config.values:
            value = getattr(jax.config, name)
            config[name] = value.value if isinstance(value, enum.Enum) else value
    return config


@contextmanager
def numeric_flags(config: dict[str, Any]) -> Iterator[None]:
    """Run the block with the JAX flags of `config` (name to value), set for
    this thread only: tasks of other sweeps on the same worker keep theirs.
    A flag this JAX does not know is skipped (the output check names it)."""
    with ExitStack() as stack:
        for name, value in config.items():
            state = getattr(jax, name.removeprefix("jax_"), None)
            if callable(state) and hasattr(state, "value"):
                stack.enter_context(state(value))
        yield


def _flag_differences(client: dict[str, Any]) -> str:
    """Which numeric flags differ between the client's `client` and here."""
    here = numeric_config()
    names = sorted(set(client) | set(here))
    differ = [
        f"{n} is {client.get(n, 'unknown')!r} on the client but "
        f"{here.get(n, 'unknown')!r} on this worker"
        for n in names
        if client.get(n, "unknown") != here.get(n, "unknown")
    ]
    if differ:
        return "JAX flags differ: " + "; ".join(differ) + "."
    return (
        f"The numeric JAX flags agree ({', '.join(names)}), so the model "
        f"itself differs: check that the worker runs the same JAX (here "
        f"{jax.__version__}) and the same model code as the client."
    )


def identity(x: Any) -> Any:
    """A task that returns its argument (how the payload travels as a task)."""
    return x


def _worker_state(token: str, run: str, payload: tuple[dict, bytes], store: str | None):
    """This worker's compiled sweep for executor `token` (built by its first
    task, reused by every later task and run) and its store writer for `run`.
    Runs under the client's numeric flags (`numeric_flags`)."""
    config, blob = payload
    with _LOCK:
        if token not in _CACHE:
            model, space, args, kwargs, n_vmap, expected = cloudpickle.loads(blob)
            sweep = CompiledSweep(model, space, args, kwargs, n_vmap, 1)
            got = describe_outputs(sweep.point_struct)
            if got != expected:
                raise ValueError(
                    f"The model compiled on this worker returns {got}, but the "
                    f"client traced {expected}. {_flag_differences(config)}"
                )
            _CACHE[token] = (sweep, {})
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        _CACHE.move_to_end(token)
        sweep, writers = _CACHE[token]
        if store is not None and run not in writers:
            if not os.path.isfile(os.path.join(store, "zarr.json")):
                raise FileNotFoundError(
                    f"The store at {store!r} is not visible on worker "
                    f"{socket.gethostname()!r}: a store written by "
                    "DistributedExecution must be on a filesystem shared by the "
                    "client and every worker."
                )
            writers.clear()  # one run at a time per executor
            writers[run] = ZarrSink.attach(store, sweep.space, sweep.point_struct, run)
        return sweep, writers.get(run)


class _NoBar:
    def update(self, n: int) -> None:
        pass


def run_chunk(payload, token, run, start, stop, n_vmap, store):
    """Task body: compute points [start, stop) in batches of `n_vmap`; write
    them to `store` (then return only a summary) or return them. `payload`
    is ``(numeric flags, pickled sweep)``: the flags are set before the
    sweep is unpickled, compiled or run.

    Returns ``(start, stop, leaves or None, (n_nonfinite, first indices))``.
    With a store, `run` is the token of the run holding the store's lock:
    once the lock no longer holds it (the run ended), nothing is written.
    """
    with numeric_flags(payload[0]):
        sweep, writer = _worker_state(token, run, payload, store)
        if writer is not None and not writer.owned():
            raise _fenced(start, stop, store)
        sink = MemorySink()
        sink.begin(sweep.space[start:stop], {"model": {"name": token}}, stop - start)
        sink.open(sweep.point_struct)
        try:
            bounds = batches([(start, stop)], n_vmap)
            stream(sweep, bounds, sink, _NoBar(), offset=start)
        except PointFailed as failed:
            cause = failed.cause
            message = f"{type(cause).__name__}: {cause}"
            raise ChunkFailed(failed.index, message) from None
    leaves = jax.tree.leaves(sink.result().outputs)
    count, first = sink.nonfinite
    nonfinite = (count, [start + i for i in first])
    if writer is None:
        return start, stop, leaves, nonfinite
    writer.write(start, stop, leaves)
    if writer.fenced:
        raise _fenced(start, stop, store)
    return start, stop, None, nonfinite


def _fenced(start: int, stop: int, store: str) -> ChunkFailed:
    return ChunkFailed(
        start,
        f"points {start}-{stop - 1} were not written: the lock of the store at "
        f"{store!r} no longer belongs to this run (it ended, or another process "
        "took the store over).",
    )
