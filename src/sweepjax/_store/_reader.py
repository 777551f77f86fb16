"""Reading sweepjax stores: `open_result` (lazy Result) and `store_info` (progress).

`open_result` needs a Space for the stored points. The user's state pytree
(its non-axis leaves, custom node types) is not stored, since that would
need pickle; what is stored is every axis's generated values, its key-path
name, group, the mode and the slice. From these the Space is rebuilt as one
`DataAxis` per axis inside a `Config` keyed by the original names, in the
original order: it has the same points in the same order (checked against
the stored value fingerprints), the same column and dimension names, so
`to_dataframe` and `to_xarray` match the in-memory result. ``space[i]``
then gives the axis values by name rather than the original full state.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from sweepjax._axes import DataAxis
from sweepjax._config import Config
from sweepjax._html import store_html
from sweepjax._result import Result
from sweepjax._space import Space
from sweepjax._store._format import (
    META,
    check_path,
    open_store,
    store_exists,
    unflatten,
)
from sweepjax._store._integrity import read_done, warn_damaged
from sweepjax._store._provenance import describe_space, info_lines

if TYPE_CHECKING:
    import zarr

__all__ = ["StoreInfo", "open_result", "store_info"]

_SHOW_RANGES = 5
_CHECKED = ("name", "size", "dimension", "value_shape", "dtype", "sha1")


@dataclass(frozen=True)
class StoreInfo:
    """What a sweepjax store holds and how far its sweep got.

    Attributes:
        path: the store's directory.
        model: the model's ``module.qualname``.
        chunk_size: points per chunk (the unit of resume); None while the
            sweep has not laid its outputs out yet.
        space: the space's description (`describe_space`).
        outputs: per-point output leaves, ``{name: {"shape", "dtype"}}``, or
            None when no chunk has been computed yet.
        done: bool `[n_chunks]`, which chunks are written and marked done.
        provenance: how the sweep was run: fixed leaves, arguments, model
            name and source hash, program fingerprint, prepared solves'
            settings, x64 mode, package versions (None for stores written
            before sweepjax 0.2).

    >>> _ = ParallelExecution(model, space, progress=False).run(store="sweep.zarr")
    >>> print(store_info("sweep.zarr"))   # what `sweepjax info` shows
    store:    /.../sweep.zarr
    model:    ...
    space:    N=5, mode='zip', 1 axes
      x  GridAxis     size=5      dim=0  float32
    source:   sha1 ..., x64 off
    progress: 1/1 chunks, 5/5 points (100.0%), chunk size 4096
    outputs:
      y: () float32
    """

    path: Path
    model: str
    chunk_size: int | None
    space: dict[str, Any]
    outputs: dict[str, dict[str, Any]] | None
    done: np.ndarray
    provenance: dict[str, Any] | None = None

    @property
    def fixed(self) -> dict[str, Any]:
        """The sweep's fixed parameters (leaf path -> value or description)."""
        return dict((self.provenance or {}).get("fixed", {}))

    @property
    def n_points(self) -> int:
        """Number of points in the sweep."""
        return int(self.space["N"])

    @property
    def n_chunks(self) -> int:
        """Number of chunks in the sweep."""
        return len(self.done)

    @property
    def done_chunks(self) -> int:
        """Number of chunks written and marked done."""
        return int(self.done.sum())

    @property
    def missing(self) -> list[tuple[int, int]]:
        """[start, stop) ranges of points not yet done, merged."""
        if self.chunk_size is None:
            return [(0, self.n_points)]
        ranges: list[tuple[int, int]] = []
        for k in np.flatnonzero(~self.done):
            a = int(k) * self.chunk_size
            b = min(a + self.chunk_size, self.n_points)
            if ranges and ranges[-1][1] == a:
                ranges[-1] = (ranges[-1][0], b)
            else:
                ranges.append((a, b))
        return ranges

    @property
    def done_points(self) -> int:
        """Number of points in done chunks."""
        return self.n_points - sum(b - a for a, b in self.missing)

    @property
    def complete(self) -> bool:
        """True once every chunk is done."""
        return self.chunk_size is not None and bool(self.done.all())

    def _repr_html_(self) -> str:
        return store_html(self)

    def missing_text(self) -> str:
        """The first few missing ranges, as text: ``[64, 128), [320, 448)``."""
        shown = ", ".join(f"[{a}, {b})" for a, b in self.missing[:_SHOW_RANGES])
        more = len(self.missing) - _SHOW_RANGES
        return shown + (f" and {more} more ranges" if more > 0 else "")

    def __str__(self) -> str:
        s = self.space
        lines = [
            f"store:    {self.path}",
            f"model:    {self.model}",
            f"space:    N={s['N']}, mode={s['mode']!r}, {len(s['axes'])} axes"
            + ("" if s["index"] == [0, s["N"], 1] else f", slice {s['index']}"),
        ]
        width = max(len(a["name"]) for a in s["axes"])
        for a in s["axes"]:
            group = "" if a["group"] is None else f"  group={a['group']}"
            shape = (
                f"  value_shape={tuple(a['value_shape'])}" if a["value_shape"] else ""
            )
            lines.append(
                f"  {a['name']:<{width}}  {a['type']:<12} size={a['size']:<6} "
                f"dim={a['dimension']}  {a['dtype']}{shape}{group}"
            )
        if self.provenance:
            model = self.provenance["model"]
            x64 = "on" if self.provenance.get("x64") else "off"
            program = (self.provenance.get("program") or {}).get("sha1")
            program = "" if program is None else f", program sha1 {program[:12]}"
            lines.append(
                f"source:   sha1 {str(model.get('source_sha1'))[:12]}{program}, "
                f"x64 {x64}"
            )
            lines += info_lines(self.provenance)
        if self.fixed:
            lines.append("fixed:")
            for name, value in self.fixed.items():
                lines.append(f"  {name} = {_show(value)}")
        if self.chunk_size is None:
            lines.append("progress: not started (no output laid out yet)")
            lines.append("outputs:  none yet")
            return "\n".join(lines)
        pct = 100.0 * self.done_points / self.n_points
        lines.append(
            f"progress: {self.done_chunks}/{self.n_chunks} chunks, "
            f"{self.done_points}/{self.n_points} points ({pct:.1f}%), "
            f"chunk size {self.chunk_size}"
        )
        if not self.complete:
            lines.append(f"missing:  points {self.missing_text()}")
        if self.outputs is None:
            lines.append("outputs:  none yet")
        else:
            lines.append("outputs:")
            for name, desc in self.outputs.items():
                lines.append(f"  {name}: {tuple(desc['shape'])} {desc['dtype']}")
        return "\n".join(lines)


def _open(path: str | PathLike) -> tuple[Path, zarr.Group, dict[str, Any]]:
    path = check_path(path)
    if not store_exists(path):
        raise FileNotFoundError(f"No sweepjax store at {str(path)!r}.")
    return path, *open_store(path, "r")


def _info(path: Path, group: zarr.Group, meta: dict[str, Any]) -> StoreInfo:
    outputs, chunk_size = meta["outputs"], meta["chunk_size"]
    laid_out = outputs is not None and chunk_size is not None
    return StoreInfo(
        path=path,
        model=meta["model"],
        chunk_size=int(chunk_size) if laid_out else None,
        space=meta["space"],
        outputs=outputs["leaves"] if laid_out else None,
        done=_done(path, meta) if laid_out else np.zeros(0, bool),
        provenance=meta.get("provenance"),
    )


def _done(path: Path, meta: dict[str, Any]) -> np.ndarray:
    done, damaged = read_done(path, int(meta["n_chunks"]))
    warn_damaged(damaged, "they count as not done (resume computes them again).")
    return done


def _show(value: Any) -> str:
    """A recorded value for `sweepjax info`: arrays by shape and dtype."""
    if isinstance(value, dict):
        if "shape" in value:
            return (
                f"array {tuple(value['shape'])} {value.get('dtype', value.get('key'))}"
            )
        if "value" in value:
            return repr(value["value"])
        return str(value.get("callable") or value.get("repr") or value)
    return repr(value)


def store_info(path: str | PathLike) -> StoreInfo:
    """The space, progress and outputs of the sweepjax store at `path`.

    Reads only metadata and the done markers, so it is cheap on any store.

    >>> _ = ParallelExecution(model, space, progress=False).run("s.zarr", chunk_size=2)
    >>> info = store_info("s.zarr")
    >>> info.done_points, info.n_points, info.n_chunks, info.missing
    (5, 5, 3, [])
    """
    return _info(*_open(path))


def rebuild_space(group: zarr.Group, meta: dict[str, Any], path: Path) -> Space:
    """The stored Space: one DataAxis per stored axis (see the module doc)."""
    names, axes = [], []
    for k, axis in enumerate(meta["axes"]):
        data = group[f"{META}/axes/{k}"][...]
        if axis["key_impl"] is not None:
            data = jax.random.wrap_key_data(data, impl=axis["key_impl"])
        names.append(axis["name"])
        axes.append(DataAxis(data, group=axis["group"]))
    described = meta["space"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # size warnings were shown when it ran
        # tree_unflatten keeps key-path names such as "coupling.G" verbatim.
        space = Space(Config.tree_unflatten(tuple(names), axes), mode=described["mode"])
    start, stop, step = described["index"]
    if (start, stop, step) != (0, space.N, 1):  # len() stops at 2**63
        space = space[slice(start, None if stop < 0 else stop, step)]
    rebuilt = describe_space(space)
    same = rebuilt["N"] == described["N"] and all(
        all(a[f] == b[f] for f in _CHECKED)
        for a, b in zip(rebuilt["axes"], described["axes"], strict=True)
    )
    if not same:
        raise ValueError(
            f"The space stored at {str(path)!r} could not be rebuilt: its axis "
            "values no longer match their fingerprints (the store is damaged)."
        )
    return space


def stored_outputs(group: zarr.Group, meta: dict[str, Any], path: Path) -> Any:
    """The output pytree as lazy dask arrays over the store's Zarr arrays.

    Dicts, lists and tuples are rebuilt as they were; other pytree node
    types (NamedTuples, dataclasses) come back as a flat dict keyed by leaf
    name (the same names `to_dataframe` uses).
    """
    import dask.array as da

    outputs = meta["outputs"]
    if outputs is None:
        raise ValueError(
            f"The store at {str(path)!r} holds no outputs yet: its sweep stopped "
            "before computing any point. Run it again with resume=True."
        )
    arrays = [
        da.from_zarr(group[name], inline_array=True) for _, name in outputs["arrays"]
    ]
    if outputs["structure"] is None:
        return dict(zip(outputs["leaves"], arrays, strict=True))
    return unflatten(outputs["structure"], iter(arrays))


def open_result(path: str | PathLike) -> Result:
    """The `Result` stored at `path`, read lazily.

    Outputs are dask arrays over the Zarr arrays, so ``result[i]``,
    slicing and out-of-core reductions (``result.outputs["fc"].mean(0)
    .compute()``) read only what they need; `to_dataframe` and `to_xarray`
    read everything. The Space is rebuilt from the stored axis values (see
    this module's doc). A store whose sweep has not finished opens with a
    `UserWarning` naming the missing points, which read as NaN (0 for
    integer outputs); `store_info(path).missing` lists them.

    >>> _ = ParallelExecution(model, space, progress=False).run(store="sweep.zarr")
    >>> res = open_result("sweep.zarr")
    >>> float(res[2]["y"]), res.to_xarray()["y"].dims
    (0.25, ('point',))
    """
    path, group, meta = _open(path)
    if (meta.get("provenance") or {}).get("x64") and not jax.config.jax_enable_x64:
        raise ValueError(
            f"The store at {str(path)!r} was written with JAX's x64 mode on; its "
            "axis values are float64. Turn it on before reading it: "
            'jax.config.update("jax_enable_x64", True).'
        )
    outputs = stored_outputs(group, meta, path)
    info = _info(path, group, meta)
    if not info.complete:
        warnings.warn(
            f"The sweep stored at {str(path)!r} is incomplete: "
            f"{info.n_points - info.done_points} of {info.n_points} points are "
            f"missing ({info.missing_text()}); they read as NaN (0 for integer "
            "outputs). Run the sweep again with resume=True to fill them.",
            UserWarning,
            stacklevel=2,
        )
    return Result(rebuild_space(group, meta, path), outputs)
