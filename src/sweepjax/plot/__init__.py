"""Figures of a sweep, drawn from a `Result` or straight from a store's path.

``heatmap`` (an output over two axes, faceted or reduced over the others,
with contours, masked failures and the best point marked), ``line`` (one
axis, replicate bands), ``fc`` (simulated FCs beside an empirical one) and
``regions`` (a per-region output), ``curves`` (an array output of each
point, such as loss curves), ``points`` (fitted parameters coloured by
their loss); of a search, ``front`` (a Pareto front of two
objectives) and ``progress`` (the fitness per generation); of a scan's
labelled arrays, ``regimes`` (a map of categories) and ``branches`` (the up
and down branches of a continuation). Each returns its
matplotlib Figure, or draws into a panel of one made by ``panels``; ``save``
writes and closes it. matplotlib and xarray are imported when a figure is
drawn.

>>> from sweepjax import plot
>>> space = Space({"G": GridAxis(0.0, 1.0, 3), "sigma": LogGridAxis(0.01, 1.0, 3)})
>>> model = lambda s: {"fc_corr": s["G"] * jnp.log10(s["sigma"])}
>>> _ = ParallelExecution(model, space, progress=False).run(store="sweep.zarr")
>>> fig = plot.heatmap("sweep.zarr", "fc_corr", x="G", y="sigma")
>>> plot.save(fig, "fit.png")
'fit.png'
"""

from sweepjax.plot._layout import panels, save
from sweepjax.plot._maps import BEST_GID, heatmap, line
from sweepjax.plot._regimes import branches, regimes
from sweepjax.plot._regions import curves, fc, points, regions
from sweepjax.plot._search import FRONT_GID, front, progress

__all__ = [
    "BEST_GID",
    "FRONT_GID",
    "branches",
    "curves",
    "fc",
    "front",
    "heatmap",
    "line",
    "panels",
    "points",
    "progress",
    "regimes",
    "regions",
    "save",
]
