"""The public search entry points: `evolve` (evosax) and `nsga2`."""

from __future__ import annotations

from collections.abc import Callable
from os import PathLike
from typing import Any

import jax
import jax.numpy as jnp

from sweepjax._space import Space
from sweepjax.search._bounds import SearchBounds
from sweepjax.search._driver import run_search
from sweepjax.search._evaluate import Evaluator
from sweepjax.search._history import SearchResult
from sweepjax.search._nsga2 import NSGA2
from sweepjax.search._strategies import EvosaxStrategy

__all__ = ["evolve", "nsga2"]


def evolve(
    model: Callable[..., Any],
    space: Space,
    *args: Any,
    strategy: Any = "CMA_ES",
    objective: Any = None,
    population_size: int = 16,
    n_generations: int = 20,
    seed: int = 0,
    sigma: float = 0.2,
    strategy_params: dict | None = None,
    executor: Any = None,
    store: str | PathLike | None = None,
    resume: bool = False,
    scan: bool | str = "auto",
    **options: Any,
) -> SearchResult:
    """Minimise a model's fitness over a Space's axes with an evosax strategy.

    Each axis of `space` (`GridAxis`, `UniformAxis`: linear; `LogGridAxis`:
    searched in log space) gives a searched leaf and its bounds; its `n` is
    ignored. Each generation's `population_size` candidates run as one
    batch through `executor`, the fitness ``objective(model(state, *args))``.

    Args:
        strategy: an evosax algorithm name (``"CMA_ES"``, ``"SNES"``,
            ``"Sep_CMA_ES"``, ...) or class.
        objective: None (the model returns the fitness), an output name, or
            ``objective(outputs) -> scalar``.
        sigma: initial step size in units of each axis's range.
        strategy_params: overrides of the strategy's parameters.
        executor: `ParallelExecution` (default), `SequentialExecution`,
            `DistributedExecution`, or ``executor(model, space)``; `options`
            (``n_vmap``, ``n_pmap``, ``client``, ...) go to its class.
        store: a directory: each generation is a sweepjax store inside it
            (``generation_00000``, ...), so a killed search resumes with
            ``resume=True`` from its last finished generation to the same end.
        scan: ``"auto"`` compiles the whole loop into one ``lax.scan`` when
            it can (`ParallelExecution`, no store): each generation split
            over ``n_pmap`` devices, ``n_vmap`` points a call.

    Returns:
        A `SearchResult`: every candidate, fitness and output by generation,
        `best_parameters`, `population`, `to_dataframe()`.

    >>> space = Space({"x": GridAxis(-2.0, 2.0, 2), "y": LogGridAxis(0.01, 10.0, 2)})
    >>> model = lambda s: (s["x"] - 1.0) ** 2 + (jnp.log10(s["y"]) - 0.0) ** 2
    >>> found = evolve(model, space, population_size=8, n_generations=30)
    >>> {k: round(v, 2) for k, v in found.best_parameters.items()}
    {'x': 1.0, 'y': 1.0}
    """
    bounds = SearchBounds(space)
    algorithm = EvosaxStrategy(
        strategy, population_size, bounds.n_dims, sigma, strategy_params
    )
    evaluator = Evaluator(model, bounds, objective, executor, args, options)
    return run_search(algorithm, evaluator, n_generations, seed, store, resume, scan)


def nsga2(
    model: Callable[..., Any],
    space: Space,
    *args: Any,
    objective: Any = None,
    n_objectives: int | None = None,
    population_size: int = 40,
    n_generations: int = 50,
    seed: int = 0,
    executor: Any = None,
    store: str | PathLike | None = None,
    resume: bool = False,
    scan: bool | str = "auto",
    **options: Any,
) -> SearchResult:
    """Multi-objective search (NSGA-II, `NSGA2`) over a Space's axes.

    As `evolve`, with ``objective(outputs) -> [m]`` (a tuple or array of the
    minimised objectives, or None when the model returns them). The
    `SearchResult`'s `front()` is the non-dominated set of every evaluated
    point; its `population` the final parents. `n_objectives` is read off
    a trace of the model, or given (a model `SequentialExecution` runs
    untraced).

    >>> space = Space({"x": GridAxis(0.0, 2.0, 2)})
    >>> found = nsga2(lambda s: (s["x"] ** 2, (s["x"] - 2) ** 2), space,
    ...               population_size=12, n_generations=10)
    >>> front, f = found.front()
    >>> bool(front.min() < 0.2 and front.max() > 1.8)
    True
    """
    bounds = SearchBounds(space)
    evaluator = Evaluator(model, bounds, objective, executor, args, options)
    if n_objectives is None:
        probe = jnp.full((1, bounds.n_dims), 0.5)
        try:
            shape = jax.eval_shape(evaluator.batch, probe)[1].shape
        except Exception as err:
            raise ValueError(
                "nsga2 could not trace the model to count its objectives "
                f"({type(err).__name__}: {err}); pass `n_objectives=`."
            ) from err
        n_objectives = shape[1] if len(shape) == 2 else 1
    algorithm = NSGA2(population_size, bounds.n_dims, n_objectives)
    return run_search(algorithm, evaluator, n_generations, seed, store, resume, scan)
