"""Smooth distances between FCD distributions: the 1-D Wasserstein distance.

The KS distance (:func:`~sweepjax.network.fcd_distance`) is piecewise constant
in the FCD values, so its gradient is zero almost everywhere and a fit cannot
follow it. The 1-D Wasserstein (earth mover's) distance ``W1 = integral of
|F_a - F_b|`` moves with every value; TVB-Optim fits FCD with it, on a
Gaussian kernel density estimate of each sample evaluated on a grid.

* :func:`wasserstein_distance` of two 1-D samples: ``bandwidth=0`` (the
  default) is the exact W1 of the samples (``scipy.stats.wasserstein_distance``)
  from their sorted values; it is differentiable wherever no two values tie.
  ``bandwidth > 0`` or ``"scott"`` smooths both samples with a Gaussian kernel
  first (the KDE of ``jax.scipy.stats.gaussian_kde``) and integrates on `grid`.
* :func:`fcd_wasserstein` compares the upper triangles (``k=1``) of two FCD
  matrices, with TVB-Optim's defaults (Scott's rule, 100 points on
  ``[-0.99, 0.99]``): the value of TVB-Optim's ``wasserstein_1d(
  fcd_distribution(a), fcd_distribution(b), grid)``.

The smoothed distance tends to the exact one when the kernel width goes to 0
while staying several grid spacings wide (``dx << bandwidth``) and the grid
covers both samples with a margin of a few widths: its error is then
``O(bandwidth)`` (only where ``F_a - F_b`` changes sign does smoothing lower
the integral) plus ``O(dx)`` from the grid sum.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax.network._metrics import check_sample, upper_triangle

__all__ = ["fcd_wasserstein", "wasserstein_distance"]

#: TVB-Optim's grid for FCD values (correlations, within [-1, 1]).
_FCD_GRID = np.linspace(-0.99, 0.99, 100)


def wasserstein_distance(
    a: jax.Array,
    b: jax.Array,
    bandwidth: float | str = 0.0,
    grid: jax.Array | None = None,
) -> jax.Array:
    """The 1-D Wasserstein-1 distance between two samples (sizes may differ).

    Args:
        a: 1-D sample.
        b: 1-D sample.
        bandwidth: 0 (default) for the exact distance of the samples, equal to
            ``scipy.stats.wasserstein_distance(a, b)``; a positive kernel
            standard deviation (in the samples' units, the same for both); or
            ``"scott"`` for each sample's Scott's-rule width, ``n ** -0.2``
            times its standard deviation (``jax.scipy.stats.gaussian_kde``'s
            default; NaN for a constant sample).
        grid: evenly spaced points where a smoothed density is evaluated and
            integrated (``bandwidth != 0`` only); it should cover both
            samples with a margin of a few kernel widths, with a spacing well
            under the width. Default: TVB-Optim's 100 points on ``[-0.99,
            0.99]``, made for correlations.

    >>> float(wasserstein_distance(jnp.array([0.0, 1.0]), jnp.array([0.5])))
    0.5
    """
    a, b = check_sample(a, "a"), check_sample(b, "b")
    dtype = jnp.result_type(a, b)
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.result_type(float)
    a, b = a.astype(dtype), b.astype(dtype)
    if isinstance(bandwidth, str):
        if bandwidth != "scott":
            raise ValueError(
                f"`bandwidth` must be a number >= 0 or 'scott', got {bandwidth!r}."
            )
        return _smoothed(a, b, _grid(grid, dtype), None)
    if isinstance(bandwidth, bool) or not isinstance(
        bandwidth, int | float | np.floating | np.integer
    ):
        raise TypeError(
            "`bandwidth` must be a number (a kernel width) or 'scott', got "
            f"{type(bandwidth).__name__}: {bandwidth!r}."
        )
    if not (np.isfinite(bandwidth) and bandwidth >= 0):
        raise ValueError(
            f"`bandwidth` must be finite and >= 0 (0: no smoothing), got "
            f"bandwidth={bandwidth!r}."
        )
    if bandwidth == 0:
        if grid is not None:
            raise ValueError(
                "`grid` is only used to integrate smoothed densities; with "
                "bandwidth=0 the distance is exact. Pass bandwidth > 0 or "
                "'scott', or leave out grid."
            )
        return _exact(a, b)
    return _smoothed(a, b, _grid(grid, dtype), jnp.asarray(bandwidth, dtype))


def fcd_wasserstein(
    fcd_a: jax.Array,
    fcd_b: jax.Array,
    bandwidth: float | str = "scott",
    grid: jax.Array | None = None,
) -> jax.Array:
    """Smooth FCD fit score: :func:`wasserstein_distance` between the
    upper-triangle (``k=1``) values of two FCD matrices (0 is a perfect fit).

    The defaults are TVB-Optim's FCD loss (a Scott's-rule Gaussian KDE of
    each set of values on 100 points of ``[-0.99, 0.99]``, then the 1-D
    Wasserstein distance of the densities); ``bandwidth=0`` gives the exact
    distance of the values (``scipy.stats.wasserstein_distance``). Unlike
    :func:`~sweepjax.network.fcd_distance` (KS), its gradient with respect to
    the FCD values, and so to a model's parameters, is not zero.

    >>> fcd_a = jnp.array([[1.0, 0.2, 0.4], [0.2, 1.0, 0.6], [0.4, 0.6, 1.0]])
    >>> round(float(fcd_wasserstein(fcd_a, fcd_a + 0.1, bandwidth=0)), 6)
    0.1
    """
    values = []
    for name, matrix in (("fcd_a", fcd_a), ("fcd_b", fcd_b)):
        matrix = jnp.asarray(matrix)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or len(matrix) < 2:
            raise ValueError(
                f"`{name}` must be a square FCD matrix of at least 2x2, got shape "
                f"{matrix.shape}."
            )
        values.append(upper_triangle(matrix, 1))
    return wasserstein_distance(*values, bandwidth, grid)


def _grid(grid: jax.Array | None, dtype) -> jax.Array:
    grid = jnp.asarray(_FCD_GRID if grid is None else grid)
    if grid.ndim != 1 or grid.shape[0] < 2:
        raise ValueError(
            "`grid` must be a 1-D array of at least 2 evenly spaced points, got "
            f"shape {grid.shape}."
        )
    return grid.astype(dtype)


@jax.jit
def _exact(a: jax.Array, b: jax.Array) -> jax.Array:
    """``integral |F_a - F_b|`` between consecutive pooled values (scipy's
    formula); the sort is differentiable, so is this, except at ties."""
    a, b = jnp.sort(a), jnp.sort(b)
    points = jnp.sort(jnp.concatenate([a, b]))
    count_a = jnp.searchsorted(a, points[:-1], side="right").astype(a.dtype)
    count_b = jnp.searchsorted(b, points[:-1], side="right").astype(a.dtype)
    return jnp.sum(
        jnp.abs(count_a / a.shape[0] - count_b / b.shape[0]) * jnp.diff(points)
    )


def _density(x: jax.Array, sample: jax.Array, width: jax.Array | None):
    """Gaussian KDE of `sample` at `x` (Scott's width when `width` is None),
    up to a constant factor (normalised away by the caller)."""
    if width is None:
        n = sample.shape[0]
        width = n ** (-0.2) * jnp.std(sample, ddof=1)
    z = (x[:, None] - sample[None, :]) / width
    return jnp.sum(jnp.exp(-0.5 * z * z), axis=1) / width


@jax.jit
def _smoothed(a, b, grid, width):
    """TVB-Optim's ``wasserstein_1d``: the cumulative sums of the densities on
    the grid, each normalised to end at 1, compared point by point."""
    dx = grid[1] - grid[0]
    cdf_a = jnp.cumsum(_density(grid, a, width))
    cdf_b = jnp.cumsum(_density(grid, b, width))
    return jnp.sum(jnp.abs(cdf_a / cdf_a[-1] - cdf_b / cdf_b[-1])) * dx
