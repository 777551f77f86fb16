"""What a figure reads: a Result or a store, its axis scales and labels."""

from __future__ import annotations

import warnings
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from sweepjax._result import Result
from sweepjax._store import open_result, store_info
from sweepjax._summaries import parameter_names

__all__ = ["Source", "resolve"]

#: Axis types whose values are log-spaced.
LOG_TYPES = ("LogGridAxis",)


class Source:
    """A result to draw, with its axis types (from the space or the store's
    description of it) and display labels."""

    def __init__(self, result: Result, types: dict[str, str], labels: dict[str, str]):
        self.result = result
        self.types = types
        self.labels = labels
        self.table = result.to_dataframe()
        self.parameters = parameter_names(result)

    def label(self, name: str) -> str:
        """`name`'s display label (with units, where the caller gave them)."""
        return self.labels.get(name, name)

    def scale(self, name: str) -> str:
        """``"log"`` for an axis of a log-spaced type, or whose values are
        positive and evenly spaced in log but not in linear terms; else
        ``"linear"``."""
        if self.types.get(name) in LOG_TYPES:
            return "log"
        values = np.unique(self.table[name].to_numpy(dtype=float))
        if len(values) < 3 or values[0] <= 0:
            return "linear"
        steps, log_steps = np.diff(values), np.diff(np.log(values))
        even_log = np.allclose(log_steps, log_steps[0], rtol=1e-3)
        even = np.allclose(steps, steps[0], rtol=1e-3)
        return "log" if even_log and not even else "linear"

    def check(self, what: str, name: str | None) -> None:
        """Refuse a `name` that is not a parameter of the result."""
        if name is not None and name not in self.parameters:
            raise ValueError(
                f"`{what}` must name an axis of the result with one number per "
                f"point, got {name!r}; its axes are {self.parameters}."
            )

    def column(self, output: str) -> str:
        """`output`'s table column, checked to hold one number per point."""
        name = output
        if output in self.parameters:
            name = f"result.{output}"
        if name not in self.table.columns:
            outputs = [c for c in self.table.columns if c not in self.parameters]
            outputs = [c for c in outputs if self.table[c].dtype != object]
            raise ValueError(
                f"`output` must name a scalar output of the result, got "
                f"{output!r}; its scalar outputs are {outputs}."
            )
        if self.table[name].dtype == object:
            raise ValueError(
                f"`output` {output!r} holds an array per point; a figure of the "
                "sweep needs one number per point (reduce it in the model, or "
                "draw one point's array with sweepjax.plot.fc or regions)."
            )
        return name


def resolve(source: Any, labels: dict[str, str] | None) -> Source:
    """A `Source` from a `Result` or a store's path (read with `open_result`;
    an unfinished store's missing points read as NaN and are drawn masked)."""
    if labels is not None and not isinstance(labels, dict):
        raise TypeError(
            f"`labels` must be a dict of axis or output name -> label, got "
            f"{type(labels).__name__}."
        )
    labels = dict(labels or {})
    if isinstance(source, Result):
        types = {n: type(a).__name__ for n, a in source.space.axes.items()}
        return Source(source, types, labels)
    if isinstance(source, str | PathLike):
        info = store_info(source)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # masked in the figure
            result = open_result(Path(source))
        types = {a["name"]: a["type"] for a in info.space["axes"]}
        return Source(result, types, labels)
    raise TypeError(
        "the first argument must be a sweepjax.Result or the path of a sweepjax "
        f"store, got {type(source).__name__}."
    )
