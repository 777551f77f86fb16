"""Crash-proof chunks: durable writes, checksums, and reading damaged stores.

A node crash can leave any file of a store empty or half written, since the
operating system may not have written it out. So a chunk counts as done only
when its done marker reads exactly ``1``, and the marker is written after the
chunk's data files and a checksum record (``_sweepjax/sums/<k>.json``, a CRC-32
of each array's rows) have been fsynced. On resume, every done chunk is read
back and checked against its record: a file that cannot be read, or whose
values changed, is named in a warning and its chunk is computed again.

Checksums are taken of the values as they read back: every NaN counts as the
one NaN of the array's fill value, whatever bits the model produced, since
Zarr does not write a chunk equal to its fill value (a diverged region of all
NaN) and reads it back as the fill value's NaN.
"""

from __future__ import annotations

import json
import os
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from sweepjax._store._format import DONE, META

__all__ = [
    "checksum",
    "chunk_files",
    "fsync",
    "nonfinite_rows",
    "read_done",
    "read_sums",
    "sums_match",
    "verify_chunks",
    "warn_damaged",
    "write_error",
    "write_sums",
]

SUMS = f"{META}/sums"
#: How many non-finite points' indices a warning shows.
_SHOW = 5


def checksum(rows: np.ndarray, nan_sign: float = 1.0) -> int:
    """CRC-32 of an array's bytes (C order), each NaN (for complex numbers:
    each value with a NaN part) replaced by one NaN, ``copysign(nan,
    nan_sign)``: the bytes the values read back as, whatever NaN bits the
    model wrote. (``nan_sign=-1`` gives the records of stores written before
    NaNs were canonical, by models whose NaN had the sign bit set, as x86
    arithmetic produces.)"""
    rows = np.ascontiguousarray(rows)
    if rows.dtype.kind in "fc":
        nan = np.isnan(rows)
        if nan.any():
            one = np.array(np.copysign(np.nan, nan_sign), rows.dtype)
            rows = np.where(nan, one, rows)
    return zlib.crc32(rows.tobytes())


def sums_match(recorded: object, rows: np.ndarray) -> bool:
    """Whether `rows`, as read back, are what the record `recorded` was taken
    of (the record of an older store may have kept the model's own NaN bits:
    a sign-bit NaN is then accepted as well)."""
    if recorded == checksum(rows):
        return True
    return rows.dtype.kind in "fc" and recorded == checksum(rows, -1.0)


def nonfinite_rows(rows: np.ndarray) -> np.ndarray:
    """Bool ``[len(rows)]``: the points with a NaN or infinite value."""
    if not np.issubdtype(rows.dtype, np.inexact):
        return np.zeros(len(rows), bool)
    return ~np.isfinite(rows.reshape(len(rows), -1)).all(axis=1)


def chunk_files(path: Path, array: str, k: int) -> list[Path]:
    """The files of chunk `k` of the Zarr array `array` (``c/<k>`` for a 1-d
    array, the files under ``c/<k>/`` otherwise)."""
    root = path / array / "c" / str(k)
    if root.is_dir():
        return sorted(p for p in root.rglob("*") if p.is_file())
    return [root] if root.is_file() else []


def fsync(paths: list[Path]) -> None:
    """Flush files, and the folders that list them, to disk."""
    for p in [*paths, *{p.parent for p in paths}]:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_sums(path: Path, k: int, sums: dict[str, int]) -> Path:
    """Record chunk `k`'s checksums (by array name); returns the file."""
    folder = path / SUMS
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / f"{k}.json"
    tmp = folder / f".{k}.json.tmp"
    tmp.write_text(json.dumps(sums))
    os.replace(tmp, file)
    return file


def read_sums(path: Path, k: int) -> dict[str, int] | None:
    """Chunk `k`'s checksums, or None when there is no readable record."""
    try:
        sums = json.loads((path / SUMS / f"{k}.json").read_text())
    except (OSError, ValueError):
        return None
    return sums if isinstance(sums, dict) else None


def read_done(path: Path, n_chunks: int) -> tuple[np.ndarray, list[Path]]:
    """``(done [n_chunks] bool, damaged marker files)``: a marker counts only
    when it holds exactly the byte 1 (0 or no file: not done)."""
    done = np.zeros(n_chunks, bool)
    damaged = []
    folder = path / DONE / "c"
    if folder.is_dir():
        for file in folder.iterdir():
            if not file.name.isdigit() or int(file.name) >= n_chunks:
                continue
            data = file.read_bytes()
            if data == b"\x01":
                done[int(file.name)] = True
            elif data != b"\x00":
                damaged.append(file)
    return done, damaged


def write_error(
    err: OSError, path: Path, k: int, start: int = 0, stop: int = 0
) -> OSError:
    """`err` (a full disk, a filesystem gone read-only) while writing chunk
    `k`, points ``[start, stop)`` (none: the unfinished points a failed run
    keeps), as an error naming the store, the chunk and what was kept."""
    file = f" ({err.filename})" if err.filename else ""
    if stop > start:
        what = f"chunk {k} (points {start} to {stop - 1})"
        kept = "The chunks finished before it are kept"
    else:
        what = f"the unfinished points of chunk {k}"
        kept = "They are computed again when the sweep resumes"
    return OSError(
        err.errno,
        f"Writing {what} to the store at {str(path)!r} failed: "
        f"{err.strerror or err}{file}. {kept}: free space (or fix the "
        "filesystem) and run again with resume=True to go on.",
    )


def warn_damaged(files: list[Path], what: str) -> None:
    """One warning naming damaged files and what happens to their chunks."""
    if files:
        shown = ", ".join(str(f) for f in files[:5])
        more = f" and {len(files) - 5} more" if len(files) > 5 else ""
        warnings.warn(
            f"Damaged store files (empty or unreadable, e.g. after a crash): "
            f"{shown}{more}; {what}",
            RuntimeWarning,
            stacklevel=4,
        )


def verify_chunks(
    path: Path,
    done: np.ndarray,
    size: int,
    arrays: list[tuple[str, Any]],
    outputs: set[str],
    recorded: bool,
) -> tuple[np.ndarray, list[Path], int, list[int]]:
    """Read every done chunk of `arrays` (``(node name, zarr array)``) back
    and check it against its record (`recorded`: the store keeps records;
    stores before format 2 do not). Returns ``(done, damaged files, count,
    first)``: `done` without the chunks that do not read back as written, and
    the number and first indices of the non-finite points of the verified
    chunks' `outputs` arrays."""
    damaged: list[Path] = []
    count, first = 0, []
    for k in np.flatnonzero(done).tolist():
        sums = read_sums(path, k)
        bad = None
        for name, array in arrays:
            try:
                data = array[k * size : (k + 1) * size]
                ok = not recorded if sums is None else sums_match(sums.get(name), data)
            except Exception:
                ok = False
            if not ok:
                done[k] = False
                files = chunk_files(path, name, k)
                damaged.extend(files or [path / name / "c" / str(k)])
                break
            if name in outputs:
                rows = nonfinite_rows(data)
                bad = rows if bad is None else bad | rows
        if done[k] and bad is not None and bad.any():
            where = np.flatnonzero(bad)
            count += len(where)
            if len(first) < _SHOW:
                first += [k * size + int(i) for i in where[:_SHOW]]
    return done, damaged, count, sorted(first)[:_SHOW]
