"""ParallelExecution: fixed-shape chunks through one compiled, vectorised model."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from sweepjax._failures import raise_code
from sweepjax._positions import batch_positions, flat_dtype
from sweepjax._sink import AbstractSink, Ranges, warn_slow_chunks
from sweepjax._space import Space
from sweepjax._tree import check_positive_int
from sweepjax.execution._base import AbstractExecution, PointFailed, batches
from sweepjax.execution._dependencies import (
    PointTrace,
    ignored_axes,
    point_program,
    replay,
    warn_unused_axes,
)
from sweepjax.execution._memory import AUTO_MAX, AUTO_SHARE, check_fits, fitting_n_vmap

__all__ = ["CompiledSweep", "ParallelExecution", "check_devices", "stream"]

_AXIS = "points"
#: Points per device of every compiled batch, at least: XLA compiles a batch
#: of one to other kernels (a matrix-vector product for a matrix product),
#: whose round-off differs, so outputs would depend on `n_vmap`.
MIN_VMAP = 2
#: `n_vmap="auto"` first compiles a batch of this many points per device
#: to measure what a point needs.
AUTO_PROBE = 8
#: Device-resident positions kept per compiled sweep, so that a warm re-run
#: of the same batches transfers nothing (they are a few bytes per point).
_POSITIONS_KEPT_BYTES = 2**20


def check_devices(n_pmap: int) -> list[jax.Device]:
    available = jax.device_count()
    if n_pmap > available:
        raise ValueError(
            f"`n_pmap={n_pmap}` asks for more devices than the {available} JAX "
            f"sees ({jax.devices()}). On CPU, start Python with "
            f"XLA_FLAGS=--xla_force_host_platform_device_count={n_pmap} set "
            "before JAX is imported to get virtual devices."
        )
    return jax.devices()[:n_pmap]


class CompiledSweep:
    """A model compiled once for batches of `batch_size` points of a space.

    The batch function takes the batch's bounds ``[start, stop]`` (two
    integers), computes the points' per-dimension positions on the device
    (`batch_positions`) and gathers each axis's values there, so two numbers
    travel per chunk. A product space whose flat indices outgrow the
    integers the device has (`flat_dtype`) sends its positions
    ``[batch_size, n_dims]`` from the host instead. Array leaves of the
    state and of the extra arguments are device-resident inputs; everything
    else (strings, Python objects and numbers) is closed over as a
    compile-time constant (`point_program`). A device's share of a batch
    holds at least `MIN_VMAP` points. Given the point's `trace` (a store run
    fingerprints it), the batch function batches that traced program
    instead of tracing the model again. The checks the model meets (a
    network solve's, `sweepjax._failures.collecting_checks`) give each point
    a failure code, an output of the batch raised on the host when the
    batch is collected (`stream`), not a host callback: JAX's persistent
    compilation cache can store the program.
    """

    def __init__(
        self,
        model: Callable[..., Any],
        space: Space,
        args: tuple,
        kwargs: dict,
        n_vmap: int,
        n_pmap: int,
        trace: PointTrace | None = None,
    ):
        self.space = space
        self.batch_size = max(n_vmap, MIN_VMAP) * n_pmap
        self._pos_dtype = space.position_dtype
        point, dynamic, self.messages = point_program(model, space, args, kwargs)
        if trace is not None:
            point, self.messages = replay(trace), trace.messages
        chunk = jax.vmap(point, in_axes=(None, None, 0))
        devices = check_devices(n_pmap)
        if n_pmap == 1:
            pos_sharding = jax.sharding.SingleDeviceSharding(devices[0])
            replicated = pos_sharding
        else:
            mesh = Mesh(np.array(devices), (_AXIS,))
            pos_sharding = NamedSharding(mesh, P(_AXIS))
            replicated = NamedSharding(mesh, P())
            chunk = jax.shard_map(
                chunk,
                mesh=mesh,
                in_specs=(P(), P(), P(_AXIS)),
                out_specs=P(_AXIS),
                # Points are independent: no cross-device values to check,
                # and the check rejects models whose loops start from an
                # unbatched carry (a scan from a fixed initial state).
                check_vma=False,
            )
        self._inputs = jax.device_put((dynamic, space.tables), replicated)
        sizes, index = space.grid_shape, space.index_range
        self._flat_dtype = flat_dtype(index, sizes, space.mode, self._pos_dtype)
        if self._flat_dtype is None:  # positions from the host
            self._in_sharding = pos_sharding
            fn = jax.jit(chunk)
            batch_in = jax.ShapeDtypeStruct(
                (self.batch_size, len(sizes)), self._pos_dtype, sharding=pos_sharding
            )
        else:
            self._in_sharding = replicated

            def on_device(dynamic, tables, bounds):
                pos = batch_positions(
                    index, sizes, space.mode, bounds, self.batch_size, self._pos_dtype
                )
                pos = jax.lax.with_sharding_constraint(pos, pos_sharding)
                return chunk(dynamic, tables, pos)

            fn = jax.jit(on_device)
            batch_in = jax.ShapeDtypeStruct((2,), self._flat_dtype, sharding=replicated)
        # One trace serves the compilation and the dependency analysis.
        traced = fn.trace(*self._inputs, batch_in)
        lowered = traced.lower()
        self._compiled = lowered.compile()
        self.point_struct = jax.tree.map(
            lambda s: jax.ShapeDtypeStruct(s.shape[1:], s.dtype), lowered.out_info[0]
        )
        #: The axes no output depends on (`ignored_axes`), read off the trace.
        self.unused_axes = ignored_axes(
            traced.jaxpr, space, len(jax.tree.leaves(dynamic))
        )
        self._placed: OrderedDict[tuple[int, int], jax.Array] = OrderedDict()

    def positions(self, start: int, stop: int) -> np.ndarray:
        """Positions of points [start, stop), padded to a full batch by
        repeating the last real point (a valid input, discarded afterwards)."""
        idx = np.minimum(np.arange(start, start + self.batch_size), stop - 1)
        return self.space.positions(idx).astype(self._pos_dtype)

    def placed_positions(self, start: int, stop: int) -> jax.Array:
        """What the batch function reads for points [start, stop), on the
        device: their bounds, or their host `positions`. The latest batches'
        are kept (about `_POSITIONS_KEPT_BYTES`), so a re-run sends nothing."""
        pos = self._placed.get((start, stop))
        if pos is None:
            if self._flat_dtype is None:
                host = self.positions(start, stop)
            else:
                host = np.array([start, stop], self._flat_dtype)
            pos = jax.device_put(host, self._in_sharding)
            kept = _POSITIONS_KEPT_BYTES // max(pos.nbytes, 1)
            while self._placed and len(self._placed) >= kept:
                self._placed.popitem(last=False)
            if kept:
                self._placed[(start, stop)] = pos
        return pos

    def __call__(self, placed: jax.Array) -> Any:
        """Dispatch one batch (asynchronously) from its `placed_positions`;
        returns ``(outputs, codes)`` on the device, `codes` the points'
        failure codes (None when the model has no checks; `check`)."""
        return self._compiled(*self._inputs, placed)

    def check(self, codes: Any, start: int) -> None:
        """Raise `PointFailed` for the first point of a batch starting at
        `start` whose failure code (host values of `__call__`'s) is not 0."""
        try:
            raise_code(codes, self.messages)
        except ValueError as err:
            index = start + int(np.flatnonzero(np.asarray(codes))[0])
            raise PointFailed(index, err) from None

    def memory(self) -> tuple[int, int] | None:
        """``(need, fixed)``: bytes one device needs to run a batch (XLA's
        memory analysis: arguments, outputs and temporaries), and the part of
        it that does not grow with the batch (the shared inputs). None when
        the backend gives no analysis."""
        stats = self._compiled.memory_analysis()
        if stats is None:
            return None
        need = (
            stats.argument_size_in_bytes
            + stats.output_size_in_bytes
            + stats.temp_size_in_bytes
            - stats.alias_size_in_bytes
        )
        fixed = sum(x.nbytes for x in jax.tree.leaves(self._inputs))
        return need, min(fixed, need)


class ParallelExecution(AbstractExecution):
    """Run a model over a space in vectorised batches, on one or more devices.

    Each call evaluates ``n_vmap`` points per device on ``n_pmap`` devices
    (a `jax.sharding` mesh with `shard_map`), so a batch holds
    ``n_vmap * n_pmap`` points. The model is traced and compiled once per
    executor; the last batch is padded with a real point whose output is
    dropped, so the model never sees made-up inputs. Outputs stream to host
    arrays (or a store) batch by batch while the next batch computes, so
    device memory holds about one batch whatever the size of the space.
    ``n_vmap`` and ``n_pmap`` are speed settings only: the result, and a
    store's chunks, do not depend on them (to the bit).

    A batch never holds more points than the space: ``n_vmap`` is clamped to
    ``ceil(len(space) / n_pmap)``; and it holds at least `MIN_VMAP` points
    per device (``n_vmap=1`` runs two points per call). ``n_vmap="auto"``
    compiles a batch of `AUTO_PROBE` points per device, reads its memory
    from XLA's analysis, and picks the largest batch needing at most a
    quarter of the device's free memory, at most `AUTO_MAX` points per
    device. A batch that cannot fit in the free memory is refused before
    anything runs.

    >>> space = Space({"x": GridAxis(0.0, 1.0, 5)})
    >>> result = ParallelExecution(lambda s: s["x"] * 2, space, n_vmap=4).run()
    >>> result.outputs.tolist()
    [0.0, 0.5, 1.0, 1.5, 2.0]
    """

    _stops_between_batches = True

    def __init__(
        self,
        model: Callable[..., Any],
        space: Space,
        *args: Any,
        n_vmap: int | str = 1,
        n_pmap: int = 1,
        progress: bool = True,
        **kwargs: Any,
    ):
        options = {"n_vmap": n_vmap, "n_pmap": n_pmap, "progress": progress}
        super().__init__(model, space, args, kwargs, options)
        self.n_vmap = _check_n_vmap(n_vmap)
        self.n_pmap = check_positive_int("n_pmap", n_pmap)
        self._device = check_devices(self.n_pmap)[0]
        _ = space.position_dtype  # an axis too long for int32 needs x64: say so now
        self._sweep: CompiledSweep | None = None

    def compile(self) -> CompiledSweep:
        """Trace and compile the batch function once; later runs reuse it.

        The first call warns (`UnusedAxisWarning`) naming any swept axis that
        no output depends on, found in the traced program.
        """
        if self._sweep is None:
            self._sweep = self._fitting_sweep()
            # once per executor
            warn_unused_axes(self._sweep.unused_axes, self.model, type(self).__name__)
        return self._sweep

    def _fitting_sweep(self) -> CompiledSweep:
        """The compiled sweep with the batch size to use: clamped to the
        space, chosen from memory for "auto", refused if it cannot fit."""
        covering = -(-len(self.space) // self.n_pmap)  # per device
        if self.n_vmap == "auto":
            probe = min(AUTO_PROBE, covering)
            sweep = self._sweep_of(probe)
            memory = sweep.memory()
            n_vmap = min(AUTO_MAX, covering)
            if memory is not None:
                share = max(probe, MIN_VMAP)
                fit = fitting_n_vmap(
                    *memory, share, self._device, self.n_pmap, AUTO_SHARE
                )
                n_vmap = n_vmap if fit is None else max(1, min(n_vmap, fit))
            if max(n_vmap, MIN_VMAP) != max(probe, MIN_VMAP):
                sweep = self._sweep_of(n_vmap)
        else:
            sweep = self._sweep_of(min(self.n_vmap, covering))
        memory = sweep.memory()
        if memory is not None:
            label = f"ParallelExecution(n_vmap={self.n_vmap!r}, n_pmap={self.n_pmap})"
            per_device = sweep.batch_size // self.n_pmap
            check_fits(*memory, per_device, self._device, self.n_pmap, label, MIN_VMAP)
        return sweep

    def _sweep_of(self, n_vmap: int) -> CompiledSweep:
        return CompiledSweep(
            self.model,
            self.space,
            self.args,
            self.kwargs,
            n_vmap,
            self.n_pmap,
            trace=self._trace,  # a store run's fingerprint traced it already
        )

    def _output_struct(self, first: int) -> Any:
        return self.compile().point_struct

    def _check_layout(self, sink: AbstractSink) -> None:
        warn_slow_chunks(sink, self.compile().batch_size)

    def _compute(self, ranges: Ranges, sink: AbstractSink, bar: Any) -> None:
        sweep = self.compile()
        bounds = batches(ranges, sweep.batch_size)
        stream(sweep, bounds, sink, bar, stopping=self._stopping)


def _check_n_vmap(n_vmap: Any) -> int | str:
    if isinstance(n_vmap, str):
        if n_vmap != "auto":
            raise ValueError(
                f"`n_vmap` must be a positive int or 'auto', got {n_vmap!r}."
            )
        return n_vmap
    return check_positive_int("n_vmap", n_vmap)


def _never() -> bool:
    return False


def stream(
    sweep: CompiledSweep,
    bounds: Ranges,
    sink: AbstractSink,
    bar: Any,
    offset: int = 0,
    stopping: Callable[[], bool] = _never,
) -> None:
    """Run batches in order, writing each one while the next one computes.

    Points ``[start, stop)`` of the space go to ``[start - offset, stop -
    offset)`` of the sink (a worker's sink holds only its task's points).
    Once `stopping()` is true no batch starts; the one in flight is written.
    """
    pending = None

    def flush(batch):
        start, stop, (out, codes) = batch
        try:
            host, codes = jax.device_get((out, codes))
        except Exception as err:
            raise PointFailed(start, err, "batch") from err
        if codes is not None:
            sweep.check(codes, start)  # a point's check failed: the batch fails
        sink.write(start - offset, stop - offset, host)
        bar.update(stop - start)

    for start, stop in bounds:
        if stopping():
            break
        try:
            out = sweep(sweep.placed_positions(start, stop))
        except Exception as err:
            if pending is not None:
                flush(pending)
            raise PointFailed(start, err, "batch") from err
        if pending is not None:
            flush(pending)
        pending = (start, stop, out)
    if pending is not None:
        flush(pending)
