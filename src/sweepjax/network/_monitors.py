"""Monitors: what a solve records, so long runs need not keep every step."""

from __future__ import annotations

import abc

import jax
import numpy as np

from sweepjax._tree import check_positive_int


class AbstractMonitor(abc.ABC):
    """Reduces each block of ``every`` consecutive states to one record.

    ``init(y)`` gives an empty accumulator (``y`` is a template state
    ``[n_states, n_nodes]``), ``update(acc, y)`` folds in the state after each
    step of the block, ``finalize(acc)`` turns it into the record; ``times``
    gives the time stamp of each record. Only one block's accumulator is ever
    held, so memory is ``O(n_steps / every)``.
    """

    every: int

    @abc.abstractmethod
    def init(self, y: jax.Array) -> jax.Array:
        """Empty accumulator, shaped after the template state ``y``."""

    @abc.abstractmethod
    def update(self, acc: jax.Array, y: jax.Array) -> jax.Array:
        """Fold one more state into the accumulator."""

    def finalize(self, acc: jax.Array) -> jax.Array:
        """The record of a block."""
        return acc

    @abc.abstractmethod
    def times(self, t0: float, dt: float, n_records: int) -> np.ndarray:
        """Time of each of the ``n_records`` records."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(every={self.every})"


class Raw(AbstractMonitor):
    """Every step: the record ``k`` is the state after step ``k``, at
    ``t0 + (k + 1)*dt``. The default monitor.

    >>> monitor = Raw()
    """

    every = 1

    def init(self, y):
        return y

    def update(self, acc, y):
        return y

    def times(self, t0, dt, n_records):
        return t0 + dt * np.arange(1, n_records + 1)

    def __repr__(self) -> str:
        return "Raw()"


class SubSample(Raw):
    """Every ``every``-th step: the state after steps ``every, 2*every, ...``.

    The additive noise of a block is the draw of
    ``jax.random.fold_in(config.noise.key, block_index)`` (made a step at a
    time inside the loop), so the noise is never materialised for the whole
    run (the realisation therefore differs
    from an unmonitored run; its statistics do not).

    >>> monitor = SubSample(every=10)   # dt = 0.1 ms -> one record per ms
    """

    def __init__(self, every: int):
        self.every = check_positive_int("every", every)

    def times(self, t0, dt, n_records):
        return t0 + dt * self.every * np.arange(1, n_records + 1)

    def __repr__(self) -> str:
        return AbstractMonitor.__repr__(self)


class TemporalAverage(AbstractMonitor):
    """Mean of the states after each step of consecutive ``every``-step blocks,
    stamped at the mean time of the block. Noise is drawn per block as for
    :class:`SubSample`.

    >>> monitor = TemporalAverage(every=10)
    """

    def __init__(self, every: int):
        self.every = check_positive_int("every", every)

    def init(self, y):
        return jax.numpy.zeros_like(y)

    def update(self, acc, y):
        return acc + y

    def finalize(self, acc):
        return acc / self.every

    def times(self, t0, dt, n_records):
        start = t0 + dt * self.every * np.arange(n_records)
        return start + dt * (self.every + 1) / 2.0
