"""The package's shape: imports only go down the layers, never from inside a
function, never a private name of another module, never a private attribute
of another module's object."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import sweepjax

PACKAGE = Path(sweepjax.__file__).parent

#: Bottom to top; a module may import only from its own layer's package
#: internals or from layers below it. ``network`` sits beside the core and
#: uses only `_config`, `_tree` and the public `sweepjax`.
LAYERS = [
    {"sweepjax._tree"},
    {"sweepjax._config"},
    {"sweepjax._axes"},
    {"sweepjax._space"},
    {"sweepjax._result"},
    {"sweepjax._sink"},
    {"sweepjax._store"},
    {"sweepjax.execution"},
    {"sweepjax"},
    {"sweepjax.network"},
    {"sweepjax.cli"},
]
NETWORK_MAY_USE = {"sweepjax", "sweepjax._config", "sweepjax._tree"}


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def layer(module: str) -> int:
    """Index of the layer holding `module` (its longest matching prefix)."""
    best, found = -1, -1
    for k, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, found = len(name), k
    return found


def imports(path: Path):
    """``(module, names, inside_a_function)`` of each import of sweepjax."""
    tree = ast.parse(path.read_text())
    inner = {
        id(node)
        for fn in ast.walk(tree)
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(fn)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "sweepjax"
        ):
            yield node.module, [a.name for a in node.names], id(node) in inner
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sweepjax"):
                    yield alias.name, [], id(node) in inner


def test_imports_only_go_down_and_never_inside_functions():
    for name, path in modules().items():
        for module, names, inside in imports(path):
            assert not inside, f"{name} imports {module} inside a function"
            private = [n for n in names if n.startswith("_")]
            assert not private, f"{name} imports private {private} from {module}"
            if name.startswith("sweepjax.network") and not module.startswith(
                "sweepjax.network"
            ):
                assert module in NETWORK_MAY_USE, f"{name} imports {module}"
            assert layer(module) <= layer(name), f"{name} imports {module} (up)"


def test_no_cycles():
    graph = {
        name: {m for m, _, _ in imports(path) if m in modules() and m != name}
        for name, path in modules().items()
    }
    # A package's __init__ re-exports its modules: not a cycle of logic.
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".")}
    list(graphlib.TopologicalSorter(graph).static_order())  # raises on a cycle


def test_no_private_attribute_of_another_modules_object():
    """``obj._x`` only on ``self``/``cls`` or on an object of the same module's
    class (``new._index`` in a Space method, say): never ``space._slots``."""
    for name, path in modules().items():
        tree = ast.parse(path.read_text())
        local = {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                continue
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in {"self", "cls", "new"}:
                continue
            if isinstance(owner, ast.Name) and owner.id in local:
                continue
            if isinstance(owner, ast.Name) and owner.id in {"sink", "obj"}:
                continue  # the class's own constructors and pytree hooks
            if isinstance(owner, ast.Name) and owner.id in {"jax", "zarr", "np"}:
                continue  # third-party modules are not ours to police here
            if node.attr == "_internal":
                continue  # a field of the network's Config layout, not a private
            raise AssertionError(
                f"{name}:{node.lineno} reaches into {ast.unparse(owner)}.{node.attr}"
            )
