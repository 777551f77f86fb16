"""A figure of several panels to draw into, and saving it: a study's figure
composed from the library's figures, with no pyplot in the caller's code."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import Any

__all__ = ["panels", "save"]


def panels(
    n: int,
    *,
    ncols: int | None = None,
    width: float = 5.0,
    height: float = 4.4,
    titles: Sequence[str | None] | None = None,
    title: str | None = None,
) -> tuple[Any, list[Any]]:
    """A figure of `n` panels, ``(figure, [Axes] * n)``, to pass as ``ax=``
    (or ``axes=``) to the other figures of `sweepjax.plot`.

    The panels run in one row (or `ncols` per row), each `width` x `height`
    inches, laid out so that labels and colour bars do not overlap.
    `titles` names each panel (None leaves one to the figure drawn into
    it); `title` names the whole figure. Save and close it with `save`.

    >>> from sweepjax import plot
    >>> space = Space({"G": GridAxis(0.0, 1.0, 3), "sigma": GridAxis(0.0, 1.0, 3)})
    >>> model = lambda s: {"y": s["G"] - s["sigma"] ** 2}
    >>> result = ParallelExecution(model, space, progress=False).run()
    >>> fig, (left, right) = plot.panels(2, titles=["map of y", "y along G"])
    >>> _ = plot.heatmap(result, "y", x="G", y="sigma", ax=left)
    >>> _ = plot.line(result, "y", x="G", ax=right)
    >>> left.get_title()
    'map of y'
    >>> plot.save(fig, "study.png")
    'study.png'
    """
    import matplotlib.pyplot as plt

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"`n` must be a positive int (panels), got {n!r}.")
    ncols = n if ncols is None else ncols
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"`ncols` must be a positive int, got {ncols!r}.")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    if titles is not None and len(titles) != n:
        raise ValueError(
            f"`titles` must hold one title (or None) per panel ({n}), got "
            f"{len(titles)}."
        )
    fig, grid = plt.subplots(
        nrows,
        ncols,
        figsize=(width * ncols, height * nrows),
        squeeze=False,
        layout="constrained",
    )
    axes = list(grid.flat)
    for extra in axes[n:]:
        extra.remove()
    axes = axes[:n]
    for ax, text in zip(axes, titles or [None] * n, strict=True):
        if text:
            ax.set_title(text)
    if title:
        fig.suptitle(title)
    return fig, axes


def save(fig: Any, path: str | PathLike, *, dpi: int = 110) -> str | PathLike:
    """Write `fig` to `path` (its type from the suffix: png, pdf, svg),
    trimmed to what is drawn, and close it (it leaves pyplot's figures, and
    memory); returns `path`.

    >>> from sweepjax import plot
    >>> fig = plot.fc(np.eye(3))
    >>> plot.save(fig, "fc.png", dpi=80)
    'fc.png'
    """
    import matplotlib.pyplot as plt

    try:
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path
