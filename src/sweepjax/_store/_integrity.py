"""Crash-proof chunks: durable writes, checksums, and reading damaged stores.

A node crash can leave any file of a store empty or half written, since the
operating system may not have written it out. So a chunk counts as done only
when its done marker reads exactly ``1``, and the marker is written after the
chunk's data files and a checksum record (``_sweepjax/sums/<k>.json``, a CRC-32
of each array's rows) have been fsynced. On resume, every done chunk is read
back and checked against its record: a file that cannot be read, or whose
values changed, is named in a warning and its chunk is computed again.
"""

from __future__ import annotations

import json
import os
import warnings
import zlib
from pathlib import Path

import numpy as np

from sweepjax._store._format import DONE, META

__all__ = [
    "checksum",
    "chunk_files",
    "fsync",
    "read_done",
    "read_sums",
    "warn_damaged",
    "write_sums",
]

SUMS = f"{META}/sums"


def checksum(rows: np.ndarray) -> int:
    """CRC-32 of an array's bytes (C order)."""
    return zlib.crc32(np.ascontiguousarray(rows).tobytes())


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
