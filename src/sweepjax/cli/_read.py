"""`sweepjax info` and `sweepjax plot`: read a store without writing Python."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from sweepjax import open_result, store_info
from sweepjax._summaries import parameter_names
from sweepjax.plot import heatmap, line

__all__ = ["info_command", "plot_command"]

#: `info` ranks the points of stores up to this size unless asked (--best).
_RANK_LIMIT = 1_000_000


def _open(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # info says what is missing
        return open_result(path)


def _scalar_outputs(info) -> list[str]:
    return [n for n, d in (info.outputs or {}).items() if not d["shape"]]


def info_command(opts: argparse.Namespace) -> int:
    """`sweepjax info`: the store's description, then its best points."""
    info = store_info(opts.store)
    print(info)
    if info.outputs is None or info.done_points == 0:
        return 0
    mode = "min" if opts.min else "max"
    if opts.best is not None:
        names, k = [opts.best], opts.k
    elif info.n_points <= _RANK_LIMIT:
        names, k = _scalar_outputs(info), 1
    else:
        print(f"best:     not ranked ({info.n_points} points); ask with --best OUTPUT")
        return 0
    if not names:
        return 0
    result = _open(opts.store)
    print(f"best ({mode}):")
    for name in names:
        table = result.best(name, k=k, mode=mode)
        text = table.to_string(index=False, float_format=lambda v: f"{v:.6g}")
        print(f"  {name}:")
        print("\n".join("    " + row for row in text.splitlines()))
    return 0


def _axis(names: list[str], given: str | None, what: str) -> str | None:
    """The axis `given` names: its full key path or a unique last part of it
    (``G`` for ``coupling.delayed.G``)."""
    if given is None or given in names:
        return given
    matches = [n for n in names if n.split(".")[-1] == given or n.endswith("." + given)]
    if len(matches) == 1:
        return matches[0]
    raise ValueError(
        f"`--{what} {given}` names no single axis of the store; its axes with one "
        f"number per point are {names}."
    )


def plot_command(opts: argparse.Namespace) -> int:
    """`sweepjax plot`: a map (two axes) or a line (one) of an output."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = _open(opts.store)
    params = parameter_names(result)
    x, y, col, row = (
        _axis(params, getattr(opts, k), k) for k in ("x", "y", "col", "row")
    )
    taken = {a for a in (x, y, col, row) if a is not None}
    free = [p for p in params if p not in taken]
    if x is None:
        if not free:
            raise ValueError(
                f"the store has no axis left to draw along; its axes are {params}."
            )
        x = free.pop(0)
    if y is None and free and not opts.line:
        y = free.pop(0)
    contour = opts.contour
    try:
        contour = float(contour)
    except (TypeError, ValueError):
        pass
    mode = "min" if opts.min else "max"
    if y is None:
        fig = line(opts.store, opts.output, x=x, hue=col, reduce=opts.reduce, best=mode)
    else:
        fig = heatmap(
            opts.store,
            opts.output,
            x=x,
            y=y,
            col=col,
            row=row,
            reduce=opts.reduce,
            contour=contour,
            best=mode,
        )
    out = opts.out or Path(f"{Path(opts.store).name.split('.')[0]}_{opts.output}.png")
    fig.savefig(out, dpi=opts.dpi, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {out}")
    return 0
