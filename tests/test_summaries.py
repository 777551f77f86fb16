"""Summaries of a Result: best points, marginals, masks; notebook views."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from sweepjax import (
    DataAxis,
    GridAxis,
    LogGridAxis,
    ParallelExecution,
    Result,
    Space,
    store_info,
)


@pytest.fixture(scope="module")
def result():
    """G [3] x sigma [2] x 2 replicate keys; one NaN (a failed point)."""
    space = Space(
        {
            "G": GridAxis(0.0, 1.0, 3),
            "sigma": LogGridAxis(1e-3, 1e-1, 2),
            "key": DataAxis(jax.random.split(jax.random.key(0), 2)),
        },
        mode="product",
    )
    y = np.array([1, 3, 2, 4, 5, 7, 6, 8, 0, 2, np.nan, 9], dtype=float)
    fc = np.zeros((12, 2, 2))
    return Result(space, {"y": y, "fc": fc})


def test_best_averages_replicates_and_never_ranks_nan(result):
    # points run G, key, sigma (sigma fastest); per (G, sigma) over the keys
    # the means are 1.5, 3.5 | 5.5, 7.5 | 0 (the NaN skipped), 5.5
    best = result.best("y", k=3)
    assert best["y"].tolist() == [7.5, 5.5, 5.5]
    assert best[["G", "sigma"]].to_numpy().tolist() == [
        [0.5, pytest.approx(0.1)],
        [0.5, pytest.approx(0.001)],
        [1.0, pytest.approx(0.1)],
    ]
    assert best["point"].tolist() == [5, 4, 9]
    assert best["y.spread"].tolist() == pytest.approx([0.7071, 0.7071, 4.9497], 1e-3)
    low = result.argmin("y")
    assert (low["G"], low["y"], low["n"], low["point"]) == (1.0, 0.0, 1, 8)
    assert result.argmax("y")["y"] == 7.5


def test_marginals_reduce_the_other_axes_and_the_replicates(result):
    marginal = result.marginals("y")
    assert sorted(marginal) == ["G", "sigma"]
    g = marginal["G"]
    assert g.index.tolist() == [0.0, 0.5, 1.0]
    assert g["mean"].tolist() == [2.5, 6.5, 2.75]
    assert g["min"].tolist() == [1.5, 5.5, 0.0]
    assert g["max"].tolist() == [3.5, 7.5, 5.5]
    assert g["spread"].tolist() == pytest.approx([0.7071, 0.7071, 2.4749], 1e-3)


def test_where_is_a_labelled_mask_on_a_grid_and_a_series_otherwise(result):
    mask = result.where("y > 5 and G > 0.6")
    assert mask.dims == ("G", "key", "sigma") and mask.dtype == bool
    assert int(mask.sum()) == 1 and bool(mask.sel(G=1.0).isel(key=1, sigma=1))
    sliced = result[3:6].where("`y` >= 5")
    assert sliced.tolist() == [False, True, True]


def test_summaries_refuse_bad_arguments_naming_them(result):
    with pytest.raises(ValueError, match=r"`output` must name one of .* got 'z'"):
        result.best("z")
    with pytest.raises(ValueError, match=r"`output` 'fc' holds an array per point"):
        result.argmax("fc")
    with pytest.raises(ValueError, match=r"`mode` must be 'max' or 'min', got 'up'"):
        result.best("y", mode="up")
    with pytest.raises(ValueError, match=r"`k` must be a positive int, got 0"):
        result.best("y", k=0)
    with pytest.raises(ValueError, match=r"`by` names \['key'\]"):
        result.reduced("y", by=["key"])
    with pytest.raises(TypeError, match=r"`condition` must be a str expression"):
        result.where(lambda df: df.y > 1)
    with pytest.raises(ValueError, match=r"could not be evaluated.*backticks"):
        result.where("nope > 1")
    with pytest.raises(ValueError, match=r"must give True/False per point"):
        result.where("y + 1")


def test_notebook_views_show_axes_outputs_failures_and_progress(result, tmp_path):
    space_html = result.space._repr_html_()
    assert "12 points, mode &#x27;product&#x27;" in space_html
    assert "<td>LogGridAxis</td>" in space_html and "its table takes" in space_html
    html = result._repr_html_()
    # the output y has one failed point; the head shows the first 5 points
    assert "<td>y</td><td>()</td><td>float64</td><td>1</td>" in html
    assert "first 5 points" in html
    space = Space({"x": GridAxis(0.0, 1.0, 6)})
    ParallelExecution(lambda s: s["x"], space, progress=False).run(
        store=tmp_path / "s.zarr", chunk_size=2
    )
    view = store_info(tmp_path / "s.zarr")._repr_html_()
    assert "3/3 chunks, 6/6 points (100.0%)" in view
    assert view.count("background:#4a4") == 3  # one green cell per done chunk
