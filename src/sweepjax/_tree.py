"""Pytree helpers shared by Space and Result: leaf names and hidden-axis checks."""

from __future__ import annotations

import types
from typing import Any

import jax
import numpy as np
from jax.tree_util import DictKey, FlattenedIndexKey, GetAttrKey, SequenceKey

ROOT_NAME = "value"


def path_name(path: tuple[Any, ...], root: str = ROOT_NAME) -> str:
    """Readable name of a key path: ``coupling.instant.G``, ``weights[0]``."""
    name = ""
    for entry in path:
        if isinstance(entry, DictKey):
            part = str(entry.key)
        elif isinstance(entry, GetAttrKey):
            part = entry.name
        elif isinstance(entry, SequenceKey):
            name += f"[{entry.idx}]"
            continue
        elif isinstance(entry, FlattenedIndexKey):
            name += f"[{entry.key}]"
            continue
        else:
            part = str(entry)
        name = f"{name}.{part}" if name else part
    return name or root


_ATOMS = (
    str,
    bytes,
    int,
    float,
    complex,
    bool,
    type(None),
    np.ndarray,
    np.generic,
    jax.Array,
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
)


def find_hidden(leaf: Any, predicate, depth: int = 4) -> str | None:
    """Attribute path inside an unregistered object where `predicate` holds.

    JAX treats objects it does not know as opaque leaves, so an axis stored in
    one would silently never vary. This looks a few levels into such objects
    (attributes, slots, plain containers) to catch that mistake early.
    """
    seen: set[int] = set()

    def visit(obj: Any, level: int) -> str | None:
        if level > depth or id(obj) in seen or isinstance(obj, _ATOMS):
            return None
        seen.add(id(obj))
        if predicate(obj):
            return ""
        children: list[tuple[str, Any]] = []
        if isinstance(obj, dict):
            children = [(f"[{k!r}]", v) for k, v in obj.items()]
        elif isinstance(obj, list | tuple | set | frozenset):
            children = [(f"[{i}]", v) for i, v in enumerate(obj)]
        else:
            attrs = getattr(obj, "__dict__", None)
            if isinstance(attrs, dict):
                children = [(f".{k}", v) for k, v in attrs.items()]
            for slot in getattr(type(obj), "__slots__", ()) or ():
                if isinstance(slot, str) and hasattr(obj, slot):
                    children.append((f".{slot}", getattr(obj, slot)))
        for suffix, child in children:
            found = visit(child, level + 1)
            if found is not None:
                return suffix + found
        return None

    if predicate(leaf):
        return None
    return visit(leaf, 0)


def object_cells(items: Any) -> np.ndarray:
    """A 1-d object array holding each item as one cell (arrays stay whole)."""
    items = list(items)
    cells = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        cells[i] = item
    return cells
