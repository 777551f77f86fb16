"""Figures of a search: the Pareto front of two objectives, and the fitness
per generation."""

from __future__ import annotations

from typing import Any

import numpy as np

from sweepjax._result import Result

__all__ = ["FRONT_GID", "front", "progress"]

FRONT_GID = "front"
"""The gid of the front's points (a Line2D), to find them in a drawn figure."""


def _history(source: Any) -> Result:
    """The evaluated points: a `Result`, or a `SearchResult`'s history."""
    if isinstance(source, Result):
        return source
    history = getattr(source, "history", None)
    if isinstance(history, Result):
        return history
    raise TypeError(
        "the first argument must be a sweepjax.SearchResult or its `history` "
        f"(a Result with a `fitness` output), got {type(source).__name__}."
    )


def _objective(result: Result, which: int | str, output: str) -> np.ndarray:
    """One number per point: column `which` of `output` (an int), or the
    scalar output named `which`."""
    if isinstance(which, bool) or not isinstance(which, int | str):
        raise TypeError(
            f"an objective is an int (a column of `{output}`) or an output's "
            f"name, got {which!r}."
        )
    name = output if isinstance(which, int) else which
    if name not in result.outputs:
        raise ValueError(
            f"the result has no output {name!r}; its outputs are "
            f"{sorted(result.outputs)}: name a scalar output, or give an int "
            f"(a column of `{output}`)."
        )
    data = np.asarray(result.outputs[name], dtype=float)
    if isinstance(which, str):
        if data.ndim != 1:
            raise ValueError(
                f"output {which!r} has shape {data.shape[1:]} per point: name a "
                f"scalar output, or give an int (a column of `{output}`)."
            )
        return data
    data = data.reshape(len(data), -1)
    if not -data.shape[1] <= which < data.shape[1]:
        raise ValueError(
            f"`{output}` has {data.shape[1]} objective(s); column {which} is "
            f"out of range: give 0 to {data.shape[1] - 1}."
        )
    return data[:, which]


def _check_labels(labels: Any) -> None:
    if labels is not None and not isinstance(labels, dict):
        kind = type(labels).__name__
        raise TypeError(f"`labels` must be a dict of objective -> label, got {kind}.")


def _label(labels: dict | None, which: int | str) -> str:
    default = f"objective {which}" if isinstance(which, int) else which
    return (labels or {}).get(which, default)


def _non_dominated(fx: np.ndarray, fy: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats on both (minimised),
    ordered by `fx`: sorted by (x, y), a point is kept when its y is below
    every y kept before it."""
    order = np.lexsort((fy, fx))
    keep, lowest = [], np.inf
    for i in order:
        if fy[i] < lowest:
            keep.append(i)
            lowest = fy[i]
    return np.asarray(keep, dtype=int)


def front(
    source: Any,
    x: int | str = 0,
    y: int | str = 1,
    *,
    output: str = "fitness",
    labels: dict | None = None,
    ax: Any = None,
) -> Any:
    """Two objectives of every evaluated point, the non-dominated ones (the
    Pareto front, both objectives minimised) in colour and joined, the
    dominated ones grey; returns the Figure.

    `source` is a `SearchResult` (`nsga2`, `evolve`) or its `history`. `x`
    and `y` are columns of the ``fitness`` output (ints, the objectives'
    order) or names of scalar outputs; `labels` maps them to axis labels.
    Points with a NaN or infinite objective (failed runs) are left out and
    counted in the legend.

    >>> import matplotlib.pyplot as plt
    >>> from sweepjax import plot
    >>> space = Space({"x": GridAxis(0.0, 2.0, 2)})
    >>> two = lambda s: (s["x"] ** 2, (s["x"] - 2) ** 2)
    >>> found = nsga2(two, space, population_size=8, n_generations=3)
    >>> fig = plot.front(found, labels={0: "x^2", 1: "(x - 2)^2"})
    >>> fig.axes[0].get_xlabel()
    'x^2'
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    _check_labels(labels)
    result = _history(source)
    fx, fy = _objective(result, x, output), _objective(result, y, output)
    finite = np.isfinite(fx) & np.isfinite(fy)
    fx, fy = fx[finite], fy[finite]
    kept = _non_dominated(fx, fy)
    dominated = np.ones(len(fx), dtype=bool)
    dominated[kept] = False
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4.4))
    else:
        fig = ax.figure
    ax.plot(fx[dominated], fy[dominated], "o", ms=3, color="0.7", label="dominated")
    ax.plot(fx[kept], fy[kept], "-o", ms=4, lw=1, color="C3", drawstyle="steps-post")
    ax.lines[-1].set_label(f"Pareto front ({len(kept)} points)")
    ax.lines[-1].set_gid(FRONT_GID)
    if not finite.all():
        ax.plot([], [], " ", label=f"{int((~finite).sum())} failed (not drawn)")
    ax.set_xlabel(_label(labels, x))
    ax.set_ylabel(_label(labels, y))
    ax.legend(fontsize="small")
    return fig


def progress(
    source: Any,
    output: str = "fitness",
    *,
    labels: dict | None = None,
    ax: Any = None,
) -> Any:
    """The best (lowest) and the median fitness of each generation, with
    the band between its quartiles; returns the Figure.

    `source` is a `SearchResult` or its `history` (a `Result` with a
    ``generation`` output). `output` is the fitness (``[n]``, or ``[n, m]``
    for several objectives: a line of each, in its colour) or another
    output of one number per point; `labels` maps an objective's column
    (int) or `output` to its legend name. NaN (failed) points are left out
    of a generation's figures.

    >>> import matplotlib.pyplot as plt
    >>> from sweepjax import plot
    >>> space = Space({"x": GridAxis(-2.0, 2.0, 2)})
    >>> found = evolve(lambda s: (s["x"] - 1.0) ** 2, space, population_size=4,
    ...                n_generations=5)
    >>> fig = plot.progress(found)
    >>> [line.get_label() for line in fig.axes[0].lines]
    ['fitness: best', 'fitness: median']
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    _check_labels(labels)
    result = _history(source)
    if "generation" not in result.outputs:
        raise ValueError(
            "the result has no `generation` output: pass a SearchResult or its "
            "`history`, which number each point's generation."
        )
    generation = np.asarray(result.outputs["generation"])
    if output not in result.outputs:
        raise ValueError(
            f"the result has no output {output!r}; its outputs are "
            f"{sorted(result.outputs)}."
        )
    values = np.asarray(result.outputs[output], dtype=float)
    values = values.reshape(len(values), -1)
    several = values.shape[1] > 1
    steps = np.unique(generation)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4.4))
    else:
        fig = ax.figure
    for k in range(values.shape[1]):
        per = [values[generation == g, k] for g in steps]
        q = np.array([_quantiles(p) for p in per])  # [G, 4]: min, q1, med, q3
        key, default = (k, f"objective {k}") if several else (output, output)
        name = (labels or {}).get(key, default)
        color = f"C{k}"
        ax.plot(steps, q[:, 0], "-o", ms=3, color=color, label=f"{name}: best")
        ax.plot(steps, q[:, 2], "--", color=color, label=f"{name}: median")
        ax.fill_between(steps, q[:, 1], q[:, 3], color=color, alpha=0.2, lw=0)
    ax.set_xlabel("generation")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(output if several else name)
    ax.legend(fontsize="small")
    return fig


def _quantiles(values: np.ndarray) -> np.ndarray:
    finite = values[np.isfinite(values)]
    if not len(finite):
        return np.full(4, np.nan)
    return np.array([finite.min(), *np.percentile(finite, [25, 50, 75])])
