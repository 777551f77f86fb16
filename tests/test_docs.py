"""The code in the README and the user guide runs as written."""

import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def test_readme_has_exactly_two_quick_start_commands():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("##", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines()]
    assert [c for c in commands if c] == ["make demo", "make test"]


RUNNABLE = [
    ROOT / "README.md",
    ROOT / "docs/axes_and_spaces.md",
    ROOT / "docs/network.md",
]


@pytest.mark.parametrize("path", RUNNABLE, ids=lambda p: p.name)
def test_doc_examples_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(path)
    assert blocks
    for block in blocks:
        exec(compile(block, str(path), "exec"), {"__name__": "__docs__"})


def test_spaces_tour_example_runs(capsys):
    runpy.run_path(str(ROOT / "examples" / "spaces_tour.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "Space(N=24, mode='product', axes=3)" in out
    assert "physics.stiffness" in out and "energy" in out


def test_package_imports_without_side_effects():
    code = "import sweepjax, sweepjax.network; print(sorted(sweepjax.__all__)[:3])"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "AbstractAxis" in out.stdout
