"""The `sweepjax` command: run a sweep file into a store, inspect a store, demo.

    sweepjax run SWEEP.py --store sweep.zarr [--resume] [--scheduler ADDR | --workers N]
    sweepjax info sweep.zarr
    sweepjax demo [--out demo/] [--n-g 16] [--n-sigma 4] [--duration 3000]

A sweep file is a Python file that defines ``space`` (a `sweepjax.Space`) and
``model`` (called as ``model(state, *args, **kwargs)``), and optionally
``args`` (a tuple), ``kwargs`` (a dict), ``n_vmap`` and ``chunk_size``
defaults. It runs as a module (not as ``__main__``), so it may keep a
``if __name__ == "__main__":`` block for other uses.
"""

from __future__ import annotations

import argparse
import runpy
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sweepjax import (
    DistributedExecution,
    ExecutionError,
    ParallelExecution,
    Space,
    store_info,
)
from sweepjax._store import remove_store
from sweepjax.execution._distributed import connect_scheduler
from sweepjax.network._demo import run_demo

__all__ = ["main"]

#: Command-line options that take a positive int, by attribute name.
_POSITIVE = ("n_vmap", "n_pmap", "workers", "chunk_size")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sweepjax", description="Systematic, resumable sweeps of JAX models."
    )
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

    info = sub.add_parser("info", help="show a store's space, progress and outputs")
    info.add_argument("store", type=Path)

    demo = sub.add_parser("demo", help="run the whole-brain network demo")
    demo.add_argument("--out", type=Path, default=Path("sweepjax-demo"))
    demo.add_argument("--n-g", type=int, default=16, help="coupling values")
    demo.add_argument("--n-sigma", type=int, default=4, help="noise values")
    demo.add_argument(
        "--duration", type=float, default=3000.0, help="simulated ms per point"
    )
    demo.add_argument("--no-progress", action="store_true", help="hide progress bar")
    return parser


def load_sweep(path: Path) -> dict[str, Any]:
    """Run a sweep file and return its namespace (checked for space, model)."""
    if not path.is_file():
        raise FileNotFoundError(f"sweep file {str(path)!r} does not exist.")
    # Like `python SWEEP.py`: modules next to the file are importable.
    sys.path.insert(0, str(path.resolve().parent))
    name = path.stem if path.stem not in sys.modules else f"_{path.stem}"
    namespace = runpy.run_path(str(path), run_name=name)
    space, model = namespace.get("space"), namespace.get("model")
    if not isinstance(space, Space):
        raise ValueError(
            f"{str(path)!r} must define `space` as a sweepjax.Space, got "
            f"{type(space).__name__}."
        )
    if not callable(model):
        raise ValueError(
            f"{str(path)!r} must define a callable `model(state, ...)`, got "
            f"{type(model).__name__}."
        )
    return namespace


def _option(opts: argparse.Namespace, ns: dict[str, Any], name: str, default: Any):
    """A command-line value, else the sweep file's, else `default` (a bad
    value from the sweep file is refused by the executor, naming it)."""
    given = getattr(opts, name)
    return given if given is not None else ns.get(name, default)


def _check_options(opts: argparse.Namespace) -> None:
    """Refuse bad numbers before anything is loaded, naming the option."""
    for name in _POSITIVE:
        value = getattr(opts, name)
        if value is not None and value < 1:
            flag = "--" + name.replace("_", "-")
            raise ValueError(f"`{flag}` must be a positive int, got {flag} {value}.")
    if not opts.connect_timeout > 0:
        raise ValueError(
            "`--connect-timeout` must be a positive number of seconds, got "
            f"{opts.connect_timeout}."
        )
    dask = opts.scheduler is not None or opts.workers is not None
    if dask and opts.n_pmap not in (None, 1):
        raise ValueError(
            f"`--n-pmap {opts.n_pmap}` spreads each call over devices of this "
            "process; a Dask run (--scheduler, --workers) computes on one device "
            "per worker. Drop --n-pmap, or drop --scheduler/--workers."
        )


def _executor(ns: dict[str, Any], opts: argparse.Namespace, client: Any) -> Any:
    n_vmap = _option(opts, ns, "n_vmap", 1)
    common = dict(progress=not opts.no_progress, **ns.get("kwargs", {}))
    args = tuple(ns.get("args", ()))
    if client is not None or opts.workers is not None:
        extra = {"n_workers": opts.workers} if opts.workers is not None else {}
        return DistributedExecution(
            ns["model"],
            ns["space"],
            *args,
            client=client,
            n_vmap=n_vmap,
            **extra,
            **common,
        )
    n_pmap = 1 if opts.n_pmap is None else opts.n_pmap
    return ParallelExecution(
        ns["model"], ns["space"], *args, n_vmap=n_vmap, n_pmap=n_pmap, **common
    )


def _run(opts: argparse.Namespace) -> int:
    _check_options(opts)
    ns = load_sweep(opts.sweep)
    # Reach the scheduler before touching the store: an unreachable address
    # fails here, leaving no empty (or overwritten) store behind.
    client = None
    if opts.scheduler is not None:
        client = connect_scheduler(opts.scheduler, timeout=opts.connect_timeout)
    try:
        executor = _executor(ns, opts, client)
        if opts.overwrite:
            _trace(executor, opts)
            remove_store(opts.store)
        t0 = time.perf_counter()
        executor.run(
            store=opts.store,
            resume=opts.resume,
            chunk_size=_option(opts, ns, "chunk_size", None),
        )
    except FileExistsError as err:
        raise FileExistsError(
            f"{err} Here: add --resume to continue it, or --overwrite to start over."
        ) from None
    finally:
        if client is not None:
            client.close()
    print(f"done in {time.perf_counter() - t0:.1f} s\n{store_info(opts.store)}")
    return 0


def _trace(executor: Any, opts: argparse.Namespace) -> None:
    """Trace the sweep's model before --overwrite deletes the old store, so
    a broken sweep file leaves the old results alone (the run reuses it)."""
    try:
        executor.output_struct()
    except Exception as err:
        raise ValueError(
            f"the model of {str(opts.sweep)!r} fails on the first point "
            f"({type(err).__name__}: {err}); the store at {str(opts.store)!r} was "
            "left as it was. Fix the sweep file and run again."
        ) from err


def _demo(opts: argparse.Namespace) -> int:
    # prints its own summary and where it wrote
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
    opts = _parser().parse_args(argv)
    try:
        if opts.command == "run":
            return _run(opts)
        if opts.command == "info":
            print(store_info(opts.store))
            return 0
        return _demo(opts)
    except (ValueError, TypeError, OSError, ExecutionError) as err:
        print(f"sweepjax: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        hint = "; finished chunks are in the store: continue with --resume"
        print(
            f"sweepjax: interrupted{hint if opts.command == 'run' else ''}.",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
