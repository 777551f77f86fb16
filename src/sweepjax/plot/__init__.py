"""Figures of a sweep, drawn from a `Result` or straight from a store's path.

``heatmap`` (an output over two axes, faceted or reduced over the others,
with contours, masked failures and the best point marked), ``line`` (one
axis, replicate bands), ``fc`` (a simulated FC beside an empirical one) and
``regions`` (a per-region output), ``curves`` (an array output of each
point, such as loss curves). Each returns its matplotlib Figure;
matplotlib and xarray are imported when a figure is drawn.

>>> import matplotlib.pyplot as plt
>>> from sweepjax import plot
>>> space = Space({"G": GridAxis(0.0, 1.0, 3), "sigma": LogGridAxis(0.01, 1.0, 3)})
>>> model = lambda s: {"fc_corr": s["G"] * jnp.log10(s["sigma"])}
>>> _ = ParallelExecution(model, space, progress=False).run(store="sweep.zarr")
>>> fig = plot.heatmap("sweep.zarr", "fc_corr", x="G", y="sigma")
>>> fig.savefig("fit.png")
>>> plt.close(fig)
"""

from sweepjax.plot._maps import BEST_GID, heatmap, line
from sweepjax.plot._regions import curves, fc, regions

__all__ = ["BEST_GID", "curves", "fc", "heatmap", "line", "regions"]
