"""Sobol' indices from a Saltelli design's outputs, for every output element.

The estimators are SALib's (``SALib.analyze.sobol``): first order after
Saltelli et al. (2010), ``mean(B (AB_j - A)) / var``; total after Jansen,
``mean((A - AB_j)^2) / 2 var``; second order after Saltelli (2002); the
output centred on its mean over the whole design, the variance that of
``A`` and ``B`` together; confidence intervals from the same bootstrap
(``numpy.random.default_rng(seed).integers(N, size=(N, n_resamples))``,
``Z * std(ddof=1)`` of the resampled indices). On the same outputs and seed
the numbers equal SALib's to round-off.

Bounded memory and speed: the outputs are read in blocks of base rows (a
`Result`'s NumPy arrays or a store's Zarr arrays alike) and only sums of
per-row terms are kept, `[n_resamples + 1, n_terms, n_elements]` (row 0:
over all rows, the estimate). A resample's sum is its bootstrap counts
(`bootstrap_counts`) times the terms: one matrix product per block for
every resample, term and output element at once, where SALib copies the
outputs once per resample.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import numpy as np

from sweepjax._result import Result, output_names
from sweepjax._store import open_result
from sweepjax._tree import check_positive_int
from sweepjax.sensitivity._bootstrap import bootstrap_counts
from sweepjax.sensitivity._designs import scipy_stats
from sweepjax.sensitivity._saltelli import SaltelliSpace

__all__ = ["output_leaf", "sobol_arrays", "sobol_indices"]

#: Outputs read per block: 16 MB in float64 (their per-row terms take about
#: 3 times that).
BLOCK_VALUES = 2**21


def z_score(conf_level: float) -> float:
    if not 0 < conf_level < 1:
        raise ValueError(
            f"`conf_level` must lie in (0, 1), got {conf_level!r}; e.g. 0.95."
        )
    return float(scipy_stats().norm.ppf(0.5 + conf_level / 2))


def n_terms(d: int, second: bool) -> int:
    """Per-row terms the estimators average (see `row_terms`)."""
    return 5 + 4 * d + d * (d - 1) // 2 if second else 4 + 3 * d


def row_terms(
    y: np.ndarray, d: int, second: bool, t: np.ndarray | None = None
) -> np.ndarray:
    """`t` `[n_terms, rows, e]`, filled with the per-row terms of outputs `y`
    `[step, rows, e]` (a new array if `t` is None):
    ``A, A^2, B, B^2``, then for each factor ``D_j = AB_j - A``, ``B D_j``,
    ``D_j^2``; with second order also ``A B``, ``BA_j`` and ``BA_j AB_k``
    for each pair ``j < k`` (the sum of ``AB_j`` is that of ``D_j + A``).
    Every mean the estimators need is a mean of one of them."""
    _, rows, e = y.shape
    t = np.empty((n_terms(d, second), rows, e)) if t is None else t
    a, b, ab = y[0], y[-1], y[1 : d + 1]
    t[0], t[2] = a, b
    np.multiply(a, a, out=t[1])
    np.multiply(b, b, out=t[3])
    diff = t[4 : 4 + d]
    np.subtract(ab, a, out=diff)
    np.multiply(b, diff, out=t[4 + d : 4 + 2 * d])
    np.multiply(diff, diff, out=t[4 + 2 * d : 4 + 3 * d])
    if second:
        k = 4 + 3 * d
        ba = y[d + 1 : 2 * d + 1]
        np.multiply(a, b, out=t[k])
        t[k + 1 : k + 1 + d] = ba
        j, jj = np.triu_indices(d, 1)
        np.multiply(ba[j], ab[jj], out=t[k + 1 + d :])
    return t


class _Sums:
    """Sums of a Saltelli design's per-row terms (`row_terms`), block by
    block: over all rows (the estimate) and under each resample's counts
    (the bootstrap), both in one matrix product per block (a row of ones
    above the counts), for every term and every output element."""

    def __init__(self, d: int, second: bool, counts: np.ndarray, n_el: int):
        self.d, self.second, self.counts = d, second, counts
        r, k = counts.shape[0], n_terms(d, second)
        self.shift: np.ndarray | None = None
        self.total = np.zeros(n_el)
        self.total2 = np.zeros(n_el)
        self.sums = np.zeros((1 + r, k, n_el))  # row 0: all rows
        # the matrix product's output, a slice of columns at a time
        self.piece = min(k * n_el, max(1, BLOCK_VALUES // (1 + r)))
        self.out = np.empty((1 + r) * self.piece)
        self.w = np.empty(0)

    def add(self, block: np.ndarray, row0: int) -> None:
        """`block`: `[rows, step, n_el]` outputs of base rows from `row0`."""
        if self.shift is None:  # centring on any output keeps the sums small
            self.shift = block[0, 0].copy()
        rows, step, e = block.shape
        y = np.empty((step, rows, e))  # step-major: A, AB_j... contiguous
        np.subtract(block.transpose(1, 0, 2), self.shift, out=y)
        self.total += y.sum((0, 1))
        self.total2 += np.einsum("ijk,ijk->k", y, y)
        # terms laid out so that `by_row` is a view: term-major for a scalar
        # output (contiguous writes; BLAS reads it transposed), row-major
        # otherwise
        k = self.sums.shape[1]
        if e == 1:
            t = row_terms(y, self.d, self.second, np.empty((k, rows, 1)))
        else:
            t = np.empty((rows, k, e)).transpose(1, 0, 2)
            t = row_terms(y, self.d, self.second, t)
        by_row = t.transpose(1, 0, 2).reshape(rows, k * e)
        r = self.counts.shape[0]
        if self.w.size < (1 + r) * rows:
            self.w = np.empty((1 + r) * rows)
        w = self.w[: (1 + r) * rows].reshape(1 + r, rows)
        w[0] = 1.0
        w[1:] = self.counts[:, row0 : row0 + rows]
        sums = self.sums.reshape(1 + r, k * e)
        for c0 in range(0, k * e, self.piece):
            c1 = min(k * e, c0 + self.piece)
            out = self.out[: (1 + r) * (c1 - c0)].reshape(1 + r, c1 - c0)
            sums[:, c0:c1] += np.matmul(w, by_row[:, c0:c1], out=out)

    def indices(self, n: int, n_points: int, z: float) -> dict[str, np.ndarray]:
        """Estimates (row 0 of the sums) and CIs (the other rows)."""
        d, s = self.d, self.sums
        sA, sA2, sB, sB2 = s[:, 0], s[:, 1], s[:, 2], s[:, 3]
        sD, sBD = s[:, 4 : 4 + d], s[:, 4 + d : 4 + 2 * d]
        sT = s[:, 4 + 2 * d : 4 + 3 * d]
        m = self.total / n_points  # the mean, relative to the shift
        spread = self.total2 / n_points - m * m
        mean_ab = (sA + sB) / (2 * n)
        var = (sA2 + sB2) / (2 * n) - mean_ab**2
        eps = np.finfo(float).eps
        ok = var > eps * np.maximum(spread, eps)

        def ratio(num):  # [r, ..., e] / var, 0 where the output is constant
            v = var.reshape(var.shape[:1] + (1,) * (num.ndim - 2) + var.shape[1:])
            good = ok.reshape(v.shape)
            return np.divide(num, v, out=np.zeros_like(num), where=good)

        s1 = ratio((sBD - m * sD) / n)
        st = ratio(0.5 * sT / n)
        out = {"S1": s1, "ST": st}
        if self.second:
            k = 4 + 3 * d
            sAxB, sBA, sP = s[:, k], s[:, k + 1 : k + 1 + d], s[:, k + 1 + d :]
            sAB = sD + sA[:, None]
            j, jj = np.triu_indices(d, 1)
            cross = sP - m * (sBA[:, j] + sAB[:, jj])
            centre = sAxB - m * (sA + sB)
            pairs = ratio((cross - centre[:, None]) / n) - s1[:, j] - s1[:, jj]
            out["S2"] = np.full((s.shape[0], d, d, s.shape[-1]), np.nan)
            out["S2"][:, j, jj] = pairs
        result = {}
        for name, x in out.items():
            result[name] = x[0]
            result[name + "_conf"] = z * x[1:].std(axis=0, ddof=1)
        return result


def sobol_arrays(
    outputs: Any,
    d: int,
    second_order: bool = False,
    n_resamples: int = 100,
    conf_level: float = 0.95,
    seed: int | None = 1,
    block_rows: int | None = None,
) -> dict[str, np.ndarray]:
    """Sobol' indices of Saltelli-design `outputs` `[n * step, *shape]` (any
    array that slices: NumPy, Zarr, Dask), for `d` factors: ``S1``, ``ST``
    and their ``_conf`` half-widths `[d, *shape]`; with `second_order`,
    ``S2`` and ``S2_conf`` `[d, d, *shape]` (upper triangle; NaN elsewhere).

    Equal, element by element, to ``SALib.analyze.sobol.analyze(problem, y,
    calc_second_order, n_resamples, conf_level, seed=seed)`` on each
    element's series `y`. Read `block_rows` base rows at a time (default: 16
    MB of outputs per block).

    >>> rng = np.random.default_rng(0)
    >>> s = sobol_arrays(rng.normal(size=(8 * 4, 3)), d=2)
    >>> s["S1"].shape, s["ST_conf"].shape
    ((2, 3), (2, 3))
    """
    d = check_positive_int("d", d)
    n_resamples = check_positive_int("n_resamples", n_resamples)
    z = z_score(conf_level)
    step = 2 * d + 2 if second_order else d + 2
    shape = tuple(outputs.shape[1:])
    total = int(outputs.shape[0])
    if total % step or total == 0:
        raise ValueError(
            f"`outputs` has {total} rows, not a multiple of {step} (the points "
            f"per base row of a Saltelli design of d={d} factors"
            f"{' with second order' if second_order else ''}): pass the "
            "outputs of the whole design, and the same second_order."
        )
    n = total // step
    n_el = int(np.prod(shape))
    sums = _Sums(d, second_order, bootstrap_counts(n, n_resamples, seed), n_el)
    rows = block_rows or max(1, BLOCK_VALUES // max(step * n_el, n_resamples))
    for r0 in range(0, n, rows):
        r1 = min(n, r0 + rows)
        block = np.asarray(outputs[r0 * step : r1 * step], dtype=np.float64)
        sums.add(block.reshape(r1 - r0, step, n_el), r0)
    result = sums.indices(n, total, z)
    return {k: v.reshape(v.shape[:-1] + shape) for k, v in result.items()}


def output_leaf(source: Any, output: str | None) -> tuple[Any, Any, str]:
    """``(space, array, name)`` of output leaf `output` of `source` (a
    `Result`, or a store path opened lazily)."""
    if isinstance(source, str | os.PathLike):
        source = open_result(source)
    if not isinstance(source, Result):
        raise TypeError(
            "`source` must be a sweepjax Result or the path of a store, got "
            f"{type(source).__name__}."
        )
    names = output_names(source.outputs)
    leaves = dict(zip(names, jax.tree.leaves(source.outputs), strict=True))
    if output is None:
        if len(leaves) > 1:
            raise ValueError(
                f"The result has several outputs {names}: pass output= one of them."
            )
        output = names[0]
    if output not in leaves:
        raise ValueError(f"`output` must be one of {names}, got {output!r}.")
    return source.space, leaves[output], output


def sobol_indices(
    source: Any,
    design: SaltelliSpace | None = None,
    output: str | None = None,
    n_resamples: int = 100,
    conf_level: float = 0.95,
    seed: int | None = 1,
    dims: tuple[str, ...] | None = None,
    block_rows: int | None = None,
) -> Any:
    """Sobol' indices of one output of a sweep over a `SaltelliSpace`, for
    every element of that output at once, as an xarray Dataset.

    Args:
        source: the sweep's `Result`, or the path of its store (read in
            blocks: memory does not grow with the design).
        design: the `SaltelliSpace` it ran; taken from a Result's space when
            that is one (a store's rebuilt space is not: pass it).
        output: the output leaf's name (optional when there is one).
        n_resamples: bootstrap resamples of the confidence intervals (as SALib's).
        conf_level: the confidence level of the ``_conf`` half-widths.
        seed: seeds the bootstrap (None: a fresh draw each call).
        dims: names of the output's dimensions (default ``output_dim_0``...).

    Returns:
        A Dataset with ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` over
        ``("parameter", *dims)`` (and ``S2``, ``S2_conf`` over ``("parameter",
        "parameter_2", *dims)`` for a second-order design); `conf` is the
        half-width of the `conf_level` interval. ``.to_dataframe()`` gives
        the table.

    >>> from sweepjax.sensitivity import SaltelliSpace
    >>> axis = UniformAxis(0.0, 1.0, 2)
    >>> design = SaltelliSpace({"a": axis, "b": axis}, n=16)
    >>> model = lambda s: {"y": s["a"] + 0.1 * s["b"]}
    >>> s = sobol_indices(ParallelExecution(model, design, progress=False).run())
    >>> sorted(s.data_vars)
    ['S1', 'S1_conf', 'ST', 'ST_conf']
    >>> bool(s["ST"].sel(parameter="a") > s["ST"].sel(parameter="b"))
    True
    """
    import xarray as xr  # heavy: imported when indices are computed

    space, array, output = output_leaf(source, output)
    design = design if design is not None else space
    if not isinstance(design, SaltelliSpace):
        raise TypeError(
            "`design` must be the SaltelliSpace the sweep ran (a store's space "
            f"is rebuilt as a plain Space), got {type(design).__name__}."
        )
    if not design.is_whole or len(design) != array.shape[0]:
        raise ValueError(
            f"The output `{output}` has {array.shape[0]} points; the design "
            f"{design!r} has {len(design)} (whole: {design.is_whole}). Pass the "
            "outputs of the whole, unsliced design."
        )
    s = sobol_arrays(
        array,
        len(design.factors),
        design.second_order,
        n_resamples,
        conf_level,
        seed,
        block_rows,
    )
    shape = tuple(array.shape[1:])
    dims = (
        tuple(dims)
        if dims is not None
        else tuple(f"{output}_dim_{i}" for i in range(len(shape)))
    )
    if len(dims) != len(shape):
        raise ValueError(
            f"`dims` names {len(dims)} dimensions; the output `{output}` has "
            f"{len(shape)} (shape {shape})."
        )
    names = list(design.factors)
    data = {k: (("parameter", *dims), s[k]) for k in ("S1", "S1_conf", "ST", "ST_conf")}
    coords = {"parameter": names}
    if design.second_order:
        for k in ("S2", "S2_conf"):
            data[k] = (("parameter", "parameter_2", *dims), s[k])
        coords["parameter_2"] = names
    attrs = {
        "output": output,
        "n_base": design.n_base,
        "conf_level": conf_level,
        "n_resamples": n_resamples,
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)
