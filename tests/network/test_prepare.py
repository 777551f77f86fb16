"""prepare: validation up front, and the invariants every solver must keep.

The invariant tests run over the registry ``SOLVERS`` (Diffrax included):
shapes and ``ts`` for each monitor, reproducible solves, jit equals eager,
vmap equals a loop, replicates by key, the same answer on two devices, one
trace per sweep. A combination a solver documents as unsupported is skipped
there and must raise here.
"""

from __future__ import annotations

import copy
import warnings

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from network_helpers import (
    SOLVERS,
    Linear,
    all_to_all,
    refusal,
    replace_leaf,
    rww_network,
    skip_unsupported,
    solver_id,
)

from sweepjax import DataAxis, ParallelExecution, Space
from sweepjax.network import (
    AbstractSolver,
    DelayedLinearCoupling,
    DenseDelayGraph,
    DenseGraph,
    Heun,
    LinearCoupling,
    Network,
    Plan,
    Raw,
    ReducedWongWang,
    Solution,
    SubSample,
    TemporalAverage,
    prepare,
)

T1, DT, N_STEPS = 2.0, 0.1, 20
MONITORS = {
    "Raw": (Raw(), DT * np.arange(1, 21)),
    "SubSample": (SubSample(5), 5 * DT * np.arange(1, 5)),
    "TemporalAverage": (TemporalAverage(5), 5 * DT * np.arange(4) + 3 * DT),
}


@pytest.fixture(scope="module", params=SOLVERS, ids=solver_id)
def noisy(request):
    """``(solver, network, solve_fn, config)`` of a small noisy network."""
    network = rww_network(n=3, sigma=1e-2)
    solve_fn, config = prepare(network, request.param, 0.0, T1, DT)
    return request.param, network, solve_fn, config


@pytest.mark.parametrize("solver", SOLVERS, ids=solver_id)
@pytest.mark.parametrize("monitor", MONITORS)
def test_shapes_times_and_reproducible(solver, monitor):
    skip_unsupported(solver, monitor)
    monitor, ts = MONITORS[monitor]
    solve_fn, config = prepare(
        rww_network(n=3, sigma=None), solver, 0.0, T1, DT, monitor
    )
    sol = solve_fn(config)
    np.testing.assert_array_equal(solve_fn(config).ys, sol.ys)  # reproducible
    assert sol.ys.shape == (len(ts), 1, 3)
    assert sol.ts.dtype == sol.ys.dtype == jnp.result_type(float)
    np.testing.assert_allclose(sol.ts, ts, rtol=1e-6)
    assert np.all(np.isfinite(sol.ys))


def test_jit_equals_eager(noisy):
    solver, network, solve_fn, config = noisy
    eager = solver.build(network, Plan.recording(0.0, DT, N_STEPS))(config)
    jitted = solve_fn(config)
    np.testing.assert_array_equal(eager.ts, jitted.ts)
    np.testing.assert_allclose(eager.ys, jitted.ys, rtol=1e-6, atol=1e-8)


def test_vmap_over_a_leaf_equals_loop(noisy):
    _, _, solve_fn, config = noisy
    Gs = jnp.linspace(0.1, 1.0, 3)

    def run(G):
        return solve_fn(replace_leaf(config, "coupling.instant.G", G)).ys

    batched = jax.jit(jax.vmap(run))(Gs)
    looped = jnp.stack([run(G) for G in Gs])
    np.testing.assert_allclose(batched, looped, rtol=1e-6, atol=1e-7)
    assert not np.allclose(batched[0], batched[-1])


def test_same_key_same_trajectory_other_keys_differ(noisy):
    _, _, solve_fn, config = noisy
    keys = jax.random.split(jax.random.key(1), 2)

    def run(key):
        return solve_fn(replace_leaf(config, "noise.key", key)).ys

    np.testing.assert_array_equal(run(keys[0]), run(keys[0]))
    assert not np.allclose(run(keys[0]), run(keys[1]))
    assert not np.allclose(run(keys[0]), solve_fn(config).ys)


def test_key_sweep_on_two_devices_equals_direct_solves(noisy):
    _, _, solve_fn, config = noisy
    sweep = copy.deepcopy(config)
    sweep.noise.key = DataAxis(jax.random.split(jax.random.key(3), 2))
    space = Space(sweep, mode="product")

    def observe(cfg):
        return solve_fn(cfg).ys

    result = ParallelExecution(observe, space, n_vmap=1, n_pmap=2, progress=False)
    outputs = np.asarray(result.run().outputs)
    direct = np.stack([observe(space[i]) for i in range(len(space))])
    np.testing.assert_allclose(outputs, direct, rtol=1e-5, atol=1e-8)
    assert not np.allclose(outputs[0], outputs[1])


@pytest.mark.parametrize("solver", SOLVERS, ids=solver_id)
def test_one_trace_for_many_parameter_values(solver):
    traces = []

    class Counting(Linear):
        def derivative(self, t, state, coupling, params):
            traces.append(1)
            return super().derivative(t, state, coupling, params)

    network = Network(
        Counting(), {"c": LinearCoupling("x", G=0.1)}, DenseGraph(np.ones((3, 3)))
    )
    solve_fn, config = prepare(network, solver, 0.0, 1.0, 0.1)
    solve_fn(config)
    first = len(traces)
    for G in (0.2, 0.3):
        config.coupling.c.G = jnp.asarray(G, jnp.float32)
        config.dynamics.tau = jnp.asarray(1.0 + G, jnp.float32)
        solve_fn(config)
    assert len(traces) == first > 0


def _delayed_network():
    graph = DenseDelayGraph(all_to_all(2), np.full((2, 2), 0.3))
    return Network(ReducedWongWang(), {"d": DelayedLinearCoupling("S")}, graph)


def _run_feature(solver, feature):
    if feature == "delays":
        solve_fn, config = prepare(_delayed_network(), solver, 0.0, 1.0, 0.1)
    elif feature == "TemporalAverage":
        monitor = TemporalAverage(5)
        solve_fn, config = prepare(rww_network(n=2), solver, 0.0, 1.0, 0.1, monitor)
    else:
        solve_fn, config = prepare(rww_network(n=2), solver, 0.0, 1.0, 0.1)
        config.noise_samples = jnp.zeros((10, 1, 2))
    return solve_fn(config).ys


@pytest.mark.parametrize("solver", SOLVERS, ids=solver_id)
@pytest.mark.parametrize("feature", ["delays", "TemporalAverage", "noise_samples"])
def test_feature_runs_or_is_refused_clearly(solver, feature):
    match = refusal(solver, feature)
    if match is None:
        assert np.all(np.isfinite(_run_feature(solver, feature)))
    else:
        with pytest.raises(ValueError, match=match):
            _run_feature(solver, feature)


def test_solver_builds_what_prepare_jits():
    calls = []

    class Constant(AbstractSolver):
        """Holds the initial state: enough to see prepare dispatch to build."""

        def build(self, network, plan):
            monitor = repr(plan.monitor)
            calls.append((plan.t0, plan.dt, plan.n_steps, monitor, plan.unroll))

            def solve(config):
                y0 = jnp.asarray(config.initial_state)
                return Solution(plan.times(), jnp.stack([y0] * plan.n_steps))

            return solve

    solve_fn, config = prepare(rww_network(n=2), Constant(), 0.0, 0.5, 0.1, unroll=2)
    ts, ys, _, _ = solve_fn(config)  # ts, ys, observed, final
    assert calls == [(0.0, 0.1, 5, "Raw()", 2)]
    assert ys.shape == (5, 1, 2) and np.all(ys == 0.1)


def test_abstract_solver_needs_build():
    with pytest.raises(TypeError, match="abstract method.*build"):
        AbstractSolver()


@pytest.mark.parametrize(
    ("t0", "t1", "dt", "error", "match"),
    [
        (0.0, 1.0, 0.0, ValueError, "dt must be > 0"),
        (1.0, 1.0, 0.1, ValueError, "t1 must be > t0"),
        (0.0, float("inf"), 0.1, ValueError, "t1 must be finite"),
        (0.0, "5", 0.1, TypeError, "t1 must be a Python number"),
        (True, 1.0, 0.1, TypeError, "t0 must be a Python number"),
        (
            0.0,
            100.0,
            200.0,
            ValueError,
            r"dt must be at most the run's length t1 - t0 = 100 ms \(t0=0\.0, "
            r"t1=100\.0\), got dt=200\.0: one step would overshoot the run",
        ),
        (0.0, 1.0, float("nan"), ValueError, "dt must be finite"),
    ],
)
def test_bad_time_grid(t0, t1, dt, error, match):
    with pytest.raises(error, match=match):
        prepare(rww_network(), Heun(), t0, t1, dt)


def test_number_of_steps_is_the_run_over_dt_to_round_off():
    # 1.1 / 0.1 is 11.000000000000002: 11 steps, where arange makes 12
    for t1, dt, n_steps in ((5.0, 0.1, 50), (1.1, 0.1, 11), (2.0, 0.25, 8)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            solve_fn, config = prepare(rww_network(n=2, sigma=None), Heun(), 0, t1, dt)
        # the shape of the solve's output, traced without compiling
        assert jax.eval_shape(solve_fn, config).ys.shape[0] == n_steps


def test_a_dt_that_does_not_divide_the_run_warns_naming_the_end():
    with pytest.warns(
        UserWarning,
        match=r"dt=0\.3 does not divide the run t1 - t0 = 1 ms \(3\.33333 steps\): "
        r"it takes 4 steps \(len\(jnp\.arange\(t0, t1, dt\)\)\) and ends at "
        r"1\.2 ms, not t1=1\.0",
    ):
        solve_fn, config = prepare(rww_network(n=2, sigma=None), Heun(), 0.0, 1.0, 0.3)
    ys = jax.eval_shape(solve_fn, config).ys
    assert ys.shape[0] == len(jnp.arange(0.0, 1.0, 0.3)) == 4


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"network": "net"}, TypeError, "network must be a Network"),
        ({"solver": "heun"}, TypeError, r"solver must be Euler\(\), Heun\(\)"),
        ({"solver": diffrax.Heun()}, TypeError, "or another AbstractSolver"),
        ({"monitor": 10}, TypeError, "monitor must be Raw"),
        ({"monitor": SubSample(7)}, ValueError, "not a multiple of monitor.every=7"),
        ({"unroll": 0}, ValueError, "`unroll` must be a positive int, got unroll=0"),
        ({"unroll": 1.5}, TypeError, "`unroll` must be a positive int, got float"),
    ],
)
def test_bad_prepare_arguments(kwargs, error, match):
    args = {"network": rww_network(), "solver": Heun(), "t0": 0.0, "t1": 1.0}
    args.update(dt=0.1, **kwargs)
    with pytest.raises(error, match=match):
        prepare(**args)
