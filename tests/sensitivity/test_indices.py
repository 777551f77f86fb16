"""Sobol' and Morris estimators: SALib's numbers on the same samples, the
analytic indices of Ishigami and G inside our intervals, every element of an
array output at once, and a store read in blocks."""

import jax
import numpy as np
import pytest
from SALib.analyze import morris as salib_morris
from SALib.analyze import sobol as salib_sobol
from SALib.sample import morris as salib_morris_sample
from SALib.sample import sobol as salib_sample

from sweepjax import Result, UniformAxis
from sweepjax.sensitivity import (
    MorrisSpace,
    SaltelliSpace,
    _bootstrap,
    morris_arrays,
    morris_indices,
    sobol_arrays,
    sobol_indices,
)

PI = np.pi
G_A = np.array([0.0, 1.0, 4.5, 9.0, 99.0])


def ishigami(x, a=7.0, b=0.1):
    return (
        np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])
    )


def g_function(u, a=G_A):
    return np.prod((np.abs(4 * u - 2) + a) / (1 + a), axis=1)


def g_analytic(a=G_A):
    vi = 1.0 / (3 * (1 + a) ** 2)
    v = np.prod(1 + vi) - 1
    total = np.array([vi[i] * np.prod(np.delete(1 + vi, i)) for i in range(len(a))])
    return vi / v, total / v


def problem(d, low=0.0, high=1.0):
    names = [f"x{i}" for i in range(d)]
    return {"num_vars": d, "names": names, "bounds": [[low, high]] * d}


@pytest.mark.parametrize("second", [False, True])
def test_sobol_equals_salib_on_the_same_samples(second):
    x = salib_sample.sample(problem(3, -PI, PI), 256, calc_second_order=second, seed=4)
    y = ishigami(x)
    ref = salib_sobol.analyze(problem(3), y, calc_second_order=second, seed=2)
    ours = sobol_arrays(y, 3, second, seed=2, block_rows=37)  # blocks of any size
    for key in ours:
        np.testing.assert_allclose(ours[key], ref[key], rtol=0, atol=1e-10)


def test_bootstrap_counts_are_salibs_resamples_drawn_in_chunks(monkeypatch):
    # SALib's draws, row i of resample r at [i, r]; ours come in chunks (here
    # 6 rows, and tiles of 4 rows in them: odd tile ends, 3 resamples) and
    # are kept as counts of each row in each resample
    monkeypatch.setattr(_bootstrap, "DRAW_VALUES", 18)
    monkeypatch.setattr(_bootstrap, "MAX_CHUNKS", 100)
    monkeypatch.setattr(_bootstrap, "_TILE", 4)
    n, n_resamples = 29, 3
    draws = np.random.default_rng(7).integers(n, size=(n, n_resamples))
    expected = [np.bincount(draws[:, r], minlength=n) for r in range(n_resamples)]
    counts = _bootstrap.bootstrap_counts(n, n_resamples, seed=7)
    assert counts.dtype == np.uint8
    # the transposed draws in the narrowest type (SALib's stream all the same)
    kept = _bootstrap._draws(np.random.default_rng(7), n, 6, 3, np.int32)
    assert kept.dtype == np.uint8 and kept.tolist() == draws[:6].T.tolist()
    np.testing.assert_array_equal(counts, expected)
    # a count past 255 widens the counts instead of wrapping around
    wide = _bootstrap.add_counts(np.full((2, 2), 200, np.uint8), 1, np.array([9, 99]))
    assert wide.dtype == np.uint16 and wide.tolist() == [[200, 200], [209, 299]]


def test_a_design_draws_the_default_bootstrap_ahead_and_the_indices_take_it():
    # SaltelliSpace starts drawing sobol_indices' default counts (100
    # resamples, seed 1) in the background; the indices take those, equal
    # to a draw made now, and only a design's own key is kept ahead
    design = SaltelliSpace({"a": UniformAxis(0.0, 1.0, 2)}, n=32)
    ahead = _bootstrap._AHEAD[(design.n_base, 100, 1)]
    counts = _bootstrap.bootstrap_counts(32, 100, 1)
    assert ahead.done() and (32, 100, 1) not in _bootstrap._AHEAD
    np.testing.assert_array_equal(counts, _bootstrap.draw_counts(32, 100, 1))
    SaltelliSpace({"a": UniformAxis(0.0, 1.0, 2)}, n=16)
    assert list(_bootstrap._AHEAD) == [(16, 100, 1)]
    _bootstrap.prefetch_counts(16, seed=None)  # a fresh draw is never made ahead
    assert list(_bootstrap._AHEAD) == [(16, 100, 1)]


def test_every_element_of_an_array_output_equals_salib_on_that_element():
    x = salib_sample.sample(problem(3, -PI, PI), 128, calc_second_order=False, seed=1)
    y = np.stack([ishigami(x), ishigami(x, 2.0, 0.3), np.cos(x[:, 2])], -1)
    y = np.stack([y, 3 * y + 1], 1)  # [points, 2, 3]
    ours = sobol_arrays(y, 3, seed=5)
    assert ours["S1"].shape == (3, 2, 3)
    for i, j in np.ndindex(2, 3):
        ref = salib_sobol.analyze(problem(3), y[:, i, j], False, seed=5)
        for key in ("S1", "S1_conf", "ST", "ST_conf"):
            np.testing.assert_allclose(ours[key][:, i, j], ref[key], atol=1e-10)


@pytest.mark.parametrize(
    ("name", "f", "bounds", "d", "analytic"),
    [
        (
            "ishigami",
            ishigami,
            (-PI, PI),
            3,
            ([0.3139, 0.4424, 0.0], [0.5576, 0.4424, 0.2437]),
        ),
        ("g", g_function, (0.0, 1.0), 5, g_analytic()),
    ],
)
def test_analytic_indices_lie_in_our_95_percent_intervals(name, f, bounds, d, analytic):
    x = salib_sample.sample(problem(d, *bounds), 2**14, calc_second_order=False, seed=3)
    s = sobol_arrays(f(x), d, seed=3)
    for key, exact in zip(("S1", "ST"), analytic, strict=True):
        # 4 decimals: the analytic values are rounded to them
        low = s[key] - s[key + "_conf"] - 5e-5
        high = s[key] + s[key + "_conf"] + 5e-5
        assert np.all((low <= exact) & (exact <= high)), (name, key, s[key], exact)


def test_indices_of_a_result_and_of_its_store_are_the_same(tmp_path):
    state = {"x": UniformAxis(0.0, 1.0, 2), "y": UniformAxis(0.0, 1.0, 2)}
    design = SaltelliSpace(state, 64, second_order=True, key=jax.random.key(1))
    u = design.to_dataframe()[["x", "y"]].to_numpy().astype(np.float64)
    out = {"v": np.stack([u[:, 0] + 0.3 * u[:, 1] ** 2, u[:, 0] * u[:, 1]], -1)}
    result = Result(design, out)
    ds = sobol_indices(result, dims=("which",))
    assert ds["S1"].dims == ("parameter", "which")
    assert ds["S2"].dims == ("parameter", "parameter_2", "which")
    assert list(ds["parameter"].values) == ["x", "y"]
    ref = salib_sobol.analyze(problem(2), out["v"][:, 1], True, seed=1)
    np.testing.assert_allclose(ds["ST"].values[:, 1], ref["ST"], atol=1e-10)
    np.testing.assert_allclose(ds["S2"].values[0, 1, 1], ref["S2"][0, 1], atol=1e-10)
    table = ds.to_dataframe()
    assert {"S1", "ST_conf"} <= set(table.columns) and len(table) == 2 * 2 * 2
    # a store: the Zarr arrays read in blocks of 5 base rows
    import zarr

    root = zarr.open_group(str(tmp_path / "v.zarr"), mode="w")
    root.create_array("v", data=out["v"], chunks=(30, 2))
    blocked = sobol_indices(Result(design, {"v": root["v"]}), block_rows=5)
    np.testing.assert_allclose(blocked["S1"], ds["S1"], atol=1e-12)
    with pytest.raises(TypeError, match="must be the SaltelliSpace"):
        sobol_indices(Result(design[:], out), design=object())
    with pytest.raises(ValueError, match="whole, unsliced design"):
        sobol_indices(Result(design[:10], {"v": out["v"][:10]}))
    with pytest.raises(ValueError, match="not a multiple of 4"):
        sobol_arrays(np.zeros(10), 2)


def test_morris_equals_salib_and_ranks_the_g_function():
    p = problem(5)
    x = salib_morris_sample.sample(p, 40, num_levels=4, seed=2)
    y = g_function(x)
    ref = salib_morris.analyze(p, x, y, num_levels=4, seed=7)
    ours = morris_arrays(x, y, 4, seed=7)
    for key in ours:
        np.testing.assert_allclose(ours[key], ref[key], rtol=0, atol=1e-10)
    axis = UniformAxis(0.0, 1.0, 2)
    design = MorrisSpace({f"x{i}": axis for i in range(5)}, 40, key=jax.random.key(0))
    u = design.to_dataframe()[[f"x{i}" for i in range(5)]].to_numpy()
    out = np.stack([g_function(u), -g_function(u)], -1)
    ds = morris_indices(Result(design, {"g": out}), seed=7)
    ref = salib_morris.analyze(p, design.unit, out[:, 1], num_levels=4, seed=7)
    np.testing.assert_allclose(ds["mu_star_conf"].values[:, 1], ref["mu_star_conf"])
    # smaller a_i matters more: the known ranking, for both elements
    ranking = np.argsort(-ds["mu_star"].values, axis=0)
    assert (ranking.T == np.arange(5)).all()
