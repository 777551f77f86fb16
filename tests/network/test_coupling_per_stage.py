"""``recompute_coupling_per_stage``: instantaneous couplings held over a step
(TVB's convention, TVB-Optim's default) or re-evaluated at every stage
(sweepjax's default), each equal to TVB-Optim's setting of the same name."""

from __future__ import annotations

import numpy as np
import pytest

from sweepjax.network import DenseGraph, Heun, Linear, LinearCoupling, Network, prepare

tnd = pytest.importorskip("tvboptim.experimental.network_dynamics")


@pytest.mark.parametrize("per_stage", [False, True])
def test_heun_with_held_or_per_stage_coupling_is_tvboptims(x64, per_stage):
    from tvboptim.experimental.network_dynamics.coupling import (
        LinearCoupling as TheirCoupling,
    )
    from tvboptim.experimental.network_dynamics.dynamics.tvb import Linear as Theirs
    from tvboptim.experimental.network_dynamics.solvers import Heun as TheirHeun

    rng = np.random.default_rng(0)
    weights = rng.uniform(0.2, 1.0, (3, 3))
    np.fill_diagonal(weights, 0.0)
    theirs, config = tnd.prepare(
        tnd.Network(
            Theirs(gamma=-1.0),
            {"delayed": TheirCoupling(incoming_states="x", G=2.0)},
            tnd.DenseGraph(weights),
        ),
        TheirHeun(recompute_coupling_per_stage=per_stage),
        t0=0.0,
        t1=3.0,
        dt=0.1,
    )
    expected = theirs(config).ys
    network = Network(
        Linear(gamma=-1.0),
        {"c": LinearCoupling("x", G=2.0)},
        DenseGraph(weights),
        initial_state=0.01,
    )
    solver = Heun(recompute_coupling_per_stage=per_stage)
    ours, config = prepare(network, solver, 0.0, 3.0, 0.1)
    np.testing.assert_allclose(ours(config).ys, expected, rtol=1e-12)
    other, config = prepare(
        network, Heun(recompute_coupling_per_stage=not per_stage), 0.0, 3.0, 0.1
    )
    assert np.abs(other(config).ys - expected).max() > 1e-3
    assert repr(solver) == (
        "Heun()" if per_stage else "Heun(recompute_coupling_per_stage=False)"
    )
