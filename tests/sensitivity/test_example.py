"""The sensitivity study example runs (quick size)."""

import runpy
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def test_sensitivity_study_runs(capsys):
    """The quick size, in memory: stores, resume and figures of designs are
    tested on their own (test_designs, test_dgsm_plots), at less cost."""
    study = runpy.run_path(str(ROOT / "examples" / "sensitivity_study.py"))
    fit, regions = study["main"](quick=True)
    printed = capsys.readouterr().out
    assert "gw: 3 regions, 28 simulations" in printed and "widest 95%" in printed
    assert sorted(fit["parameter"].values) == ["G", "a", "omega", "sigma", "speed"]
    assert regions["ST"].dims == ("parameter", "region")
    assert regions["ST"].shape == (5, 3) and np.isfinite(fit["ST"]).all()
