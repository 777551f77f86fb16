"""Cross-check against The Virtual Brain's simulator in float64.

The comparison runs ``_tvb_reference.py`` in a subprocess with
``JAX_ENABLE_X64=1`` (TVB needs float64 and is slow to import): every model
uncoupled and coupled through delays, every coupling through delays and zero
delays, stimuli, state bounds, noise and the HRF BOLD monitor (see the
script's docstring). Each check must agree to 1e-6 relative.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from sweepjax.network._models import MODELS

pytest.importorskip("tvb.simulator.simulator")

SCRIPT = pathlib.Path(__file__).with_name("_tvb_reference.py")
COUPLINGS = [
    "Scaling",
    "HyperbolicTangent",
    "Sigmoidal",
    "SigmoidalJansenRit",
    "PreSigmoidal-static",
    "PreSigmoidal-dynamic",
    "Difference",
    "Kuramoto",
]
CHECKS = [
    *(f"{kind}-{model}" for model in MODELS for kind in ("uncoupled", "delayed")),
    *(f"{c}-{delays}" for c in COUPLINGS for delays in ("delays", "zero-delays")),
    "stimulus-Sinusoid",
    "stimulus-PulseTrain",
    "bounds-ReducedWongWang",
    "bounds-MontbrioPazoRoxin",
    *(f"noise-{kind}" for kind in ("additive", "multiplicative")),
    *(f"noise-{kind}-per-state" for kind in ("additive", "multiplicative")),
    "bold-hrf-volterra",
    "bold-hrf-kernel",
]
#: TVB's float32 history limits the coupled checks to ~1e-8 (see the script).
TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def errors():
    env = {**os.environ, "JAX_ENABLE_X64": "1", "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    env.pop("TVB_FLOAT64_HISTORY", None)
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line.split() for line in done.stdout.splitlines()]
    return {row[1]: float(row[2]) for row in lines if row[:1] == ["CHECK"]}


def test_runs_every_check(errors):
    assert sorted(errors) == sorted(CHECKS)


@pytest.mark.parametrize("check", CHECKS)
def test_agrees_with_tvb_to_1e_6_relative(errors, check):
    assert errors[check] < TOLERANCE, f"{check}: max relative error {errors[check]:.2e}"
