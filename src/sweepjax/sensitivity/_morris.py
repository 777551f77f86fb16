"""Morris screening: trajectories as a Space, elementary effects from outputs.

A trajectory starts at a point of the ``levels``-level grid of the unit cube
and moves one factor at a time, in a random order and direction, by
``delta = levels / (2 (levels - 1))`` (Morris 1991): ``d + 1`` points. The
elementary effect of factor `j` is the output's change over its step divided
by `delta` (in unit-cube units, as SALib's unscaled effects), signed so that
it is the change per increase. ``mu``, ``mu_star`` (mean of absolute effects)
and ``sigma`` (their spread: interactions, non-linearity) summarise them;
``mu_star_conf`` comes from SALib's bootstrap (``default_rng(seed)``, one
``integers(r, size=(n_resamples, r))`` per factor in order), so the numbers
equal ``SALib.analyze.morris`` on the same trajectories.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from sweepjax._tree import check_positive_int
from sweepjax.sensitivity._designs import MAX_BYTES, DesignSpace, design_seed
from sweepjax.sensitivity._sobol import output_leaf, z_score

__all__ = ["MorrisSpace", "morris_arrays", "morris_indices", "morris_trajectories"]


def morris_trajectories(
    d: int, r: int, levels: int, rng: np.random.Generator
) -> np.ndarray:
    """`r` Morris trajectories of `d` factors on a `levels`-level grid:
    `[r * (d + 1), d]` unit-cube points, trajectory by trajectory."""
    delta = levels / (2 * (levels - 1))
    grid = np.arange(levels) / (levels - 1)
    up = rng.random((r, d)) < 0.5
    # A start from which the step stays inside [0, 1]: the lower half of the
    # grid for an increase, the upper half for a decrease.
    low = rng.integers(0, levels // 2, size=(r, d))
    start = np.where(up, grid[low], grid[low + levels // 2])
    order = np.argsort(rng.random((r, d)), axis=1)
    points = np.empty((r, d + 1, d))
    points[:, 0] = start
    move = np.where(up, delta, -delta)
    for k in range(d):
        points[:, k + 1] = points[:, k]
        j = order[:, k]
        rows = np.arange(r)
        points[rows, k + 1, j] += move[rows, j]
    return np.clip(points, 0.0, 1.0).reshape(r * (d + 1), d)


class MorrisSpace(DesignSpace):
    """`n_trajectories` Morris trajectories over the axes of `state`: a zip
    Space of ``n_trajectories * (d + 1)`` points, `d` the number of factors.

    `levels` (even, default 4) sets the grid and the step; `key` seeds the
    trajectories (``numpy.random.default_rng(design_seed(key))``).

    >>> axis = UniformAxis(0.0, 1.0, 2)
    >>> design = MorrisSpace({"a": axis, "b": axis}, n_trajectories=5)
    >>> len(design), design.levels
    (15, 4)
    """

    def __init__(
        self,
        state: Any,
        n_trajectories: int,
        levels: int = 4,
        key: jax.Array | None = None,
        max_bytes: int = MAX_BYTES,
    ):
        r = check_positive_int("n_trajectories", n_trajectories)
        levels = check_positive_int("levels", levels)
        if levels < 2 or levels % 2:
            raise ValueError(
                f"`levels` must be an even number >= 2, got {levels}; e.g. 4."
            )
        self._levels, self._r = levels, r
        rng = np.random.default_rng(design_seed(key))
        self._build(
            state,
            key,
            max_bytes,
            lambda d: r * (d + 1),
            lambda d: morris_trajectories(d, r, levels, rng),
        )

    @property
    def levels(self) -> int:
        """Grid levels of the design."""
        return self._levels

    @property
    def n_trajectories(self) -> int:
        """Number of trajectories."""
        return self._r


def morris_arrays(
    inputs: np.ndarray,
    outputs: Any,
    levels: int = 4,
    n_resamples: int = 100,
    conf_level: float = 0.95,
    seed: int | None = 1,
) -> dict[str, np.ndarray]:
    """Morris measures from trajectories `inputs` `[r (d + 1), d]` (unit or
    scaled: only the direction of each step is read) and `outputs`
    `[r (d + 1), *shape]`: ``mu``, ``mu_star``, ``sigma``, ``mu_star_conf``,
    each `[d, *shape]`, equal to ``SALib.analyze.morris.analyze(problem,
    inputs, y, n_resamples, conf_level, num_levels=levels, seed=seed)`` on
    each element's series `y`."""
    inputs = np.asarray(inputs, dtype=np.float64)
    z = z_score(conf_level)
    d = inputs.shape[1]
    size = d + 1
    r = inputs.shape[0] // size
    if r * size != inputs.shape[0] or outputs.shape[0] != inputs.shape[0]:
        raise ValueError(
            f"`inputs` ({inputs.shape[0]} rows) and `outputs` ({outputs.shape[0]}"
            f" rows) must both hold whole trajectories of d + 1 = {size} points."
        )
    shape = tuple(outputs.shape[1:])
    y = np.asarray(outputs[:], dtype=np.float64).reshape(r, size, -1)
    steps = np.diff(inputs.reshape(r, size, d), axis=1)  # [r, d steps, d]
    sign = (steps > 0).astype(float) - (steps < 0)
    dy = np.diff(y, axis=1)  # [r, d steps, e]
    delta = levels / (2 * (levels - 1))
    ee = np.einsum("rkj,rke->jre", sign, dy) / delta  # [d, r, e]
    rng = np.random.default_rng(seed)
    conf = np.empty((d, ee.shape[2]))
    for j in range(d):
        draws = rng.integers(r, size=(n_resamples, r))
        flat = (draws + r * np.arange(n_resamples)[:, None]).ravel()
        counts = np.bincount(flat, minlength=r * n_resamples).reshape(-1, r)
        conf[j] = z * (counts @ np.abs(ee[j]) / r).std(axis=0, ddof=1)
    out = {
        "mu": ee.mean(1),
        "mu_star": np.abs(ee).mean(1),
        "sigma": ee.std(1, ddof=1),
        "mu_star_conf": conf,
    }
    return {k: v.reshape((d, *shape)) for k, v in out.items()}


def morris_indices(
    source: Any,
    design: MorrisSpace | None = None,
    output: str | None = None,
    n_resamples: int = 100,
    conf_level: float = 0.95,
    seed: int | None = 1,
    dims: tuple[str, ...] | None = None,
) -> Any:
    """Morris measures of one output of a sweep over a `MorrisSpace`, every
    element at once: an xarray Dataset of ``mu``, ``mu_star``, ``sigma``,
    ``mu_star_conf`` over ``("parameter", *dims)``. `source` is a `Result`
    or a store path; `design` defaults to the Result's space.

    >>> from sweepjax.sensitivity import MorrisSpace
    >>> axis = UniformAxis(0.0, 1.0, 2)
    >>> design = MorrisSpace({"a": axis, "b": axis}, n_trajectories=4)
    >>> model = lambda s: {"y": s["a"] + 0.1 * s["b"]}
    >>> m = morris_indices(ParallelExecution(model, design, progress=False).run())
    >>> m["mu_star"].round(2).values.tolist()
    [1.0, 0.1]
    """
    import xarray as xr  # heavy: imported when indices are computed

    space, array, output = output_leaf(source, output)
    design = design if design is not None else space
    if not isinstance(design, MorrisSpace) or not design.is_whole:
        raise TypeError(
            f"`design` must be the whole MorrisSpace the sweep ran, got {design!r}."
        )
    m = morris_arrays(design.unit, array, design.levels, n_resamples, conf_level, seed)
    shape = tuple(array.shape[1:])
    dims = (
        tuple(dims)
        if dims is not None
        else tuple(f"{output}_dim_{i}" for i in range(len(shape)))
    )
    data = {k: (("parameter", *dims), v) for k, v in m.items()}
    return xr.Dataset(
        data,
        coords={"parameter": list(design.factors)},
        attrs={"output": output, "levels": design.levels},
    )
