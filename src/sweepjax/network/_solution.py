"""Solution and Plan: what a solver is asked for, and what its solve returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import numpy as np

from sweepjax._config import Config
from sweepjax.network._monitors import AbstractMonitor, Raw
from sweepjax.network._observers import Observation


class Solution(NamedTuple):
    """What ``solve_fn(config)`` returns.

    Attributes:
        ts: ``[n_records]`` time of each record (``t0 + (k + 1)*dt`` for
            ``Raw``: the time reached after step ``k``).
        ys: ``[n_records, n_states, n_nodes]`` the recorded states (no
            records, ``n_records = 0``, when the solve only observes).
        observed: the observers' results by name (``prepare(observe=...)``);
            empty when nothing is observed.
        final: where the run stopped, a :class:`RunState` to set on
            ``config.start`` to continue it (``prepare(final_state=True)``);
            None otherwise.

    >>> solve_fn, config = prepare(network, Heun(), t0=0.0, t1=5.0, dt=0.1)
    >>> solution = solve_fn(config)
    >>> solution.ts.shape, solution.ys.shape, solution.observed
    ((50,), (50, 1, 4), {})
    """

    ts: jax.Array
    ys: jax.Array
    observed: dict[str, Any] = {}  # noqa: RUF012 (never mutated: a NamedTuple field)
    final: Any = None


#: ``solve(config) -> Solution``: what a solver builds and ``prepare`` jits.
SolveFn = Callable[[Config], Solution]


@dataclass(frozen=True)
class Plan:
    """What a solver's ``build`` is asked to integrate and save.

    ``n_steps`` steps of ``dt`` (ms) from ``t0``; ``observation`` the
    observers run (bound to the run) and the transient; ``record`` the name
    of the one among them whose records become ``Solution.ys`` (the
    ``monitor=`` of ``prepare``; None: ``ys`` has no rows); ``unroll`` the
    steps per loop iteration (speed only); ``final`` whether the solution
    hands back its :class:`RunState` (``Solution.final``).

    >>> plan = Plan.recording(0.0, 0.1, 50)             # every state
    >>> plan = Plan.recording(0.0, 0.1, 50, SubSample(5), unroll=2)
    """

    t0: float
    dt: float
    n_steps: int
    observation: Observation
    record: str | None = None
    unroll: int = 1
    final: bool = False

    #: The output name of the series ``recording`` saves as ``ys``.
    RECORD = "ys"

    @classmethod
    def recording(
        cls,
        t0: float,
        dt: float,
        n_steps: int,
        monitor: AbstractMonitor | None = None,
        unroll: int = 1,
    ) -> Plan:
        """A plan that records ``monitor`` (:class:`Raw` by default) from the
        first step as ``Solution.ys``."""
        monitor = (Raw() if monitor is None else monitor).bind(dt, n_steps)
        return cls(
            t0, dt, n_steps, Observation({cls.RECORD: monitor}), cls.RECORD, unroll
        )

    @property
    def monitor(self) -> AbstractMonitor | None:
        """The recorded series (None when nothing becomes ``ys``)."""
        return None if self.record is None else self.observation.observers[self.record]

    def times(self) -> np.ndarray:
        """``[n_records]``: the time stamps of ``Solution.ys``."""
        monitor = self.monitor
        if monitor is None:
            return np.zeros(0)
        return monitor.times(self.t0, self.dt, self.n_steps // monitor.every)

    def solution(
        self, observed: dict[str, Any], like: jax.Array, final: Any = None
    ) -> Solution:
        """The :class:`Solution` of the observers' results ``observed`` (with a
        leading batch axis); ``like`` a state giving the dtype and shape;
        ``final`` the batch's :class:`RunState` when ``self.final``."""
        observed = dict(observed)
        if self.record is None:
            ys = jax.numpy.zeros((like.shape[0], 0, *like.shape[1:]), like.dtype)
        else:
            ys = observed.pop(self.record)
        ts = jax.numpy.asarray(self.times(), ys.dtype)
        return Solution(ts, ys, observed, final if self.final else None)
