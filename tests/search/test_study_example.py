"""The search study example (examples/search_study.py), on its quick settings."""

from __future__ import annotations

import pathlib
import runpy

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_search_study_runs(capsys, tmp_path):
    namespace = runpy.run_path(str(ROOT / "examples" / "search_study.py"))
    found = namespace["main"](quick=True, figure=str(tmp_path / "search.png"))
    printed = capsys.readouterr().out
    assert "gw: 5 subjects, 80 regions" in printed and "Pareto front" in printed
    values, objectives = found.front()
    assert values.shape[1] == 5 and objectives.shape[1] == 2
    assert np.all((objectives >= 0) & (objectives <= 2))
    assert (tmp_path / "search.png").stat().st_size > 10_000
