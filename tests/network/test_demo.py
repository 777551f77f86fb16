"""The runnable network example, on small settings (the demo: tests/test_cli.py)."""

from __future__ import annotations

import pathlib
import runpy

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_example_runs(capsys):
    namespace = runpy.run_path(str(ROOT / "examples" / "brain_network_sweep.py"))
    namespace["main"](quick=True)
    printed = capsys.readouterr().out
    assert "68 regions, 2 noise seeds per G" in printed
    assert "coupling.delayed.G" in printed


def test_bold_fit_study_runs(capsys, tmp_path):
    namespace = runpy.run_path(str(ROOT / "examples" / "bold_fit_study.py"))
    fit = namespace["main"](quick=True, figure=str(tmp_path / "study.png"))
    printed = capsys.readouterr().out
    assert "gw: 5 subjects, 80 regions" in printed and "best fit" in printed
    assert fit["fc_corr"].between(-1, 1).all() and fit["fcd_ks"].between(0, 1).all()
    assert (tmp_path / "study.png").stat().st_size > 10_000


def test_fit_empirical_fc_runs(capsys, tmp_path):
    namespace = runpy.run_path(str(ROOT / "examples" / "fit_empirical_fc.py"))
    out = namespace["main"](quick=True, figure=str(tmp_path / "fit.png"))
    printed = capsys.readouterr().out
    assert "grid: best loss" in printed and "fits: 2 starts x 2 Adam steps" in printed
    assert out["loss"].shape == (2, 2) and np.all(np.isfinite(out["loss"]))
    for name, (low, high) in namespace["BOX"].items():
        assert np.all((low < out[name]) & (out[name] < high))  # bounded fits
    assert (tmp_path / "fit.png").stat().st_size > 10_000
