"""ParallelExecution: fixed-shape chunks through one compiled, vectorised model."""

from __future__ import annotations

from collections.abc import Callable
from os import PathLike
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from sweepjax._result import Result
from sweepjax._space import Space
from sweepjax.execution._base import (
    check_model_and_space,
    check_positive_int,
    chunk_bounds,
    failure,
    progress_bar,
    resolve_sink,
)
from sweepjax.execution._sink import AbstractSink, model_name

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
    """A model compiled once for chunks of `chunk_size` points of a space.

    The chunk function takes per-dimension positions ``[chunk_size, n_dims]``
    (int32) and gathers each axis's values on the device, so only positions
    travel per chunk. Array leaves of the state and of the extra arguments
    are device-resident inputs; everything else (strings, Python objects and
    numbers) is closed over as a compile-time constant.
    """

    def __init__(
        self,
        model: Callable[..., Any],
        space: Space,
        args: tuple,
        kwargs: dict,
        n_vmap: int,
        n_pmap: int,
    ):
        self.space = space
        self.chunk_size = n_vmap * n_pmap
        leaves = [None if i in space._slots else x for i, x in enumerate(space._leaves)]
        dynamic, static = eqx.partition((leaves, args, kwargs), eqx.is_array)

        def point(dynamic, tables, pos):
            leaves, args, kwargs = eqx.combine(dynamic, static)
            state = space.assemble(pos, tables=tables, leaves=leaves)
            return model(state, *args, **kwargs)

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
        self._inputs = jax.device_put((dynamic, space._tables), replicated)
        n_dims = len(space.effective_axes)
        pos = jax.ShapeDtypeStruct(
            (self.chunk_size, n_dims), jnp.int32, sharding=self._pos_sharding
        )
        lowered = fn.lower(*self._inputs, pos)
        self._compiled = lowered.compile()
        self.point_struct = jax.tree.map(
            lambda s: jax.ShapeDtypeStruct(s.shape[1:], s.dtype), lowered.out_info
        )

    def positions(self, start: int, stop: int) -> np.ndarray:
        """Positions of points [start, stop), padded to a full chunk by
        repeating the last real point (a valid input, discarded afterwards)."""
        idx = np.minimum(np.arange(start, start + self.chunk_size), stop - 1)
        return self.space.positions(idx).astype(np.int32)

    def __call__(self, positions: np.ndarray) -> Any:
        """Dispatch one chunk (asynchronously); returns device outputs."""
        pos = jax.device_put(positions, self._pos_sharding)
        return self._compiled(*self._inputs, pos)


class ParallelExecution:
    """Run a model over a space in vectorised chunks, on one or more devices.

    Each call evaluates ``n_vmap`` points per device on ``n_pmap`` devices
    (a `jax.sharding` mesh with `shard_map`), so a chunk holds
    ``n_vmap * n_pmap`` points. The model is traced and compiled once per
    sweep; the last chunk is padded with a real point whose output is
    dropped, so the model never sees made-up inputs. Outputs stream to host
    arrays chunk by chunk while the next chunk computes, so device memory
    holds about one chunk whatever the size of the space.

    >>> result = ParallelExecution(model, space, n_vmap=64).run()
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
        check_model_and_space(model, space)
        self.model = model
        self.space = space
        self.args = args
        self.kwargs = kwargs
        self.n_vmap = check_positive_int("n_vmap", n_vmap)
        self.n_pmap = check_positive_int("n_pmap", n_pmap)
        check_devices(self.n_pmap)
        self.progress = progress
        self._sweep: CompiledSweep | None = None

    def compile(self) -> CompiledSweep:
        """Trace and compile the chunk function once; later runs reuse it."""
        if self._sweep is None:
            self._sweep = CompiledSweep(
                self.model, self.space, self.args, self.kwargs, self.n_vmap, self.n_pmap
            )
        return self._sweep

    def run(self, store: str | PathLike | None = None, resume: bool = False) -> Result:
        """Evaluate every point and return a `Result` in space order.

        With `store`, outputs go to a Zarr store at that path chunk by chunk;
        ``resume=True`` continues an interrupted run there, skipping the
        chunks already written.
        """
        space, sink = self.space, resolve_sink(store, resume)
        sink.begin(space, self.n_vmap * self.n_pmap, model_name(self.model))
        try:
            sweep = self.compile()
        except Exception as err:
            raise failure(space, sink, 0, 0, err, "tracing the model") from err
        sink.open(sweep.point_struct)
        todo = sink.pending(chunk_bounds(len(space), sweep.chunk_size))
        with progress_bar(len(space), self.progress) as bar:
            bar.update(len(space) - sum(b - a for a, b in todo))
            stream(sweep, todo, sink, bar)
        sink.warn_nonfinite()
        return sink.result()


def stream(sweep: CompiledSweep, bounds, sink: AbstractSink, bar) -> None:
    """Run chunks in order, writing each one while the next one computes."""
    pending = None

    def flush(chunk):
        start, stop, out = chunk
        try:
            host = jax.device_get(out)
        except Exception as err:
            raise failure(sweep.space, sink, start, start, err, "chunk") from err
        sink.write(start, stop, host)
        bar.update(stop - start)

    for start, stop in bounds:
        try:
            out = sweep(sweep.positions(start, stop))
        except Exception as err:
            if pending is not None:
                flush(pending)
            raise failure(sweep.space, sink, start, start, err, "chunk") from err
        if pending is not None:
            flush(pending)
        pending = (start, stop, out)
    if pending is not None:
        flush(pending)
