"""Diffrax: agreement with the native solvers (the invariants, SDEs by key and
what it refuses are in test_prepare.py)."""

from __future__ import annotations

import diffrax
import numpy as np
import pytest
from network_helpers import rww_network

from sweepjax.network import Diffrax, Heun, SubSample, prepare


@pytest.mark.parametrize(
    "solver",
    (Diffrax(diffrax.Heun()), Diffrax(diffrax.Tsit5(), dt0=0.05)),
    ids=("diffrax-heun", "diffrax-tsit5"),
)
def test_agrees_with_native_heun(solver):
    network = rww_network(n=4, G=0.9, sigma=None)
    native_fn, config = prepare(network, Heun(), 0.0, 20.0, 0.1)
    diffrax_fn, _ = prepare(network, solver, 0.0, 20.0, 0.1)
    native, other = native_fn(config), diffrax_fn(config)
    np.testing.assert_allclose(other.ts, native.ts, rtol=1e-6)
    np.testing.assert_allclose(other.ys, native.ys, rtol=1e-4)


def test_subsample_keeps_every_kth_state():
    network = rww_network(n=3, G=0.8, sigma=None)
    raw_fn, config = prepare(network, Heun(), 0.0, 6.0, 0.1)
    solver = Diffrax(diffrax.Heun())
    sub_fn, _ = prepare(network, solver, 0.0, 6.0, 0.1, monitor=SubSample(3))
    np.testing.assert_allclose(sub_fn(config).ys, raw_fn(config).ys[2::3], rtol=1e-5)


def test_rejects_a_non_diffrax_solver():
    with pytest.raises(TypeError, match="solver must be a Diffrax solver"):
        Diffrax("tsit5")


def test_repr_names_the_diffrax_solver():
    assert repr(Diffrax(diffrax.Tsit5())).startswith("Diffrax(Tsit5(")
