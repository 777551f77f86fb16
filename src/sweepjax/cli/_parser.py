"""The command line's parser: `run`, `info`, `plot` and `demo`."""

from __future__ import annotations

import argparse
from pathlib import Path

import sweepjax

__all__ = ["build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The parser of every `sweepjax` command."""
    parser = argparse.ArgumentParser(
        prog="sweepjax", description="Systematic, resumable sweeps of JAX models."
    )
    parser.add_argument("--version", action="version", version=sweepjax.__version__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run",
        help="run a sweep file into a Zarr store",
        description="Run the `model` of SWEEP over its `space`, writing every "
        "chunk to the store. Without --scheduler or --workers it runs in this "
        "process (ParallelExecution); with them, on a Dask cluster.",
    )
    run.add_argument("sweep", type=Path, help="Python file defining space and model")
    run.add_argument("--store", required=True, type=Path, help="Zarr store path")
    what = run.add_mutually_exclusive_group()
    what.add_argument(
        "--resume", action="store_true", help="continue an interrupted run"
    )
    what.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing store (deleted once the new sweep has traced)",
    )
    what.add_argument(
        "--force-resume",
        action="store_true",
        help="continue although the model or its parameters changed on purpose",
    )
    where = run.add_mutually_exclusive_group()
    where.add_argument("--scheduler", help="Dask scheduler address, tcp://host:port")
    where.add_argument(
        "--workers", type=int, help="run on a local Dask cluster of N workers"
    )
    run.add_argument(
        "--connect-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to try reaching --scheduler (default 10)",
    )
    run.add_argument("--n-vmap", type=int, help="points per compiled call")
    run.add_argument(
        "--n-pmap", type=int, help="devices per call (in-process only; default 1)"
    )
    run.add_argument(
        "--chunk-size",
        type=int,
        help="points per store chunk (the unit of resume and of a Dask task); "
        "default: the stored one when resuming, else about 8 MiB of outputs",
    )
    run.add_argument("--no-progress", action="store_true", help="hide progress bar")

    info = sub.add_parser(
        "info",
        help="show a store's space, progress and outputs",
        description="Show what the store at STORE holds: its model, space, "
        "fixed parameters, how many chunks are done and its outputs. Reads "
        "only metadata, so it is cheap on any store, even one being written.",
    )
    info.add_argument("store", type=Path)
    info.add_argument(
        "--best",
        metavar="OUTPUT",
        help="rank the points by this scalar output (default: the best point of "
        "each scalar output, for stores up to a million points)",
    )
    info.add_argument("--k", type=int, default=5, help="how many points --best shows")
    info.add_argument("--min", action="store_true", help="smallest is best")

    plot = sub.add_parser(
        "plot",
        help="draw an output of a store into a figure",
        description="Draw the scalar OUTPUT of the store at STORE: a map over "
        "two axes (--x, --y; by default the first two), reduced over the "
        "others (--reduce) or faceted (--col, --row), with log scales for "
        "log-spaced axes, failed points masked and the best point marked; a "
        "line with replicate bands when one axis is drawn. An axis may be "
        "named by the last part of its key path (G for coupling.delayed.G).",
    )
    plot.add_argument("store", type=Path)
    plot.add_argument("output", help="a scalar output of the sweep")
    for name, text in (
        ("x", "axis along x"),
        ("y", "axis along y"),
        ("col", "axis of the panels' columns (for a line: one line per value)"),
        ("row", "axis of the panels' rows"),
    ):
        plot.add_argument(f"--{name}", metavar="AXIS", help=text)
    plot.add_argument("--line", action="store_true", help="draw a line over --x")
    plot.add_argument(
        "--reduce",
        default="mean",
        choices=["mean", "min", "max", "median"],
        help="how the axes not drawn are reduced (default mean)",
    )
    plot.add_argument(
        "--contour", metavar="OUTPUT|NUMBER", help="contours of an output, or a level"
    )
    plot.add_argument("--min", action="store_true", help="mark the smallest value")
    plot.add_argument("--out", type=Path, help="image file (default STORE_OUTPUT.png)")
    plot.add_argument("--dpi", type=int, default=120)

    demo = sub.add_parser(
        "demo",
        help="run the whole-brain network demo",
        description="Sweep a 76-region whole-brain network (The Virtual Brain's "
        "connectome) over coupling x noise, store it in OUT and plot a summary "
        "figure there.",
    )
    demo.add_argument("--out", type=Path, default=Path("sweepjax-demo"))
    demo.add_argument("--n-g", type=int, default=16, help="coupling values")
    demo.add_argument("--n-sigma", type=int, default=4, help="noise values")
    demo.add_argument(
        "--duration", type=float, default=3000.0, help="simulated ms per point"
    )
    demo.add_argument("--no-progress", action="store_true", help="hide progress bar")
    return parser
