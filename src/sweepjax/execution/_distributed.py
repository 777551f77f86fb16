"""DistributedExecution: a sweep's chunks as Dask tasks, on one machine or many."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import cloudpickle

from sweepjax._sink import AbstractSink, Ranges, describe_outputs
from sweepjax._space import Space
from sweepjax._store import ZarrSink
from sweepjax._tree import check_positive_int
from sweepjax.execution._base import AbstractExecution, PointFailed, batches
from sweepjax.execution._dependencies import warn_unused_axes
from sweepjax.execution._worker import ChunkFailed, identity, numeric_config, run_chunk

__all__ = ["DistributedExecution", "connect_scheduler"]


class DistributedExecution(AbstractExecution):
    """Run a model over a space on a Dask cluster, one task per chunk.

    Each task computes one chunk of the sink (the store's chunks, see
    ``run(chunk_size=...)``) in vectorised batches of ``n_vmap`` (the same
    compiled function as `ParallelExecution`). Every worker compiles the
    model once per executor and reuses it for all its tasks. Failed tasks are
    retried ``retries`` times, and the tasks of a worker that dies are
    rescheduled by Dask, so each point lands in the result exactly once.

    With ``run(store=path)`` the workers write their chunks straight into
    the Zarr store (a shared filesystem on a real cluster) and the client
    only tracks progress; without a store, outputs come back to the client.

    The client traces one point first (no compilation): that fixes the
    output structure the workers must reproduce, and warns
    (`UnusedAxisWarning`) about swept axes no output depends on. The
    client's JAX flags that change numbers (``jax_enable_x64``, matmul
    precision, dtype promotion, PRNG implementation; `NUMERIC_FLAGS`) travel
    with every task and hold on the worker while it runs that task.

    Args:
        model: as for `ParallelExecution`.
        space: as for `ParallelExecution`.
        *args: as for `ParallelExecution`.
        **kwargs: as for `ParallelExecution`.
        client: where to run. None starts a `distributed.LocalCluster` of
            ``n_workers`` single-threaded worker processes and closes it after
            the run; a `distributed.Client` is used as is; a scheduler address
            (``"tcp://10.0.0.5:8786"``) or a cluster object (a dask-jobqueue
            ``SLURMCluster``, say) gets a client opened and closed for the run.
        n_vmap: points per compiled call on a worker.
        n_workers: worker processes of the LocalCluster (``client=None`` only).
        retries: how many times a failing task is retried.
        progress: show a tqdm bar that advances as chunks complete.
        worker_timeout: seconds to wait for a first worker when the
            scheduler has none, before a `TimeoutError` names it (None: wait
            for ever, e.g. for a batch-queue cluster whose jobs may queue
            long; a cluster object with workers requested always waits).

    However a run with a store ends (done, failed, Ctrl-C), its tasks are
    cancelled and tasks already running write nothing more: each chunk is
    written, and marked done, only while the store's lock holds the run's
    token.

    On SLURM, start workers with dask-jobqueue and pass the cluster::

        from dask_jobqueue import SLURMCluster
        cluster = SLURMCluster(cores=4, memory="16GB", walltime="02:00:00")
        cluster.scale(jobs=10)
        DistributedExecution(model, space, client=cluster, n_vmap=64).run(
            store="/shared/scratch/sweep.zarr", resume=True)

    >>> executor = DistributedExecution(model, space, n_workers=2, n_vmap=4)
    >>> result = executor.run()  # doctest: +SKIP
    """

    def __init__(
        self,
        model: Callable[..., Any],
        space: Space,
        *args: Any,
        client: Any = None,
        n_vmap: int = 1,
        n_workers: int = 2,
        retries: int = 2,
        progress: bool = True,
        worker_timeout: float | None = 30.0,
        **kwargs: Any,
    ):
        options = {
            "client": client,
            "n_vmap": n_vmap,
            "n_workers": n_workers,
            "retries": retries,
            "progress": progress,
            "worker_timeout": worker_timeout,
        }
        super().__init__(model, space, args, kwargs, options)
        self.n_vmap = check_positive_int("n_vmap", n_vmap)
        self.n_workers = check_positive_int("n_workers", n_workers)
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"`retries` must be an int >= 0, got {retries!r}.")
        self.retries = retries
        if worker_timeout is not None and (
            isinstance(worker_timeout, bool)
            or not isinstance(worker_timeout, int | float)
            or not worker_timeout > 0
        ):
            raise ValueError(
                "`worker_timeout` must be a positive number of seconds or None, "
                f"got {worker_timeout!r}."
            )
        self.worker_timeout = worker_timeout
        self.client = _check_client(client)
        # Names this executor's compiled sweep in the workers' caches, so a
        # second run on the same cluster compiles nothing.
        self._token = uuid.uuid4().hex
        self._struct: Any = None
        self._blob: tuple[dict[str, Any], bytes] = ({}, b"")

    def _output_struct(self, first: int) -> Any:
        if self._struct is None:
            # One trace of one point, on the client: the output structure the
            # workers must reproduce, and the axes the outputs ignore.
            traced = self._point_trace()
            struct, unused = traced.struct, traced.unused
            warn_unused_axes(unused, self.model, type(self).__name__)
            self._blob = self._payload(describe_outputs(struct))
            self._struct = struct
        return self._struct

    def _compute(self, ranges: Ranges, sink: AbstractSink, bar: Any) -> None:
        if not ranges:
            return
        # Pending ranges are runs of whole chunks: a task per chunk.
        tasks = batches(ranges, sink.chunk_size)
        target = str(sink.path) if isinstance(sink, ZarrSink) else None
        with _connect(self.client, self.n_workers) as client:
            _wait_for_workers(client, self.client, self.worker_timeout)
            self._submit_and_collect(client, tasks, target, sink, bar)

    def _payload(self, expected: dict) -> tuple[dict[str, Any], bytes]:
        """What every task gets: the client's numeric JAX flags (applied on
        the worker before anything is unpickled) and the pickled sweep."""
        config = numeric_config()
        try:
            blob = cloudpickle.dumps(
                (self.model, self.space, self.args, self.kwargs, self.n_vmap, expected)
            )
        except Exception as err:
            raise TypeError(
                "DistributedExecution ships the model, space and extra arguments "
                f"to Dask workers with cloudpickle, which failed: "
                f"{type(err).__name__}: {err}. Define the model at module level "
                "and pass picklable arguments."
            ) from err
        return config, blob

    def _submit_and_collect(self, client, tasks, target, sink, bar) -> None:
        # With a store, the run's lock token: workers write only while the
        # store's lock holds it.
        run = sink.token if isinstance(sink, ZarrSink) else uuid.uuid4().hex
        # A task (not scatter) carries the payload, so the scheduler can
        # recompute it if the worker holding it dies.
        blob = client.submit(identity, self._blob, key=f"sweepjax-payload-{run}")
        pending: dict[str, tuple[int, Any]] = {}
        try:
            self._collect(client, tasks, run, blob, target, sink, bar, pending)
        finally:
            # However the run ends: tasks not started never start (running
            # ones finish, and their writes are fenced off by the lock).
            with suppress(Exception):  # a lost scheduler: nothing to cancel
                client.cancel([blob, *(f for _, f in pending.values())])

    def _collect(self, client, tasks, run, blob, target, sink, bar, pending) -> None:
        from distributed import as_completed

        for start, stop in tasks:
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
        failed: PointFailed | None = None
        # the run's client's loop: it need not be dask's default client
        futures = [f for _, f in pending.values()]
        for future in as_completed(futures, loop=client.loop):
            start, _ = pending.pop(future.key)
            if failed is not None and start > failed.index:
                continue  # cancelled: after the failure
            try:
                start, stop, leaves, nonfinite = future.result()
            except Exception as err:
                index = err.index if isinstance(err, ChunkFailed) else start
                if failed is None or index < failed.index:
                    what = f"chunk (after {self.retries} retries)"
                    failed = PointFailed(index, err, what)
                    # Chunks before the failure still finish, so the partial
                    # result holds every point before it; the others stop.
                    client.cancel([f for a, f in pending.values() if a > index])
                continue
            if leaves is not None:
                sink.write(start, stop, leaves)
            else:
                sink.mark_written(start, stop)
                sink.add_nonfinite(*nonfinite)
            bar.update(stop - start)
            del future  # releases the chunk's outputs held by the worker
        if failed is not None:
            raise failed


def _wait_for_workers(client: Any, given: Any, timeout: float | None) -> None:
    """Wait up to `timeout` seconds for a first worker, else a TimeoutError
    naming the scheduler (tasks sent to a scheduler without workers wait for
    ever, at 0%)."""
    if client.scheduler_info().get("workers") or timeout is None:
        return
    if getattr(given, "requested", None):
        return  # a cluster object starting the workers it was asked for
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError:
        address = client.scheduler.address
        raise TimeoutError(
            f"The Dask scheduler at {address!r} has no workers (waited "
            f"{timeout:g} s): start some (`dask worker {address}`, or scale "
            "your cluster), or pass worker_timeout=None to wait for workers that "
            "start later."
        ) from None


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
    elif isinstance(client, str):
        with connect_scheduler(client) as own:
            yield own
    else:
        with Client(client) as own:
            yield own


def connect_scheduler(address: str, timeout: float | None = None) -> Any:
    """A `distributed.Client` connected to the scheduler at `address`.

    Args:
        address: the scheduler's address, ``"tcp://host:8786"``.
        timeout: seconds to keep trying (None: Dask's ``distributed.comm.
            timeouts.connect``, 30 s by default).

    Raises:
        OSError: the scheduler cannot be reached; the message names the
            address and fits on one line.
    """
    from distributed import Client

    try:
        return Client(address, **({} if timeout is None else {"timeout": timeout}))
    except OSError as err:
        detail = " ".join(str(err).split())
        raise OSError(
            f"cannot reach the Dask scheduler at {address!r} ({detail}). Check "
            "the address and that the scheduler runs (`dask scheduler` prints "
            "its address), or run on a local cluster instead (--workers N, or "
            "client=None)."
        ) from None
