"""How much memory a compiled batch needs, how much a device has, and the
batch size (`n_vmap`) that fits.

The need is XLA's memory analysis of the compiled batch program (arguments,
outputs and temporaries on one device); what a device has is its free
memory (GPU: `Device.memory_stats`; CPU: the host's ``MemAvailable``).
"""

from __future__ import annotations

import math
import os

import jax

from sweepjax._sink import nbytes

__all__ = [
    "AUTO_MAX",
    "BatchTooLarge",
    "available_bytes",
    "check_fits",
    "fitting_n_vmap",
]

#: `n_vmap="auto"` never picks more points per device than this ...
AUTO_MAX = 256
#: ... nor a batch needing more than this share of the free memory (the next
#: batch computes while the last one's outputs are copied to the host).
AUTO_SHARE = 0.25


class BatchTooLarge(ValueError):
    """A batch that cannot fit in memory, refused before anything runs."""


def available_bytes(device: jax.Device) -> int | None:
    """Free memory of `device` in bytes (None when it cannot be known)."""
    try:
        stats = device.memory_stats()
    except Exception:  # some backends do not implement it
        stats = None
    if stats and "bytes_limit" in stats:
        return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    if device.platform != "cpu":
        return None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _shared(device: jax.Device, n_pmap: int) -> int:
    """How many devices draw on the memory `available_bytes` reports (CPU
    devices all share the host's)."""
    return n_pmap if device.platform == "cpu" else 1


def fitting_n_vmap(
    need: int, fixed: int, batch: int, device: jax.Device, n_pmap: int, share: float
) -> int | None:
    """The largest points-per-device whose batch fits in `share` of the free
    memory, from one compiled batch of `batch` points per device needing
    `need` bytes of which `fixed` do not grow with the batch (None: the free
    memory is unknown; 0: not even one point fits)."""
    free = available_bytes(device)
    if free is None:
        return None
    per_point = max(need - fixed, 1) / batch
    budget = free * share / _shared(device, n_pmap) - fixed
    return max(0, math.floor(budget / per_point))


def check_fits(
    need: int,
    fixed: int,
    batch: int,
    device: jax.Device,
    n_pmap: int,
    label: str,
    smallest: int = 1,
) -> None:
    """Refuse, before anything runs, a batch that cannot fit in memory (a
    batch holds at least `smallest` points per device)."""
    free = available_bytes(device)
    if free is None:
        return
    total = need * _shared(device, n_pmap)
    # the shared inputs are on the device already: counted in `free`
    if (need - fixed) * _shared(device, n_pmap) <= free:
        return
    fit = fitting_n_vmap(need, fixed, batch, device, n_pmap, 0.5) or 0
    if fit >= smallest:
        advice = f"use n_vmap={fit} or less, or n_vmap='auto'"
    elif (fitting_n_vmap(need, fixed, batch, device, n_pmap, 1.0) or 0) >= smallest:
        advice = "use n_vmap=1"
    else:
        advice = (
            f"even a batch of {smallest} points does not fit: make a point need "
            "less (fewer steps, observers that reduce the trajectory, smaller "
            "outputs)"
        )
    raise BatchTooLarge(
        f"{label}: one batch of {batch * n_pmap} points needs about "
        f"{nbytes(total)} (XLA's memory analysis of the compiled batch), but "
        f"{device.platform.upper()} memory has {nbytes(free)} available; {advice}."
    )
