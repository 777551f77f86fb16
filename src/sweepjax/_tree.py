"""The bottom layer: pytree helpers and the checks every other module shares.

Leaf names (`path_name`), hidden-axis detection (`find_hidden`), the one way to
recognise a PRNG key (`is_key_array`), the one positive-integer check
(`check_positive_int`) and the one integer-index check (`as_index`).
"""

from __future__ import annotations

import operator
import types
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import DictKey, FlattenedIndexKey, GetAttrKey, SequenceKey

#: Name of a pytree's root when it is itself a leaf (a model returning one
#: bare array gives a column named ``value``, as in TVB-Optim).
ROOT_NAME = "value"


def is_key_array(x: Any, raw: bool = False) -> bool:
    """True for a typed JAX PRNG key array (``jax.random.key``).

    With ``raw=True`` a legacy raw key (``jax.random.PRNGKey``: uint32 ``[2]``)
    counts too.

    >>> is_key_array(jax.random.key(0)), is_key_array(jnp.zeros(2))
    (True, False)
    """
    if not isinstance(x, jax.Array):
        return False
    if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
        return True
    return raw and x.shape == (2,) and x.dtype == jnp.uint32


def check_positive_int(name: str, value: Any) -> int:
    """`value` as an int, or `TypeError` (not an integer) / `ValueError` (< 1)
    naming the argument.

    >>> check_positive_int("n_vmap", 4)
    4
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(
            f"`{name}` must be a positive int, got {type(value).__name__}: {value!r}."
        )
    if value < 1:
        raise ValueError(f"`{name}` must be a positive int, got {name}={value}.")
    return int(value)


def as_index(item: Any, n: int, what: str = "Space") -> int:
    """`item` (a Python int, NumPy integer or 0-d integer array) as an index
    into ``[0, n)``, negative indices counting from the end.

    >>> as_index(np.array(-1), 5)
    4
    """
    if isinstance(item, bool) or getattr(item, "dtype", None) == np.bool_:
        raise TypeError(f"{what} indices must be integers, got a boolean {item!r}.")
    try:
        i = operator.index(item)
    except TypeError:
        raise TypeError(
            f"{what} indices must be integers (or 0-d integer arrays) or slices, "
            f"got {type(item).__name__}: {item!r}."
        ) from None
    if not -n <= i < n:
        raise IndexError(f"index {i} is out of range for a {what} of N={n}.")
    return i + n if i < 0 else i


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
