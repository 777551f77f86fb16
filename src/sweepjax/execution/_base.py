"""What every executor shares: validation, chunk plans, progress, failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from sweepjax._result import Result
from sweepjax._space import Space


class ExecutionError(RuntimeError):
    """A model call failed during a sweep.

    Attributes:
        index: flat index of the first failing point (the chunk's first point
            for vectorised executors).
        parameters: that point's axis values, by name.
        partial: a `Result` over the points computed before the failure (None
            when none were), so nothing already computed is lost.
    """

    def __init__(self, message: str, index: int, parameters: dict, partial):
        super().__init__(message)
        self.index = index
        self.parameters = parameters
        self.partial: Result | None = partial


def check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"`{name}` must be a positive int, got {value!r}.")
    if value <= 0:
        raise ValueError(f"`{name}` must be a positive int, got {name}={value}.")
    return int(value)


def check_model_and_space(model: Callable, space: Space) -> None:
    if not callable(model):
        raise TypeError(
            f"`model` must be callable as model(state, *args, **kwargs), got "
            f"{type(model).__name__}."
        )
    if not isinstance(space, Space):
        raise TypeError(
            f"`space` must be a sweepjax.Space, got {type(space).__name__}; wrap "
            "your state: Space(state, mode='product')."
        )


def point_parameters(space: Space, index: int) -> dict[str, Any]:
    """The axis values of one point, by name (for error messages)."""
    pos = space.positions(index)
    values = {}
    for (name, table), e in zip(space._host_items(), space._axis_to_eff):
        value = table[pos[e]]
        scalar = isinstance(value, np.ndarray | np.generic) and np.ndim(value) == 0
        values[name] = value.item() if scalar else value
    return values


def failure(space: Space, sink, index: int, done: int, err: BaseException, what: str):
    """An ExecutionError for a failure at `index`, carrying points [0, done)."""
    params = point_parameters(space, index)
    partial = sink.result(done) if done > 0 else None
    return ExecutionError(
        f"{what} failed at index {index} with parameters {params}: "
        f"{type(err).__name__}: {err}. The {done} points computed before it are "
        "in this error's `.partial` result.",
        index=index,
        parameters=params,
        partial=partial,
    )


def progress_bar(total: int, enabled: bool, unit: str = "pt"):
    return tqdm(total=total, disable=not enabled, unit=unit, dynamic_ncols=True)


def chunk_bounds(n: int, size: int) -> list[tuple[int, int]]:
    """[start, stop) of consecutive chunks of `size` points covering [0, n)."""
    return [(s, min(s + size, n)) for s in range(0, n, size)]


def resolve_sink(store: Any, resume: bool):
    """The sink for a run: host memory, or a Zarr store at `store` (a path)."""
    from sweepjax.execution._sink import MemorySink

    if store is None:
        if resume:
            raise ValueError("`resume=True` needs a `store` to resume from.")
        return MemorySink()
    from sweepjax._store import ZarrSink

    return ZarrSink(store, resume=resume)
