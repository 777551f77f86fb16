"""Cross-check against The Virtual Brain's simulator in float64.

The comparison runs ``_tvb_reference.py`` in a subprocess with
``JAX_ENABLE_X64=1`` (TVB needs float64 and is slow to import).
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

pytest.importorskip("tvb.simulator.simulator")

SCRIPT = pathlib.Path(__file__).with_name("_tvb_reference.py")
CHECKS = [
    "uncoupled-ReducedWongWang",
    "uncoupled-Generic2dOscillator",
    "uncoupled-SupHopf",
    "uncoupled-JansenRit",
    "uncoupled-Kuramoto",
    "delayed-ReducedWongWang",
]


@pytest.fixture(scope="module")
def errors():
    env = {**os.environ, "JAX_ENABLE_X64": "1", "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line.split() for line in done.stdout.splitlines()]
    return {row[1]: float(row[2]) for row in lines if row[:1] == ["CHECK"]}


@pytest.mark.parametrize("check", CHECKS)
def test_agrees_with_tvb_to_1e_4_relative(errors, check):
    assert errors[check] < 1e-4, f"{check}: max relative error {errors[check]:.2e}"
