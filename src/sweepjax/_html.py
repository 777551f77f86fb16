"""Notebook views (``_repr_html_``) of a Space, a Result and a store's info.

Small HTML tables built from what each object already reports; nothing here
computes more than the object's text view does, except a Result's count of
NaN points, which reads its outputs only when they are small.
"""

from __future__ import annotations

import html
from typing import Any

import jax
import numpy as np

__all__ = ["result_html", "space_html", "store_html"]

#: A Result's failed (NaN) points are counted only below this many values.
_COUNT_LIMIT = 10_000_000
_HEAD = 5


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _size(n_bytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n_bytes < 1024 or unit == "TiB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    raise AssertionError  # unreachable


def _table_bytes(space: Any) -> int:
    """Bytes of the materialised table (`to_dataframe`): one value per
    point and axis."""
    per_point = sum(
        int(np.prod(t.shape[1:], dtype=np.int64)) * t.dtype.itemsize
        if jax.numpy.issubdtype(t.dtype, jax.numpy.number)
        else 8
        for t in space.values.values()
    )
    return per_point * space.N


def space_html(space: Any) -> str:
    """A Space's axes, sizes, mode, number of points and table memory."""
    rows = []
    for name, axis in space.axes.items():
        table = space.values[name]
        rows.append(
            [
                name,
                type(axis).__name__,
                axis.size,
                space.dimension(name),
                "" if axis.group is None else axis.group,
                str(table.dtype),
                tuple(table.shape[1:]) or "",
            ]
        )
    r = space.index_range
    sliced = "" if (r.start, r.step) == (0, 1) and len(r) == space.N else f", {r}"
    return (
        f"<div><b>Space</b>: {space.N:,} points, mode "
        f"{html.escape(repr(space.mode))}{sliced}, "
        f"{len(space.axes)} axes; its table takes {_size(_table_bytes(space))}"
        + _table(["axis", "type", "size", "dim", "group", "dtype", "value shape"], rows)
        + "</div>"
    )


def result_html(result: Any, names: list[str]) -> str:
    """A Result's outputs (shape, dtype, NaN points) and its table's head."""
    rows = []
    for name, leaf in zip(names, _leaves(result), strict=True):
        rows.append([name, tuple(leaf.shape[1:]) or "()", str(leaf.dtype), _nan(leaf)])
    head = result[: min(_HEAD, len(result))].to_dataframe()
    return (
        f"<div><b>Result</b>: {len(result):,} points, {len(names)} outputs"
        + _table(["output", "shape", "dtype", "failed (NaN) points"], rows)
        + f"<p>first {len(head)} points:</p>"
        + head.to_html(max_cols=12)
        + "</div>"
    )


def _leaves(result: Any) -> list[Any]:
    return jax.tree.leaves(result.outputs)


def _nan(leaf: Any) -> str:
    """Points with any NaN in `leaf` (its outputs are read only when small)."""
    if not jax.numpy.issubdtype(leaf.dtype, jax.numpy.inexact):
        return "0"
    if int(np.prod(leaf.shape, dtype=np.int64)) > _COUNT_LIMIT:
        return "not counted (large)"
    data = np.isnan(np.asarray(leaf)).reshape(leaf.shape[0], -1)
    return str(int(data.any(axis=1).sum()))


def store_html(info: Any) -> str:
    """A store's provenance, space and progress of done chunks."""
    s = info.space
    rows = [
        ["store", info.path],
        ["model", info.model],
        ["space", f"{s['N']:,} points, mode {s['mode']}, {len(s['axes'])} axes"],
    ]
    if info.provenance:
        versions = info.provenance.get("versions") or {}
        rows.append(
            ["source sha1", str(info.provenance["model"].get("source_sha1"))[:12]]
        )
        rows += [[f"version of {k}", v] for k, v in versions.items()]
    if info.chunk_size is None:
        rows.append(["progress", "not started"])
    else:
        pct = 100.0 * info.done_points / max(info.n_points, 1)
        rows.append(
            [
                "progress",
                f"{info.done_chunks}/{info.n_chunks} chunks, "
                f"{info.done_points:,}/{info.n_points:,} points ({pct:.1f}%)",
            ]
        )
        if not info.complete:
            rows.append(["missing", info.missing_text()])
    if info.outputs:
        rows += [
            [f"output {n}", f"{tuple(d['shape'])} {d['dtype']}"]
            for n, d in info.outputs.items()
        ]
    done = ""
    if info.chunk_size is not None and info.n_chunks:
        cells = "".join(
            f'<span style="display:inline-block;width:6px;height:10px;'
            f'background:{"#4a4" if d else "#ddd"}"></span>'
            for d in info.done[:400]
        )
        done = f"<div title='done chunks'>{cells}</div>"
    return "<div><b>sweepjax store</b>" + _table(["", ""], rows) + done + "</div>"
