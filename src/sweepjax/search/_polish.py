"""Gradient polish: multi-start `OptaxOptimizer` fits from a search's best
candidates, all starts in one batched sweep."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from sweepjax._result import Result
from sweepjax._tree import check_positive_int
from sweepjax.execution import AbstractExecution, ParallelExecution
from sweepjax.fit import OptaxOptimizer, Parameter, extract_values
from sweepjax.search._bounds import SearchBounds
from sweepjax.search._history import SearchResult

__all__ = ["polish"]


def polish(
    loss: Callable[[Any], Any],
    found: SearchResult,
    optimizer: Any,
    n_starts: int = 4,
    max_steps: int = 100,
    executor: Any = None,
    **options: Any,
) -> Result:
    """Refine the `n_starts` best candidates of a search by gradient descent.

    Each start becomes a `Parameter` at its searched leaves (the rest of the
    state as the search had it) and runs ``OptaxOptimizer(loss,
    optimizer).run(state, max_steps)``; the starts are the points of one
    sweep (a `DataAxis` per leaf) through `executor` (`ParallelExecution`
    by default, `options` its keywords), so they compile and run as one
    batch.

    Args:
        loss: ``loss(state) -> scalar``, differentiable in the searched leaves.
        found: the `SearchResult` of `evolve` or `nsga2` (its first objective
            picks the starts).
        optimizer: an ``optax.GradientTransformation``.

    Returns:
        A `Result` over the starts with outputs ``loss`` (final, ``[k]``),
        ``start_loss`` and one column per searched leaf (the polished values).

    >>> import optax
    >>> space = Space({"x": GridAxis(-2.0, 2.0, 2)})
    >>> loss = lambda s: (s["x"] - 1.0) ** 2
    >>> found = evolve(loss, space, population_size=6, n_generations=3)
    >>> fits = polish(loss, found, optax.adam(0.05), n_starts=2, max_steps=200)
    >>> np.round(fits.outputs["x"], 3).tolist()
    [1.0, 1.0]
    """
    if not isinstance(found, SearchResult):
        raise TypeError(
            f"`found` must be the SearchResult of evolve/nsga2, got "
            f"{type(found).__name__}."
        )
    n_starts = check_positive_int("n_starts", n_starts)
    max_steps = check_positive_int("max_steps", max_steps)
    bounds: SearchBounds = found.bounds
    fit = OptaxOptimizer(loss, optimizer)
    names = bounds.names
    treedef = bounds.space.treedef
    slots = [i for i, x in enumerate(bounds.space.fixed_leaves()) if x is None]

    def model(state):
        final, history = fit.run(state, max_steps=max_steps, progress=False)
        leaves = treedef.flatten_up_to(extract_values(final))
        out = {"loss": history["loss"][-1], "start_loss": history["loss"][0]}
        out.update({n: leaves[i] for n, i in zip(names, slots, strict=True)})
        return out

    starts = found.best(min(n_starts, found.values.shape[0] * found.values.shape[1]))
    space = bounds.candidates(starts, wrap=Parameter)
    executor = ParallelExecution if executor is None else executor
    if isinstance(executor, type) and issubclass(executor, AbstractExecution):
        options = {"progress": False, "n_vmap": len(starts), **options}
        if executor is not ParallelExecution:
            options.pop("n_vmap")
        run = executor(model, space, **options)
    else:
        run = executor(model, space)
    result = run.run()
    return Result(result.space, {k: np.asarray(v) for k, v in result.outputs.items()})
