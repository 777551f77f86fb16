"""Solution: what a prepared network's ``solve_fn(config)`` returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax

from sweepjax._config import Config


class Solution(NamedTuple):
    """What ``solve_fn(config)`` returns.

    Attributes:
        ts: ``[n_records]`` time of each record (``t0 + (k + 1)*dt`` for
            ``Raw``: the time reached after step ``k``).
        ys: ``[n_records, n_states, n_nodes]`` the recorded states (no
            records, ``n_records = 0``, when the solve only observes).
        observed: the observers' results by name (``prepare(observe=...)``);
            empty when nothing is observed.

    >>> solve_fn, config = prepare(network, Heun(), t0=0.0, t1=5.0, dt=0.1)
    >>> solution = solve_fn(config)
    >>> solution.ts.shape, solution.ys.shape, solution.observed
    ((50,), (50, 1, 4), {})
    """

    ts: jax.Array
    ys: jax.Array
    observed: dict[str, Any] = {}  # noqa: RUF012 (never mutated: a NamedTuple field)


#: ``solve(config) -> Solution``: what a solver builds and ``prepare`` jits.
SolveFn = Callable[[Config], Solution]
