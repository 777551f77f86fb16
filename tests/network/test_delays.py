"""Delays: exact shift by the rounded delay, history, buffer limits, sweeps."""

from __future__ import annotations

import copy
import pickle
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from network_helpers import replace_leaf

from sweepjax import DataAxis, GridAxis, UniformAxis
from sweepjax.network import (
    AbstractDynamics,
    DelayedLinearCoupling,
    DenseDelayGraph,
    Euler,
    Heun,
    LinearCoupling,
    Network,
    make_config,
    prepare,
)
from sweepjax.network._batching import Points
from sweepjax.network._delays import delay_line


class Ramp(AbstractDynamics):
    """dx/dt = rate + c: node 1 ramps, node 0 integrates what node 1 sends."""

    state_names = ("x",)
    default_parameters = {"rate": 0.0}
    default_initial_state = {"x": 0.0}
    coupling_inputs = {"c": 1}

    def derivative(self, t, state, coupling, params):
        return jnp.broadcast_to(params.rate + coupling["c"][0], state.shape)


def two_nodes(delay: float, max_delay: float | None = None) -> Network:
    weights = np.array([[0.0, 1.0], [0.0, 0.0]])  # node 1 -> node 0 only
    delays = np.array([[0.0, delay], [0.0, 0.0]])
    return Network(
        Ramp(rate=np.array([0.0, 1.0])),
        {"delayed": DelayedLinearCoupling("x", G=0.5)},
        DenseDelayGraph(weights, delays, max_delay=max_delay),
    )


@pytest.mark.parametrize(("delay", "steps"), [(0.73, 7), (0.76, 8), (0.3, 3)])
@pytest.mark.parametrize("solver", (Euler(), Heun()), ids=("euler", "heun"))
def test_response_shifted_by_rounded_delay(delay, steps, solver):
    dt = 0.1
    ref_fn, ref_cfg = prepare(two_nodes(0.0), solver, 0.0, 4.0, dt)
    del_fn, del_cfg = prepare(two_nodes(delay), solver, 0.0, 4.0, dt)
    ref = np.asarray(ref_fn(ref_cfg).ys[:, 0, 0])
    got = np.asarray(del_fn(del_cfg).ys[:, 0, 0])
    np.testing.assert_allclose(got[steps:], ref[:-steps], rtol=1e-6, atol=1e-9)
    # before the delayed signal arrives, node 0 sees node 1's initial state (0)
    assert np.all(got[: steps + 1] == 0.0) and got[steps + 1] > 0.0


def test_zero_delay_equals_instant_coupling_with_euler():
    weights = np.array([[0.0, 1.0], [0.3, 0.0]])
    zero = DenseDelayGraph(weights, np.zeros((2, 2)))
    delayed = Network(
        Ramp(rate=[0.2, 1.0]), {"d": DelayedLinearCoupling("x", 0.5)}, zero
    )
    instant = Network(Ramp(rate=[0.2, 1.0]), {"i": LinearCoupling("x", 0.5)}, zero)
    a_fn, a_cfg = prepare(delayed, Euler(), 0.0, 2.0, 0.1)
    b_fn, b_cfg = prepare(instant, Euler(), 0.0, 2.0, 0.1)
    np.testing.assert_allclose(a_fn(a_cfg).ys, b_fn(b_cfg).ys, rtol=1e-6)


def test_delays_are_config_leaves_swept_under_vmap():
    solve_fn, config = prepare(two_nodes(0.5, max_delay=2.0), Euler(), 0.0, 4.0, 0.1)

    def run(d):
        delays = jnp.array([[0.0, 1.0], [0.0, 0.0]]) * d
        return solve_fn(replace_leaf(config, "graph.delays", delays)).ys[:, 0, 0]

    batched = jax.jit(jax.vmap(run))(jnp.array([0.3, 1.2]))
    first = [int(np.argmax(np.asarray(row) > 0)) for row in batched]
    assert first == [4, 13]


def test_delay_beyond_buffer_errors_at_run_time():
    # what reaches the solve without being set on the config (a pytree map)
    solve_fn, config = prepare(two_nodes(0.5), Euler(), 0.0, 2.0, 0.1)
    config = replace_leaf(config, "graph.delays", jnp.array([[0.0, 0.9], [0, 0]]))
    with pytest.raises(Exception, match=r"exceeds the history buffer.*max_delay"):
        jax.block_until_ready(solve_fn(config).ys)


def test_delays_beyond_the_buffer_are_refused_when_set():
    solve_fn, config = prepare(two_nodes(0.5), Euler(), 0.0, 2.0, 0.1)
    sweep = copy.deepcopy(config)  # copies keep the check
    too_long = np.stack([np.zeros((2, 2)), np.full((2, 2), 9.25)])
    with pytest.raises(
        ValueError,
        match=r"(?s)config\.graph\.delays: the delays set reach 9\.25 ms, beyond "
        r"the history buffer of this prepared solve: 5 steps of dt=0\.1 ms, "
        r"delays up to max_delay=0\.5 ms\.\nBuild the graph with max_delay >= "
        r"9\.25 ms \(DenseDelayGraph\(\.\.\., max_delay=\.\.\.\) or "
        r"Connectome\.graph",
    ) as info:
        sweep.graph.delays = DataAxis(too_long)
    assert len(str(info.value).splitlines()) == 2  # no matrix printed
    with pytest.raises(ValueError, match="reach 0.8 ms"):
        pickle.loads(pickle.dumps(sweep)).graph.delays = GridAxis(0.0, 0.8, 3)
    with pytest.raises(ValueError, match="reach 0.7 ms"):
        jax.tree.map(lambda x: x, sweep).graph["delays"] = jnp.full((2, 2), 0.7)
    with pytest.raises(ValueError, match="reach 9 ms"):  # draws up to 9 ms
        sweep.graph.delays = UniformAxis(0.0, 9.0, 2)
    # within the buffer (0.54 ms rounds to 5 steps)
    sweep.graph.delays = GridAxis(0.0, 0.54, 3)
    sweep.graph.delays = UniformAxis(0.0, 0.5, 2)
    assert config.graph.delays.shape == (2, 2)  # the prepared config unchanged


def test_a_larger_max_delay_takes_the_swept_delays():
    _, config = prepare(two_nodes(0.5, max_delay=10.0), Euler(), 0.0, 2.0, 0.1)
    config.graph.delays = DataAxis(np.full((2, 2, 2), 9.25))


def test_many_delays_rounding_to_zero_steps_warn():
    lengths = np.array([[0.0, 0.2, 0.3], [0.2, 0.0, 3.0], [0.3, 3.0, 0.0]])
    network = Network(
        Ramp(),
        {"d": DelayedLinearCoupling("x", G=0.1)},
        DenseDelayGraph(np.ones((3, 3)) - np.eye(3), lengths),
    )
    with pytest.warns(
        UserWarning,
        match=r"dt=1 ms rounds 4 of the 6 positive delays of the connections "
        r"\(67%\) to 0 steps, so those connections act without delay \(the "
        r"smallest delay is 0\.2 ms\)\. dt < 0\.4 ms leaves at most 10% of "
        r"them at 0 steps; dt < 0\.4 ms resolves every one",
    ):
        prepare(network, Euler(), 0.0, 2.0, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepare(network, Euler(), 0.0, 2.0, 0.1)  # every delay >= 2 steps


def test_delayed_and_instant_couplings_sum_into_one_input():
    weights = np.array([[0.0, 1.0], [1.0, 0.0]])
    graph = DenseDelayGraph(weights, np.zeros((2, 2)))
    both = Network(
        Ramp(rate=[0.1, 0.4]),
        {"a": DelayedLinearCoupling("x", 0.2), "b": DelayedLinearCoupling("x", 0.3)},
        graph,
    )
    one = Network(Ramp(rate=[0.1, 0.4]), {"a": DelayedLinearCoupling("x", 0.5)}, graph)
    a_fn, a_cfg = prepare(both, Heun(), 0.0, 2.0, 0.1)
    b_fn, b_cfg = prepare(one, Heun(), 0.0, 2.0, 0.1)
    np.testing.assert_allclose(a_fn(a_cfg).ys, b_fn(b_cfg).ys, rtol=1e-6)


def test_swept_weights_outside_edge_pattern_error_unless_all_edges():
    network = two_nodes(0.3)
    solve_fn, config = prepare(network, Euler(), 0.0, 1.0, 0.1)
    config.graph.weights = jnp.array([[0.0, 1.0], [0.5, 0.0]])  # new edge 0 -> 1
    with pytest.raises(Exception, match="build it with all_edges=True"):
        jax.block_until_ready(solve_fn(config).ys)

    weights = np.array([[0.0, 1.0], [0.0, 0.0]])
    delays = np.array([[0.0, 0.3], [0.3, 0.0]])
    dense = Network(
        Ramp(rate=np.array([0.5, 1.0])),
        {"delayed": DelayedLinearCoupling("x", G=0.5)},
        DenseDelayGraph(weights, delays, all_edges=True),
    )
    solve_fn, config = prepare(dense, Euler(), 0.0, 1.0, 0.1)
    config.graph.weights = jnp.array([[0.0, 1.0], [0.5, 0.0]])
    ys = solve_fn(config).ys
    reference_net = Network(
        Ramp(rate=np.array([0.5, 1.0])),
        {"delayed": DelayedLinearCoupling("x", G=0.5)},
        DenseDelayGraph(np.array([[0.0, 1.0], [0.5, 0.0]]), delays),
    )
    ref_fn, ref_cfg = prepare(reference_net, Euler(), 0.0, 1.0, 0.1)
    np.testing.assert_allclose(ys, ref_fn(ref_cfg).ys, rtol=1e-6)


def test_no_delayed_coupling_means_no_history():
    network = Network(
        Ramp(),
        {"i": LinearCoupling("x")},
        DenseDelayGraph(np.ones((2, 2)), np.ones((2, 2))),
    )
    y0 = jnp.zeros((1, 1, 2))
    line = delay_line(network, Points.single(make_config(network)), 0.1, y0)
    assert line.init == ()
    assert line.hold((), y0, jnp.int32(0)) == ({}, ())


def test_history_starts_as_the_initial_state_batch_innermost():
    network = two_nodes(0.25)
    config = make_config(network)
    config.coupling.delayed.G = jnp.array([0.5, 1.0, 2.0])
    axes = jax.tree.map(lambda _: None, config)
    axes.coupling.delayed.G = 0
    points = Points(config, axes, 3)
    y0 = jnp.array([[[0.5, 2.0]], [[0.5, 2.0]], [[1.0, 3.0]]])  # [size, 1, 2]
    line = delay_line(network, points, 0.1, y0)
    # H = ceil(0.25 / 0.1) + 1 = 4 slots of 2 node rows, 1 signal, 3 points
    assert line.init.shape == (4 * 2, 1, 3)
    np.testing.assert_array_equal(line.init[:, 0, :], jnp.tile(y0[:, 0, :].T, (4, 1)))
    held, _ = line.hold(line.init, jnp.full((3, 1, 2), 9.0), jnp.int32(0))
    # G * x_1(t0) arrives at node 0 (3 steps of delay: the initial state)
    np.testing.assert_allclose(held["c"][:, 0, 0], [0.5 * 2.0, 1.0 * 2.0, 2.0 * 3.0])
    np.testing.assert_allclose(held["c"][:, 0, 1], 0.0)


def test_each_step_reads_the_history_without_an_integer_division_per_edge():
    # the rows the edges read wrap around the ring with an add and a select:
    # a remainder per edge and step cost the delayed studies' loops time
    network = two_nodes(0.25)
    y0 = jnp.zeros((1, 1, 2))
    line = delay_line(network, Points.single(make_config(network)), 0.1, y0)
    jaxpr = str(jax.make_jaxpr(line.hold)(line.init, y0, jnp.int32(5)))
    remainders = [row.split("=")[0] for row in jaxpr.splitlines() if "= rem " in row]
    assert remainders, "the slot of the step is one remainder"
    assert all(out.strip().endswith("[]") for out in remainders), remainders
