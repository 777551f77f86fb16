"""ParallelExecution: fixed-shape chunks through one compiled, vectorised model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from sweepjax._sink import AbstractSink, Ranges
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

__all__ = ["CompiledSweep", "ParallelExecution", "check_devices", "stream"]

_AXIS = "points"


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

    The batch function takes per-dimension positions ``[batch_size, n_dims]``
    (int32) and gathers each axis's values on the device, so only positions
    travel per chunk. Array leaves of the state and of the extra arguments
    are device-resident inputs; everything else (strings, Python objects and
    numbers) is closed over as a compile-time constant (`point_program`).
    Given the point's `trace` (a store run fingerprints it), the batch
    function batches that traced program instead of tracing the model again.
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
        self.batch_size = n_vmap * n_pmap
        point, dynamic = point_program(model, space, args, kwargs)
        if trace is not None:
            point = replay(trace)
        chunk = jax.vmap(point, in_axes=(None, None, 0))
        devices = check_devices(n_pmap)
        if n_pmap == 1:
            self._pos_sharding = jax.sharding.SingleDeviceSharding(devices[0])
            replicated = self._pos_sharding
            fn = jax.jit(chunk)
        else:
            mesh = Mesh(np.array(devices), (_AXIS,))
            self._pos_sharding = NamedSharding(mesh, P(_AXIS))
            replicated = NamedSharding(mesh, P())
            fn = jax.jit(
                jax.shard_map(
                    chunk,
                    mesh=mesh,
                    in_specs=(P(), P(), P(_AXIS)),
                    out_specs=P(_AXIS),
                    # Points are independent: no cross-device values to check,
                    # and the check rejects models whose loops start from an
                    # unbatched carry (a scan from a fixed initial state).
                    check_vma=False,
                )
            )
        self._inputs = jax.device_put((dynamic, space.tables), replicated)
        n_dims = len(space.effective_axes)
        pos = jax.ShapeDtypeStruct(
            (self.batch_size, n_dims), jnp.int32, sharding=self._pos_sharding
        )
        # One trace serves the compilation and the dependency analysis.
        traced = fn.trace(*self._inputs, pos)
        lowered = traced.lower()
        self._compiled = lowered.compile()
        self.point_struct = jax.tree.map(
            lambda s: jax.ShapeDtypeStruct(s.shape[1:], s.dtype), lowered.out_info
        )
        #: The axes no output depends on (`ignored_axes`), read off the trace.
        self.unused_axes = ignored_axes(
            traced.jaxpr, space, len(jax.tree.leaves(dynamic))
        )

    def positions(self, start: int, stop: int) -> np.ndarray:
        """Positions of points [start, stop), padded to a full batch by
        repeating the last real point (a valid input, discarded afterwards)."""
        idx = np.minimum(np.arange(start, start + self.batch_size), stop - 1)
        return self.space.positions(idx).astype(np.int32)

    def __call__(self, positions: np.ndarray) -> Any:
        """Dispatch one batch (asynchronously); returns device outputs."""
        pos = jax.device_put(positions, self._pos_sharding)
        return self._compiled(*self._inputs, pos)


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
    store's chunks, do not depend on them.

    >>> space = Space({"x": GridAxis(0.0, 1.0, 5)})
    >>> result = ParallelExecution(lambda s: s["x"] * 2, space, n_vmap=4).run()
    >>> result.outputs.tolist()
    [0.0, 0.5, 1.0, 1.5, 2.0]
    """

    def __init__(
        self,
        model: Callable[..., Any],
        space: Space,
        *args: Any,
        n_vmap: int = 1,
        n_pmap: int = 1,
        progress: bool = True,
        **kwargs: Any,
    ):
        options = {"n_vmap": n_vmap, "n_pmap": n_pmap, "progress": progress}
        super().__init__(model, space, args, kwargs, options)
        self.n_vmap = check_positive_int("n_vmap", n_vmap)
        self.n_pmap = check_positive_int("n_pmap", n_pmap)
        check_devices(self.n_pmap)
        self._sweep: CompiledSweep | None = None

    def compile(self) -> CompiledSweep:
        """Trace and compile the batch function once; later runs reuse it.

        The first call warns (`UnusedAxisWarning`) naming any swept axis that
        no output depends on, found in the traced program.
        """
        if self._sweep is None:
            self._sweep = CompiledSweep(
                self.model,
                self.space,
                self.args,
                self.kwargs,
                self.n_vmap,
                self.n_pmap,
                trace=self._trace,  # a store run's fingerprint traced it already
            )
            # once per executor
            warn_unused_axes(self._sweep.unused_axes, self.model, type(self).__name__)
        return self._sweep

    def _output_struct(self, first: int) -> Any:
        return self.compile().point_struct

    def _compute(self, ranges: Ranges, sink: AbstractSink, bar: Any) -> None:
        sweep = self.compile()
        stream(sweep, batches(ranges, sweep.batch_size), sink, bar)


def stream(
    sweep: CompiledSweep,
    bounds: Ranges,
    sink: AbstractSink,
    bar: Any,
    offset: int = 0,
) -> None:
    """Run batches in order, writing each one while the next one computes.

    Points ``[start, stop)`` of the space go to ``[start - offset, stop -
    offset)`` of the sink (a worker's sink holds only its task's points).
    """
    pending = None

    def flush(batch):
        start, stop, out = batch
        try:
            host = jax.device_get(out)
        except Exception as err:
            raise PointFailed(start, err, "batch") from err
        sink.write(start - offset, stop - offset, host)
        bar.update(stop - start)

    for start, stop in bounds:
        try:
            out = sweep(sweep.positions(start, stop))
        except Exception as err:
            if pending is not None:
                flush(pending)
            raise PointFailed(start, err, "batch") from err
        if pending is not None:
            flush(pending)
        pending = (start, stop, out)
    if pending is not None:
        flush(pending)
