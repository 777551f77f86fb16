"""Figures of a sweep's scalar outputs: lines over one axis, maps over two."""

from __future__ import annotations

from typing import Any

import numpy as np

from sweepjax.plot._source import Source, resolve

__all__ = ["heatmap", "line"]

_REDUCE = ("mean", "min", "max", "median")
_BEST = ("max", "min", None)
#: Along a linear axis of at most this many values, a tick at each value.
_FEW = 8
BEST_GID = "best"
"""The gid of the best point's star (a Line2D), to find it in a drawn figure."""


def _check(reduce: str, best: str | None) -> None:
    if reduce not in _REDUCE:
        raise ValueError(f"`reduce` must be one of {_REDUCE}, got {reduce!r}.")
    if best not in _BEST:
        raise ValueError(f"`best` must be 'max', 'min' or None, got {best!r}.")


def _grid(src: Source, column: str, dims: list[str], reduce: str) -> Any:
    """`column` reduced over every parameter but `dims` (replicates too), as
    an `xarray.DataArray` over `dims`; missing combinations are NaN."""
    frame = src.table[[*dims, column]]
    series = frame.groupby(dims, sort=True)[column].agg(reduce)
    return series.to_xarray()


def _star(ax: Any, bx: float, by: float, text: str) -> None:
    """Mark the best point with a red star (gid `BEST_GID`), named in the legend."""
    ax.plot([bx], [by], marker="*", ms=14, color="red", mec="white", ls="", label=text)
    ax.lines[-1].set_gid(BEST_GID)
    ax.legend(loc="best", fontsize="small", framealpha=0.7)


def _mark_best(ax: Any, values: Any, x: str, y: str, best: str) -> None:
    """A star on the best finite cell of `values` (a DataArray over y, x)."""
    data = values.to_numpy()
    if not np.isfinite(data).any():
        return
    flat = np.nanargmax(data) if best == "max" else np.nanargmin(data)
    iy, ix = np.unravel_index(flat, data.shape)
    bx, by = float(values[x].values[ix]), float(values[y].values[iy])
    text = f"{best} {float(data.flat[flat]):.3g} at ({bx:.3g}, {by:.3g})"
    _star(ax, bx, by, text)


def _grid_ticks(ax: Any, src: Source, values: Any, x: str, y: str) -> None:
    """Ticks at the grid's values along a linear axis of a few values (the
    cells' centres), rather than at round numbers between them."""
    for name, axis in ((x, ax.xaxis), (y, ax.yaxis)):
        points = values[name].values
        if src.scale(name) == "linear" and 1 < len(points) <= _FEW:
            axis.set_ticks(points, [f"{float(v):.3g}" for v in points])


def _paths(ax: Any, paths: tuple[Any, Any]) -> None:
    xs, ys = (np.atleast_2d(np.asarray(p, dtype=float)) for p in paths)
    if xs.shape != ys.shape:
        raise ValueError(
            f"`paths` must be (xs, ys) of one shape [n_paths, n_steps], got "
            f"{xs.shape} and {ys.shape}."
        )
    for px, py in zip(xs, ys, strict=True):
        ax.plot(px, py, color="white", lw=0.7, alpha=0.7)
    ax.plot(xs[:, -1], ys[:, -1], "o", color="red", ms=4, label="ends of paths")


def heatmap(
    source: Any,
    output: str,
    x: str,
    y: str,
    *,
    col: str | None = None,
    row: str | None = None,
    reduce: str = "mean",
    contour: str | float | None = None,
    levels: int | list[float] = 5,
    best: str | None = "max",
    labels: dict[str, str] | None = None,
    cmap: str = "viridis",
    paths: tuple[Any, Any] | None = None,
    ax: Any = None,
    **kwargs: Any,
) -> Any:
    """A map of a scalar `output` over the axes `x` and `y`; returns the Figure.

    `source` is a `Result` or a store's path. Axes not drawn are reduced
    (`reduce`: mean, min, max or median over them and over replicates) or
    faceted into panels (`col`, `row`). An axis that is log-spaced (a
    `LogGridAxis`, or values evenly spaced in log) gets a log scale. NaN
    (failed or not yet computed) cells are left blank over a hatched
    background. `contour` draws contour lines of a second output (its name)
    or of `output` at a threshold (a number); `best` (``"max"``, ``"min"``
    or None) marks each panel's best cell with a star. `labels` maps axis
    and output names to display labels (give units there). `paths`,
    ``(xs, ys)`` each ``[n_paths, n_steps]`` (optimiser trajectories),
    draws each path over every panel with a dot at its end. `ax` draws into
    a panel of the caller's (`panels`), keeping its title. Extra keyword
    arguments go to xarray's ``pcolormesh``.

    >>> import matplotlib.pyplot as plt
    >>> from sweepjax import plot
    >>> space = Space({"G": GridAxis(0.0, 1.0, 3), "sigma": GridAxis(0.0, 1.0, 3)})
    >>> model = lambda s: {"y": s["G"] - s["sigma"] ** 2}
    >>> result = ParallelExecution(model, space, progress=False).run()
    >>> fig = plot.heatmap(result, "y", x="G", y="sigma", labels={"G": "coupling G"})
    >>> plt.close(fig)
    """
    import matplotlib.patches as mpatches
    import matplotlib.pyplot as plt

    _check(reduce, best)
    src = resolve(source, labels)
    for what, name in (("x", x), ("y", y), ("col", col), ("row", row)):
        src.check(what, name)
    dims = [d for d in (row, col, y, x) if d is not None]
    if len(set(dims)) != len(dims):
        raise ValueError(f"x, y, col and row must name different axes, got {dims}.")
    if ax is not None and (col or row):
        raise ValueError("`ax` draws one panel: drop `ax`, or drop `col`/`row`.")
    column = src.column(output)
    values = _grid(src, column, dims, reduce)
    values.name = src.label(output)
    for d in dims:
        values[d].attrs["long_name"] = src.label(d)
    if ax is None and not (col or row):  # a figure of its own, never the current one
        _, ax = plt.subplots(figsize=(6, 4.5))
    facets = {"col": col, "row": row} if (col or row) else {"ax": ax}
    kept = "" if ax is None else ax.get_title()  # a title given to the panel
    # xarray would centre the colour scale on 0 for data of both signs,
    # squeezing a sequential map's colours into half its range
    kwargs.setdefault("center", False)
    drawn = values.plot.pcolormesh(
        x=x,
        y=y,
        xscale=src.scale(x),
        yscale=src.scale(y),
        cmap=cmap,
        cbar_kwargs={"label": src.label(output)},
        **facets,
        **kwargs,
    )
    if col or row:
        fig, panels = drawn.fig, list(drawn.axs.flat)
        selections = [d for d in drawn.name_dicts.flat]
    else:
        fig, panels, selections = drawn.figure, [drawn.axes], [{}]
        if kept:
            drawn.axes.set_title(kept)  # xarray titles each panel by its slice
    lines = None
    if contour is not None:
        lines = values
        if isinstance(contour, str):
            lines = _grid(src, src.column(contour), dims, reduce)
        else:
            levels = [float(contour)]
    failed = bool(np.isnan(values.to_numpy()).any())
    for panel, chosen in zip(panels, selections, strict=True):
        if chosen is None:  # an empty facet
            continue
        _grid_ticks(panel, src, values, x, y)
        here = values.sel(chosen)
        if failed:
            panel.set_facecolor("0.85")
            panel.patch.set_hatch("xx")
        if lines is not None:
            level = lines.sel(chosen)
            finite = np.isfinite(level.to_numpy())
            if finite.sum() >= 4 and np.ptp(level.to_numpy()[finite]) > 0:
                drawn_lines = panel.contour(
                    level[x].values,
                    level[y].values,
                    level.transpose(y, x).to_numpy(),
                    levels=levels,
                    colors="white",
                    linewidths=1.0,
                )
                panel.clabel(drawn_lines, fontsize="small", fmt="%.3g")
        if paths is not None:
            _paths(panel, paths)
        if best is not None:
            _mark_best(panel, here.transpose(y, x), x, y, best)
        if failed:
            handles, names = panel.get_legend_handles_labels()
            patch = mpatches.Patch(facecolor="0.85", hatch="xx", label="NaN (failed)")
            panel.legend([*handles, patch], [*names, "NaN (failed)"], fontsize="small")
    return fig


def line(
    source: Any,
    output: str,
    x: str,
    *,
    hue: str | None = None,
    reduce: str = "mean",
    best: str | None = "max",
    labels: dict[str, str] | None = None,
    ax: Any = None,
) -> Any:
    """`output` against the axis `x`, one line per value of `hue`; returns the
    Figure.

    Replicates (axes of PRNG keys or other arrays) are averaged at each
    parameter point and drawn as a band of ±1 standard deviation around the
    line; other axes are reduced (`reduce`). Log x scale for a log-spaced
    axis; `best` marks the best point with a star.

    >>> import matplotlib.pyplot as plt
    >>> from sweepjax import plot
    >>> space = Space({"G": GridAxis(0.0, 1.0, 3), "sigma": GridAxis(0.0, 1.0, 3)})
    >>> model = lambda s: {"y": s["G"] - s["sigma"] ** 2}
    >>> result = ParallelExecution(model, space, progress=False).run()
    >>> fig = plot.line(result, "y", x="G", hue="sigma")
    >>> len(fig.axes[0].lines)  # a line per sigma and the best point's star
    4
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    _check(reduce, best)
    src = resolve(source, labels)
    src.check("x", x)
    src.check("hue", hue)
    column = src.column(output)
    params = src.parameters
    frame = src.table[[*params, column]]
    groups = frame.groupby(params, sort=True)[column]
    points = groups.mean().rename("value").to_frame()
    points["spread"] = groups.std().fillna(0.0)
    points = points.reset_index()
    by = [x] if hue is None else [hue, x]
    per = points.groupby(by, sort=True)
    table = per["value"].agg(reduce).to_frame()
    table["spread"] = per["spread"].mean()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    else:
        fig = ax.figure
    parts = [(None, table)] if hue is None else list(table.groupby(level=0))
    for key, part in parts:
        xs = part.index.get_level_values(x).to_numpy(dtype=float)
        ys = part["value"].to_numpy(dtype=float)
        spread = part["spread"].to_numpy(dtype=float)
        label = None if hue is None else f"{src.label(hue)} = {key:.3g}"
        (drawn,) = ax.plot(xs, ys, marker="o", ms=3, label=label)
        if np.any(spread > 0):
            ax.fill_between(
                xs, ys - spread, ys + spread, color=drawn.get_color(), alpha=0.25
            )
    ax.set_xscale(src.scale(x))
    ax.set_xlabel(src.label(x))
    ax.set_ylabel(src.label(output))
    finite = table["value"].dropna()
    if best is not None and len(finite):
        where = finite.idxmax() if best == "max" else finite.idxmin()
        bx = where if hue is None else where[1]
        by = float(finite[where])
        text = f"{best} {by:.3g} at {float(bx):.3g}"
        if hue is not None:
            text += f" ({hue.split('.')[-1]} = {float(where[0]):.3g})"
        _star(ax, float(bx), by, text)
    elif hue is not None:
        ax.legend(fontsize="small")
    return fig
