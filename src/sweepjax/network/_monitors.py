"""Recorded series: the trajectory itself (:class:`Raw`), every k-th state
(:class:`SubSample`) or block means (:class:`TemporalAverage`).

They are observers like the others (``observe={"ys": SubSample(10)}``), run
by the same loop on the same noise, so what is recorded of a point never
changes its numbers. ``prepare(..., monitor=SubSample(10))`` is the short
spelling that puts the records in ``Solution.ys``.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax
import numpy as np

from sweepjax._tree import check_positive_int
from sweepjax.network._observer import AbstractFoldless


class AbstractMonitor(AbstractFoldless):
    """Reduces each block of ``every`` consecutive states (all state
    variables, ``[n_states, n_nodes]``) to one record:
    ``[n_observed // every, n_states, n_nodes]``.

    The loop hands it the states of a few whole blocks at a time,
    ``record_block(xs)``, and stacks what it returns; nothing is carried
    from step to step (``init``, ``update`` and ``finalize`` keep an empty
    accumulator). ``times`` gives the time stamp of each record. The
    observed steps must be a whole number of blocks.

    >>> isinstance(SubSample(every=10), AbstractMonitor)
    True
    """

    #: Every state variable.
    states: ClassVar[None] = None
    # ``every``: a field of each subclass, or a class constant (Raw's 1).
    #: Equinox's repr (``SubSample(every=10)``, ``Raw()``), the strings that
    #: stores fingerprint; observers of states print theirs positionally.
    __repr__ = eqx.Module.__repr__

    def bind(self, dt: float, n_steps: int) -> AbstractMonitor:
        if n_steps % self.every:
            raise ValueError(
                f"{self!r} records one state per {self.every} steps, and the run "
                f"observes {n_steps} steps, not a multiple of every={self.every}; "
                "adjust t1 (or the transient) or every."
            )
        return self

    @abc.abstractmethod
    def record_block(self, xs: jax.Array) -> jax.Array:
        """The records of the states ``xs`` ``[rows, ...]`` of consecutive
        steps (``rows`` a multiple of ``every``): ``[rows // every, ...]``."""

    @abc.abstractmethod
    def times(self, t0: float, dt: float, n_records: int) -> np.ndarray:
        """Time of each of the ``n_records`` records."""


class Raw(AbstractMonitor):
    """Every step: the record ``k`` is the state after step ``k``, at
    ``t0 + (k + 1)*dt``. The default monitor.

    >>> monitor = Raw()
    """

    every: ClassVar[int] = 1

    def record_block(self, xs):
        return xs

    def times(self, t0, dt, n_records):
        return t0 + dt * np.arange(1, n_records + 1)


class SubSample(AbstractMonitor):
    """Every ``every``-th step: the state after steps ``every, 2*every, ...``,
    the rows ``every - 1 :: every`` of :class:`Raw`'s trajectory (the same
    numbers: the noise does not depend on what is recorded).

    >>> monitor = SubSample(every=10)   # dt = 0.1 ms -> one record per ms
    """

    every: int

    def __init__(self, every: int):
        self.every = check_positive_int("every", every)

    def record_block(self, xs):
        return xs[self.every - 1 :: self.every]

    def times(self, t0, dt, n_records):
        return t0 + dt * self.every * np.arange(1, n_records + 1)


class TemporalAverage(AbstractMonitor):
    """Mean of the states after each step of consecutive ``every``-step blocks,
    stamped at the mean time of the block.

    >>> monitor = TemporalAverage(every=10)
    """

    every: int

    def __init__(self, every: int):
        self.every = check_positive_int("every", every)

    def record_block(self, xs):
        blocks = xs.reshape(xs.shape[0] // self.every, self.every, *xs.shape[1:])
        return blocks.sum(1) / self.every

    def times(self, t0, dt, n_records):
        start = t0 + dt * self.every * np.arange(n_records)
        return start + dt * (self.every + 1) / 2.0
