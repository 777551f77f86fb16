"""Per-edge coupling parameters: ``EdgeLinearCoupling``'s ``gain`` leaf,
``[n_nodes, n_nodes]`` or ``[n_edges]``, on dense and sparse graphs, against
TVB-Optim's ``EDGE_PARAMS``."""

from __future__ import annotations

import numpy as np
import pytest

from sweepjax.network import (
    DenseGraph,
    EdgeLinearCoupling,
    Euler,
    Linear,
    Network,
    SparseGraph,
    prepare,
)

tnd = pytest.importorskip("tvboptim.experimental.network_dynamics")


def test_edge_gains_are_tvboptims_edge_params(x64):
    from tvboptim.experimental.network_dynamics.core import Bunch
    from tvboptim.experimental.network_dynamics.coupling import LinearCoupling
    from tvboptim.experimental.network_dynamics.dynamics.tvb import Linear as Theirs
    from tvboptim.experimental.network_dynamics.solvers import Euler as TheirEuler

    class TheirEdgeCoupling(LinearCoupling):
        EDGE_PARAMS = ("gain",)
        DEFAULT_PARAMS = Bunch(G=1.0, b=0.0, gain=1.0)

        def pre(self, incoming_states, local_states, params):
            return incoming_states * params.gain

    rng = np.random.default_rng(0)
    weights = rng.uniform(0.2, 1.0, (3, 3))
    np.fill_diagonal(weights, 0.0)
    gain = rng.uniform(0.0, 2.0, (3, 3))
    theirs, config = tnd.prepare(
        tnd.Network(
            Theirs(gamma=-1.0),
            {"delayed": TheirEdgeCoupling(incoming_states="x", G=0.5, gain=gain)},
            tnd.DenseGraph(weights),
        ),
        TheirEuler(),
        t0=0.0,
        t1=3.0,
        dt=0.1,
    )
    expected = theirs(config).ys
    dense = Network(
        Linear(gamma=-1.0),
        {"c": EdgeLinearCoupling("x", G=0.5, gain=gain)},
        DenseGraph(weights),
        initial_state=0.01,
    )
    ours, config = prepare(dense, Euler(), 0.0, 3.0, 0.1)
    np.testing.assert_allclose(ours(config).ys, expected, rtol=1e-12)
    config.coupling.c.gain = gain[np.nonzero(weights)]  # [n_edges], same gains
    np.testing.assert_allclose(ours(config).ys, expected, rtol=1e-12)
    sparse = Network(
        Linear(gamma=-1.0),
        {"c": EdgeLinearCoupling("x", G=0.5, gain=gain)},
        SparseGraph.from_dense(weights),
        initial_state=0.01,
    )
    ours, config = prepare(sparse, Euler(), 0.0, 3.0, 0.1)
    np.testing.assert_allclose(ours(config).ys, expected, rtol=1e-12)
    with pytest.raises(ValueError, match=r"per-edge leaf 'gain' must be a scalar"):
        config.coupling.c.gain = np.ones(4)  # refused when set
