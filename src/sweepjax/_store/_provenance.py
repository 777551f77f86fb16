"""What a store records about how its sweep was run, and what resume compares.

The space (`describe_space`): its mode, size, slice and each axis's type,
repr, shape and a fingerprint of its values, so a resume refuses another
space's points. Everything that decides a point's numbers besides its axis
values (`provenance`): the fixed
leaves of the state, the extra arguments, the model (its qualified name and a
hash of its source), the settings of every `prepare`d solve the model uses,
a fingerprint of the traced point program, JAX's x64 mode and the versions
of the packages that compute.

The program fingerprint is what catches everything else that computes a
point: a closed-over value, a `functools.partial`'s target and keywords, a
helper function, a module global, the weights of a callable `eqx.Module`, a
plain object among the fixed leaves. It hashes the point program's jaxpr text
(JAX masks the memory addresses in it; any left are stripped) and the values
of every constant it closes over, nested programs included. Nothing in the
record is process-specific (no memory addresses, no ids), so a resume in a new
process compares equal when nothing changed. Not seen by the fingerprint: what
a host callback (`jax.pure_callback`, `jax.debug.callback`) does in Python,
and a model that cannot be traced (`SequentialExecution` accepts those; it
then records no fingerprint).
"""

from __future__ import annotations

import dataclasses
import functools
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
from jax.extend.core import ClosedJaxpr, Jaxpr

from sweepjax._sink import model_name
from sweepjax._space import Space
from sweepjax._tree import is_key_array, path_name

__all__ = [
    "describe_space",
    "describe_value",
    "info_lines",
    "prepared_solves",
    "program_fingerprint",
    "provenance",
    "strip_addresses",
]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_PACKAGES = ("sweepjax", "jax", "jaxlib", "numpy", "equinox", "diffrax")
#: The attribute `sweepjax.network.prepare` sets on the solve it returns.
SOLVE_SETTINGS = "solve_settings"
_SEARCH_DEPTH = 4
_SEARCH_ITEMS = 64
_HINT_CHARS = 200


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


def describe_space(space: Space) -> dict[str, Any]:
    """A JSON-able description that identifies the points of `space`.

    Two spaces with equal descriptions hold the same points in the same order
    (values are fingerprinted), which is what resuming relies on; nothing in
    it is process-specific. It reads the host copies of the values, so it
    compiles nothing.

    >>> described = describe_space(Space({"G": GridAxis(0.0, 1.0, 3)}))
    >>> described["N"], described["axes"][0]["type"]
    (3, 'GridAxis')
    """
    axes = []
    for (name, axis), table, host in zip(
        space.axes.items(), space.tables, space.host_tables, strict=True
    ):
        data = jax.random.key_data(table) if is_key_array(table) else host
        axes.append(
            {
                "name": name,
                "type": type(axis).__name__,
                "repr": repr(axis),
                "size": axis.size,
                "dimension": space.dimension(name),
                "group": None if axis.group is None else repr(axis.group),
                "value_shape": list(table.shape[1:]),
                "dtype": str(table.dtype),
                "sha1": _digest(np.asarray(data)),
            }
        )
    r = space.index_range
    return {
        "mode": space.mode,
        "N": space.N,
        "index": [r.start, r.stop, r.step],
        "axes": axes,
        "structure": strip_addresses(str(space.treedef)),
    }


def _tree(tree: Any) -> dict[str, Any]:
    """Every leaf of a pytree, described, by key path."""
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    return {path_name(path): describe_value(leaf) for path, leaf in flat}


def _unwrapped(model: Any) -> tuple[Any, dict[str, Any]]:
    """The function behind `functools.partial` and `jax.jit` wrappers, and
    the arguments the partials bind, by name for messages."""
    bound: dict[str, Any] = {}
    for _ in range(16):
        wrapped = getattr(model, "__wrapped__", None)
        if isinstance(model, functools.partial):
            for i, arg in enumerate(model.args):
                bound.setdefault(f"partial argument [{i}]", arg)
            for key, arg in model.keywords.items():
                bound.setdefault(f"partial keyword {key}", arg)
            model = model.func
        elif inspect.isfunction(wrapped) or isinstance(wrapped, functools.partial):
            model = wrapped
        else:
            break
    return model, bound


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


def _jaxprs(value: Any) -> list[Jaxpr | ClosedJaxpr]:
    """The programs in one equation parameter (a cond's branches are a tuple)."""
    if isinstance(value, Jaxpr | ClosedJaxpr):
        return [value]
    if isinstance(value, tuple | list):
        return [v for v in value if isinstance(v, Jaxpr | ClosedJaxpr)]
    return []


def _constants(program: ClosedJaxpr) -> list[Any]:
    """The values closed over by `program` and every program nested in it,
    each nested program once, in a fixed order."""
    consts, seen, todo = [], set(), [program]
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ClosedJaxpr):
            consts.extend(item.consts)
            item = item.jaxpr
        for eqn in item.eqns:
            for value in eqn.params.values():
                todo.extend(reversed(_jaxprs(value)))
    return consts


def program_fingerprint(program: ClosedJaxpr) -> str:
    """sha1 of a traced program: its text without memory addresses, and the
    dtype, shape and bytes of every constant it closes over (see the module
    doc). The same program traced in another process gives the same sha1."""
    digest = hashlib.sha1(strip_addresses(str(program)).encode())
    for const in _constants(program):
        if is_key_array(const):
            digest.update(str(jax.random.key_impl(const)).encode())
            const = jax.random.key_data(const)
        data = np.asarray(const)
        digest.update(f"{data.dtype}{data.shape}".encode())
        digest.update(np.ascontiguousarray(data).tobytes())
    return digest.hexdigest()


def _code_names(code: Any) -> list[str]:
    """The global names a function's code (lambdas inside it included) reads."""
    names = list(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names += _code_names(const)
    return names


def _parts(obj: Any, name: str) -> list[tuple[Any, str]]:
    """What a callable or container holds that may hold a prepared solve:
    a function's closure cells, defaults and the globals it reads, a
    partial's target and arguments, a module's (`eqx.Module`, dataclass)
    fields, a container's items; each with a name for messages."""
    if isinstance(obj, functools.partial):
        return [(obj.func, name), *[(a, name) for a in obj.args]] + list(
            (v, k) for k, v in obj.keywords.items()
        )
    if inspect.ismethod(obj):
        return [(obj.__func__, name), (obj.__self__, name)]
    if inspect.isfunction(obj):
        code = obj.__code__
        cells = zip(code.co_freevars, obj.__closure__ or (), strict=False)
        out = []
        for var, cell in cells:
            try:
                out.append((cell.cell_contents, var))
            except ValueError:  # an empty cell
                continue
        out += [(v, name) for v in obj.__defaults__ or ()]
        out += [(v, k) for k, v in (obj.__kwdefaults__ or {}).items()]
        scope = obj.__globals__
        names = dict.fromkeys(_code_names(code))
        return out + [(scope[n], n) for n in names if n in scope]
    if isinstance(obj, dict):
        return [(v, str(k)) for k, v in list(obj.items())[:_SEARCH_ITEMS]]
    if isinstance(obj, list | tuple):
        return [(v, name) for v in obj[:_SEARCH_ITEMS]]
    wrapped = getattr(obj, "__wrapped__", None)
    if wrapped is not None and callable(obj):
        return [(wrapped, name)]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):  # eqx.Module
        fields = [(getattr(obj, f.name, None), f.name) for f in dataclasses.fields(obj)]
        call = getattr(type(obj), "__call__", None)
        return fields + ([(call, name)] if inspect.isfunction(call) else [])
    return []


def prepared_solves(*roots: tuple[Any, str]) -> dict[str, dict]:
    """The settings of every `prepare`d solve reachable from `roots` ((object,
    name) pairs: the model, its arguments), by the name it is found under: a
    global or closed-over variable, a keyword, a field."""
    found: dict[str, dict] = {}
    seen: set[int] = set()
    level = list(roots)
    for _ in range(_SEARCH_DEPTH):
        below = []
        for obj, name in level:
            if id(obj) in seen or inspect.ismodule(obj) or isinstance(obj, type):
                continue
            seen.add(id(obj))
            try:
                settings = getattr(obj, SOLVE_SETTINGS, None)
            except Exception:
                settings = None
            if isinstance(settings, dict):
                key = name if name not in found else f"{name}#{len(found)}"
                found[key] = {
                    k: strip_addresses(v) if isinstance(v, str) else v
                    for k, v in settings.items()
                }
                continue
            try:
                below += _parts(obj, name)
            except Exception:  # an odd object: nothing to look into
                continue
        level = below
    return found


def _visible_values(model: Any) -> dict[str, Any]:
    """The values a model carries that a reader can name, described: a
    partial's arguments, a function's closed-over variables and the
    globals it reads, a callable module's fields. A resume whose program
    differs names those that changed (they are hints: the fingerprint
    decides)."""
    model, out = _unwrapped(model)
    named = _parts(model, "")
    if inspect.isfunction(model):
        kinds = dict.fromkeys(model.__code__.co_freevars, "closed-over")
        named = [(v, f"{kinds.get(n, 'global')} {n}") for v, n in named if n]
    elif dataclasses.is_dataclass(model):
        named = [(v, f"field {n}") for v, n in named if n]
    for value, name in named:
        if not (inspect.ismodule(value) or isinstance(value, type)):
            out.setdefault(name, value)
    described = {}
    for name, value in list(out.items())[:_SEARCH_ITEMS]:
        try:
            leaves = jax.tree_util.tree_flatten_with_path(value)[0]
            for path, leaf in leaves[:_SEARCH_ITEMS]:
                sub = path_name(path, root="")
                sep = "" if not sub or sub.startswith("[") else "."
                described[f"{name}{sep}{sub}"] = _hint(describe_value(leaf))
        except Exception:  # an odd object: not shown
            continue
    return described


def _hint(described: Any) -> Any:
    """A described value kept short (an object's repr can be long)."""
    text = described.get("repr") if isinstance(described, dict) else None
    if isinstance(text, str) and len(text) > _HINT_CHARS:
        return {**described, "repr": text[:_HINT_CHARS] + "..."}
    return described


def provenance(
    model: Callable,
    space: Space,
    args: tuple,
    kwargs: dict,
    program: ClosedJaxpr | None = None,
) -> dict:
    """What a store records about a run (see the module doc); `program` is
    the traced point program (None: not traced, nothing fingerprinted)."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    target, _ = _unwrapped(model)
    fingerprint = None
    if program is not None:
        fingerprint = {
            "sha1": program_fingerprint(program),
            "function": model_name(target),
            "source_sha1": source_hash(target),
            "values": _visible_values(model),
        }
    solves = [(model, "model"), *[(a, f"args[{i}]") for i, a in enumerate(args)]]
    return {
        "model": {"name": model_name(model), "source_sha1": source_hash(model)},
        "fixed": {name: describe_value(leaf) for name, leaf in space.fixed_items()},
        "args": _tree(list(args)),
        "kwargs": _tree(dict(kwargs)),
        "solves": prepared_solves(*solves, *[(v, k) for k, v in kwargs.items()]),
        "program": fingerprint,
        "x64": bool(jax.config.jax_enable_x64),
        "python": ".".join(map(str, sys.version_info[:3])),
        "versions": versions,
    }


def info_lines(record: dict | None) -> list[str]:
    """What `sweepjax info` shows of a record beyond the source line: each
    prepared solve's settings, by the name the model uses for it."""
    lines = []
    for name, settings in ((record or {}).get("solves") or {}).items():
        shown = ", ".join(f"{k}={_plain(v)}" for k, v in settings.items())
        lines.append(f"solve:    {name}: {shown}")
    return lines


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_plain(v)}" for k, v in value.items()) + "}"
    return str(value)
