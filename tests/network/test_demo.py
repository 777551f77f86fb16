"""The demo (``sweepjax demo``) and the runnable example, on small settings."""

from __future__ import annotations

import pathlib
import runpy

import matplotlib.image
import pandas as pd

from sweepjax.network._demo import run_demo

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_run_demo_writes_table_and_heatmap(tmp_path, capsys):
    out = run_demo(tmp_path / "demo", n_G=3, n_sigma=2, duration=700.0, progress=False)
    printed = capsys.readouterr().out
    assert out.out_dir == tmp_path / "demo"
    assert "Output folder:" in printed and str((tmp_path / "demo").resolve()) in printed
    assert "76-region" in printed
    table = pd.read_csv(out.csv)
    assert list(table.columns) == [
        "coupling.delayed.G", "noise.sigma", "mean_S", "std_S", "mean_FC",
    ]  # fmt: skip
    assert len(table) == 6 and table.notna().all().all()
    image = matplotlib.image.imread(out.png)
    assert image.shape[0] > 300 and image.shape[1] > 1000


def test_example_runs(capsys):
    namespace = runpy.run_path(str(ROOT / "examples" / "brain_network_sweep.py"))
    namespace["main"](quick=True)
    printed = capsys.readouterr().out
    assert "68 regions, 2 noise seeds per G" in printed
    assert "coupling.delayed.G" in printed
