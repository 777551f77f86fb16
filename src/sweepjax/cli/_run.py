"""`sweepjax run`: load a sweep file and run it into a store.

A sweep file is a Python file that defines ``space`` (a `sweepjax.Space`) and
``model`` (called as ``model(state, *args, **kwargs)``), and optionally
``args`` (a tuple), ``kwargs`` (a dict), ``n_vmap`` and ``chunk_size``
defaults. It runs as a module (not as ``__main__``), so it may keep a
``if __name__ == "__main__":`` block for other uses.
"""

from __future__ import annotations

import argparse
import re
import runpy
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from sweepjax import (
    DistributedExecution,
    ParallelExecution,
    Space,
    store_info,
)
from sweepjax._store import remove_store
from sweepjax._store._format import store_exists
from sweepjax.execution._distributed import connect_scheduler

__all__ = ["SweepFileError", "for_shell", "load_sweep", "run_command", "KEPT"]

#: Command-line options that take a positive int, by attribute name.
_POSITIVE = ("n_vmap", "n_pmap", "workers", "chunk_size")


class SweepFileError(Exception):
    """The sweep file raised while it ran; the message names its file and line."""


def load_sweep(path: Path) -> dict[str, Any]:
    """Run a sweep file and return its namespace (checked for space, model,
    args and kwargs). It sees ``sys.argv == [path]``, as under ``python
    SWEEP.py``, and modules next to it are importable."""
    if not path.is_file():
        raise FileNotFoundError(f"sweep file {str(path)!r} does not exist.")
    sys.path.insert(0, str(path.resolve().parent))
    name = path.stem if path.stem not in sys.modules else f"_{path.stem}"
    argv, sys.argv = sys.argv, [str(path)]
    try:
        namespace = runpy.run_path(str(path), run_name=name)
    except Exception as err:
        raise SweepFileError(_where(path, err)) from err
    finally:
        sys.argv = argv
    for what, ok, expected in [
        ("space", lambda x: isinstance(x, Space), "a sweepjax.Space"),
        ("model", callable, "a callable `model(state, ...)`"),
        ("args", lambda x: isinstance(x, tuple | list), "a tuple (or list)"),
        ("kwargs", _is_kwargs, "a dict of keyword arguments (str keys)"),
    ]:
        value = namespace.get(what, () if what == "args" else {})
        if what in ("space", "model") and what not in namespace:
            raise ValueError(
                f"{str(path)!r} must define `{what}` as {expected}; it defines "
                "no such name."
            )
        if not ok(value):
            raise TypeError(
                f"`{what}` in {str(path)!r} must be {expected}, got "
                f"{type(value).__name__}: {_short(value)}."
            )
    return namespace


def _is_kwargs(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) for k in value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _where(path: Path, err: Exception) -> str:
    """`err` with the sweep file's line that raised it (its last frame
    there), for a shell user who sees no traceback."""
    frames = [
        f
        for f in traceback.extract_tb(err.__traceback__)
        if Path(f.filename).resolve() == path.resolve()
    ]
    where = f"{path}"
    if frames:
        line = f" ({frames[-1].line})" if frames[-1].line else ""
        where += f", line {frames[-1].lineno}{line}"
    elif isinstance(err, SyntaxError) and err.lineno:
        where += f", line {err.lineno}"
    return f"the sweep file raised {type(err).__name__} at {where}: {err}"


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


def _stored(path: Path) -> Any:
    """The store's `StoreInfo`, None where there is no readable store."""
    try:
        return store_info(path) if store_exists(path) else None
    except (ValueError, OSError):
        return None


def run_command(opts: argparse.Namespace) -> int:
    """`sweepjax run`: the sweep file's model over its space, into the store."""
    _check_options(opts)
    ns = load_sweep(opts.sweep)
    resume = "force" if opts.force_resume else opts.resume
    created = not opts.store.exists()
    stored = _stored(opts.store) if resume else None
    chunk_size = _option(opts, ns, "chunk_size", None)
    if stored is not None and stored.chunk_size is not None:
        chunk_size = opts.chunk_size  # the stored one unless given here
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
        executor.run(store=opts.store, resume=resume, chunk_size=chunk_size)
    except FileExistsError:
        raise FileExistsError(
            f"The store {str(opts.store)!r} already exists: add --resume to "
            "continue its sweep, --overwrite to start over, or choose another "
            "--store."
        ) from None
    except BaseException:
        if created:
            opts.removed = _remove_if_empty(opts.store)
        raise
    finally:
        if client is not None:
            client.close()
    if stored is not None and stored.complete:
        print(f"nothing to do: all {stored.n_points} points of {opts.store} are done")
    else:
        print(f"done in {time.perf_counter() - t0:.1f} s")
    print(store_info(opts.store))
    return 0


def _remove_if_empty(path: Path) -> bool:
    """Remove the store a failed first run created when no chunk of it is
    done, so that running the same command again starts afresh."""
    stored = _stored(path)
    try:
        if stored is not None and stored.done_chunks == 0:
            remove_store(path)
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
        else:
            return False
    except (ValueError, OSError):
        return False
    return True


#: Library phrasing -> the command line's (shell users have no `.partial`
#: result and no `resume=` argument).
_SHELL = [
    (re.compile(r"resume\s*=\s*['\"]force['\"]"), "--force-resume"),
    (re.compile(r"resume\s*=\s*True"), "--resume"),
    (
        re.compile(r"are in this (?:error|exception)'s `\.partial` result"),
        "were written",
    ),
]


#: The hint to resume, wrong once a failed first run's store is removed.
KEPT = re.compile(
    r"; finished chunks are in the store at .*?: run again with --resume"
    r"(?: to go on)?"
)


def for_shell(message: str) -> str:
    """A library message in the command line's words."""
    for pattern, words in _SHELL:
        message = pattern.sub(words, message)
    # Any other sentence about the Python-only `.partial` result goes.
    sentences = re.split(r"(?<=[.;])\s+", message)
    return " ".join(s for s in sentences if ".partial" not in s)


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
