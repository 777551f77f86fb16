"""The `sweepjax` command: run a sweep file into a store, read a store, demo.

    sweepjax run SWEEP.py --store sweep.zarr [--resume] [--scheduler ADDR | --workers N]
    sweepjax info sweep.zarr [--best OUTPUT --k 5 --min]
    sweepjax plot sweep.zarr OUTPUT [--x AXIS --y AXIS --col AXIS --out FILE]
    sweepjax demo [--out demo/] [--n-g 16] [--n-sigma 4] [--duration 3000]

`_parser` builds the options, `_run` runs a sweep file (see there for what
it defines), `_read` shows and draws a store.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence

from sweepjax import ExecutionError
from sweepjax.cli._parser import build_parser
from sweepjax.cli._read import info_command, plot_command
from sweepjax.cli._run import (
    KEPT,
    SweepFileError,
    for_shell,
    load_sweep,
    run_command,
)
from sweepjax.network._demo import run_demo

__all__ = ["SweepFileError", "load_sweep", "main"]


def _demo(opts: argparse.Namespace) -> int:
    # run_demo prints its own summary and where it wrote
    run_demo(
        opts.out,
        n_G=opts.n_g,
        n_sigma=opts.n_sigma,
        duration=opts.duration,
        progress=not opts.no_progress,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `sweepjax` console script; returns the exit code."""
    opts = build_parser().parse_args(argv)
    opts.removed = False
    with warnings.catch_warnings():  # restores showwarning
        warnings.showwarning = _shell_warnings(warnings.showwarning)
        return _main(opts)


def _shell_warnings(show: Callable) -> Callable:
    """`show` (how warnings are shown) with messages in the command line's words."""

    def shown(message, category, *args, **kwargs):
        try:
            message = category(for_shell(str(message)))
        except Exception:  # a warning class made otherwise
            pass
        show(message, category, *args, **kwargs)

    return shown


def _main(opts: argparse.Namespace) -> int:
    try:
        if opts.command == "run":
            return run_command(opts)
        if opts.command == "info":
            return info_command(opts)
        if opts.command == "plot":
            return plot_command(opts)
        return _demo(opts)
    except (
        ValueError,
        TypeError,
        OSError,
        ExecutionError,
        SweepFileError,
    ) as err:
        message = for_shell(str(err))
        if opts.removed:
            message = KEPT.sub("", message)
        print(f"sweepjax: error: {message}{_removed(opts)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        hint = "; finished chunks are in the store: continue with --resume"
        if opts.command != "run" or opts.removed:
            hint = ""
        print(f"sweepjax: interrupted{hint}.{_removed(opts)}", file=sys.stderr)
        return 130


def _removed(opts: argparse.Namespace) -> str:
    """What a failed first run did with the store it created."""
    if not opts.removed:
        return ""
    return (
        f" No chunk was finished, so the store {str(opts.store)!r} this run "
        "created was removed: the same command starts it afresh."
    )
