"""Bad inputs fail early with messages that name the argument and the fix."""

from __future__ import annotations

import diffrax
import jax
import numpy as np
import pytest
from network_helpers import all_to_all, rww_network

from sweepjax.network import (
    AdditiveNoise,
    DelayedLinearCoupling,
    DenseDelayGraph,
    DenseGraph,
    Diffrax,
    Heun,
    JansenRit,
    LinearCoupling,
    Network,
    ReducedWongWang,
    load_connectome,
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


@pytest.mark.parametrize(
    ("weights", "error", "match"),
    [
        (np.ones((3, 4)), ValueError, r"square \[n_nodes, n_nodes\].*\(3, 4\)"),
        (np.ones(3), ValueError, r"square .*\(3,\)"),
        (np.array([[0.0, np.nan], [1.0, 0.0]]), ValueError, "must be finite"),
        ("abc", TypeError, "numeric"),
    ],
)
def test_bad_weights(weights, error, match):
    with pytest.raises(error, match=match):
        DenseGraph(weights)


def test_bad_delays():
    with pytest.raises(ValueError, match=r"delays must have the shape of weights"):
        DenseDelayGraph(np.ones((3, 3)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="delays must be >= 0"):
        DenseDelayGraph(np.ones((2, 2)), -np.ones((2, 2)))
    with pytest.raises(ValueError, match="max_delay must be finite and >= the largest"):
        DenseDelayGraph(np.ones((2, 2)), np.ones((2, 2)), max_delay=0.5)


def test_unknown_coupling_input():
    with pytest.raises(ValueError, match=r"unknown coupling input 'x'.*\['c'\]"):
        net(coupling={"instant": LinearCoupling("S", G=0.5, target="x")})


def test_unknown_incoming_state():
    with pytest.raises(ValueError, match=r"unknown state variable\(s\) \['V'\]"):
        net(coupling={"instant": LinearCoupling("V")})


def test_component_count_mismatch():
    with pytest.raises(ValueError, match=r"reads 2 state\(s\).*takes 1 component"):
        Network(JansenRit(), {"c": LinearCoupling(("y1", "y2"))}, DenseGraph(np.eye(2)))


def test_delayed_coupling_needs_delay_graph():
    with pytest.raises(ValueError, match="needs delays: use DenseDelayGraph"):
        net(coupling={"d": DelayedLinearCoupling("S")})


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


def test_bad_noise_key_and_states():
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        AdditiveNoise(0.1, key="seed")
    with pytest.raises(TypeError, match="incoming_states must be a state name"):
        LinearCoupling(3)


@pytest.mark.parametrize(
    ("t0", "t1", "dt", "error", "match"),
    [
        (0.0, 1.0, 0.0, ValueError, "dt must be > 0"),
        (1.0, 1.0, 0.1, ValueError, "t1 must be > t0"),
        (0.0, float("inf"), 0.1, ValueError, "t1 must be finite"),
        (0.0, "5", 0.1, TypeError, "t1 must be a Python number"),
    ],
)
def test_bad_time_grid(t0, t1, dt, error, match):
    with pytest.raises(error, match=match):
        prepare(rww_network(), Heun(), t0, t1, dt)


def test_bad_prepare_arguments():
    with pytest.raises(TypeError, match="network must be a Network"):
        prepare("net", Heun(), 0.0, 1.0, 0.1)
    with pytest.raises(TypeError, match=r"solver must be Euler\(\), Heun\(\)"):
        prepare(rww_network(), diffrax.Heun(), 0.0, 1.0, 0.1)
    with pytest.raises(TypeError, match="monitor must be Raw"):
        prepare(rww_network(), Heun(), 0.0, 1.0, 0.1, monitor=10)
    with pytest.raises(ValueError, match="unroll must be a positive int"):
        prepare(rww_network(), Heun(), 0.0, 1.0, 0.1, unroll=0)
    with pytest.raises(TypeError, match="solver must be a Diffrax solver"):
        Diffrax("tsit5")


def test_diffrax_rejects_delays_and_injected_noise():
    graph = DenseDelayGraph(all_to_all(2), np.ones((2, 2)))
    delayed = Network(ReducedWongWang(), {"d": DelayedLinearCoupling("S")}, graph)
    with pytest.raises(ValueError, match="does not support delayed couplings"):
        prepare(delayed, Diffrax(diffrax.Heun()), 0.0, 1.0, 0.1)
    solve_fn, config = prepare(rww_network(), Diffrax(diffrax.Heun()), 0.0, 1.0, 0.1)
    config._internal.noise_samples = jax.numpy.zeros((10, 1, 4))
    with pytest.raises(ValueError, match="noise_samples is not used by Diffrax"):
        solve_fn(config)


def test_unknown_connectome_lists_available():
    with pytest.raises(ValueError, match=r"unknown connectome 'human'.*'76'"):
        load_connectome("human")


def test_coupling_needs_target_when_several_inputs():
    from network_helpers import Linear

    class TwoInputs(Linear):
        coupling_inputs = {"fast": 1, "slow": 1}

    with pytest.raises(ValueError, match=r"needs target=.*\['fast', 'slow'\]"):
        Network(TwoInputs(), {"c": LinearCoupling("x")}, DenseGraph(np.eye(2)))
