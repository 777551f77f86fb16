"""The Saltelli design: the points Sobol' indices are estimated from.

Two independent matrices `A` and `B` (`[n, d]`: the two halves of a
``2d``-dimensional scrambled Sobol' sequence, as SALib's ``sobol.sample``
makes them) give, for each base row, ``d + 2`` points: ``A``, then ``AB_j``
(``A`` with column `j` from ``B``) for each factor, then ``B``; with second
order, ``BA_j`` (``B`` with column `j` from ``A``) come between, ``2d + 2``
points. Rows are laid out base row by base row, the layout SALib's
``sobol.analyze`` reads, so a prefix of whole base rows is a smaller design
(what the convergence plot uses).
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from sweepjax._tree import check_positive_int
from sweepjax.sensitivity._designs import (
    MAX_BYTES,
    DesignSpace,
    design_seed,
    scipy_stats,
)

__all__ = ["SaltelliSpace", "saltelli_rows"]


def saltelli_rows(base: np.ndarray, second_order: bool) -> np.ndarray:
    """The Saltelli points of a base matrix `[n, 2d]`: `[n * step, d]`, step
    ``d + 2`` (``2d + 2`` with second order).

    >>> saltelli_rows(np.array([[0.1, 0.2, 0.7, 0.8]]), False).tolist()
    [[0.1, 0.2], [0.7, 0.2], [0.1, 0.8], [0.7, 0.8]]
    """
    n, two_d = base.shape
    d = two_d // 2
    a, b = base[:, :d], base[:, d:]
    step = 2 * d + 2 if second_order else d + 2
    j = np.arange(d)
    # filled in place: one array, no copy per block
    out = np.empty((n, step, d))
    out[:, : d + 1] = a[:, None]
    out[:, 1 + j, j] = b  # AB_j: column j from B
    if second_order:
        out[:, d + 1 : 2 * d + 1] = b[:, None]
        out[:, d + 1 + j, j] = a  # BA_j: column j from A
    out[:, -1] = b
    return out.reshape(n * step, d)


class SaltelliSpace(DesignSpace):
    """A Saltelli design for the Sobol' indices of the axes of `state`: a zip
    Space of ``n (d + 2)`` points (``n (2d + 2)`` with `second_order`), `d`
    the number of factors (ungrouped axes and groups).

    Args:
        state: a pytree whose axes say ranges (see `DesignSpace`).
        n: base samples (a power of 2 keeps the Sobol' sequence balanced).
        second_order: add the ``BA_j`` points second-order indices need.
        key: seeds the scrambled Sobol' sequence (``design_seed(key)``: the
            same seed as SALib's ``sobol.sample(..., seed=s)``).
        scramble: Owen scrambling (default True, as SALib).
        max_bytes: refuse a design whose host arrays would exceed this.

    >>> axis = UniformAxis(0.0, 1.0, 2)
    >>> design = SaltelliSpace({"a": axis, "b": axis}, n=8)
    >>> len(design), design.step, design.n_base
    (32, 4, 8)
    """

    def __init__(
        self,
        state: Any,
        n: int,
        second_order: bool = False,
        key: jax.Array | None = None,
        scramble: bool = True,
        max_bytes: int = MAX_BYTES,
    ):
        qmc = scipy_stats().qmc
        n = check_positive_int("n", n)
        seed = design_seed(key)
        self._second_order = bool(second_order)

        def make(d: int) -> np.ndarray:
            base = qmc.Sobol(2 * d, scramble=scramble, seed=seed).random(n)
            return saltelli_rows(base, self._second_order)

        def count(d: int) -> int:
            return n * (2 * d + 2 if self._second_order else d + 2)

        self._n_base = n
        self._build(state, key, max_bytes, count, make)

    @property
    def second_order(self) -> bool:
        """Whether the design holds the ``BA_j`` points."""
        return self._second_order

    @property
    def step(self) -> int:
        """Points per base row: ``d + 2``, or ``2d + 2`` with second order."""
        d = len(self._factors)
        return 2 * d + 2 if self._second_order else d + 2

    @property
    def n_base(self) -> int:
        """Base samples `n` (rows of `A` and `B`)."""
        return self._n_base
