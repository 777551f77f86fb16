"""Figures of labelled arrays of a scan: a map of regimes (categories) over
two dimensions, and the branches of a continuation scan."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["branches", "regimes"]

_STYLES = ("-", "--", ":", "-.")


def _check_array(values: Any, dims: tuple[str, ...]) -> None:
    names = getattr(values, "dims", None)
    if names is None:
        raise TypeError(
            "`values` must be an xarray.DataArray (`result.to_xarray()`, "
            f"`Continuation.to_xarray`), got {type(values).__name__}."
        )
    missing = [d for d in dims if d not in names]
    if missing:
        raise ValueError(
            f"`values` has no dimension {missing[0]!r}; its dimensions are "
            f"{list(names)}."
        )


def _edges(centres: np.ndarray) -> np.ndarray:
    """The cells' edges around `centres`: midway between them, the outer
    ones as far out as the first and last midpoints are in."""
    c = np.asarray(centres, dtype=float)
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]])


def _borders(index: np.ndarray, ex: np.ndarray, ey: np.ndarray) -> list:
    """A segment on each cell edge between two categories: one line along
    each border, however many categories apart its sides are."""
    segments = []
    rows, cols = np.nonzero(index[:, 1:] != index[:, :-1])  # across x
    for i, j in zip(rows, cols, strict=True):
        if np.isfinite(index[i, j]) and np.isfinite(index[i, j + 1]):
            segments.append([(ex[j + 1], ey[i]), (ex[j + 1], ey[i + 1])])
    rows, cols = np.nonzero(index[1:] != index[:-1])  # across y
    for i, j in zip(rows, cols, strict=True):
        if np.isfinite(index[i, j]) and np.isfinite(index[i + 1, j]):
            segments.append([(ex[j], ey[i + 1]), (ex[j + 1], ey[i + 1])])
    return segments


def regimes(
    codes: Any,
    x: str,
    y: str,
    *,
    names: dict[int, str] | None = None,
    labels: dict[str, str] | None = None,
    ax: Any = None,
) -> Any:
    """A map of categories (the regime codes of `classify_regimes` or
    `combine_replicates`) over the dimensions `x` and `y` of `codes`, one
    colour per category named in the legend, a white line along each border
    between categories (on the cells' edges); returns the Figure.

    `names` maps codes to legend names (every code found is drawn; one
    without a name is called by its number); `labels` maps `x` and `y` to
    axis labels.

    >>> import matplotlib.pyplot as plt
    >>> import xarray as xr
    >>> from sweepjax import plot
    >>> codes = xr.DataArray(
    ...     [[0, 0, 1], [0, 1, 1]], dims=("G", "eta"),
    ...     coords={"G": [0.0, 0.5], "eta": [-6.0, -4.0, -2.0]},
    ... )
    >>> fig = plot.regimes(codes, "eta", "G", names={0: "fixed point", 1: "cycle"})
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['fixed point', 'cycle']
    >>> plt.close(fig)
    """
    import matplotlib.patches as mpatches
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection
    from matplotlib.colors import BoundaryNorm, ListedColormap

    _check_array(codes, (x, y))
    if codes.ndim != 2:
        raise ValueError(
            f"`codes` must have the two dimensions {x!r} and {y!r}, got "
            f"{list(codes.dims)}: select or reduce the others first."
        )
    grid = codes.transpose(y, x).to_numpy()
    finite = grid[np.isfinite(grid)]
    found = np.unique(finite).astype(int)
    names = dict(names or {})
    # a colour per category found, spread over viridis
    palette = plt.get_cmap("viridis")(np.linspace(0, 1, max(2, len(found))))
    index = np.full(grid.shape, np.nan)
    for k, code in enumerate(found):
        index[grid == code] = k
    cmap = ListedColormap(palette[: max(1, len(found))])
    norm = BoundaryNorm(np.arange(len(found) + 1) - 0.5, cmap.N)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4.4))
    else:
        fig = ax.figure
    xs, ys = codes[x].to_numpy(), codes[y].to_numpy()
    ax.pcolormesh(xs, ys, index, cmap=cmap, norm=norm, shading="nearest")
    borders = _borders(index, _edges(xs), _edges(ys))
    ax.add_collection(LineCollection(borders, colors="white", linewidths=1.5))
    patches = [
        mpatches.Patch(color=palette[k], label=names.get(int(code), str(code)))
        for k, code in enumerate(found)
    ]
    ax.legend(handles=patches, loc="lower left", fontsize="small", framealpha=0.8)
    ax.set_xlabel((labels or {}).get(x, x))
    ax.set_ylabel((labels or {}).get(y, y))
    return fig


def branches(
    values: Any,
    x: str,
    hue: str,
    *,
    branch: str = "branch",
    name: str = "value",
    labels: dict[str, str] | None = None,
    ax: Any = None,
) -> Any:
    """`values` along `x`, one colour per value of `hue` and one line style
    per `branch` (solid for the first, ``"up"``, dashed for the second):
    the two branches of a continuation scan apart where the system is
    bistable (hysteresis); returns the Figure.

    `values` is an xarray.DataArray over `x`, `hue` and `branch` (select a
    few `hue` values first for a readable figure); `name` labels the y
    axis, `labels` maps `x` and `hue` to labels.

    >>> import matplotlib.pyplot as plt
    >>> import xarray as xr
    >>> from sweepjax import plot
    >>> rate = xr.DataArray(
    ...     [[[0.1, 0.1, 1.0], [0.1, 1.0, 1.0]]], dims=("G", "branch", "eta"),
    ...     coords={"G": [0.2], "branch": ["up", "down"], "eta": [-6.0, -4.0, -2.0]},
    ... )
    >>> fig = plot.branches(rate, "eta", "G", name="mean rate r")
    >>> [line.get_label() for line in fig.axes[0].lines]
    ['G = 0.2, up', 'G = 0.2, down']
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    _check_array(values, (x, hue, branch))
    labels = labels or {}
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4.4))
    else:
        fig = ax.figure
    xs = values[x].to_numpy()
    hue_name = labels.get(hue, hue.split(".")[-1])
    for k, h in enumerate(values[hue].to_numpy()):
        for j, b in enumerate(values[branch].to_numpy()):
            line = values.sel({hue: h, branch: b}).transpose(x).to_numpy()
            ax.plot(
                xs,
                line,
                _STYLES[j % len(_STYLES)],
                color=f"C{k}",
                label=f"{hue_name} = {float(h):.3g}, {b}",
            )
    ax.set_xlabel(labels.get(x, x))
    ax.set_ylabel(name)
    ax.legend(fontsize="x-small")
    return fig
