"""What a store records about how its sweep was run, and what resume compares.

Everything that decides a point's numbers besides its axis values: the fixed
leaves of the state, the extra arguments, the model (its qualified name and a
hash of its source), JAX's x64 mode and the versions of the packages that
compute. Nothing in it is process-specific (no memory addresses, no ids), so a
resume in a new process compares equal when nothing changed.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import re
import sys
from collections.abc import Callable
from importlib import metadata
from typing import Any

import jax
import numpy as np

from sweepjax._sink import model_name
from sweepjax._space import Space
from sweepjax._tree import is_key_array, path_name

__all__ = ["describe_value", "provenance", "strip_addresses"]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_PACKAGES = ("sweepjax", "jax", "jaxlib", "numpy", "equinox", "diffrax")


def strip_addresses(text: str) -> str:
    """`text` without ``at 0x7f...`` memory addresses (reprs of functions and
    objects carry them, and they change from process to process)."""
    return _ADDRESS.sub("", text)


def _digest(data: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(data).tobytes()).hexdigest()


def describe_value(x: Any) -> Any:
    """A JSON description of one leaf: numbers and strings as themselves,
    arrays by shape, dtype and a hash of their values, callables by name.

    >>> describe_value(0.1), describe_value(np.zeros(2))["shape"]
    (0.1, [2])
    """
    if x is None or isinstance(x, bool | int | str):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else repr(x)
    if is_key_array(x):
        data = np.asarray(jax.random.key_data(x))
        impl = str(jax.random.key_impl(x))
        return {"key": impl, "shape": list(x.shape), "sha1": _digest(data)}
    if isinstance(x, np.ndarray | np.generic | jax.Array):
        data = np.asarray(x)
        if data.ndim == 0 and data.dtype.kind in "biuf":
            return {"dtype": str(data.dtype), "value": describe_value(data.item())}
        return {
            "dtype": str(data.dtype),
            "shape": list(data.shape),
            "sha1": _digest(data),
        }
    if callable(x):
        target = x if hasattr(x, "__qualname__") else type(x)
        module = getattr(target, "__module__", "?")
        return {"callable": f"{module}.{target.__qualname__}"}
    return {"object": type(x).__qualname__, "repr": strip_addresses(repr(x))}


def _tree(tree: Any) -> dict[str, Any]:
    """Every leaf of a pytree, described, by key path."""
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    return {path_name(path): describe_value(leaf) for path, leaf in flat}


def source_hash(model: Callable) -> str | None:
    """sha1 of the model's source code (its class's for a callable object),
    None where Python cannot find it (a builtin, code typed at a prompt)."""
    target = (
        model if inspect.isroutine(model) or inspect.isclass(model) else type(model)
    )
    try:
        source = inspect.getsource(target)
    except (OSError, TypeError):
        return None
    return hashlib.sha1(source.encode()).hexdigest()


def provenance(model: Callable, space: Space, args: tuple, kwargs: dict) -> dict:
    """What a store records about a run (see the module doc)."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "model": {"name": model_name(model), "source_sha1": source_hash(model)},
        "fixed": {name: describe_value(leaf) for name, leaf in space.fixed_items()},
        "args": _tree(list(args)),
        "kwargs": _tree(dict(kwargs)),
        "x64": bool(jax.config.jax_enable_x64),
        "python": ".".join(map(str, sys.version_info[:3])),
        "versions": versions,
    }
