"""Continuation scans: branches, hysteresis, batching, and the bifurcations
of the Hopf normal forms."""

from __future__ import annotations

import copy

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax import GridAxis, ParallelExecution, Space
from sweepjax.network import (
    AbstractDynamics,
    AdditiveNoise,
    Continuation,
    DenseGraph,
    Heun,
    Mean,
    Network,
    Std,
    SupHopf,
    classify_regimes,
    combine_replicates,
    prepare,
    replicates,
)
from sweepjax.network._continuation import with_leaf
from sweepjax.network._regimes import FIXED_POINT, LIMIT_CYCLE, MULTISTABLE

#: 100 steps of dt = 0.1 per period: an observation window of whole periods
#: makes the std of x amplitude / sqrt(2); slow enough that Heun's growth
#: of a rotation (omega * dt)**4 / 8 per step is negligible.
OMEGA = float(np.pi / 5)
DT = 0.1


class SubcriticalHopf(AbstractDynamics):
    """``r' = lam r + r^3 - r^5``, ``theta' = omega``: a stable cycle from
    ``lam = -1/4`` (a fold of cycles) and a rest state stable below 0."""

    state_names = ("x", "y")
    default_parameters = {"lam": -0.5, "omega": OMEGA}
    default_initial_state = {"x": 0.0, "y": 0.0}
    coupling_inputs = {"c": 2}

    def derivative(self, t, state, coupling, params):
        x, y = state
        r2 = x**2 + y**2
        growth = params.lam + r2 - r2**2
        return jnp.stack([growth * x - params.omega * y, growth * y + params.omega * x])


def one_node(dynamics, noise=None) -> Network:
    return Network(dynamics, None, DenseGraph(np.zeros((1, 1))), noise=noise)


def amplitude(std):
    return np.sqrt(2) * np.asarray(std)[..., 0]


@pytest.fixture(scope="module")
def hopf():
    """A jitted up-and-down continuation of SupHopf in ``a``; 2 nodes."""
    network = Network(
        SupHopf(omega=OMEGA), None, DenseGraph(np.zeros((2, 2))), initial_state=0.1
    )
    solve_fn, config = prepare(
        network,
        Heun(),
        0.0,
        90.0,
        DT,
        observe={"std": Std("x")},
        transient=50.0,
        final_state=True,
    )
    values = np.array([-0.2, 0.09, 0.16, 0.25, 0.36])
    scan = Continuation(solve_fn, "dynamics.a", values, down=True)
    return solve_fn, config, scan, jax.jit(scan)


def test_suphopf_amplitude_is_sqrt_a(hopf):
    _, config, scan, jitted = hopf
    std = jitted(config)["std"]  # [branch, value, n_nodes]
    assert std.shape == (2, 5, 2)
    expected = np.sqrt(np.maximum(scan.values, 0.0))
    # down from the cycle: the amplitude follows sqrt(a), then dies below 0
    np.testing.assert_allclose(amplitude(std[1]), expected, atol=1e-2)
    # up from rest: an instability of rate a grows from the decayed state
    # (~1e-6 after a = -0.2) within the 50 ms of settling only from a ~ 0.25
    np.testing.assert_allclose(
        amplitude(std[0])[[0, 3, 4]], expected[[0, 3, 4]], atol=1e-2
    )
    assert amplitude(std[0])[1] < 1e-2


def test_continuation_equals_a_hand_written_scan(hopf):
    solve_fn, config, scan, jitted = hopf

    @jax.jit
    def by_hand(config):
        def step(state, a):
            point = with_leaf(config, "dynamics.a", a)
            point.start = state
            solution = solve_fn(point)
            return solution.final, solution.observed["std"]

        values = jnp.asarray(scan.values, jnp.float32)
        state, up = jax.lax.scan(step, solve_fn.start_of(config), values)
        _, down = jax.lax.scan(step, state, values[::-1])
        return jnp.stack([up, down[::-1]])

    np.testing.assert_array_equal(jitted(config)["std"], by_hand(config))


def test_batched_diagram_equals_one_continuation_per_row(hopf):
    _, config, scan, jitted = hopf
    sweep = copy.deepcopy(config)
    sweep.initial_state = GridAxis(0.05, 0.6, 3)
    space = Space(sweep, mode="product")
    result = ParallelExecution(scan, space, n_vmap=3, progress=False).run()
    for i, x0 in enumerate([0.05, 0.325, 0.6]):
        row = copy.deepcopy(config)
        row.initial_state = jnp.full_like(config.initial_state, x0)  # same program
        np.testing.assert_allclose(
            result.outputs["std"][i], jitted(row)["std"], rtol=1e-6, atol=1e-7
        )
    table = scan.to_dataframe(result)
    assert len(table) == 3 * 2 * 5
    assert list(table["branch"].cat.categories) == ["up", "down"]
    ds = scan.to_xarray(result)
    assert ds["std"].dims == ("initial_state", "branch", "dynamics_a", "std_dim_0")
    assert float(ds["std"].sel(branch="down", dynamics_a=0.25)[0, 0]) > 0.3


def test_subcritical_hopf_hysteresis_and_bistable_replicates():
    network = one_node(SubcriticalHopf(), AdditiveNoise(1e-4, jax.random.key(0)))
    settle, window = 50.0, 40.0
    solve_fn, config = prepare(
        network,
        Heun(),
        0.0,
        settle + window,
        DT,
        observe={"std": Std("x")},
        transient=settle,
        final_state=True,
    )
    step = 0.05
    values = np.round(np.arange(-0.4, 0.2 + 1e-9, step), 2)
    scan = Continuation(solve_fn, "dynamics.lam", values, down=True)
    large = amplitude(jax.jit(scan)(config)["std"]) > 0.3  # [branch, value]
    # up: the rest state loses stability at 0; the jump lags by the time an
    # instability of rate lam takes to grow from the noise (~1e-4) within
    # the settling time: lam * 50 ~ ln(1e4) at about lam = 0.18
    onset = values[np.argmax(large[0])]
    assert 0.0 <= onset <= 0.2
    assert not large[0][values < 0].any()
    # down: the cycle lives on down to the fold at lam = -1/4
    fold = values[large[1]].min()
    assert -0.25 - step <= fold <= -0.25 + step
    assert large[1][values >= fold].all()
    # replicates at lam = -0.1 from random starts settle on either state
    points = copy.deepcopy(config)
    points.dynamics.lam = -0.1
    box = {"x": (-0.5, 0.5), "y": (-0.5, 0.5)}
    points.start = replicates(solve_fn, points, jax.random.key(3), 8, box)
    result = ParallelExecution(
        lambda c: solve_fn(c).observed, Space(points), n_vmap=8, progress=False
    ).run()
    std = result.outputs["std"][:, 0]  # [replicate]
    assert (amplitude(result.outputs["std"]) > 0.3).any()
    codes = classify_regimes(std, fixed_tol=1e-3)
    assert set(codes) == {FIXED_POINT, LIMIT_CYCLE}
    assert combine_replicates(codes, std, axis=0) == MULTISTABLE


def test_same_branches_as_tvboptim_adiabatic_scan(x64):
    """TVB-Optim 0.4.0's ``adiabatic_scan`` (up then down, the last state
    carried, statistics after ``skip``) on the same network and settings:
    its per-value mean and max of the nodes' time means are ours."""
    scan_module = pytest.importorskip(
        "tvboptim.experimental.network_dynamics.analysis.adiabatic_scan"
    )
    from tvboptim.experimental.network_dynamics.core.network import Network as TNet
    from tvboptim.experimental.network_dynamics.dynamics.tvb.sup_hopf import (
        SupHopf as TSupHopf,
    )
    from tvboptim.experimental.network_dynamics.graph.base import DenseGraph as TGraph
    from tvboptim.experimental.network_dynamics.solvers.native import Heun as THeun

    weights = np.array([[0, 1.0], [0.5, 0]])  # uncoupled: a graph, no coupling
    theirs = scan_module.adiabatic_scan(
        TNet(TSupHopf(omega=0.6), {}, TGraph(weights)),
        THeun(),
        accessor=lambda c: c.dynamics.a,
        low=-0.5,
        high=0.5,
        n=5,
        t=30.0,
        skip=15.0,
        dt=0.1,
        bothways=True,
    )
    network = Network(
        SupHopf(omega=0.6), None, DenseGraph(weights), initial_state=[[0.1], [0.0]]
    )
    solve_fn, config = prepare(
        network,
        Heun(),
        0.0,
        30.0,
        0.1,
        observe={"mean": Mean("x")},
        transient=15.0,
        final_state=True,
    )
    scan = Continuation(solve_fn, "dynamics.a", np.linspace(-0.5, 0.5, 5), down=True)
    means = np.asarray(scan(config)["mean"])  # [branch, value, node]
    in_scan_order = np.concatenate([means[0], means[1][::-1]])  # up, then down
    np.testing.assert_allclose(
        in_scan_order.mean(-1), theirs.stats.mean, rtol=1e-6, atol=1e-12
    )
    np.testing.assert_allclose(
        in_scan_order.max(-1), theirs.stats.max, rtol=1e-6, atol=1e-12
    )
