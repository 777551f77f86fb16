"""Where chunk outputs go: preallocated host arrays (a store is another sink)."""

from __future__ import annotations

import abc
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._result import Result, output_names
from sweepjax._space import Space

_SHOW_INDICES = 5

Bounds = list[tuple[int, int]]


class AbstractSink(abc.ABC):
    """Receives a sweep's outputs chunk by chunk and hands back a `Result`.

    The executor calls, in order: `begin` (the space, the chunk size and the
    model's name; a resumable sink checks them against what it holds),
    `pending` (the chunks still to compute), `open` (the per-point output
    structure, a pytree of `jax.ShapeDtypeStruct`, once it is known), `write`
    for each chunk's host outputs, and `result`. Sinks count non-finite points
    as they stream by, so the check never needs every output in memory.
    """

    def __init__(self) -> None:
        self._nonfinite_count = 0
        self._nonfinite_first: list[int] = []

    def begin(self, space: Space, chunk_size: int, model_name: str) -> None:
        """Start a sweep of `space` in chunks of `chunk_size` points."""
        self.space = space
        self.chunk_size = chunk_size
        self.model_name = model_name

    def pending(self, bounds: Bounds) -> Bounds:
        """The chunks of `bounds` that still need computing (all, by default)."""
        return list(bounds)

    @abc.abstractmethod
    def open(self, point_struct: Any) -> None:
        """Prepare storage for ``len(space)`` points shaped like `point_struct`."""

    @abc.abstractmethod
    def _store(
        self, start: int, stop: int, leaves: list[np.ndarray], complete: bool
    ) -> None:
        """Keep `leaves` (each `[stop - start, ...]`) for points [start, stop);
        `complete` says the whole chunk starting at `start` is now written."""

    @abc.abstractmethod
    def result(self, stop: int | None = None) -> Result:
        """A Result over points [0, stop) (all points when None)."""

    def write(self, start: int, stop: int, outputs: Any, complete: bool = True):
        """Store host `outputs` (leaves `[>= stop - start, ...]`) for [start, stop)."""
        leaves = [np.asarray(x)[: stop - start] for x in jax.tree.leaves(outputs)]
        self._track_nonfinite(start, leaves)
        self._store(start, stop, leaves, complete)

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
            first = sorted(self._nonfinite_first)
            warnings.warn(
                f"{self._nonfinite_count} of {len(self.space)} points produced NaN "
                f"or infinite outputs (first indices: {first}); inspect them with "
                "result[i] and result.space[i].",
                RuntimeWarning,
                stacklevel=3,
            )


class MemorySink(AbstractSink):
    """Preallocated host arrays, `[N, *leaf_shape]` per output leaf."""

    def open(self, point_struct: Any) -> None:
        leaves, self._treedef = jax.tree.flatten(point_struct)
        n = len(self.space)
        self._buffers = [np.empty((n, *s.shape), dtype=s.dtype) for s in leaves]

    def _store(self, start, stop, leaves, complete) -> None:
        for buf, leaf in zip(self._buffers, leaves):
            buf[start:stop] = leaf

    def result(self, stop: int | None = None) -> Result:
        n = len(self.space)
        stop = n if stop is None else stop
        outputs = self._treedef.unflatten([b[:stop] for b in self._buffers])
        return Result(self.space if stop == n else self.space[:stop], outputs)


def output_struct(x: Any) -> jax.ShapeDtypeStruct:
    """Shape and dtype of one output leaf (a Python number gets JAX's dtype)."""
    dtype = x.dtype if hasattr(x, "dtype") else jnp.asarray(x).dtype
    return jax.ShapeDtypeStruct(np.shape(x), dtype)


def describe_outputs(point_struct: Any) -> dict[str, Any]:
    """JSON-able names, shapes and dtypes of a per-point output structure."""
    leaves = jax.tree.leaves(point_struct)
    return {
        name: {"shape": list(s.shape), "dtype": str(s.dtype)}
        for name, s in zip(output_names(point_struct), leaves)
    }


def model_name(model: Any) -> str:
    """A stable name for a model: ``module.qualname`` of the function or class."""
    target = model if hasattr(model, "__qualname__") else type(model)
    return f"{getattr(target, '__module__', '?')}.{target.__qualname__}"
