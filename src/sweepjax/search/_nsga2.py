"""NSGA-II (Deb et al. 2002) in JAX: non-dominated sorting, crowding distance,
binary tournaments, SBX crossover and polynomial mutation, in ``[0, 1]^d``.

Our own rather than pymoo's survival: pymoo ranks one NumPy population at a
time on the host, so a generation could not stay on the device and the
whole loop could not compile into one ``lax.scan``. The operators and their
defaults are pymoo's (SBX eta 15 with probability 0.9, polynomial mutation
eta 20 with probability 1/d), and pymoo is the reference of the tests and
the benchmark (hypervolume on ZDT1 at the same budget).
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from sweepjax._tree import check_positive_int

__all__ = ["NSGA2", "crowding_distance", "hypervolume_2d", "nondominated_rank"]

#: Stand-in for an infinite objective: keeps crowding arithmetic finite.
_BIG = 1e30


class NSGA2State(NamedTuple):
    unit: jax.Array  # parents [n, d]
    objectives: jax.Array  # [n, m]
    rank: jax.Array  # [n]
    crowding: jax.Array  # [n]
    initial: jax.Array  # the first generation still to evaluate


@jax.jit
def nondominated_rank(f: jax.Array) -> jax.Array:
    """Front index of each row of ``f [n, m]`` (0: non-dominated), minimising."""
    le = jnp.all(f[:, None, :] <= f[None, :, :], axis=-1)
    lt = jnp.any(f[:, None, :] < f[None, :, :], axis=-1)
    dominates = le & lt  # [i, j]: i dominates j
    n = f.shape[0]

    def body(carry):
        rank, left, k = carry
        dominated = jnp.any(dominates & left[:, None], axis=0)
        front = left & ~dominated
        return jnp.where(front, k, rank), left & ~front, k + 1

    rank, _, _ = jax.lax.while_loop(
        lambda c: jnp.any(c[1]),
        body,
        (jnp.zeros(n, jnp.int32), jnp.ones(n, bool), jnp.int32(0)),
    )
    return rank


@jax.jit
def crowding_distance(f: jax.Array, rank: jax.Array) -> jax.Array:
    """Crowding distance of each row within its front (boundaries: inf), the
    mean over objectives of the normalised gap between its neighbours."""
    n, m = f.shape
    f = jnp.clip(jnp.where(jnp.isnan(f), _BIG, f), -_BIG, _BIG)
    total = jnp.zeros(n, f.dtype)
    for k in range(m):
        order = jnp.lexsort((f[:, k], rank))
        fs, rs = f[order, k], rank[order]
        lo = jax.ops.segment_min(fs, rs, num_segments=n)[rs]
        hi = jax.ops.segment_max(fs, rs, num_segments=n)[rs]
        prev_same = jnp.concatenate([jnp.array([False]), rs[1:] == rs[:-1]])
        next_same = jnp.concatenate([rs[1:] == rs[:-1], jnp.array([False])])
        gap = jnp.roll(fs, -1) - jnp.roll(fs, 1)
        span = jnp.where(hi > lo, hi - lo, 1.0)
        d = jnp.where(prev_same & next_same, gap / span, jnp.inf)
        total = total.at[order].add(d)
    return total / m


def survive(unit, f, n):
    """The `n` best of a merged population by (rank, -crowding), with their
    ranks (unchanged: every point dominating a survivor survives) and
    crowding distances (within the merged fronts, as the tournaments of
    the next generation compare them)."""
    rank = nondominated_rank(f)
    crowd = crowding_distance(f, rank)
    keep = jnp.lexsort((-crowd, rank))[:n]
    return unit[keep], f[keep], rank[keep], crowd[keep]


def hypervolume_2d(front: Any, reference: Any) -> float:
    """Hypervolume dominated by a 2-objective set ``[k, 2]`` up to `reference`."""
    f = jnp.asarray(front)
    f = f[jnp.all(f < jnp.asarray(reference), axis=1)]
    if f.shape[0] == 0:
        return 0.0
    f = f[jnp.argsort(f[:, 0])]
    best = jax.lax.cummin(f[:, 1])
    widths = jnp.diff(jnp.append(f[:, 0], reference[0]))
    return float(jnp.sum(widths * (reference[1] - best)))


class NSGA2:
    """NSGA-II for `n_objectives` minimised objectives in ``[0, 1]^d``.

    Generation 0 evaluates a uniform random population; each later one
    evaluates `population_size` offspring of tournament-selected parents,
    and parents and offspring together are cut back to the best
    `population_size` by front, then crowding distance.
    """

    def __init__(
        self,
        population_size: int,
        n_dims: int,
        n_objectives: int,
        eta_crossover: float = 15.0,
        eta_mutation: float = 20.0,
        p_crossover: float = 0.9,
    ):
        self.population_size = check_positive_int("population_size", population_size)
        self.n_dims = n_dims
        self.n_objectives = check_positive_int("n_objectives", n_objectives)
        self.eta_c, self.eta_m, self.p_c = eta_crossover, eta_mutation, p_crossover
        self.name = "NSGA2"
        self.config = {
            "strategy": "NSGA2",
            "population_size": self.population_size,
            "n_objectives": self.n_objectives,
            "eta_crossover": eta_crossover,
            "eta_mutation": eta_mutation,
            "p_crossover": p_crossover,
        }

    def _key(self) -> tuple:
        return (self.n_dims, repr(sorted(self.config.items())))

    # Equal settings compare equal: the jitted steps serve every such search.
    def __hash__(self) -> int:
        return hash(self._key())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NSGA2) and self._key() == other._key()

    @partial(jax.jit, static_argnames="self")
    def init(self, key: jax.Array) -> NSGA2State:
        n, d, m = self.population_size, self.n_dims, self.n_objectives
        return NSGA2State(
            unit=jax.random.uniform(key, (n, d)),
            objectives=jnp.full((n, m), jnp.inf),
            rank=jnp.zeros(n, jnp.int32),
            crowding=jnp.zeros(n),
            initial=jnp.array(True),
        )

    @partial(jax.jit, static_argnames="self")
    def ask(self, key: jax.Array, state: NSGA2State) -> tuple[jax.Array, NSGA2State]:
        offspring = self._offspring(key, state)
        return jnp.where(state.initial, state.unit, offspring), state

    @partial(jax.jit, static_argnames="self")
    def tell(self, key, unit, fitness, state: NSGA2State) -> NSGA2State:
        f = jnp.asarray(fitness, unit.dtype).reshape(unit.shape[0], -1)
        if f.shape[1] != self.n_objectives:
            raise ValueError(
                f"NSGA2 was set up for {self.n_objectives} objectives, the "
                f"objective returned {f.shape[1]} per point."
            )
        merged_u = jnp.concatenate([state.unit, unit])
        merged_f = jnp.concatenate([state.objectives, f])
        survivors = survive(merged_u, merged_f, self.population_size)
        return NSGA2State(*survivors, initial=jnp.array(False))

    def _offspring(self, key, state: NSGA2State) -> jax.Array:
        n, d = self.population_size, self.n_dims
        k_sel, k_sbx, k_mut = jax.random.split(key, 3)
        pairs = jax.random.randint(k_sel, (2, n, 2), 0, n)
        a, b = pairs[..., 0], pairs[..., 1]
        better_a = (state.rank[a] < state.rank[b]) | (
            (state.rank[a] == state.rank[b]) & (state.crowding[a] >= state.crowding[b])
        )
        parents = jnp.where(better_a, a, b)  # [2, n]
        p1, p2 = state.unit[parents[0]], state.unit[parents[1]]
        c1, c2 = _sbx(k_sbx, p1, p2, self.eta_c, self.p_c)
        # Each mating gives two children; keep one of each pair's halves.
        children = jnp.concatenate([c1[: n - n // 2], c2[: n // 2]])
        return _mutate(k_mut, children, self.eta_m, 1.0 / d)


def _sbx(key, p1, p2, eta, prob):
    """Simulated binary crossover within [0, 1] (Deb & Agrawal's bounded form)."""
    k_do, k_var, k_u, k_swap = jax.random.split(key, 4)
    n, d = p1.shape
    do = jax.random.uniform(k_do, (n, 1)) < prob
    var = jax.random.uniform(k_var, (n, d)) < 0.5
    close = jnp.abs(p1 - p2) < 1e-14
    y1, y2 = jnp.minimum(p1, p2), jnp.maximum(p1, p2)
    delta = jnp.where(close, 1.0, y2 - y1)
    u = jax.random.uniform(k_u, (n, d))

    def child(beta):
        alpha = 2.0 - beta ** -(eta + 1.0)
        bq = jnp.where(
            u <= 1.0 / alpha,
            (u * alpha) ** (1.0 / (eta + 1.0)),
            (1.0 / (2.0 - u * alpha)) ** (1.0 / (eta + 1.0)),
        )
        return bq

    bq1 = child(1.0 + 2.0 * y1 / delta)
    bq2 = child(1.0 + 2.0 * (1.0 - y2) / delta)
    c1 = jnp.clip(0.5 * (y1 + y2 - bq1 * delta), 0.0, 1.0)
    c2 = jnp.clip(0.5 * (y1 + y2 + bq2 * delta), 0.0, 1.0)
    swap = jax.random.uniform(k_swap, (n, d)) < 0.5
    c1, c2 = jnp.where(swap, c2, c1), jnp.where(swap, c1, c2)
    apply = do & var & ~close
    return jnp.where(apply, c1, p1), jnp.where(apply, c2, p2)


def _mutate(key, x, eta, prob):
    """Polynomial mutation within [0, 1]."""
    k_do, k_u = jax.random.split(key)
    do = jax.random.uniform(k_do, x.shape) < prob
    u = jax.random.uniform(k_u, x.shape)
    power = 1.0 / (eta + 1.0)
    lower = (2 * u + (1 - 2 * u) * (1 - x) ** (eta + 1)) ** power - 1
    upper = 1 - (2 * (1 - u) + 2 * (u - 0.5) * x ** (eta + 1)) ** power
    step = jnp.where(u < 0.5, lower, upper)
    return jnp.where(do, jnp.clip(x + step, 0.0, 1.0), x)
