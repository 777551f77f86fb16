"""evosax evolution strategies behind one ask/tell interface in the unit cube.

Every algorithm of a search (an evosax strategy here, `NSGA2` in `_nsga2`)
offers pure JAX ``init(key)``, ``ask(key, state) -> (unit [n, d], state)``
and ``tell(key, unit, fitness, state) -> state``, so the driver can run it
generation by generation on the host or inside one ``lax.scan``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp

from sweepjax._optional import require
from sweepjax._tree import check_positive_int

__all__ = ["EvosaxStrategy"]


class EvosaxStrategy:
    """An evosax algorithm (``"CMA_ES"``, ``"SNES"``, ``"Sep_CMA_ES"``,
    ``"xNES"``, ``"DifferentialEvolution"``, ``"PSO"``, ... or an evosax class)
    searching ``[0, 1]^d``, single-objective, minimising.

    Distribution-based strategies start at the cube's centre with step size
    `sigma` (in cube units: 0.2 reaches most of the box within two steps);
    population-based ones from a uniform random population. Candidates leave
    the cube only by the strategy's own steps: they are clipped to it before
    evaluation and told back clipped (repair), so the strategy learns from
    what was evaluated.

    Args:
        name: the evosax algorithm's class name, or the class.
        population_size: candidates per generation.
        n_dims: number of searched leaves.
        sigma: initial step size (distribution-based strategies).
        params: overrides of the strategy's default parameters (a dict).
    """

    n_objectives = 1

    def __init__(
        self,
        name: Any,
        population_size: int,
        n_dims: int,
        sigma: float = 0.2,
        params: dict | None = None,
    ):
        evosax = require("evosax", "search", "evolve")
        algorithms = require("evosax.algorithms", "search", "evolve")
        if isinstance(name, str):
            if name not in algorithms.algorithms:
                raise ValueError(
                    f"`strategy={name!r}` is not an evosax algorithm; choose one of "
                    f"{sorted(algorithms.algorithms)}."
                )
            cls = algorithms.algorithms[name]
        elif isinstance(name, type):
            cls = name
        else:
            raise TypeError(
                f"`strategy` must be an evosax algorithm name or class, got "
                f"{type(name).__name__}."
            )
        self.name = cls.__name__
        self.population_size = check_positive_int("population_size", population_size)
        self.n_dims = n_dims
        self.sigma = float(sigma)
        self._es = cls(population_size=population_size, solution=jnp.zeros(n_dims))
        self._distribution = isinstance(
            self._es, algorithms.distribution_based.base.DistributionBasedAlgorithm
        )
        # evosax computes its defaults in eager jnp ops (about 40 compiled
        # programs in a fresh process): one program instead
        defaults = jax.jit(lambda: self._es.default_params)()
        extra = dict(params or {})
        if self._distribution and hasattr(defaults, "std_init"):
            extra.setdefault("std_init", self.sigma)
        unknown = set(extra) - set(vars(defaults))
        if unknown:
            raise ValueError(
                f"`strategy_params` has {sorted(unknown)}, unknown to {self.name}; "
                f"its parameters are {sorted(vars(defaults))}."
            )
        self._params = defaults.replace(**extra)
        self.config = {
            "strategy": f"{cls.__module__}.{cls.__qualname__}",
            "population_size": self.population_size,
            "sigma": self.sigma,
            "params": {k: repr(v) for k, v in sorted(extra.items())},
            "evosax": getattr(evosax, "__version__", "?"),
        }

    def _key(self) -> tuple:
        return (type(self), self.n_dims, repr(sorted(self.config.items())))

    # Equal settings compare equal, so the compiled ask/tell (jitted with
    # `self` static) serve every search with the same settings in a process.
    def __hash__(self) -> int:
        return hash(self._key())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EvosaxStrategy) and self._key() == other._key()

    @partial(jax.jit, static_argnames="self")
    def init(self, key: jax.Array) -> Any:
        if self._distribution:
            mean = jnp.full((self.n_dims,), 0.5)
            return self._es.init(key, mean, self._params)
        k_pop, k_init = jax.random.split(key)
        pop = jax.random.uniform(k_pop, (self.population_size, self.n_dims))
        fitness = jnp.full((self.population_size,), jnp.inf)
        return self._es.init(k_init, pop, fitness, self._params)

    @partial(jax.jit, static_argnames="self")
    def ask(self, key: jax.Array, state: Any) -> tuple[jax.Array, Any]:
        unit, state = self._es.ask(key, state, self._params)
        return jnp.clip(unit, 0.0, 1.0), state

    @partial(jax.jit, static_argnames="self")
    def tell(self, key: jax.Array, unit: jax.Array, fitness: jax.Array, state: Any):
        fitness = jnp.asarray(fitness, unit.dtype)
        state, _ = self._es.tell(key, unit, fitness, state, self._params)
        return state
