"""One writer per store: a lock file naming its owner and its run, held for a
whole run.

Two processes on one store (a job retried while the first still compiles) would
otherwise both lay it out and write it. The lock file records the owner's
host, pid, process start time and boot id, the store's path, and a token of
the run; Dask workers write a chunk only while the lock still holds their
run's token (`holds`), so a run that ended writes nothing more.

- The lock is written whole: a temporary file is written and fsynced, then
  hard-linked to the lock's name, which fails if a lock exists. A write error
  (a full disk) leaves no lock behind.
- A lock is stale, and taken over with a warning, when its owner is on this
  host and no longer runs: its pid is gone, belongs to another process
  (another start time), or dates from before the machine restarted (another
  boot id). A lock copied along with its store (``cp -r`` of a running
  store: another path and directory) is stale for the copy. An empty or
  unreadable lock, which versions before this one could leave, is stale once
  it is `UNREADABLE_STALE_S` seconds old. A live owner, or one on another
  host (whose processes cannot be checked from here), refuses the run.
- Taking over is atomic: the one process that creates the takeover file
  named after the stale lock's content removes that lock, and only if it
  still holds that content, so two processes resuming a crashed store never
  both take it.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import socket
import time
import uuid
import warnings
from pathlib import Path

__all__ = [
    "LOCK",
    "UNREADABLE_STALE_S",
    "StoreBusyError",
    "StoreLock",
    "holds",
    "lock_owner",
    "read_only",
]

LOCK = "sweepjax.lock"

#: Seconds after which an empty or unreadable lock file counts as stale.
UNREADABLE_STALE_S = 5.0
#: Seconds after which an unfinished takeover (its process crashed) is abandoned.
_TAKEOVER_STALE_S = 30.0
_ATTEMPTS = 50
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


class StoreBusyError(OSError):
    """Another process holds the store's lock.

    >>> issubclass(StoreBusyError, OSError)
    True
    """


def lock_owner(path: Path) -> dict | None:
    """The owner recorded in the lock of the store at `path` (None: no lock;
    ``{}``: a lock file that cannot be read)."""
    read = _read(path / LOCK)
    return None if read is None else _parse(read[0])


def holds(path: Path, run: str) -> bool:
    """Whether the lock of the store at `path` belongs to the run `run` (the
    fence a worker checks before writing a chunk)."""
    owner = lock_owner(path)
    return owner is not None and owner.get("run") == run


def read_only(err: OSError) -> bool:
    """Whether `err` says the store cannot be written at all (a read-only
    filesystem, no write permission)."""
    return err.errno in _READ_ONLY


def _read(file: Path) -> tuple[str, os.stat_result] | None:
    """The text of `file` and its stat (identifying this very file), or None."""
    try:
        with open(file, "rb") as f:
            return f.read().decode(errors="replace"), os.fstat(f.fileno())
    except FileNotFoundError:
        return None


def _parse(text: str) -> dict:
    try:
        owner = json.loads(text)
    except ValueError:
        return {}
    return owner if isinstance(owner, dict) else {}


def boot_id() -> str | None:
    """This machine's boot id (Linux), which changes when it restarts."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def process_start(pid: int) -> str | None:
    """When process `pid` started (None: unknown or no such process): with its
    pid, it names one process, so a reused pid reads as another process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return "proc:" + stat[stat.rindex(")") + 2 :].split()[19]  # field 22
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil  # not a dependency: used where /proc is not

        return f"psutil:{psutil.Process(pid).create_time()}"
    except Exception:
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except (OverflowError, ValueError, OSError):
        return False
    return True


def _describe(owner: dict) -> str:
    if not owner:
        return "an unreadable lock"
    pid, host, since = owner.get("pid"), owner.get("host"), owner.get("since")
    return f"pid {pid} on host {host!r} (since {since})"


def _write_new(file: Path, text: str) -> None:
    """Create `file` holding `text`, whole or not at all; FileExistsError if
    it exists."""
    tmp = file.with_name(f".{file.name}.{uuid.uuid4().hex}.tmp")
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        try:
            data = text.encode()
            while data:
                data = data[os.write(fd, data) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, file)
        except FileExistsError:
            raise
        except OSError:  # a filesystem without hard links
            _write_in_place(file, text)
    except FileExistsError:
        raise
    except OSError as err:
        raise OSError(
            err.errno, f"{err.strerror}: cannot write the lock file", str(file)
        ) from err
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    _sync_folder(file.parent)


def _write_in_place(file: Path, text: str) -> None:
    """`_write_new` where hard links are not supported: exclusive create,
    then write (a crash in between leaves an empty, soon stale, lock)."""
    fd = os.open(file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(file)
        raise
    os.close(fd)


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class StoreLock:
    """The lock of the store at `path`; `acquire` it before writing, `release`
    it after (only this run's lock is removed). `token` names the run.

    >>> lock = StoreLock(Path("sweep.zarr"))   # taken by ZarrSink for a run
    """

    def __init__(self, path: Path):
        self.path = path
        self.file = path / LOCK
        self.token = uuid.uuid4().hex
        self.me = {"host": socket.gethostname(), "pid": os.getpid()}
        self.held = False

    def _record(self) -> dict:
        return {
            **self.me,
            "start": process_start(self.me["pid"]),
            "boot": boot_id(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
            "path": os.path.realpath(self.path),
            "inode": os.stat(self.path).st_ino,
            "run": self.token,
        }

    def acquire(self) -> None:
        record = json.dumps(self._record())
        for _ in range(_ATTEMPTS):
            try:
                _write_new(self.file, record)
            except FileExistsError:
                self._take_over_if_stale()
                continue
            self.held = True
            return
        raise StoreBusyError(
            f"Could not lock the store at {str(self.path)!r}: another process keeps "
            f"taking the lock ({self.file})."
        )

    def _take_over_if_stale(self) -> None:
        read = _read(self.file)
        if read is None:
            return  # released meanwhile: try again
        owner = _parse(read[0])
        why = self._stale(owner, read[1])
        if why is None:
            raise StoreBusyError(
                f"The store at {str(self.path)!r} is being written by "
                f"{_describe(owner)}: one process writes a store at a time. Wait "
                f"for it to finish (then resume=True continues), or, if that "
                f"process is gone (another host's processes cannot be checked "
                f"from here), delete {str(self.file)!r}."
            )
        if self._remove_if_unchanged(self.file, read):
            warnings.warn(
                f"Taking over the lock of the store at {str(self.path)!r}, left by "
                f"{_describe(owner)}, which {why}.",
                RuntimeWarning,
                stacklevel=5,
            )

    def _stale(self, owner: dict, stat: os.stat_result) -> str | None:
        """Why the lock of `owner` is stale, or None when it may be live."""
        if not owner:
            if time.time() - stat.st_mtime > UNREADABLE_STALE_S:
                return "is unreadable (left half-written by an older version)"
            return None
        where = os.path.realpath(self.path)
        if owner.get("path") not in (None, where) and owner.get("inode") not in (
            None,
            os.stat(self.path).st_ino,
        ):
            return f"was writing the store at {owner['path']!r} (this is a copy)"
        if owner.get("host") != self.me["host"]:
            return None
        if owner.get("boot") not in (None, boot_id()):
            return "ran before this machine restarted"
        pid = owner.get("pid")
        if not isinstance(pid, int) or not _alive(pid):
            return "no longer runs"
        start, now = owner.get("start"), process_start(pid)
        if start and now and start.split(":")[0] == now.split(":")[0] and start != now:
            return "no longer runs (its pid now belongs to another process)"
        return None

    def _remove_if_unchanged(self, file: Path, read: tuple, depth: int = 0) -> bool:
        """Remove `file` if it is still the one `read` saw. One process at a
        time does so: the one that creates the takeover file named after
        that content; the others wait and look again."""
        text, stat = read
        key = hashlib.sha1(f"{text}{stat.st_ino}{stat.st_mtime_ns}".encode())
        mutex = file.with_name(f"{LOCK}.takeover-{key.hexdigest()[:16]}")
        try:
            _write_new(mutex, json.dumps(self._record()))
        except FileExistsError:
            other = _read(mutex)
            if other is not None and depth < 3 and self._abandoned(other):
                self._remove_if_unchanged(mutex, other, depth + 1)
            time.sleep(0.01)
            return False
        try:
            now = _read(file)
            if now is None or (now[0], now[1].st_ino, now[1].st_mtime_ns) != (
                text,
                stat.st_ino,
                stat.st_mtime_ns,
            ):
                return False
            os.unlink(file)
            return True
        finally:
            try:
                os.unlink(mutex)
            except OSError:
                pass

    def _abandoned(self, read: tuple) -> bool:
        """Whether a takeover file was left by a process that crashed."""
        owner, stat = _parse(read[0]), read[1]
        old = time.time() - stat.st_mtime > _TAKEOVER_STALE_S
        return old or (bool(owner) and self._stale(owner, stat) is not None)

    def release(self) -> None:
        """Remove the lock if this run holds it. A failure to do so (the
        filesystem turned read-only) is a warning, never an error hiding the
        one that ended the run."""
        if not self.held:
            return
        self.held = False
        try:
            if holds(self.path, self.token):
                os.unlink(self.file)
        except OSError as err:
            warnings.warn(
                f"Could not remove the lock {str(self.file)!r} of the store "
                f"({type(err).__name__}: {err}); a later run on this host takes it "
                "over once this process has ended (elsewhere, delete it).",
                RuntimeWarning,
                stacklevel=4,
            )
