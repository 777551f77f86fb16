"""SequentialExecution: one model call per point, in order."""

from __future__ import annotations

from collections.abc import Callable
from os import PathLike
from typing import Any

import jax
import numpy as np

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
from sweepjax.execution._sink import model_name, output_struct


class SequentialExecution:
    """Run `model(state, *args, **kwargs)` on every point of `space`, in order.

    The model is called as written (no jit, no vmap), which makes this the
    executor for debugging, models that do not vectorise, and small spaces.
    Outputs must have the same structure and shapes at every point; they are
    handed to the result (or store) every `chunk_size` points. If the model
    raises, an `ExecutionError` names the index and its parameters and carries
    the points computed so far in `.partial`.

    >>> result = SequentialExecution(lambda s: s["x"] ** 2, space).run()
    """

    def __init__(
        self,
        model: Callable[..., Any],
        space: Space,
        *args: Any,
        progress: bool = True,
        chunk_size: int = 1024,
        **kwargs: Any,
    ):
        check_model_and_space(model, space)
        self.model = model
        self.space = space
        self.args = args
        self.kwargs = kwargs
        self.progress = progress
        self.chunk_size = check_positive_int("chunk_size", chunk_size)

    def run(self, store: str | PathLike | None = None, resume: bool = False) -> Result:
        """Evaluate every point and return a `Result` in space order.

        With `store`, outputs go to a Zarr store at that path chunk by chunk;
        ``resume=True`` continues an interrupted run there.
        """
        space, sink = self.space, resolve_sink(store, resume)
        sink.begin(space, self.chunk_size, model_name(self.model))
        todo = sink.pending(chunk_bounds(len(space), self.chunk_size))
        expected = None
        with progress_bar(len(space), self.progress) as bar:
            bar.update(len(space) - sum(b - a for a, b in todo))
            for start, stop in todo:
                outs = []
                for offset, pos in enumerate(space.positions(np.arange(start, stop))):
                    i = start + offset
                    try:
                        out = self.model(space.assemble(pos), *self.args, **self.kwargs)
                        leaves, treedef = jax.tree.flatten(out)
                        got = (treedef, [np.shape(x) for x in leaves])
                        if expected is None:
                            sink.open(jax.tree.map(output_struct, out))
                            expected = got
                        elif got != expected:
                            raise ValueError(
                                f"the model returned {got}, but {expected} at the "
                                "first point; outputs must keep one structure "
                                "and shape across the space."
                            )
                    except Exception as err:
                        if outs:
                            sink.write(start, i, _stack(outs), complete=False)
                        raise failure(space, sink, i, i, err, "model") from err
                    outs.append(out)
                    bar.update(1)
                sink.write(start, stop, _stack(outs))
        sink.warn_nonfinite()
        return sink.result()


def _stack(outs: list[Any]) -> Any:
    return jax.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *outs)
