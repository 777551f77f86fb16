"""Shared benchmark helpers: timing and memory readings."""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Callable


def one_device_per_core() -> None:
    """Start JAX (not yet imported) with one XLA CPU device per core, so an
    executor's `n_pmap` splits a batch over the cores, as the peers' one
    process per core does. Keeps a device count the caller set."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        count = f"--xla_force_host_platform_device_count={os.cpu_count()}"
        os.environ["XLA_FLAGS"] = f"{flags} {count}".strip()


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """Wall time of one call, and its return value."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def best_of(fn: Callable[[], object], repeats: int) -> float:
    """Fastest of `repeats` calls (the least disturbed by a shared machine)."""
    return min(timed(fn)[0] for _ in range(repeats))


def interleaved_best(a: Callable, b: Callable, repeats: int) -> tuple[float, float]:
    """Best times of `a` and `b`, alternating calls so both see the same load."""
    times_a, times_b = [], []
    for _ in range(repeats):
        times_a.append(timed(a)[0])
        times_b.append(timed(b)[0])
    return min(times_a), min(times_b)


def median_of(fn: Callable[[], object], repeats: int) -> float:
    return statistics.median(timed(fn)[0] for _ in range(repeats))


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB.

    On Linux this is ``VmHWM`` of ``/proc/self/status``: ``ru_maxrss`` also
    counts the parent's memory when a process is started by ``subprocess``
    (the high-water mark of the memory it was forked from survives the
    exec), so a benchmark's workers would report their runner's size.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB (Linux)


def verdict(value: float, target: float, higher_is_better: bool = True) -> str:
    ok = value >= target if higher_is_better else value <= target
    return "ok" if ok else "MISSED"
