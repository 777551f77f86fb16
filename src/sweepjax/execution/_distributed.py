"""DistributedExecution: a sweep's chunks as Dask tasks, on one machine or many."""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from os import PathLike
from typing import Any

import cloudpickle
import equinox as eqx
import jax
import numpy as np

from sweepjax._result import Result
from sweepjax._space import Space
from sweepjax.execution._base import (
    ExecutionError,
    check_model_and_space,
    check_positive_int,
    chunk_bounds,
    failure,
    point_parameters,
    progress_bar,
    resolve_sink,
)
from sweepjax.execution._parallel import CompiledSweep, stream
from sweepjax.execution._sink import (
    AbstractSink,
    MemorySink,
    describe_outputs,
    model_name,
    output_struct,
)

_CACHE_SIZE = 4
_DEFAULT_CHUNK = 1024


class DistributedExecution:
    """Run a model over a space on a Dask cluster, one task per chunk.

    Each task evaluates ``chunk_size`` points in vectorised batches of
    ``n_vmap`` (the same compiled function as `ParallelExecution`, so the
    numbers are the same for the same ``n_vmap``). Every worker compiles the
    model once per sweep and reuses it for all its tasks. Failed tasks are
    retried ``retries`` times, and the tasks of a worker that dies are
    rescheduled by Dask, so each point lands in the result exactly once.

    With ``run(store=path)`` the workers write their chunks straight into
    the Zarr store (a shared filesystem on a real cluster) and the client
    only tracks progress; without a store, outputs come back to the client.

    Args:
        model, space, *args, **kwargs: as for `ParallelExecution`.
        client: where to run. None starts a `distributed.LocalCluster` of
            ``n_workers`` single-threaded worker processes and closes it after
            the run; a `distributed.Client` is used as is; a scheduler address
            (``"tcp://10.0.0.5:8786"``) or a cluster object (a dask-jobqueue
            ``SLURMCluster``, say) gets a client opened and closed for the run.
        n_vmap: points per compiled call on a worker.
        chunk_size: points per task, and the store's chunk (the unit of
            resume); defaults to the multiple of ``n_vmap`` nearest above 1024.
        n_workers: worker processes of the LocalCluster (``client=None`` only).
        retries: how many times a failing task is retried.
        progress: show a tqdm bar that advances as chunks complete.

    On SLURM, start workers with dask-jobqueue and pass the cluster::

        from dask_jobqueue import SLURMCluster
        cluster = SLURMCluster(cores=4, memory="16GB", walltime="02:00:00")
        cluster.scale(jobs=10)
        DistributedExecution(model, space, client=cluster, n_vmap=64).run(
            store="/shared/scratch/sweep.zarr", resume=True)

    >>> result = DistributedExecution(model, space, n_vmap=64).run()
    """

    def __init__(
        self,
        model: Callable[..., Any],
        space: Space,
        *args: Any,
        client: Any = None,
        n_vmap: int = 1,
        chunk_size: int | None = None,
        n_workers: int = 2,
        retries: int = 2,
        progress: bool = True,
        **kwargs: Any,
    ):
        check_model_and_space(model, space)
        self.model, self.space, self.args, self.kwargs = model, space, args, kwargs
        self.n_vmap = check_positive_int("n_vmap", n_vmap)
        if chunk_size is None:
            chunk_size = self.n_vmap * -(-_DEFAULT_CHUNK // self.n_vmap)
        self.chunk_size = check_positive_int("chunk_size", chunk_size)
        self.n_workers = check_positive_int("n_workers", n_workers)
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"`retries` must be an int >= 0, got {retries!r}.")
        self.retries = retries
        self.client = _check_client(client)
        self.progress = progress
        # Names this executor's compiled sweep in the workers' caches, so a
        # second run on the same cluster compiles nothing.
        self._token = uuid.uuid4().hex
        self._struct: Any = None
        self._blob = b""

    def run(self, store: str | PathLike | None = None, resume: bool = False) -> Result:
        """Evaluate every point and return a `Result` in space order.

        With `store`, workers write each chunk to the Zarr store at that path;
        ``resume=True`` skips the chunks already done there.
        """
        space, sink = self.space, resolve_sink(store, resume)
        sink.begin(space, self.chunk_size, model_name(self.model))
        if self._struct is None:
            try:
                self._struct = point_struct(self.model, space, self.args, self.kwargs)
            except Exception as err:
                raise failure(space, sink, 0, 0, err, "tracing the model") from err
            self._blob = self._payload(describe_outputs(self._struct))
        sink.open(self._struct)
        todo = sink.pending(chunk_bounds(len(space), self.chunk_size))
        target = None if store is None else str(sink.path)
        with progress_bar(len(space), self.progress) as bar:
            bar.update(len(space) - sum(b - a for a, b in todo))
            if todo:
                with _connect(self.client, self.n_workers) as client:
                    self._submit_and_collect(client, todo, target, sink, bar)
        sink.warn_nonfinite()
        return sink.result()

    def _payload(self, expected: dict) -> bytes:
        try:
            return cloudpickle.dumps(
                (self.model, self.space, self.args, self.kwargs, self.n_vmap, expected)
            )
        except Exception as err:
            raise TypeError(
                "DistributedExecution ships the model, space and extra arguments "
                f"to Dask workers with cloudpickle, which failed: "
                f"{type(err).__name__}: {err}. Define the model at module level "
                "and pass picklable arguments."
            ) from err

    def _submit_and_collect(self, client, todo, target, sink, bar) -> None:
        from distributed import as_completed

        run = uuid.uuid4().hex
        # A task (not scatter) carries the payload, so the scheduler can
        # recompute it if the worker holding it dies.
        blob = client.submit(_identity, self._blob, key=f"sweepjax-payload-{run}")
        pending = {}
        for start, stop in todo:
            future = client.submit(
                run_chunk,
                blob,
                self._token,
                run,
                start,
                stop,
                self.n_vmap,
                target,
                key=f"sweepjax-chunk-{run}-{start}",
                retries=self.retries,
            )
            pending[future.key] = (start, future)
        finished = np.ones(-(-len(self.space) // self.chunk_size), dtype=bool)
        finished[[a // self.chunk_size for a, _ in todo]] = False
        for future in as_completed([f for _, f in pending.values()]):
            start, _ = pending.pop(future.key)
            try:
                start, stop, leaves, nonfinite = future.result()
            except Exception as err:
                client.cancel([f for _, f in pending.values()])
                raise self._error(sink, start, finished, err) from err
            if leaves is not None:
                sink.write(start, stop, leaves)
            else:
                sink.add_nonfinite(*nonfinite)
            finished[start // self.chunk_size] = True
            bar.update(stop - start)
            del future  # releases the chunk's outputs held by the worker
        client.cancel([blob])

    def _error(self, sink, start, finished, err) -> ExecutionError:
        index = err.index if isinstance(err, ChunkFailed) else start
        if isinstance(err, ChunkFailed):
            cause = err.message
        else:
            cause = f"{type(err).__name__}: {err}"
        params = point_parameters(self.space, index)
        missing = np.flatnonzero(~finished)
        done = min(int(missing[0]) * self.chunk_size, len(self.space))
        in_store = " (every finished chunk is in the store: resume=True goes on)"
        return ExecutionError(
            f"chunk failed at index {index} with parameters {params} (after "
            f"{self.retries} retries): {cause}. The {done} points before the "
            "first unfinished chunk are in this error's `.partial` result"
            + ("" if isinstance(sink, MemorySink) else in_store)
            + ".",
            index=index,
            parameters=params,
            partial=sink.result(done) if done > 0 else None,
        )


def _check_client(client: Any) -> Any:
    from distributed import Client

    if client is None or isinstance(client, str | Client):
        return client
    if hasattr(client, "scheduler_address"):  # a Cluster: LocalCluster, SLURMCluster
        return client
    raise TypeError(
        "`client` must be None (start a LocalCluster), a distributed.Client, a "
        "scheduler address such as 'tcp://host:8786', or a Dask cluster object, "
        f"got {type(client).__name__}: {client!r}."
    )


@contextmanager
def _connect(client: Any, n_workers: int) -> Iterator[Any]:
    """A Client for the run; whatever this opens, it closes."""
    from distributed import Client, LocalCluster

    if isinstance(client, Client):
        yield client
    elif client is None:
        with (
            LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as own,
        ):
            yield own
    else:
        with Client(client) as own:
            yield own


def point_struct(model: Callable, space: Space, args: tuple, kwargs: dict) -> Any:
    """The per-point output structure, by tracing (not compiling) the model.

    Non-array leaves are static, as in `CompiledSweep`; a constant output
    comes back as its (float32, int32, ...) array struct, as jit returns it.
    """
    out = eqx.filter_eval_shape(model, space[0], *args, **kwargs)
    return jax.tree.map(output_struct, out)


class ChunkFailed(Exception):
    """A chunk failed on a worker: the failing point's index and the cause.

    Plain arguments only, so it pickles back to the client unchanged.
    """

    def __init__(self, index: int, message: str):
        super().__init__(index, message)
        self.index, self.message = index, message

    def __str__(self) -> str:
        return f"point {self.index}: {self.message}"


# -- worker side ----------------------------------------------------------------

_CACHE: OrderedDict[str, tuple[CompiledSweep, dict]] = OrderedDict()
_LOCK = threading.Lock()


def _identity(x: Any) -> Any:
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
            from sweepjax._store import ZarrSink

            writers.clear()  # one run at a time per executor
            writers[run] = ZarrSink.attach(store, sweep.space)
        return sweep, writers.get(run)


class _ChunkBuffer(AbstractSink):
    """One task's outputs, `[stop - start, ...]` per leaf."""

    def __init__(self, space: Space, start: int, stop: int, point_struct: Any):
        super().__init__()
        self.space, self.start = space, start
        self.leaves = [
            np.empty((stop - start, *s.shape), dtype=s.dtype)
            for s in jax.tree.leaves(point_struct)
        ]

    def open(self, point_struct: Any) -> None:
        pass

    def _store(self, start, stop, leaves, complete) -> None:
        for buf, leaf in zip(self.leaves, leaves):
            buf[start - self.start : stop - self.start] = leaf

    def result(self, stop: int | None = None) -> None:
        return None


class _NoBar:
    def update(self, n: int) -> None:
        pass


def run_chunk(payload, token, run, start, stop, n_vmap, store):
    """Task body: compute points [start, stop); write them to `store` (then
    return only a summary) or return them."""
    sweep, writer = _worker_state(token, run, payload, store)
    buf = _ChunkBuffer(sweep.space, start, stop, sweep.point_struct)
    batches = [(a, min(a + n_vmap, stop)) for a in range(start, stop, n_vmap)]
    try:
        stream(sweep, batches, buf, _NoBar())
    except ExecutionError as err:
        cause = err.__cause__ or err
        raise ChunkFailed(err.index, f"{type(cause).__name__}: {cause}") from None
    nonfinite = buf.nonfinite
    if writer is None:
        return start, stop, buf.leaves, nonfinite
    writer._store(start, stop, buf.leaves, complete=True)
    return start, stop, None, nonfinite
