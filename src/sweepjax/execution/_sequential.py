"""SequentialExecution: one model call per point, in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from sweepjax._sink import AbstractSink, Ranges, output_struct
from sweepjax._space import Space
from sweepjax.execution._base import AbstractExecution, PointFailed, batches

__all__ = ["SequentialExecution"]

#: Points handed to the sink at once (bounds the host memory of a run).
_WRITE_EVERY = 1024


class SequentialExecution(AbstractExecution):
    """Run `model(state, *args, **kwargs)` on every point of `space`, in order.

    The model is called as written (no jit, no vmap), which makes this the
    executor for debugging, models that do not vectorise, and small spaces.
    Every point's outputs must have the structure, shapes and dtypes of the
    first point's. If the model raises, an `ExecutionError` names the index
    and its parameters and carries the points computed so far in `.partial`.

    >>> space = Space({"x": GridAxis(0.0, 1.0, 3)})
    >>> result = SequentialExecution(lambda s: s["x"] ** 2, space, progress=False).run()
    >>> [float(v) for v in result.outputs]
    [0.0, 0.25, 1.0]
    """

    _stops_between_batches = True  # a Ctrl-C stops after the point in flight

    def __init__(
        self,
        model: Callable[..., Any],
        space: Space,
        *args: Any,
        progress: bool = True,
        **kwargs: Any,
    ):
        super().__init__(model, space, args, kwargs, {"progress": progress})
        self._first: tuple[int, Any] = (-1, None)

    def _call(self, index: int, state: Any) -> Any:
        try:
            return self.model(state, *self.args, **self.kwargs)
        except Exception as err:
            raise PointFailed(index, err) from err

    def _output_struct(self, first: int) -> Any:
        if self._trace is not None:  # a store run traced one point already
            return self._trace.struct
        # The first pending point's outputs define the structure; they are
        # kept so that point is not computed twice.
        out = self._call(first, self.space[first])
        self._first = (first, out)
        return jax.tree.map(output_struct, out)

    def _compute(self, ranges: Ranges, sink: AbstractSink, bar: Any) -> None:
        structs, treedef = jax.tree.flatten(sink.point_struct)
        expected = [(s.shape, s.dtype) for s in structs]
        (first, first_out), self._first = self._first, (-1, None)
        for start, stop in batches(ranges, _WRITE_EVERY):
            rows: list[list[Any]] = []
            try:
                for i, state in enumerate(self.space.iterate(start, stop), start):
                    if self._stopping():
                        break
                    out = first_out if i == first else self._call(i, state)
                    leaves, got = jax.tree.flatten(out)
                    found = [_shape_dtype(x) for x in leaves]
                    if got != treedef or found != expected:
                        raise PointFailed(
                            i,
                            ValueError(
                                f"the model returned {got} with (shape, dtype) "
                                f"{found}, but {treedef} with {expected} at point "
                                f"{first}; outputs must keep one structure, "
                                "shape and dtype across the space."
                            ),
                        )
                    rows.append(leaves)
                    bar.update(1)
            finally:
                if rows:
                    sink.write(start, start + len(rows), _stack(rows, structs))
            if self._stopping():
                return


def _shape_dtype(x: Any) -> tuple:
    """`output_struct` without building one (this runs for every point)."""
    dtype = getattr(x, "dtype", None)
    if dtype is None or not hasattr(x, "shape"):
        s = output_struct(x)
        return s.shape, s.dtype
    return tuple(x.shape), dtype


def _stack(rows: list[list[Any]], structs: list[jax.ShapeDtypeStruct]) -> list:
    return [
        np.stack([np.asarray(row[k], s.dtype) for row in rows])
        for k, s in enumerate(structs)
    ]
