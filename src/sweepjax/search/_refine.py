"""Adaptive refinement of a 2-D sweep: new points where the output changes
fastest (boundaries such as regime borders) or where it is lowest.

The idea of python-adaptive's `Learner2D`: triangulate the points computed
so far, give each triangle a loss (its size times how much the output
varies across it, or how low it reaches), and sample the centroids of the
worst triangles. Each round's new points run as one batch through an
executor and are merged with the old ones into one `Result`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from sweepjax._axes import DataAxis, LogGridAxis
from sweepjax._optional import require
from sweepjax._result import Result
from sweepjax._space import Space
from sweepjax._tree import check_positive_int
from sweepjax.execution import AbstractExecution, ParallelExecution

__all__ = ["boundary_points", "refine"]

_LOSSES = ("boundary", "minimum")


def refine(
    result: Result,
    model: Callable[..., Any],
    *args: Any,
    output: str | None = None,
    n_points: int = 64,
    n_rounds: int = 1,
    loss: str | Callable = "boundary",
    log: tuple[bool, bool] | None = None,
    executor: Any = None,
    **options: Any,
) -> Result:
    """Add `n_rounds` batches of `n_points` points to a 2-D sweep's `Result`.

    Args:
        result: a sweep over exactly two scalar axes (a product grid, a zipped
            design, or an earlier `refine`'s result).
        model: the sweep's model, called as ``model(state, *args)``.
        output: the scalar output leaf to refine on (default: the only one).
        loss: ``"boundary"`` (sqrt(area) x output range across the
            triangle: fronts and regime borders), ``"minimum"`` (sqrt(area)
            x how close the triangle's lowest value is to the best one), or
            ``loss(area [T], values [T, 3]) -> [T]``.
        log: per axis, whether to triangulate in log space (default: the
            `LogGridAxis` ones).
        executor: an executor class (`ParallelExecution` default) whose
            `options` are the keywords here.

    Returns:
        One `Result` over the old and new points: a zipped Space with a
        `DataAxis` per axis (old points first, then each round's).

    >>> space = Space({"x": GridAxis(-1.0, 1.0, 5), "y": GridAxis(-1.0, 1.0, 5)},
    ...               mode="product")
    >>> model = lambda s: {"z": jnp.tanh((s["x"] - s["y"] ** 2) / 0.05)}
    >>> grid = ParallelExecution(model, space, progress=False).run()
    >>> len(refine(grid, model, n_points=10, n_rounds=2))
    45
    """
    if not isinstance(result, Result):
        raise TypeError(
            f"`result` must be a sweepjax.Result, got {type(result).__name__}."
        )
    if not (isinstance(loss, str) and loss in _LOSSES) and not callable(loss):
        raise ValueError(
            f"`loss` must be one of {_LOSSES} or a callable, got {loss!r}."
        )
    n_points = check_positive_int("n_points", n_points)
    n_rounds = check_positive_int("n_rounds", n_rounds)
    space = result.space
    axes = space.axes
    if len(axes) != 2 or any(
        getattr(a, "shape", None) is not None or np.ndim(space.host_tables[k]) != 1
        for k, a in enumerate(axes.values())
    ):
        raise ValueError(
            f"refine needs a sweep over two scalar axes, got axes {list(axes)}; "
            "refine a 2-D slice of the study."
        )
    log = (
        tuple(isinstance(a, LogGridAxis) for a in axes.values()) if log is None else log
    )
    executor = ParallelExecution if executor is None else executor
    options = {"progress": False, **options}
    points = _coordinates(result)
    outputs = jax.tree.map(np.asarray, result.outputs)
    values = _values(outputs, output)
    for _ in range(n_rounds):
        new = propose(points, values, n_points, loss, log)
        batch = _run(executor, model, space, new, args, options)
        points = np.concatenate([points, new])
        outputs = jax.tree.map(
            lambda a, b: np.concatenate([a, np.asarray(b)]), outputs, batch
        )
        values = _values(outputs, output)
    return Result(_space_of(space, points), outputs)


def propose(points, values, n_points, loss="boundary", log=(False, False)):
    """The centroids of the `n_points` worst triangles of `points` ``[N, 2]``."""
    spatial = require("scipy.spatial", "search", "refine")
    u = _unit(points, log)
    tri = spatial.Delaunay(u)
    corners = u[tri.simplices]  # [T, 3, 2]
    e1, e2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    area = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    v = np.asarray(values, float)
    finite = np.isfinite(v)
    lo, hi = np.min(v[finite]), np.max(v[finite])
    v = np.where(finite, (v - lo) / (hi - lo if hi > lo else 1.0), 1.0)
    tv = v[tri.simplices]  # [T, 3]
    if loss == "boundary":
        score = np.sqrt(area) * (tv.max(1) - tv.min(1))
    elif loss == "minimum":
        score = np.sqrt(area) * (1.0 - tv.min(1))
    else:
        score = np.asarray(loss(area, tv), float)
    score = score + 1e-3 * area  # keep filling empty space once fronts resolve
    worst = np.argsort(-score, kind="stable")[:n_points]
    centroids = corners[worst].mean(1)
    return _from_unit(centroids, points, log)


def boundary_points(points, values, level=0.0, log=(False, False)):
    """Where a scalar output crosses `level`: the linear zero crossings along
    the edges of the points' triangulation whose ends straddle it ``[k, 2]``.
    The same estimate for any point set (a grid's or a refined one's)."""
    spatial = require("scipy.spatial", "search", "refine")
    u = _unit(points, log)
    tri = spatial.Delaunay(u)
    edges = np.concatenate(
        [tri.simplices[:, [0, 1]], tri.simplices[:, [1, 2]], tri.simplices[:, [0, 2]]]
    )
    edges = np.unique(np.sort(edges, axis=1), axis=0)
    a, b = values[edges[:, 0]] - level, values[edges[:, 1]] - level
    cross = (a * b) < 0
    a, b = a[cross], b[cross]
    t = (a / (a - b))[:, None]
    p, q = points[edges[cross, 0]], points[edges[cross, 1]]
    return p + t * (q - p)


def _unit(points, log):
    x = _log(points, log)
    lo, hi = x.min(0), x.max(0)
    return (x - lo) / np.where(hi > lo, hi - lo, 1.0)


def _log(points, log):
    log = np.asarray(log)
    return np.where(log, np.log(np.where(log, np.abs(points), 1.0)), points)


def _from_unit(u, points, log):
    log = np.asarray(log)
    x = _log(points, log)
    lo, hi = x.min(0), x.max(0)
    y = lo + u * np.where(hi > lo, hi - lo, 1.0)
    return np.where(log, np.exp(y), y).astype(points.dtype)


def _coordinates(result: Result) -> np.ndarray:
    columns = result.space.axis_columns(np.arange(len(result)))
    return np.stack([np.asarray(c) for c in columns.values()], 1)


def _values(outputs, output):
    flat = jax.tree_util.tree_flatten_with_path(outputs)[0]
    names = {jax.tree_util.keystr(p, simple=True, separator="."): x for p, x in flat}
    if output is None:
        if len(names) != 1:
            raise ValueError(
                f"the result has outputs {sorted(names)}: pass `output=` to say "
                "which scalar output to refine on."
            )
        output = next(iter(names))
    if output not in names or np.ndim(names[output]) != 1:
        raise ValueError(
            f"`output={output!r}` must name a scalar output leaf, one of "
            f"{sorted(k for k, v in names.items() if np.ndim(v) == 1)}."
        )
    return np.asarray(names[output], float)


def _space_of(space: Space, points: np.ndarray) -> Space:
    """The sweep's state with a `DataAxis` of `points` at its two axes."""
    wraps = [a.wrap for a in space.axes.values()]
    it = iter(DataAxis(points[:, i], wrap=w) for i, w in enumerate(wraps))
    leaves = [next(it) if x is None else x for x in space.fixed_leaves()]
    return Space(space.treedef.unflatten(leaves), mode="zip")


def _run(executor, model, space, points, args, options):
    new = _space_of(space, points)
    if isinstance(executor, type) and issubclass(executor, AbstractExecution):
        run = executor(model, new, *args, **options)
    else:
        run = executor(model, new)
    return run.run().outputs
