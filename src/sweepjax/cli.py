"""The `sweepjax` command: run a sweep file into a store, inspect a store, demo.

    sweepjax run SWEEP.py --store sweep.zarr [--resume] [--scheduler ADDR]
    sweepjax info sweep.zarr
    sweepjax demo --out demo/

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

__all__ = ["main"]


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
        "--overwrite", action="store_true", help="delete an existing store first"
    )
    where = run.add_mutually_exclusive_group()
    where.add_argument("--scheduler", help="Dask scheduler address, tcp://host:port")
    where.add_argument(
        "--workers", type=int, help="run on a local Dask cluster of N workers"
    )
    run.add_argument("--n-vmap", type=int, help="points per compiled call")
    run.add_argument(
        "--n-pmap", type=int, default=1, help="devices per call (in-process only)"
    )
    run.add_argument("--chunk-size", type=int, help="points per Dask task")
    run.add_argument("--no-progress", action="store_true", help="hide progress bar")

    info = sub.add_parser("info", help="show a store's space, progress and outputs")
    info.add_argument("store", type=Path)

    demo = sub.add_parser("demo", help="run the whole-brain network demo")
    demo.add_argument("--out", type=Path, default=Path("sweepjax-demo"))
    return parser


def load_sweep(path: Path) -> dict[str, Any]:
    """Run a sweep file and return its namespace (checked for space, model)."""
    from sweepjax import Space

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


def _executor(ns: dict[str, Any], opts: argparse.Namespace) -> Any:
    from sweepjax import DistributedExecution, ParallelExecution, store_info

    n_vmap = opts.n_vmap or ns.get("n_vmap")
    chunk_size = opts.chunk_size or ns.get("chunk_size")
    distributed = opts.scheduler is not None or opts.workers is not None
    if opts.resume and opts.store.exists() and not (opts.n_vmap or opts.chunk_size):
        # Resume in the store's chunks unless told otherwise.
        stored = store_info(opts.store).chunk_size
        if distributed:
            chunk_size = stored
            n_vmap = min(n_vmap or stored, stored)
        elif stored % opts.n_pmap == 0:
            n_vmap = stored // opts.n_pmap
    common = dict(progress=not opts.no_progress, **ns.get("kwargs", {}))
    args = tuple(ns.get("args", ()))
    if distributed:
        extra = {"n_workers": opts.workers} if opts.workers else {}
        return DistributedExecution(
            ns["model"],
            ns["space"],
            *args,
            client=opts.scheduler,
            n_vmap=n_vmap or 1,
            chunk_size=chunk_size,
            **extra,
            **common,
        )
    return ParallelExecution(
        ns["model"],
        ns["space"],
        *args,
        n_vmap=n_vmap or 1,
        n_pmap=opts.n_pmap,
        **common,
    )


def _run(opts: argparse.Namespace) -> int:
    from sweepjax import store_info
    from sweepjax._store import remove_store

    ns = load_sweep(opts.sweep)
    executor = _executor(ns, opts)
    if opts.overwrite:
        remove_store(opts.store)
    t0 = time.perf_counter()
    try:
        executor.run(store=opts.store, resume=opts.resume)
    except FileExistsError as err:
        raise FileExistsError(
            f"{err} Here: add --resume to continue it, or --overwrite to start over."
        ) from None
    print(f"done in {time.perf_counter() - t0:.1f} s\n{store_info(opts.store)}")
    return 0


def _demo(opts: argparse.Namespace) -> int:
    from sweepjax.network._demo import run_demo

    run_demo(opts.out)  # prints its own summary and where it wrote
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `sweepjax` console script; returns the exit code."""
    from sweepjax import ExecutionError, store_info

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
