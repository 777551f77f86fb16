"""The gradient with respect to conduction speed through a delayed BOLD-FC
loss equals central finite differences: ``examples/fit_conduction_speed.py``
on 4 of gw's regions (its default, printed, is all 80)."""

from __future__ import annotations

import pathlib
import runpy

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_speed_gradient_of_a_bold_fc_loss_equals_finite_differences(capsys):
    example = runpy.run_path(str(ROOT / "examples" / "fit_conduction_speed.py"))
    checked = example["check_gradient"](4, 400.0, 1.0)
    assert abs(checked["gradient"]) > 1e-6
    assert checked["relative"] < 1e-4
    assert "4 regions: d(loss)/d(speed)" in capsys.readouterr().out
