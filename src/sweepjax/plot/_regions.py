"""Figures of one point's region-level outputs: FC matrices, per-region values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["curves", "fc", "points", "regions"]

#: At most this many region names are written along an axis (every k-th).
_MAX_TICKS = 20


def _square(name: str, matrix: Any) -> np.ndarray:
    data = np.asarray(matrix, dtype=float)
    if data.ndim != 2 or data.shape[0] != data.shape[1]:
        raise ValueError(
            f"`{name}` must be a square [n_regions, n_regions] matrix, got shape "
            f"{data.shape}."
        )
    return data


def _region_ticks(ax: Any, labels: Sequence[str] | None, n: int, both: bool) -> None:
    """Name the regions along x (and y): every k-th label for a large `n`,
    k odd."""
    if labels is None:
        return
    if len(labels) != n:
        raise ValueError(
            f"`labels` must name each of the {n} regions, got {len(labels)} labels."
        )
    step = max(1, int(np.ceil(n / _MAX_TICKS)))
    step += step > 1 and step % 2 == 0  # odd: interleaved L, R, L, R... show both
    ticks = np.arange(0, n, step)
    names = [str(labels[k]) for k in ticks]
    ax.set_xticks(ticks, names, rotation=90, fontsize="x-small")
    if both:
        ax.set_yticks(ticks, names, fontsize="x-small")


def _matrices(simulated: Any) -> list[np.ndarray]:
    """One square matrix, or a stack/sequence of them, as a list."""
    data = np.asarray(simulated, dtype=float)
    if data.ndim == 3:
        return [_square("simulated", m) for m in data]
    return [_square("simulated", data)]


def fc(
    simulated: Any,
    empirical: Any | None = None,
    *,
    labels: Sequence[str] | None = None,
    titles: Sequence[str] | None = None,
    vmin: float = -1.0,
    vmax: float = 1.0,
    cmap: str = "RdBu_r",
    axes: Sequence[Any] | None = None,
) -> Any:
    """Simulated FC matrices beside an empirical one (or alone), on one colour
    scale with a labelled colour bar and region names; returns the Figure.

    `simulated` is one ``[n, n]`` matrix or several (``[k, n, n]``, or a
    list: the best points of several fits, say), drawn left to right, the
    empirical one last. `titles` holds one title per matrix in that order;
    each simulated panel's title also gives the correlation of its upper
    triangle with the empirical one's. `axes` (one per matrix) draws into a
    figure of the caller's (`panels`).

    >>> import matplotlib.pyplot as plt
    >>> from sweepjax import plot
    >>> rng = np.random.default_rng(0)
    >>> simulated = np.corrcoef(rng.normal(size=(3, 50)))
    >>> empirical = np.corrcoef(rng.normal(size=(3, 50)))
    >>> fig = plot.fc(simulated, empirical, labels=["V1", "M1", "PFC"])
    >>> fig.axes[0].get_title().startswith("simulated FC (r = ")
    True
    >>> plt.close(fig)
    >>> titles = ["fit 1", "fit 2", "data"]
    >>> fig = plot.fc([simulated, simulated**3], empirical, titles=titles)
    >>> len(fig.axes)  # three matrices and the colour bar
    4
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    matrices = _matrices(simulated)
    k = len(matrices)
    if empirical is not None:
        matrices.append(_square("empirical", empirical))
    shapes = {m.shape for m in matrices}
    if len(shapes) != 1:
        raise ValueError(
            f"the matrices have shapes {sorted(shapes)}: `simulated` and "
            "`empirical` must all be [n_regions, n_regions] of one n."
        )
    n = matrices[0].shape[0]
    if titles is None:
        names = (
            ["simulated FC"] if k == 1 else [f"simulated FC {i + 1}" for i in range(k)]
        )
        titles = [*names, "empirical FC"]
    titles = [str(t) for t in titles]
    if len(titles) < len(matrices):
        raise ValueError(
            f"`titles` must hold one title per matrix ({len(matrices)}: the "
            f"simulated ones, then the empirical one), got {len(titles)}."
        )
    if axes is None:
        width = 4.6 * len(matrices) + 1.2
        fig, grid = plt.subplots(1, len(matrices), figsize=(width, 4.6), squeeze=False)
        axes = list(grid[0])
    else:
        axes = list(axes)
        if len(axes) != len(matrices):
            raise ValueError(
                f"`axes` must hold one Axes per matrix ({len(matrices)}), got "
                f"{len(axes)}."
            )
        fig = axes[0].figure
    if empirical is not None:
        upper = np.triu_indices(n, 1)
        for i in range(k):
            r = np.corrcoef(matrices[i][upper], matrices[-1][upper])[0, 1]
            titles[i] = f"{titles[i]} (r = {r:.2f} with empirical)"
    for j, (ax, matrix, title) in enumerate(zip(axes, matrices, titles, strict=False)):
        image = ax.imshow(matrix, vmin=vmin, vmax=vmax, cmap=cmap)
        ax.set_title(title, fontsize="medium")
        ax.set_xlabel("region")
        _region_ticks(ax, labels, n, both=j == 0)  # names along y once
        if j == 0:
            ax.set_ylabel("region")
        elif labels is not None:
            ax.set_yticks([])
    fig.colorbar(image, ax=axes, label="correlation", shrink=0.85)
    return fig


def curves(
    values: Any,
    *,
    xlabel: str = "step",
    ylabel: str = "value",
    ax: Any = None,
) -> Any:
    """One line per row of `values` (``[n_lines, n_steps]``: an array output
    of every point, such as loss curves); returns the Figure.

    >>> import matplotlib.pyplot as plt
    >>> from sweepjax import plot
    >>> space = Space({"rate": GridAxis(0.1, 1.0, 3)})
    >>> model = lambda s: {"loss": jnp.exp(-s["rate"] * jnp.arange(10.0))}
    >>> result = ParallelExecution(model, space, progress=False).run()
    >>> fig = plot.curves(result.outputs["loss"], xlabel="Adam step", ylabel="loss")
    >>> len(fig.axes[0].lines)
    3
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    data = np.asarray(values, dtype=float)
    if data.ndim != 2:
        raise ValueError(
            f"`values` must be [n_lines, n_steps], got shape {data.shape}."
        )
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    else:
        fig = ax.figure
    ax.plot(data.T, lw=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig


def points(
    x: Any,
    y: Any,
    values: Any | None = None,
    *,
    xlabel: str = "x",
    ylabel: str = "y",
    name: str = "value",
    truth: tuple[float, float] | None = None,
    ax: Any = None,
) -> Any:
    """Points at ``(x, y)`` (the fitted parameters of each start, say),
    coloured by `values` (their final loss) on a colour bar named `name`,
    with `truth` (the parameters that made the data) marked by a red cross;
    returns the Figure.

    >>> import matplotlib.pyplot as plt
    >>> from sweepjax import plot
    >>> speed, G, loss = [3.9, 4.2, 9.6], [0.80, 0.79, 0.65], [0.01, 0.02, 0.3]
    >>> fig = plot.points(speed, G, loss, xlabel="speed (mm/ms)", ylabel="G",
    ...                   name="final loss", truth=(4.0, 0.8))
    >>> fig.axes[1].get_ylabel()  # the colour bar
    'final loss'
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    xs, ys = np.ravel(np.asarray(x, float)), np.ravel(np.asarray(y, float))
    colours = None if values is None else np.ravel(np.asarray(values, float))
    if xs.shape != ys.shape or (colours is not None and colours.shape != xs.shape):
        shapes = [np.shape(a) for a in (x, y, values) if a is not None]
        raise ValueError(
            f"`x`, `y` and `values` must hold one number per point, got shapes "
            f"{shapes}."
        )
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4.4))
    else:
        fig = ax.figure
    drawn = ax.scatter(xs, ys, c=colours, s=24, zorder=3)
    if colours is not None:
        fig.colorbar(drawn, ax=ax, label=name)
    if truth is not None:
        ax.scatter(*truth, marker="x", color="red", s=60, zorder=4, label="truth")
        ax.scatter([], [], color="0.4", s=24, label="fitted")  # no one value's colour
        ax.legend(fontsize="small")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig


def regions(
    values: Any,
    labels: Sequence[str] | None = None,
    *,
    name: str = "value",
    ax: Any = None,
) -> Any:
    """A per-region output (``[n_regions]``, or ``{line name: [n_regions]}``
    for several) along a region axis with region names; returns the Figure.

    >>> import matplotlib.pyplot as plt
    >>> from sweepjax import plot
    >>> mean_s = np.array([0.1, 0.3, 0.2])
    >>> fig = plot.regions(mean_s, ["V1", "M1", "PFC"], name="mean S")
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    series = values if isinstance(values, dict) else {None: values}
    arrays = {k: np.asarray(v, dtype=float) for k, v in series.items()}
    sizes = {a.shape for a in arrays.values()}
    if len(sizes) != 1 or len(next(iter(sizes))) != 1:
        raise ValueError(
            "`values` must be one [n_regions] array (or a dict of them, all the "
            f"same length), got shapes {sorted(sizes)}."
        )
    n = next(iter(sizes))[0]
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(max(6.0, 0.12 * n + 2), 3.6))
    else:
        fig = ax.figure
    index = np.arange(n)
    for key, array in arrays.items():
        ax.plot(index, array, marker="o", ms=3, lw=1, label=key)
    ax.set_xlabel("region")
    ax.set_ylabel(name)
    ax.set_xlim(-0.5, n - 0.5)
    _region_ticks(ax, labels, n, both=False)
    if len(arrays) > 1:
        ax.legend(fontsize="small")
    if own:  # a caller's figure keeps its own layout
        fig.tight_layout()
    return fig
