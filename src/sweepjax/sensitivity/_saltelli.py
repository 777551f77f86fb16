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

from sweepjax._axes import AbstractAxis
from sweepjax._tree import check_positive_int
from sweepjax.sensitivity._bootstrap import prefetch_counts
from sweepjax.sensitivity._designs import (
    MAX_BYTES,
    DesignSpace,
    aligned_empty,
    design_seed,
    scipy_stats,
    unit_to_axis,
)

__all__ = ["SaltelliSpace", "saltelli_rows"]


def from_b(d: int, second_order: bool) -> np.ndarray:
    """`[step, d]`: whether point `s` of a base row takes factor `c` from
    `B` (else from `A`).

    >>> from_b(2, False).astype(int).tolist()
    [[0, 0], [1, 0], [0, 1], [1, 1]]
    """
    j = np.arange(d)
    mask = np.zeros((2 * d + 2 if second_order else d + 2, d), bool)
    mask[1 + j, j] = True  # AB_j: column j from B
    if second_order:
        mask[d + 1 : 2 * d + 1] = True
        mask[d + 1 + j, j] = False  # BA_j: column j from A
    mask[-1] = True
    return mask


def saltelli_column(a: np.ndarray, b: np.ndarray, take_b: np.ndarray) -> np.ndarray:
    """One factor's values at the Saltelli points, `[n * step, *shape]`,
    from its values in `A` and in `B` (`[n, *shape]`) and its column
    `take_b` `[step]` of `from_b`; a fresh array at a 64-byte boundary."""
    n, shape = a.shape[0], a.shape[1:]
    out = aligned_empty((n, len(take_b), *shape), a.dtype)
    np.copyto(out, a[:, None])
    np.copyto(out, b[:, None], where=take_b.reshape((1, -1) + (1,) * len(shape)))
    return out.reshape((-1, *shape))


def saltelli_rows(base: np.ndarray, second_order: bool) -> np.ndarray:
    """The Saltelli points of a base matrix `[n, 2d]`: `[n * step, d]`, step
    ``d + 2`` (``2d + 2`` with second order).

    >>> saltelli_rows(np.array([[0.1, 0.2, 0.7, 0.8]]), False).tolist()
    [[0.1, 0.2], [0.7, 0.2], [0.1, 0.8], [0.7, 0.8]]
    """
    d = base.shape[1] // 2
    mask = from_b(d, second_order)
    columns = [
        saltelli_column(base[:, c], base[:, d + c], mask[:, c]) for c in range(d)
    ]
    return np.stack(columns, axis=1)


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

        def make(d: int) -> np.ndarray:  # the base matrix: `[A, B]`
            return qmc.Sobol(2 * d, scramble=scramble, seed=seed).random(n)

        def count(d: int) -> int:
            return n * (2 * d + 2 if self._second_order else d + 2)

        self._n_base = n
        self._build(state, key, max_bytes, count, make)
        prefetch_counts(n)  # sobol_indices' default bootstrap, while the sweep runs

    def _axis_values(
        self, name: str, axis: AbstractAxis, points: np.ndarray, column: int
    ) -> np.ndarray:
        """The axis's values at the Saltelli points: mapped at its columns
        of `A` and `B` (`points`, the base matrix), then laid out (the unit
        points themselves are never made for the sweep)."""
        n, d = points.shape[0], points.shape[1] // 2
        both = unit_to_axis(
            name, axis, np.concatenate([points[:, column], points[:, d + column]])
        )
        take_b = from_b(d, self._second_order)[:, column]
        return saltelli_column(both[:n], both[n:], take_b)

    def _make_unit(self) -> np.ndarray:
        return saltelli_rows(self._points, self._second_order)

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
