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
    ``d + 2`` (``2d + 2`` with second order), column-major (each factor's
    column is one contiguous array, as the design's axes take them).

    >>> saltelli_rows(np.array([[0.1, 0.2, 0.7, 0.8]]), False).tolist()
    [[0.1, 0.2], [0.7, 0.2], [0.1, 0.8], [0.7, 0.8]]
    """
    n, two_d = base.shape
    d = two_d // 2
    step = 2 * d + 2 if second_order else d + 2
    j = np.arange(d)
    # from_b[s, c]: point s of a base row takes factor c from B (else A)
    from_b = np.zeros((step, d), bool)
    from_b[1 + j, j] = True  # AB_j: column j from B
    if second_order:
        from_b[d + 1 : 2 * d + 1] = True
        from_b[d + 1 + j, j] = False  # BA_j: column j from A
    from_b[-1] = True
    out = np.empty((d, n, step))
    for c in range(d):  # one contiguous column per factor, written once
        np.copyto(out[c], base[:, c, None])
        np.copyto(out[c], base[:, d + c, None], where=from_b[:, c])
    return out.reshape(d, n * step).T


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
