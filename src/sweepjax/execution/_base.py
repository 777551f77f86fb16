"""The run template every executor fills in, and what a failed sweep raises."""

from __future__ import annotations

import abc
from collections.abc import Callable
from os import PathLike
from typing import Any

import jax
from tqdm.auto import tqdm

from sweepjax._result import Result
from sweepjax._sink import AbstractSink, MemorySink, Ranges, model_name
from sweepjax._space import Space
from sweepjax._store import ZarrSink, provenance
from sweepjax.execution._dependencies import (
    PointTrace,
    check_shadowed_options,
    trace_point,
)
from sweepjax.execution._interrupt import StopRequest
from sweepjax.execution._memory import BatchTooLarge

__all__ = ["AbstractExecution", "ExecutionError", "PointFailed", "SweepInterrupted"]


class ExecutionError(RuntimeError):
    """A model call failed during a sweep.

    Attributes:
        index: flat index of the first failing point (the batch's first point
            for vectorised executors).
        parameters: that point's axis values, by name.
        partial: a `Result` over the points computed before the failure (None
            when none were), so nothing already computed is lost.

    >>> try:
    ...     SequentialExecution(lambda s: 1 / 0, space, progress=False).run()
    ... except ExecutionError as error:
    ...     print(error.index, error.parameters, error.partial)
    0 {'x': 0.0} None
    """

    def __init__(self, message: str, index: int, parameters: dict, partial):
        super().__init__(message)
        self.index = index
        self.parameters = parameters
        self.partial: Result | None = partial


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep: still a `KeyboardInterrupt`, carrying in
    `.partial` a `Result` over the points finished before it (None if none).

    The first Ctrl-C lets the batch in flight finish and be written (to
    memory or the store) before this is raised; a second one stops at once.

    >>> issubclass(SweepInterrupted, KeyboardInterrupt)
    True
    """

    def __init__(self, message: str, partial):
        super().__init__(message)
        self.partial: Result | None = partial


class PointFailed(Exception):
    """Raised inside an executor's compute step: the point `index` failed
    with `cause` while doing `what`; the template turns it into an
    `ExecutionError` that keeps the points written so far."""

    def __init__(self, index: int, cause: BaseException, what: str = "model"):
        super().__init__(index, cause, what)
        self.index, self.cause, self.what = index, cause, what


class AbstractExecution(abc.ABC):
    """Runs ``model(state, *args, **kwargs)`` over every point of a space.

    `run` is the one run template: open the sink (memory or store), learn the
    per-point output structure (`_output_struct`), lay the outputs out, ask
    the sink which ranges are still to compute, hand them to the executor's
    compute step (`_compute`), and return the `Result`. A subclass fills in
    those two methods; nothing else about a run differs between executors.
    A subclass whose `_compute` checks `self._stopping()` between batches sets
    `_stops_between_batches`: a Ctrl-C then keeps the batch in flight.

    >>> issubclass(ParallelExecution, AbstractExecution)
    True
    >>> len(SequentialExecution(model, space, progress=False).run())
    5
    """

    _stops_between_batches = False

    def __init__(
        self,
        model: Callable[..., Any],
        space: Space,
        args: tuple,
        kwargs: dict,
        options: dict[str, Any],
    ):
        if not callable(model):
            raise TypeError(
                f"`model` must be callable as model(state, *args, **kwargs), got "
                f"{type(model).__name__}."
            )
        check_shadowed_options(model, options, args, executor=type(self).__name__)
        if not isinstance(space, Space):
            raise TypeError(
                f"`space` must be a sweepjax.Space, got {type(space).__name__}; "
                "wrap your state: Space(state, mode='product')."
            )
        self.model, self.space, self.args, self.kwargs = model, space, args, kwargs
        self.progress = options["progress"]
        self._record: dict | None = None
        self._stopping: StopRequest = StopRequest(enabled=False)
        self._trace: PointTrace | None = None

    def run(
        self,
        store: str | PathLike | None = None,
        resume: bool = False,
        chunk_size: int | None = None,
    ) -> Result:
        """Evaluate every point and return a `Result` in space order.

        Args:
            store: a directory path: outputs stream to a Zarr store there,
                chunk by chunk (None: host memory).
            resume: continue the interrupted sweep in `store`, skipping its
                done chunks; any executor and batch size may resume it. It
                refuses a changed model, parameters or arguments unless
                ``resume="force"``.
            chunk_size: points per chunk of the store (the unit of resume).
                Default: the stored one when resuming, else about 8 MiB of
                outputs per chunk, at most 4096 points.

        >>> executor = ParallelExecution(model, space, n_vmap=2, progress=False)
        >>> result = executor.run(store="sweep.zarr", chunk_size=2)
        >>> store_info("sweep.zarr").n_chunks, float(result[4]["y"])
        (3, 1.0)
        """
        space, sink = self.space, _make_sink(store, resume)
        with StopRequest(enabled=self._stops_between_batches) as self._stopping:
            sink.begin(space, self._provenance(store is not None), chunk_size)
            try:
                return self._run(sink)
            finally:
                sink.close()

    def _run(self, sink: AbstractSink) -> Result:
        space = self.space
        first = sink.first_pending()
        try:
            struct = None
            if first < len(space):
                try:
                    struct = self._output_struct(first)
                except (PointFailed, BatchTooLarge):
                    raise
                except Exception as err:
                    raise PointFailed(first, err, "tracing the model") from err
            sink.open(struct)
            todo = sink.pending()
            if todo:
                self._check_layout(sink)
                if self._stopping():
                    raise KeyboardInterrupt
            # initial=: points done before a resume count towards the total
            # but not towards the rate (points/s) nor the time left.
            before = len(space) - sum(b - a for a, b in todo)
            with tqdm(
                total=len(space),
                initial=before,
                disable=not self.progress,
                unit="pt",
                dynamic_ncols=True,
                postfix=_resumed(sink, todo, before) if before else None,
            ) as bar:
                self._compute(todo, sink, bar)
            if self._stopping() and sink.pending():
                raise KeyboardInterrupt
        except PointFailed as failed:
            _settle_effects()
            raise self._failure(sink, failed) from failed.cause
        except KeyboardInterrupt:
            # JAX's frames say nothing useful here: the message is the story.
            raise self._interrupted(sink) from None
        sink.warn_nonfinite()
        return sink.result()

    @abc.abstractmethod
    def _output_struct(self, first: int) -> Any:
        """The per-point output structure, a pytree of `jax.ShapeDtypeStruct`
        (`first` is the first point to compute)."""

    @abc.abstractmethod
    def _compute(self, ranges: Ranges, sink: AbstractSink, bar: Any) -> None:
        """Compute the points of `ranges` and `sink.write` them; advance `bar`.
        Raise `PointFailed` when a point fails."""

    def output_struct(self) -> Any:
        """The per-point output structure, traced now as `run` traces it (a
        model that fails to trace fails here, before any store is touched)."""
        return self._output_struct(0)

    def _check_layout(self, sink: AbstractSink) -> None:
        """Hook: checks once the sink knows its chunk size (before computing)."""

    def _interrupted(self, sink: AbstractSink) -> SweepInterrupted:
        """A SweepInterrupted saying what is kept and how to go on."""
        done, n = self._keep(sink), len(self.space)
        partial = sink.result(done) if done else None
        if isinstance(sink, ZarrSink):
            kept = sink.kept_points()
            return SweepInterrupted(
                f"Sweep interrupted after {done} points (of {n}): {kept} are kept "
                f"in the store at {str(sink.path)!r}, the first {done} also in "
                "this exception's `.partial`; run again with resume=True to "
                f"compute the other {n - kept}.",
                partial,
            )
        return SweepInterrupted(
            f"Sweep interrupted after {done} points (of {n}); they are in this "
            "exception's `.partial` result (a run with store=... can be resumed).",
            partial,
        )

    def _failure(self, sink: AbstractSink, failed: PointFailed) -> ExecutionError:
        """An ExecutionError for `failed` carrying every point written so far."""
        done = self._keep(sink)
        params = self.space.parameters(failed.index)
        where = _store_hint(sink)
        cause = failed.cause
        return ExecutionError(
            f"{failed.what} failed at index {failed.index} with parameters {params}: "
            f"{type(cause).__name__}: {cause}. The {done} points computed before it "
            f"are in this error's `.partial` result{where}.",
            index=failed.index,
            parameters=params,
            partial=sink.result(done) if done > 0 else None,
        )

    def _provenance(self, full: bool) -> dict:
        """How this executor runs its sweep (a store records and compares it;
        host memory needs only the model's name). Made once per executor.

        It traces one point (no compilation) to fingerprint the program,
        whatever the executor, so a store resumes under any of them; a model
        that cannot be traced (`SequentialExecution` runs those) records no
        fingerprint, and its error surfaces where the run traces or calls it.
        """
        if not full:
            return {"model": {"name": model_name(self.model)}}
        if self._record is None:
            try:
                program = self._point_trace().jaxpr
            except Exception:
                program = None
            self._record = provenance(
                self.model, self.space, self.args, self.kwargs, program
            )
        return self._record

    def _point_trace(self) -> PointTrace:
        """One point's program traced, once per executor (`trace_point`)."""
        if self._trace is None:
            self._trace = trace_point(self.model, self.space, self.args, self.kwargs)
        return self._trace

    @staticmethod
    def _keep(sink: AbstractSink) -> int:
        """Write what the sink buffers; the number of points [0, p) it holds."""
        if not sink.opened:
            return 0
        sink.flush()
        return sink.written_prefix()


def _settle_effects() -> None:
    """Wait for the batches still in flight after a failure and forget their
    host-callback errors: the failure is reported once, as the ExecutionError,
    not again by JAX at interpreter exit ("Exception ignored in atexit")."""
    try:
        jax.effects_barrier()
    except Exception:
        # JAX keeps a failed computation's token and re-raises it at every
        # barrier, exit included; these tokens are JAX internals.
        from jax._src import dispatch

        dispatch.runtime_tokens.clear()


def _store_hint(sink: AbstractSink) -> str:
    if not isinstance(sink, ZarrSink):
        return ""
    return (
        f"; finished chunks are in the store at {str(sink.path)!r}: run again "
        "with resume=True to go on"
    )


def _make_sink(store: Any, resume: bool) -> AbstractSink:
    """The sink for a run: host memory, or a Zarr store at `store` (a path)."""
    if store is None:
        if resume:
            raise ValueError("`resume=True` needs a `store` to resume from.")
        return MemorySink()
    return ZarrSink(store, resume=resume)


def batches(ranges: Ranges, size: int) -> Ranges:
    """``[start, stop)`` batches of at most `size` points covering `ranges`.

    >>> batches([(0, 5), (8, 10)], 2)
    [(0, 2), (2, 4), (4, 5), (8, 10)]
    """
    return [
        (a, min(a + size, stop))
        for start, stop in ranges
        for a in range(start, stop, size)
    ]


def _resumed(sink: AbstractSink, todo: Ranges, before: int) -> str:
    """The progress bar's note of what a resumed sweep found done."""
    size = getattr(sink, "chunk_size", None)
    if not size:
        return f"resumed: {before} points were done"
    n_chunks = -(-len(sink.space) // size)
    pending = sum(-(-(b - a) // size) for a, b in todo)
    return f"resumed: {n_chunks - pending}/{n_chunks} chunks were done"
