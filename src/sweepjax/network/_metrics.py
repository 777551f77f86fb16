"""Metrics of functional connectivity: FC, FCD and distances between them.

The scores that compare a simulated network with data in neurolib
(``neurolib.utils.functions``) and Deco's whole-brain model papers: the
correlation of two FC matrices (:func:`fc_correlation`) and the
Kolmogorov-Smirnov distance of two FCD distributions (:func:`fcd_distance`).
All are pure JAX, so a sweep can score each point where it is solved: they
work under ``jit`` and ``vmap`` (shapes, ``window``, ``step`` and ``k`` are
static) and return the input's float dtype (integers give the default float).

Conventions:

* Time first: a series is ``[n_samples, n_regions]``, like one state of a
  ``Solution.ys`` (``ys[:, state]``). neurolib takes ``[n_regions, n_samples]``.
* A correlation with a constant sample is 0, not NaN: a constant region has
  correlation 0 with every region, itself included (as neurolib's ``fc``, which
  zeros the NaN of ``np.corrcoef``), and the same holds for constant windows and
  triangles, so a silent region does not make a sweep's score NaN. "Constant"
  is exact: ``[0.1, 0.1, 0.1]`` gives 0 (``np.corrcoef`` gives rounding noise).
  NaN in the input still gives NaN (neurolib gives 0), so diverged runs show.
* Upper triangles leave out the diagonal (``k=1``), in ``np.triu_indices`` order.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._tree import check_positive_int

__all__ = [
    "fc",
    "fc_correlation",
    "fcd",
    "fcd_distance",
    "ks_distance",
    "sliding_fc",
    "to_samples",
    "upper_triangle",
]


def fc(series: jax.Array) -> jax.Array:
    """Functional connectivity: the Pearson correlation matrix between regions.

    Args:
        series: ``[n_samples, n_regions]``, time first (``Solution.ys[:, state]``).

    Returns:
        ``[n_regions, n_regions]``; rows and columns of a constant region are 0
        (its diagonal entry too), as in neurolib's ``fc``.

    >>> series = jnp.array([[0.0, 1.0, 5.0], [1.0, 0.0, 5.0], [2.0, -1.0, 5.0]])
    >>> fc(series)
    Array([[ 1., -1.,  0.],
           [-1.,  1.,  0.],
           [ 0.,  0.,  0.]], dtype=float32)
    """
    return _correlation(_series(series))


def upper_triangle(matrix: jax.Array, k: int = 1) -> jax.Array:
    """The entries of ``matrix`` on and above its ``k``-th diagonal, as a vector
    in ``np.triu_indices(n, k)`` order (row by row); ``k=1`` leaves out the
    diagonal, so each pair of regions of an FC matrix counts once.

    >>> upper_triangle(jnp.arange(9.0).reshape(3, 3))
    Array([1., 2., 5.], dtype=float32)
    """
    matrix = _square(matrix, "matrix")
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise TypeError(
            f"`k` must be a static int (a diagonal offset), got "
            f"{type(k).__name__}: {k!r}."
        )
    return _upper(matrix, int(k))


def sliding_fc(series: jax.Array, window: int, step: int) -> jax.Array:
    """The FC of each window of ``window`` samples, one window every ``step``
    samples: the windows :func:`fcd` compares.

    Windows start at samples ``0, step, 2*step, ...`` and lie wholly inside the
    series, so there are ``(n_samples - window) // step + 1`` of them. They are
    gathered at once: ``[n_windows, window, n_regions]`` values in memory.

    Returns:
        ``[n_windows, n_regions, n_regions]``.

    >>> series = jnp.cos(jnp.arange(400.0).reshape(100, 4))
    >>> sliding_fc(series, window=30, step=10).shape
    (8, 4, 4)
    """
    series = _series(series)
    return _sliding_fc(series, *_windows(series.shape[0], window, step))


def fcd(series: jax.Array, window: int, step: int) -> jax.Array:
    """Functional connectivity dynamics: the Pearson correlation between the
    upper triangles of the FC of sliding windows (:func:`sliding_fc`).

    ``window`` and ``step`` count samples, as in neurolib's ``fcd(ts,
    windowsize, stepsize)`` (e.g. 30 and 5 for BOLD sampled every 2 s: 60 s
    windows every 10 s); :func:`to_samples` converts durations. Two neurolib
    conventions are not kept: neurolib drops the last window when it ends
    exactly at the last sample (its ``fcd(ts.T, w, s)`` has the windows of our
    ``fcd(ts[:-1], w, s)``), and it correlates whole flattened FC matrices,
    whose diagonal of ones and doubled entries inflate every correlation; here
    each pair of regions counts once (``k=1``), as in Hansen et al. 2015.

    Args:
        series: ``[n_samples, n_regions]`` with at least 2 regions.
        window: samples per window, at least 2 and at most ``n_samples``.
        step: samples between the starts of consecutive windows, at least 1.

    Returns:
        ``[n_windows, n_windows]`` with ``n_windows = (n_samples - window) //
        step + 1``.

    >>> series = jnp.cos(jnp.arange(500.0).reshape(100, 5))
    >>> fcd(series, window=30, step=5).shape
    (15, 15)
    """
    series = _series(series)
    if series.shape[1] < 2:
        raise ValueError(
            "`series` must have at least 2 regions for an FCD (it correlates "
            f"pairs of regions), got shape {series.shape}."
        )
    return _fcd(series, *_windows(series.shape[0], window, step))


def fc_correlation(fc_a: jax.Array, fc_b: jax.Array) -> jax.Array:
    """Pearson correlation of the upper triangles (``k=1``) of two FC matrices:
    neurolib's ``matrix_correlation``, the usual FC fit score (1 is a perfect
    fit); 0 when either triangle is constant.

    >>> fc_a = jnp.array([[1.0, 0.2, 0.4], [0.2, 1.0, 0.6], [0.4, 0.6, 1.0]])
    >>> fc_correlation(fc_a, 2 * fc_a - 1)
    Array(1., dtype=float32)
    """
    fc_a = _square(fc_a, "fc_a", minimum=3)
    fc_b = _square(fc_b, "fc_b", minimum=3)
    if fc_a.shape != fc_b.shape:
        raise ValueError(
            "`fc_a` and `fc_b` must have the same shape, got "
            f"fc_a {fc_a.shape} and fc_b {fc_b.shape}."
        )
    return _fc_correlation(fc_a, fc_b)


def ks_distance(a: jax.Array, b: jax.Array) -> jax.Array:
    """The two-sample Kolmogorov-Smirnov statistic: the largest gap between the
    empirical CDFs of two 1-D samples, ties included (``scipy.stats.ks_2samp(a,
    b).statistic``); NaN when either holds a NaN. The samples may differ in size.

    >>> ks_distance(jnp.array([1.0, 2.0, 2.0]), jnp.array([2.0, 3.0]))
    Array(0.5, dtype=float32)
    """
    return _ks_distance(check_sample(a, "a"), check_sample(b, "b"))


def fcd_distance(fcd_a: jax.Array, fcd_b: jax.Array) -> jax.Array:
    """KS statistic between the upper-triangle (``k=1``) values of two FCD
    matrices: neurolib's ``matrix_kolmogorov``, the usual FCD fit score (0 is a
    perfect fit). The matrices may differ in size (series of other lengths).

    >>> fcd_a = jnp.array([[1.0, 0.2, 0.4], [0.2, 1.0, 0.6], [0.4, 0.6, 1.0]])
    >>> fcd_distance(fcd_a, fcd_a + 0.3)
    Array(0.6666667, dtype=float32)
    """
    fcd_a = _square(fcd_a, "fcd_a", minimum=2)
    fcd_b = _square(fcd_b, "fcd_b", minimum=2)
    return _ks_distance(_upper(fcd_a, 1), _upper(fcd_b, 1))


def to_samples(duration: float, dt: float) -> int:
    """The number of samples that ``duration`` spans at sampling period ``dt``
    (same time unit, ms in sweepjax): a :func:`fcd` ``window`` or ``step`` from
    a duration. ``duration`` must be a whole number of periods (to a relative
    1e-6, so a period read from float32 times passes), rather than rounded
    silently; the error suggests the nearest durations that are.

    >>> to_samples(60_000.0, dt=2_000.0)  # 60 s of BOLD sampled every 2 s
    30
    """
    duration, dt = float(duration), float(dt)
    for name, value in (("duration", duration), ("dt", dt)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"`{name}` must be a positive number, got {name}={value}.")
    ratio = duration / dt
    samples = round(ratio)
    if samples < 1 or abs(ratio - samples) > 1e-6 * ratio:
        low, high = max(math.floor(ratio), 1), max(math.ceil(ratio), 1)
        nearest = sorted({low, high})
        options = " or ".join(
            f"{n * dt:g} ({n} sample{'s' * (n != 1)})" for n in nearest
        )
        raise ValueError(
            f"`duration` must be a whole number of periods dt={dt:g}, got "
            f"duration={duration:g}: {ratio:.4g} periods; use {options}."
        )
    return samples


# The computations, on checked arguments. Each is jitted, so that a call outside
# jit compiles once per shape instead of running op by op.


@jax.jit
def _correlation(x: jax.Array) -> jax.Array:
    """Pearson correlation between the columns of ``x`` ``[n_obs, n_vars]``;
    0 in the rows and columns of a constant column."""
    x = x - x[:1]  # a constant column becomes exactly 0 (its mean may round)
    x = x - x.mean(axis=0)
    cov = jnp.matmul(x.T, x, precision=jax.lax.Precision.HIGHEST)  # no TF32
    var = jnp.diagonal(cov)
    varies = var > 0
    both = varies[:, None] & varies[None, :]
    norm = jnp.sqrt(jnp.where(both, var[:, None] * var[None, :], 1))
    corr = jnp.clip(jnp.where(both, cov / norm, 0 * cov), -1, 1)  # 0 * NaN: NaN
    return jnp.where(jnp.diag(varies), jnp.ones_like(corr), corr)


@functools.partial(jax.jit, static_argnums=1)
def _upper(matrix: jax.Array, k: int) -> jax.Array:
    rows, cols = np.triu_indices(matrix.shape[0], k)
    return matrix[rows, cols]


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _sliding_fc(series: jax.Array, n_windows: int, window: int, step: int):
    starts = step * np.arange(n_windows)
    windows = series[starts[:, None] + np.arange(window)]
    return jax.vmap(_correlation)(windows)


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _fcd(series: jax.Array, n_windows: int, window: int, step: int) -> jax.Array:
    rows, cols = np.triu_indices(series.shape[1], 1)
    triangles = _sliding_fc(series, n_windows, window, step)[:, rows, cols]
    return _correlation(triangles.T)


@jax.jit
def _fc_correlation(fc_a: jax.Array, fc_b: jax.Array) -> jax.Array:
    pairs = jnp.stack([_upper(fc_a, 1), _upper(fc_b, 1)], axis=1)
    return _correlation(pairs.astype(_float_dtype(pairs)))[0, 1]


@jax.jit
def _ks_distance(a: jax.Array, b: jax.Array) -> jax.Array:
    dtype = _float_dtype(a, b)
    a, b = jnp.sort(a), jnp.sort(b)
    points = jnp.concatenate([a, b])
    count_a = jnp.searchsorted(a, points, side="right").astype(dtype)
    count_b = jnp.searchsorted(b, points, side="right").astype(dtype)
    # |count_a / n_a - count_b / n_b| with one rounding, so equal CDFs give 0
    gap = jnp.max(jnp.abs(count_a * b.shape[0] - count_b * a.shape[0]))
    distance = gap / np.asarray(a.shape[0] * b.shape[0], dtype)  # may pass 2**31
    has_nan = jnp.isnan(a[-1]) | jnp.isnan(b[-1])  # sorting puts NaN last
    return jnp.where(has_nan, jnp.nan, distance).astype(dtype)


def _float_dtype(*arrays: jax.Array) -> np.dtype:
    """The common dtype of ``arrays`` if it is a float, else the default float."""
    dtype = jnp.result_type(*arrays)
    return dtype if jnp.issubdtype(dtype, jnp.floating) else jnp.result_type(float)


def _series(series: jax.Array) -> jax.Array:
    """``series`` as a float ``[n_samples, n_regions]`` array with >= 2 samples."""
    series = jnp.asarray(series)
    if series.ndim != 2:
        hint = " (for a Solution.ys pick a state: ys[:, state])" * (series.ndim == 3)
        raise ValueError(
            "`series` must be 2-D [n_samples, n_regions], got shape "
            f"{series.shape}{hint}."
        )
    if series.shape[0] < 2:
        raise ValueError(
            "`series` must have at least 2 samples to correlate, got shape "
            f"{series.shape}."
        )
    return series.astype(_float_dtype(series))


def _windows(n_samples: int, window: int, step: int) -> tuple[int, int, int]:
    """The number of windows, ``window`` and ``step``, checked, as ints."""
    window = check_positive_int("window", window)
    step = check_positive_int("step", step)
    if not 2 <= window <= n_samples:
        raise ValueError(
            f"`window` must be between 2 and the series' {n_samples} samples, got "
            f"window={window}."
        )
    return (n_samples - window) // step + 1, window, step


def _square(matrix: jax.Array, name: str, minimum: int = 0) -> jax.Array:
    """``matrix`` as a square 2-D array of at least ``minimum`` rows."""
    matrix = jnp.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(
            f"`{name}` must be a square 2-D matrix, got shape {matrix.shape}."
        )
    if matrix.shape[0] < minimum:
        raise ValueError(
            f"`{name}` must be at least {minimum}x{minimum} (for upper-triangle "
            f"values to compare), got shape {matrix.shape}."
        )
    return matrix


def check_sample(sample: jax.Array, name: str) -> jax.Array:
    """``sample`` as a non-empty 1-D array, or a ValueError naming ``name``."""
    sample = jnp.asarray(sample)
    if sample.ndim != 1 or sample.shape[0] == 0:
        raise ValueError(
            f"`{name}` must be a non-empty 1-D sample, got shape {sample.shape}."
        )
    return sample
