"""The runnable network example, on small settings (the demo: tests/test_cli.py)."""

from __future__ import annotations

import pathlib
import runpy

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_example_runs(capsys):
    namespace = runpy.run_path(str(ROOT / "examples" / "brain_network_sweep.py"))
    namespace["main"](quick=True)
    printed = capsys.readouterr().out
    assert "68 regions, 2 noise seeds per G" in printed
    assert "coupling.delayed.G" in printed
