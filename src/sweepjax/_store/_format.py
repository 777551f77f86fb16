"""The on-disk format of a sweepjax store: layout, names, opening, codecs.

Layout of a store (Zarr format 3, one group)::

    <path>/
      zarr.json            group; attrs["sweepjax"] holds the JSON metadata
      <output leaf>        [N, *leaf_shape], chunks [chunk_size, *leaf_shape],
                           dimension_names ("point", "<name>_dim_0", ...)
      <scalar axis>        [N] parameter column, chunked like the outputs
      _sweepjax/done       [n_chunks] uint8, one file per chunk: 1 = done
      _sweepjax/axes/<k>   the k-th axis's values [size, *value_shape]

The chunk size is the store's own (``run(chunk_size=...)``), independent of
how the points are computed. A chunk's done marker is written only after its
outputs and parameters, and Zarr writes each file to a temporary name and
renames it into place, so a process killed at any moment leaves done chunks
intact and at worst a half-written chunk that is not marked done.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from sweepjax._space import Space
from sweepjax._tree import is_key_array

if TYPE_CHECKING:
    import zarr

#: Format 2 adds the provenance record, the lock and chunk checksums; format
#: 1 stores (sweepjax 0.1) still read and resume.
FORMAT = 2
READABLE = (1, 2)
ATTR = "sweepjax"
META = "_sweepjax"
DONE = f"{META}/done"
POINT = "point"


def codec() -> zarr.codecs.BloscCodec:
    """Blosc-LZ4 with byte shuffle: on float outputs it compresses about as
    well as Zarr's default zstd while writing several times faster, so the
    store keeps up with cheap models."""
    import zarr  # heavy (~0.7 s): imported when a store is used

    return zarr.codecs.BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")


def check_path(path: Any) -> Path:
    """`path` as an absolute Path (``~`` expanded), or a TypeError naming what
    was received. Absolute, because Dask workers, which read and write the
    store too, may run in another directory."""
    if not isinstance(path, str | PathLike):
        raise TypeError(
            f"`store` must be a local directory path (str or os.PathLike), got "
            f"{type(path).__name__}: {path!r}."
        )
    return Path(path).expanduser().absolute()


def store_exists(path: Path) -> bool:
    """True when `path` is a file or a non-empty directory."""
    return path.is_file() or (path.is_dir() and any(path.iterdir()))


def open_store(path: Path, mode: str) -> tuple[zarr.Group, dict[str, Any]]:
    """The root group of the sweepjax store at `path` and its metadata, or a
    ValueError when `path` holds something else."""
    import zarr

    try:
        group = zarr.open_group(path, mode=mode, use_consolidated=False)
    except (zarr.errors.BaseZarrError, FileNotFoundError, NotADirectoryError):
        group = None
    except ValueError as err:  # an empty or truncated zarr.json
        raise ValueError(
            f"The metadata file {str(path / 'zarr.json')!r} of the store cannot be "
            f"read ({type(err).__name__}: {err}); a crash may have left it "
            "empty. Restore it from a backup, or write the sweep to a new store."
        ) from err
    meta = None if group is None else group.attrs.get(ATTR)
    if not isinstance(meta, dict) or "space" not in meta:
        raise ValueError(
            f"{str(path)!r} is not a sweepjax store (no Zarr group with a "
            f"{ATTR!r} attribute); it was not written by sweepjax. Point `store` "
            "at a sweepjax store or at a new directory."
        )
    if meta.get("format") not in READABLE:
        raise ValueError(
            f"The store at {str(path)!r} has sweepjax store format "
            f"{meta.get('format')!r}; this version reads formats {READABLE}."
        )
    return group, meta


#: Files of a store's root folder besides the lock: Zarr's own, and those of
#: Zarr format 2 (which xarray may add).
RESERVED_FILES = ("zarr.json", ".zmetadata", ".zgroup", ".zattrs", ".zarray")


def check_file_names(names: list[str], lock: str) -> None:
    """Refuse output leaves named like a file the store keeps beside its
    arrays (`lock`: the lock file's name), since each array is a folder of
    its name in the store."""
    for name in names:
        low = name.lower()  # case-insensitive filesystems
        if low in RESERVED_FILES or low.startswith(lock):
            raise ValueError(
                f"Output leaf {name!r} has the name of a file the store keeps "
                f"({', '.join(RESERVED_FILES)}, {lock}); rename it, e.g. return "
                f"{{'{name.replace('.', '_')}_value': ...}}."
            )


def axes_meta(space: Space) -> list[dict[str, Any]]:
    """Per axis: name, group, PRNG key implementation, whether it is a column."""
    axes = []
    for name, table in space.values.items():
        group = space.axes[name].group
        axes.append(
            {
                "name": name,
                "group": None if group is None else str(group),
                "key_impl": (
                    str(jax.random.key_impl(table)) if is_key_array(table) else None
                ),
                "column": table.ndim == 1 and not is_key_array(table),
            }
        )
    return axes


def fill_value(dtype: np.dtype) -> Any:
    """Fill value for unwritten points: NaN for floats, zero otherwise."""
    return np.nan if np.issubdtype(dtype, np.inexact) else 0


def array_name(name: str, taken: set[str]) -> str:
    """A Zarr node name for a column (no '/', no reserved '__' prefix), added
    to `taken`; a name another column already uses raises ValueError."""
    out = name.replace("/", "_")
    if out.startswith("__") or out == META or not out.strip("."):
        out = f"x{out}"
    if out in taken:
        raise ValueError(
            f"Column {name!r} would be stored as {out!r}, which another column "
            "already uses; rename one of the leaves."
        )
    taken.add(out)
    return out


def structure(tree: Any) -> Any:
    """JSON description of a pytree of dicts/lists/tuples (None if other nodes).

    Dict keys are listed in sorted order, the order JAX flattens them in, so
    leaves can be handed back in `jax.tree.leaves` order when rebuilding.
    """
    if isinstance(tree, jax.ShapeDtypeStruct):
        return "leaf"
    if tree is None:
        return {"none": None}
    if type(tree) is dict and all(isinstance(k, str) for k in tree):
        items = [[k, structure(tree[k])] for k in sorted(tree)]
        return None if any(s is None for _, s in items) else {"dict": items}
    if type(tree) in (list, tuple):
        items = [structure(x) for x in tree]
        kind = type(tree).__name__
        return None if any(s is None for s in items) else {kind: items}
    return None


def unflatten(description: Any, leaves) -> Any:
    """Rebuild the tree `structure` described, taking leaves from an iterator."""
    if description == "leaf":
        return next(leaves)
    ((kind, items),) = description.items()
    if kind == "none":
        return None
    if kind == "dict":
        return {k: unflatten(s, leaves) for k, s in items}
    children = [unflatten(s, leaves) for s in items]
    return tuple(children) if kind == "tuple" else children
