"""Per-edge leaves of delayed couplings (``EdgeLinearCoupling(...,
delayed=True)``'s ``gain``) on both delay lines, and TVB-Optim's stage-time
shift of interpolated reads under Heun: trajectories against TVB-Optim's in
float64, the gradient with respect to the per-edge leaf, a vmapped sweep of it,
the errors for a wrong shape, and the start (``start_of``) of an interpolated
run."""

from __future__ import annotations

import copy

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax import DataAxis
from sweepjax.network import (
    DenseDelayGraph,
    DifferenceCoupling,
    EdgeLinearCoupling,
    Heun,
    Linear,
    Network,
    SparseDelayGraph,
    make_config,
    prepare,
)
from sweepjax.network._batching import Points
from sweepjax.network._delays import shares_layout

tnd = pytest.importorskip("tvboptim.experimental.network_dynamics")

N, DT, T1 = 4, 0.1, 2.0


def _arrays():
    rng = np.random.default_rng(0)
    weights = rng.uniform(0.2, 1.0, (N, N))
    np.fill_diagonal(weights, 0.0)
    delays = rng.uniform(0.06, 1.5, (N, N))  # 0.6-15 steps
    delays[1, 0] = 0.03  # below dt / 2: the shifted read clamps to 0
    np.fill_diagonal(delays, 0.0)
    gain = rng.uniform(0.0, 2.0, (N, N))
    return weights, delays, gain


def _network(graph, gain):
    """A delayed edge-gain coupling (read shifted under Heun) and a delayed
    difference coupling (its post reads the receiving node: not shifted)."""
    return Network(
        Linear(gamma=-1.0),
        {
            "c": EdgeLinearCoupling("x", G=0.5, gain=gain, delayed=True),
            "d": DifferenceCoupling("x", a=0.3, delayed=True),
        },
        graph,
        initial_state=0.01,
    )


@pytest.fixture(scope="module")
def linear_dense():
    """Ours: Heun, interpolated reads, a dense graph, ``[n, n]`` gains
    (``checkpoint=False``: the same numbers, a gradient that compiles faster)."""
    with jax.enable_x64(True):
        weights, delays, gain = _arrays()
        graph = DenseDelayGraph(weights, delays, interpolation="linear")
        yield prepare(_network(graph, gain), Heun(checkpoint=False), 0.0, T1, DT)


@pytest.fixture(scope="module")
def rounded_sparse():
    """Ours: Heun, rounded reads, an edge list, ``[n_edges]`` gains."""
    with jax.enable_x64(True):
        weights, delays, gain = _arrays()
        graph = SparseDelayGraph.from_dense(weights, delays)
        network = _network(graph, gain[np.nonzero(weights)])
        yield prepare(network, Heun(), 0.0, T1, DT)


def _theirs(interpolation):
    from tvboptim.experimental.network_dynamics.core import Bunch
    from tvboptim.experimental.network_dynamics.coupling import (
        DelayedDifferenceCoupling,
        DelayedLinearCoupling,
    )
    from tvboptim.experimental.network_dynamics.dynamics.tvb import Linear as Theirs
    from tvboptim.experimental.network_dynamics.solvers import Heun as TheirHeun

    class TheirEdgeCoupling(DelayedLinearCoupling):
        EDGE_PARAMS = ("gain",)
        DEFAULT_PARAMS = Bunch(G=1.0, b=0.0, gain=1.0)

        def pre(self, incoming_states, local_states, params):
            return incoming_states * params.gain

    weights, delays, gain = _arrays()
    read = {"history_interpolation": interpolation}
    network = tnd.Network(
        Theirs(gamma=-1.0),
        {  # Linear's two inputs, both added to dx/dt as our one input
            "delayed": TheirEdgeCoupling(incoming_states="x", G=0.5, gain=gain, **read),
            "instant": DelayedDifferenceCoupling(
                incoming_states="x", local_states="x", G=0.3, **read
            ),
        },
        tnd.DenseDelayGraph(weights, delays),
    )
    solve_fn, config = tnd.prepare(network, TheirHeun(), t0=0.0, t1=T1, dt=DT)
    return solve_fn(config).ys


def test_heun_with_edge_gains_is_tvboptims_under_linear_interpolation(
    x64, linear_dense
):
    """Interpolated reads: TVB-Optim's Heun reads the edge-gain coupling half
    a step later (``delays - dt/2``, clamped at 0) and the difference coupling
    unshifted; unshifted, the states differ by ~1e-4 of 1e-2."""
    solve_fn, config = linear_dense
    np.testing.assert_allclose(
        solve_fn(config).ys, _theirs("linear"), rtol=1e-12, atol=1e-17
    )


def test_edge_gains_on_the_rounded_line_of_an_edge_list_are_tvboptims(
    x64, rounded_sparse
):
    """Rounded reads are not shifted, under Heun too."""
    solve_fn, config = rounded_sparse
    np.testing.assert_allclose(
        solve_fn(config).ys, _theirs(None), rtol=1e-12, atol=1e-17
    )


def _with_gain(config, gain):
    config = copy.deepcopy(config)
    config.coupling.c.gain = gain
    return config


def test_gradient_wrt_edge_gains_matches_central_differences(x64, linear_dense):
    solve_fn, config = linear_dense

    def loss(gain):
        return jnp.sum(solve_fn(_with_gain(config, gain)).ys ** 2)

    gain = jnp.asarray(_arrays()[2])
    direction = jnp.asarray(np.random.default_rng(1).normal(size=(N, N)))
    h = 1e-5
    central = (loss(gain + h * direction) - loss(gain - h * direction)) / (2 * h)
    grad = jax.jit(jax.grad(loss))(gain)  # compiles faster than eager
    assert float(jnp.abs(grad).max()) > 1e-8
    np.testing.assert_allclose(jnp.vdot(grad, direction), central, rtol=1e-6)


def test_a_vmapped_sweep_of_edge_gains_equals_separate_runs(x64, rounded_sparse):
    """The batch shares one rounded history, each point weighs the edges
    with its own gains."""
    solve_fn, config = rounded_sparse
    axes = jax.tree.map(lambda _: None, config)
    axes.coupling.c.gain = 0
    assert shares_layout(solve_fn.network, Points(config, axes, 3))
    gains = jnp.asarray(config.coupling.c.gain) * jnp.array([[0.5], [1.0], [1.5]])

    def run(gain):
        return solve_fn(_with_gain(config, gain)).ys

    looped = np.stack([run(g) for g in gains])
    np.testing.assert_allclose(jax.jit(jax.vmap(run))(gains), looped, rtol=1e-12)
    assert np.abs(looped[0] - looped[2]).max() > 1e-6  # the gains matter


def test_a_per_edge_leaf_of_a_wrong_shape_is_refused(linear_dense):
    """When set on a prepared config (a value or an axis), at ``prepare``,
    and when a solve meets one anyway."""
    solve_fn, config = linear_dense
    allowed = r"\[n_nodes, n_nodes\] = \(4, 4\) or \[n_edges\] = \(12,\)"
    gain_path = r"config\.coupling\.c\.gain: the per-edge leaf 'gain'"
    with pytest.raises(ValueError, match=rf"{gain_path} .*{allowed}.*got shape \(5,\)"):
        config.coupling.c.gain = np.ones(5)
    with pytest.raises(ValueError, match=rf"{gain_path} .*got shape \(3, 3\)"):
        config.coupling.c.gain = DataAxis(np.ones((2, 3, 3)))
    weights, delays, _ = _arrays()
    wrong = _network(DenseDelayGraph(weights, delays), np.ones(3))
    with pytest.raises(ValueError, match=rf"{gain_path} .*got shape \(3,\)"):
        prepare(wrong, Heun(), 0.0, T1, DT)
    with pytest.raises(ValueError, match=rf"{gain_path} .*got shape \(3,\)"):
        solve_fn(make_config(wrong))  # a config no check was set on


def test_the_start_of_an_interpolated_run_fits_its_history(x64, linear_dense):
    """``solve_fn.start_of`` (what continuations and replicates start from)
    builds the interpolated line's history, one slot longer than a rounded
    one, which a solve accepts (traced, not run: the layout is the point)."""
    solve_fn, config = linear_dense
    started = copy.deepcopy(config)
    started.start = jax.eval_shape(solve_fn.start_of, config)
    assert jax.eval_shape(solve_fn, started).ys.shape == (int(T1 / DT), 1, N)
