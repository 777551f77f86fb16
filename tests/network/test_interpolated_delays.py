"""Linear history interpolation and the graph of tract lengths and speed:
TVB-Optim's trajectories and gradients, the rounded path where delays sit on
the grid, one shared history for a batch of speeds, and the errors."""

from __future__ import annotations

import copy

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax import GridAxis
from sweepjax.network import (
    DelayedLinearCoupling,
    DenseDelayGraph,
    DenseLengthGraph,
    Euler,
    Linear,
    Network,
    SparseDelayGraph,
    prepare,
)
from sweepjax.network._batching import Points
from sweepjax.network._delays import shares_layout

tnd = pytest.importorskip("tvboptim.experimental.network_dynamics")

DT, T1, SPEED = 0.1, 3.0, 4.0


def _graph_arrays():
    rng = np.random.default_rng(0)
    weights = rng.uniform(0.2, 1.0, (3, 3))
    np.fill_diagonal(weights, 0.0)
    lengths = rng.uniform(1.0, 6.0, (3, 3))  # delays of 2.5-15 steps at 4 mm/ms
    lengths = (lengths + lengths.T) / 2
    np.fill_diagonal(lengths, 0.0)
    return weights, lengths


def _ours(**solver):
    weights, lengths = _graph_arrays()
    network = Network(
        Linear(gamma=-1.0),
        {"d": DelayedLinearCoupling("x", G=0.5)},
        DenseLengthGraph(weights, lengths, SPEED, max_delay=3.0),
        initial_state=0.01,
    )
    return prepare(network, Euler(**solver), 0.0, T1, DT)


def _theirs(**solver):
    from tvboptim.experimental.network_dynamics.coupling import (
        DelayedLinearCoupling as TheirCoupling,
    )
    from tvboptim.experimental.network_dynamics.dynamics.tvb import Linear as Theirs
    from tvboptim.experimental.network_dynamics.solvers import Euler as TheirEuler

    weights, lengths = _graph_arrays()
    network = tnd.Network(
        Theirs(gamma=-1.0),
        {
            "delayed": TheirCoupling(
                incoming_states="x", G=0.5, history_interpolation="linear"
            )
        },
        tnd.DenseLengthGraph(weights, lengths, SPEED, max_delay_bound=3.0),
    )
    return tnd.prepare(network, TheirEuler(**solver), t0=0.0, t1=T1, dt=DT)


def _loss_of_speed(solve_fn, config, set_speed):
    def loss(speed):
        cfg = copy.deepcopy(config)
        set_speed(cfg, speed)
        return jnp.sum(solve_fn(cfg).ys ** 2)

    return loss


def _set(cfg, speed):
    cfg.graph.speed = speed


@pytest.mark.parametrize("horizon", [None, 7])
def test_trajectory_and_speed_gradient_match_tvboptim(x64, horizon):
    """Euler, linear interpolation, delays of 2.5-15 steps: TVB-Optim's
    states and d(loss)/d(speed), exact (horizon None) and truncated to
    windows of 7 steps (its grad_horizon); Heun's half-step shift of the
    read: test_delayed_edges.py."""
    ours, config = _ours(grad_horizon=horizon)
    theirs, their_config = _theirs(grad_horizon=horizon)
    np.testing.assert_allclose(
        ours(config).ys, theirs(their_config).ys, rtol=1e-9, atol=1e-15
    )
    ours_grad = jax.jit(jax.grad(_loss_of_speed(ours, config, _set)))(SPEED)
    their_grad = jax.jit(jax.grad(_loss_of_speed(theirs, their_config, _set)))(SPEED)
    assert abs(float(ours_grad)) > 1e-6
    np.testing.assert_allclose(ours_grad, their_grad, rtol=1e-6)


def test_speeds_per_point_share_one_history_and_equal_a_loop(x64):
    ours, config = _ours()
    network_axes = jax.tree.map(lambda _: None, config)
    network_axes.graph.speed = 0
    weights, lengths = _graph_arrays()
    network = Network(
        Linear(gamma=-1.0),
        {"d": DelayedLinearCoupling("x", G=0.5)},
        DenseLengthGraph(weights, lengths, SPEED, max_delay=3.0),
    )
    assert shares_layout(network, Points(config, network_axes, 3))
    speeds = jnp.array([2.5, 4.0, 5.5])

    def run(speed):
        cfg = copy.deepcopy(config)
        cfg.graph.speed = speed
        return ours(cfg).ys

    looped = np.stack([run(s) for s in speeds])
    np.testing.assert_allclose(jax.jit(jax.vmap(run))(speeds), looped, rtol=1e-12)
    assert np.abs(looped[0] - looped[2]).max() > 1e-6  # the speed matters


def test_delays_on_the_grid_give_the_rounded_trajectory(x64):
    """``d / dt`` whole: the interpolation weight is 0, so the linear read
    (here of an edge list) is the rounded one."""
    weights, lengths = _graph_arrays()
    delays = np.round(lengths / SPEED / DT) * DT

    def trajectory(graph):
        network = Network(
            Linear(gamma=-1.0), {"d": DelayedLinearCoupling("x", G=0.5)}, graph
        )
        solve_fn, config = prepare(network, Euler(), 0.0, T1, DT)
        return solve_fn(config).ys

    rounded = trajectory(DenseDelayGraph(weights, delays))
    linear = SparseDelayGraph.from_dense(weights, delays, interpolation="linear")
    np.testing.assert_allclose(trajectory(linear), rounded, rtol=1e-10)


def test_speeds_beyond_the_buffer_are_refused_when_set():
    _, config = _ours()
    with pytest.raises(ValueError, match=r"config.graph.speed: .*max_delay=3"):
        config.graph.speed = 1.0
    with pytest.raises(ValueError, match=r"config.graph.speed: .*max_delay=3"):
        config.graph.speed = GridAxis(1.0, 4.0, 4)
    config.graph.speed = GridAxis(2.0, 4.0, 3)  # 3 mm / 2 mm/ms fits


def test_bad_graphs_are_refused():
    weights, lengths = _graph_arrays()
    with pytest.raises(ValueError, match="interpolation must be 'nearest' or"):
        DenseDelayGraph(weights, lengths, interpolation="cubic")
    with pytest.raises(ValueError, match=r"speed must be one finite number > 0"):
        DenseLengthGraph(weights, lengths, speed=0.0)
    with pytest.raises(ValueError, match=r"lengths must have the shape of weights"):
        DenseLengthGraph(weights, lengths[:2, :2], speed=1.0)
    with pytest.raises(ValueError, match=r"max_delay must be finite and >= the"):
        DenseLengthGraph(weights, lengths, speed=1.0, max_delay=1.0)
    with pytest.raises(ValueError, match=r"`grad_horizon` must be a positive int"):
        Euler(grad_horizon=0)
