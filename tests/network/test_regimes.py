"""Random starts (replicates) and the regime classifier."""

from __future__ import annotations

import pathlib
import runpy

import jax
import numpy as np
import pytest
import xarray as xr

from sweepjax import Space
from sweepjax.network import (
    Continuation,
    DelayedLinearCoupling,
    DenseDelayGraph,
    DenseGraph,
    Heun,
    Lorenz,
    Lyapunov,
    Network,
    ReducedWongWang,
    Std,
    SupHopf,
    classify_regimes,
    combine_replicates,
    prepare,
    random_starts,
    regime_names,
    replicates,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def delayed():
    """A delayed 3-node RWW network (S bounded in [0, 1]), never solved here."""
    network = Network(
        ReducedWongWang(),
        {"d": DelayedLinearCoupling("S", G=0.5)},
        DenseDelayGraph(np.ones((3, 3)) - np.eye(3), np.full((3, 3), 0.3)),
    )
    return prepare(network, Heun(), 0.0, 1.0, 0.1, final_state=True)


def test_random_starts_lie_in_the_bounds_with_a_key_per_replicate(delayed):
    solve_fn, config = delayed
    key = jax.random.key(0)
    starts = random_starts(solve_fn, config, key, 2)
    assert starts.y.shape == (2, 1, 3) and starts.history.shape == (2, 4 * 3, 1)
    assert (starts.y >= 0).all() and (starts.y <= 1).all()
    np.testing.assert_array_equal(starts.step, 0)
    # each history slot comes from its own draw; S is sent as it is
    slots = np.asarray(starts.history[0, :, 0]).reshape(4, 3)
    assert len(np.unique(slots[:, 0])) == 4
    assert (slots >= 0).all() and (slots <= 1).all()
    # a box (the same program: boxes are its inputs)
    boxed = random_starts(solve_fn, config, key, 2, {"S": (0.2, 0.3)})
    assert (boxed.y >= 0.2).all() and (boxed.y <= 0.3).all()
    assert (boxed.history >= 0.2).all() and (boxed.history <= 0.3).all()
    # an axis of replicates
    config.start = replicates(solve_fn, config, key, 2)
    space = Space(config)
    assert len(space) == 2
    np.testing.assert_array_equal(space[1].start.y, starts.y[1])
    config.start = None


def test_random_starts_refusals(delayed):
    solve_fn, config = delayed
    hopf = Network(SupHopf(), None, DenseDelayGraph(np.zeros((1, 1)), np.zeros((1, 1))))
    free, free_config = prepare(hopf, Heun(), 0.0, 1.0, 0.1, final_state=True)
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="state 'x' need finite bounds"):
        random_starts(free, free_config, key, 2)
    with pytest.raises(ValueError, match=r"box names unknown states \['V'\]"):
        random_starts(solve_fn, config, key, 2, box={"V": (0, 1)})
    with pytest.raises(ValueError, match="n must be a positive int"):
        random_starts(solve_fn, config, key, 0)
    with pytest.raises(TypeError, match="solve_fn must be a solve from prepare"):
        random_starts(lambda c: c, config, key, 2)


def test_classify_regimes_and_combine_replicates():
    std = np.array([[0.0, 1e-5], [0.2, 0.2], [0.2, 0.3], [0.2, 0.0]])
    lyap = np.array([[-1.0, -1.0], [0.0, 0.0], [0.5, 0.5], [0.0, -1.0]])
    codes = classify_regimes(std, lyap)
    np.testing.assert_array_equal(codes, [[0, 0], [1, 1], [2, 2], [1, 0]])
    combined = combine_replicates(codes, std, axis=1)
    np.testing.assert_array_equal(combined, [0, 1, 3, 3])
    assert list(regime_names(combined)) == [
        "fixed point",
        "limit cycle",
        "multistable",
        "multistable",
    ]
    # thresholds are arguments: a noisy rest state is a fixed point at 1e-3
    np.testing.assert_array_equal(classify_regimes([5e-4], fixed_tol=1e-3), [0])
    # xarray in, xarray out, replicates named by dimension
    da = xr.DataArray(std, dims=("G", "replicate"), coords={"G": [1, 2, 3, 4]})
    regime = combine_replicates(classify_regimes(da, lyap), da, axis="replicate")
    assert regime.dims == ("G",) and list(regime.values) == [0, 1, 3, 3]
    with pytest.raises(ValueError, match="lyapunov must have the shape of std"):
        classify_regimes(std, lyap[:, 0])
    with pytest.raises(ValueError, match="fixed_tol must be finite and >= 0"):
        classify_regimes(std, fixed_tol=-1.0)
    with pytest.raises(TypeError, match="axis may name a dimension"):
        combine_replicates(codes, axis="replicate")


def test_chaos_is_named_from_the_exponent_computed_in_the_continuation():
    """Lorenz ramped through rho = 10 (a stable fixed point) and 28 (chaos):
    the Lyapunov observer runs inside the continuation's program (which
    carries the state from one value to the next), and its exponent, not
    the std, tells the chaotic value from a limit cycle."""
    network = Network(Lorenz(), None, DenseGraph(np.zeros((1, 1))))
    solve_fn, config = prepare(
        network,
        Heun(),
        0.0,
        30.0,
        0.01,
        observe={"std": Std("x"), "lyap": Lyapunov(renormalize_ms=0.5)},
        transient=10.0,
        final_state=True,
    )
    out = Continuation(solve_fn, "dynamics.rho", [10.0, 28.0])(config)
    std, lyap = np.asarray(out["std"])[0, :, 0], np.asarray(out["lyap"])[0]
    assert lyap[0] < 0 < 0.5 < lyap[1] < 1.3  # Lorenz at rho 28: 0.906
    codes = classify_regimes(std, lyap, fixed_tol=1e-2, chaos_tol=0.1)
    assert list(regime_names(codes)) == ["fixed point", "chaos"]
    # without the exponent the chaotic value passes for a limit cycle
    assert list(classify_regimes(std, fixed_tol=1e-2)) == [0, 1]


def test_regime_map_example_runs(capsys, tmp_path):
    example = runpy.run_path(str(ROOT / "examples" / "regime_map.py"))
    out = example["main"](quick=True, figure=str(tmp_path / "map.png"))
    assert "68 regions, 2 G x 6 eta, up and down" in capsys.readouterr().out
    regime = out["regime"]
    assert regime.dims == ("coupling.delayed.G", "dynamics_eta")
    assert set(np.unique(regime.values)) <= {0, 1, 2, 3}
    # the exponent came out of the same program, one per (G, branch, eta)
    assert out["lyap"].shape == (2, 2, 6) and np.isfinite(out["lyap"]).all()
    assert (tmp_path / "map.png").stat().st_size > 10_000
