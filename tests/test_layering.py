"""The package's shape: imports only go down the layers, never from inside a
function, never a private name of another module, never a private attribute
of another module's object."""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

import sweepjax

PACKAGE = Path(sweepjax.__file__).parent

#: Bottom to top; a module may import only from its own layer's package
#: internals or from layers below it. ``fit`` sits above the executors (a fit
#: runs inside a sweep's point program), below the flat `sweepjax` that
#: re-exports it; ``sensitivity`` (designs and indices) sits beside it.
#: ``network`` sits beside the core and uses only `_config`, `_tree`,
#: `_failures`, `_optional`, `fit` and the public `sweepjax`.
LAYERS = [
    {"sweepjax._tree", "sweepjax._failures", "sweepjax._optional"},
    {"sweepjax._config"},
    {"sweepjax._axis_checks"},
    {"sweepjax._host_random"},
    {"sweepjax._axes"},
    {"sweepjax._tables"},
    {"sweepjax._dimensions"},
    {"sweepjax._positions"},
    {"sweepjax._html"},
    {"sweepjax._space"},
    {"sweepjax._summaries"},
    {"sweepjax._result"},
    {"sweepjax._sink"},
    {"sweepjax._store"},
    {"sweepjax.execution"},
    {"sweepjax.fit", "sweepjax.sensitivity"},
    {"sweepjax.plot", "sweepjax.search"},
    {"sweepjax"},
    {"sweepjax.network"},
    {"sweepjax.cli"},
]
NETWORK_MAY_USE = {
    "sweepjax",
    "sweepjax._config",
    "sweepjax._tree",
    "sweepjax._failures",
    "sweepjax._optional",
    "sweepjax.fit",
    "sweepjax.plot",
}


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


def own_attributes(tree: ast.Module) -> set[str]:
    """Attribute names a module's own classes define: assigned on ``self``
    (or set with ``object.__setattr__``), or listed in ``__slots__``."""
    names = set()
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        for item in cls.body:  # class attributes and methods
            if isinstance(item, ast.FunctionDef):
                names.add(item.name)
            for target in getattr(item, "targets", [getattr(item, "target", None)]):
                if isinstance(target, ast.Name):
                    names.add(target.id)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            if isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"}:
                names.add(node.attr)
        elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith(
            "__setattr__"
        ):
            if len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
                names.add(node.args[1].value)
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets
        ):
            for elt in ast.walk(node.value):
                if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
                    names.add(elt.value)
    return names


def test_no_private_attribute_of_another_modules_object():
    """``obj._x`` only for a ``_x`` the module's own classes define (a Space
    method may read ``new._index`` of another Space), never ``space._slots``
    from another module."""
    for name, path in modules().items():
        tree = ast.parse(path.read_text())
        own = own_attributes(tree)
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                continue
            if node.attr in own or node.attr == "_internal":
                continue  # _internal: a field of the network's Config layout
            owner = ast.unparse(node.value)
            if owner in {"self", "cls"}:
                continue
            if owner in {"jax", "zarr", "np", "sys"}:
                continue  # third-party modules are not ours to police here
            raise AssertionError(
                f"{name}:{node.lineno} reaches into {owner}.{node.attr}"
            )


def test_importing_the_package_leaves_the_heavy_dependencies_unloaded():
    """pandas, Zarr, Optax, Diffrax, SciPy, xarray and Dask are imported where
    they are used: a sweep that needs none of them does not pay their import
    time or memory (about 60 MB and 2 s together). Nor does importing start
    JAX's backends (which computes), and the public names are all there (one
    fresh process checks both)."""
    heavy = ["pandas", "zarr", "optax", "diffrax", "scipy", "xarray", "dask"]
    heavy += ["evosax", "pymoo"]
    code = (
        "import sys, jax._src.xla_bridge as xb, sweepjax, sweepjax.network, "
        "sweepjax.cli\n"
        f"print([m for m in {heavy!r} if m in sys.modules])\n"
        "print(xb.backends_are_initialized(), len(sweepjax.__all__))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded, started = done.stdout.strip().splitlines()
    assert loaded == "[]", done.stdout
    initialised, names = started.split()
    assert initialised == "False" and int(names) > 20, done.stdout
