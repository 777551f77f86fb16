"""What a search hands back: every evaluated point, its fitness and generation."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from sweepjax._result import Result
from sweepjax.search._bounds import SearchBounds

__all__ = ["SearchResult"]


class SearchResult:
    """The history of a search and its final population.

    Attributes:
        values: every candidate's parameter values, ``[G, n, d]`` (generation,
            member, searched leaf in `names` order).
        fitness: ``[G, n]`` (``[G, n, m]`` for several objectives); NaN
            fitness reads as inf (ranked last).
        outputs: the model outputs, stacked ``[G, n, ...]`` per leaf.
        state: the algorithm's final state (evosax's or `NSGA2`'s).
        names: the searched leaves' names.

    >>> space = Space({"x": GridAxis(-2.0, 2.0, 2)})
    >>> loss = lambda s: (s["x"] - 1.0) ** 2
    >>> found = evolve(loss, space, population_size=4, n_generations=3)
    >>> found.values.shape, found.fitness.shape, len(found.history)
    ((3, 4, 1), (3, 4), 12)
    """

    def __init__(
        self,
        bounds: SearchBounds,
        values: np.ndarray,
        fitness: np.ndarray,
        outputs: Any,
        state: Any,
        final_unit: np.ndarray,
    ):
        self.bounds, self.names = bounds, bounds.names
        self.values = np.asarray(values)
        self.fitness = np.asarray(fitness)
        self.outputs = outputs
        self.state = state
        self._final_unit = np.asarray(final_unit)

    @property
    def n_generations(self) -> int:
        return self.values.shape[0]

    @property
    def population(self) -> np.ndarray:
        """The final population's values ``[n, d]``: the last generation asked
        (evosax), or the surviving parents (NSGA-II)."""
        return np.asarray(self.bounds.decode(self._final_unit))

    def _flat(self) -> tuple[np.ndarray, np.ndarray]:
        d = self.values.shape[-1]
        f = self.fitness.reshape(self.values.shape[0] * self.values.shape[1], -1)
        return self.values.reshape(-1, d), f

    def best(self, k: int = 1) -> np.ndarray:
        """The `k` best evaluated points' values ``[k, d]`` (first objective)."""
        values, f = self._flat()
        order = np.argsort(f[:, 0], kind="stable")
        return values[order[:k]]

    @property
    def best_parameters(self) -> dict[str, float]:
        """The best point's values by name."""
        return {n: float(v) for n, v in zip(self.names, self.best(1)[0], strict=True)}

    @property
    def best_fitness(self) -> np.ndarray:
        _, f = self._flat()
        return f[np.argmin(f[:, 0])].squeeze()

    def front(self) -> tuple[np.ndarray, np.ndarray]:
        """The non-dominated evaluated points: ``(values [k, d], fitness [k, m])``."""
        values, f = self._flat()
        finite = np.all(np.isfinite(f), axis=1)
        values, f = values[finite], f[finite]
        le = np.all(f[:, None] <= f[None], axis=-1)
        lt = np.any(f[:, None] < f[None], axis=-1)
        dominated = np.any(le & lt, axis=0)
        keep = ~dominated
        return values[keep], f[keep]

    @property
    def history(self) -> Result:
        """Every evaluated point as one `Result`: a zipped Space over the
        candidates (a `DataAxis` per searched leaf), outputs ``generation``,
        ``member``, ``fitness`` and the model's outputs."""
        g, n, d = self.values.shape
        values, f = self._flat()
        space = self.bounds.candidates(values)
        outputs = jax.tree.map(
            lambda x: np.asarray(x).reshape(g * n, *np.shape(x)[2:]), self.outputs
        )
        record = {
            "generation": np.repeat(np.arange(g), n),
            "member": np.tile(np.arange(n), g),
            "fitness": f[:, 0] if f.shape[1] == 1 else f,
        }
        if isinstance(outputs, dict):
            record.update({k: v for k, v in outputs.items() if k not in record})
        else:
            record["output"] = outputs
        return Result(space, record)

    def to_dataframe(self):
        """The history as a pandas DataFrame, one row per evaluated point."""
        return self.history.to_dataframe()

    def __repr__(self) -> str:
        g, n, d = self.values.shape
        return (
            f"SearchResult(generations={g}, population={n}, params={list(self.names)}, "
            f"best_fitness={np.round(self.best_fitness, 6).tolist()})"
        )
