"""One writer per store: a lock file naming its owner, held for a whole run.

Two processes on one store (a job retried while the first still compiles) would
otherwise both lay it out and write it. The lock is a file created with
``O_EXCL`` (atomic on local and NFSv3+ filesystems) holding the owner's host,
pid and start time. A lock left by a dead process on this host is taken over
with a warning; one held by a live process, or by another host (whose
processes cannot be checked from here), refuses the run with the owner named.
"""

from __future__ import annotations

import json
import os
import socket
import time
import warnings
from pathlib import Path

__all__ = ["LOCK", "StoreBusyError", "StoreLock", "lock_owner"]

LOCK = "sweepjax.lock"


class StoreBusyError(OSError):
    """Another process holds the store's lock."""


def lock_owner(path: Path) -> dict | None:
    """The owner recorded in the lock of the store at `path` (None: no lock;
    ``{}``: a lock file that cannot be read, e.g. left empty by a crash)."""
    try:
        text = (path / LOCK).read_text()
    except FileNotFoundError:
        return None
    try:
        owner = json.loads(text)
    except ValueError:
        return {}
    return owner if isinstance(owner, dict) else {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _describe(owner: dict) -> str:
    if not owner:
        return "an unreadable lock"
    pid, host, since = owner.get("pid"), owner.get("host"), owner.get("since")
    return f"pid {pid} on host {host!r} (since {since})"


class StoreLock:
    """The lock of the store at `path`; `acquire` it before writing, `release`
    it after (only the owner's lock is removed).

    >>> lock = StoreLock(Path("sweep.zarr"))   # taken by ZarrSink for a run
    """

    def __init__(self, path: Path):
        self.path = path
        self.file = path / LOCK
        self.me = {"host": socket.gethostname(), "pid": os.getpid()}
        self.held = False

    def acquire(self) -> None:
        for _ in range(2):
            try:
                fd = os.open(self.file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._take_over_if_stale()
                continue
            record = {**self.me, "since": time.strftime("%Y-%m-%d %H:%M:%S")}
            with os.fdopen(fd, "w") as f:
                json.dump(record, f)
                f.flush()
                os.fsync(f.fileno())
            self.held = True
            return
        raise StoreBusyError(
            f"Could not lock the store at {str(self.path)!r}: another process keeps "
            f"taking the lock ({self.file})."
        )

    def _take_over_if_stale(self) -> None:
        owner = lock_owner(self.path)
        if owner is None:
            return  # released meanwhile: try again
        same_host = owner.get("host") == self.me["host"]
        pid = owner.get("pid")
        if same_host and isinstance(pid, int) and not _alive(pid):
            warnings.warn(
                f"Taking over the lock of the store at {str(self.path)!r}, left by "
                f"{_describe(owner)}, which no longer runs.",
                RuntimeWarning,
                stacklevel=5,
            )
            self.file.unlink(missing_ok=True)
            return
        raise StoreBusyError(
            f"The store at {str(self.path)!r} is being written by "
            f"{_describe(owner)}: one process writes a store at a time. Wait for "
            f"it to finish (then resume=True continues), or, if that process is "
            f"gone (another host's processes cannot be checked from here), delete "
            f"{str(self.file)!r}."
        )

    def release(self) -> None:
        if self.held:
            owner = lock_owner(self.path) or {}
            if (
                owner.get("pid") == self.me["pid"]
                and owner.get("host") == self.me["host"]
            ):
                self.file.unlink(missing_ok=True)
            self.held = False
