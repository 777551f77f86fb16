"""The README and the user guide run as written, and the examples run.

Every ``python`` block of a page runs in order, in one namespace per page, as
a script (``__name__ == "__main__"``) in a temporary directory; a block that
starts with ``# sweep.py`` is also saved under that name, and every ``bash``
block of the guide runs its commands. The only block not run is the one that
says, on its first line, that it needs a SLURM cluster.
"""

import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NEEDS_CLUSTER = "# needs: a SLURM cluster"


def blocks(path: Path) -> list[tuple[str, str]]:
    """``(language, code)`` of each fenced block of a page, in order."""
    return re.findall(r"```(\w+)\n(.*?)```", path.read_text(), flags=re.S)


def test_readme_has_exactly_two_quick_start_commands():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("##", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines()]
    assert [c for c in commands if c] == ["make demo", "make test"]


def test_every_block_is_python_or_bash_and_one_needs_a_cluster():
    found = [(p.name, lang, code) for p in PAGES for lang, code in blocks(p)]
    assert {lang for _, lang, _ in found} == {"python", "bash"}
    skipped = [name for name, _, code in found if code.startswith(NEEDS_CLUSTER)]
    assert skipped == ["stores_and_clusters.md"]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_page_runs_as_written(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    ran = 0
    for lang, code in blocks(path):
        if code.startswith(NEEDS_CLUSTER):
            continue
        if lang == "python":
            if code.startswith("# sweep.py"):
                (tmp_path / "sweep.py").write_text(code)
            exec(compile(code, str(path), "exec"), namespace)
        elif path.name != "README.md":  # README's bash block: the Quick start
            for line in code.splitlines():
                command = shlex.split(line.split("#")[0])
                if command:
                    assert command[0] == "sweepjax"
                    argv = [sys.executable, "-m", "sweepjax.cli", *command[1:]]
                    subprocess.run(argv, check=True, capture_output=True)
        ran += 1
    assert ran >= 1


def test_spaces_tour_example_sweeps_the_oscillator(capsys):
    tour = runpy.run_path(str(ROOT / "examples" / "spaces_tour.py"))
    space, result = tour["main"]()
    assert "Space(N=24, mode='product', axes=3)" in capsys.readouterr().out
    assert len(result) == len(space) == 24
    for i in (0, 13, 23):  # the sweep equals calling the model on the point
        direct = tour["oscillator"](space[i])
        assert float(result[i]["energy"]) == pytest.approx(float(direct["energy"]))
        assert float(result[i]["peak"]) == pytest.approx(float(direct["peak"]))
    energy = result.to_xarray()["energy"]
    assert energy.dims == ("physics.stiffness", "physics.damping", "x0")
    # more damping leaves less energy, at every stiffness and start
    assert (energy.diff("physics.damping") < 0).all()


def test_importing_the_package_computes_nothing():
    code = (
        "import jax._src.xla_bridge as xb, sweepjax, sweepjax.network; "
        "print(xb.backends_are_initialized(), len(sweepjax.__all__))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    initialised, names = out.stdout.split()
    assert initialised == "False" and int(names) > 20
