"""A study's figure composed from the library's figures: panels and save, a
search's front and progress, several simulated FCs beside the data."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import xarray as xr

from sweepjax import DataAxis, GridAxis, Result, Space, plot

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

#: Two objectives of 6 points over 3 generations; (0, 3), (1, 1), (3, 0) are
#: the front, (2, 2) and (4, 4) are dominated, one point failed.
FITNESS = np.array(
    [[4.0, 4.0], [np.nan, 1.0], [2.0, 2.0], [3.0, 0.0], [0.0, 3.0], [1.0, 1.0]]
)


@pytest.fixture(scope="module")
def history():
    space = Space({"x": DataAxis(np.arange(6.0))})
    record = {
        "generation": np.repeat(np.arange(3), 2),
        "member": np.tile(np.arange(2), 3),
        "fitness": FITNESS,
        "fc_loss": FITNESS[:, 0],
    }
    return Result(space, record)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_front_colours_the_non_dominated_points_and_greys_the_rest(history):
    labels = {0: "1 - FC corr", 1: "FCD KS"}
    fig = plot.front(history, 0, 1, labels=labels)
    (ax,) = fig.axes
    (line,) = [ln for ln in ax.lines if ln.get_gid() == plot.FRONT_GID]
    assert line.get_xdata().tolist() == [0.0, 1.0, 3.0]
    assert line.get_ydata().tolist() == [3.0, 1.0, 0.0]
    grey = [ln for ln in ax.lines if ln.get_label() == "dominated"][0]
    assert sorted(grey.get_xdata().tolist()) == [2.0, 4.0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("1 - FC corr", "FCD KS")
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Pareto front (3 points)" in texts and "1 failed (not drawn)" in texts
    by_name = plot.front(history, "fc_loss", 1)  # a scalar output by its name
    assert by_name.axes[0].get_xlabel() == "fc_loss"
    with pytest.raises(ValueError, match=r"`fitness` has 2 objective\(s\); column 2"):
        plot.front(history, 0, 2)
    with pytest.raises(ValueError, match=r"no output 'nope'"):
        plot.front(history, "nope", 1)
    with pytest.raises(TypeError, match=r"must be a sweepjax.SearchResult"):
        plot.front(FITNESS)


def test_progress_draws_the_best_and_median_of_each_generation(history):
    fig = plot.progress(history, labels={0: "1 - FC corr", 1: "FCD KS"})
    (ax,) = fig.axes
    lines = {ln.get_label(): ln for ln in ax.lines}
    assert sorted(lines) == [
        "1 - FC corr: best",
        "1 - FC corr: median",
        "FCD KS: best",
        "FCD KS: median",
    ]
    assert lines["1 - FC corr: best"].get_xdata().tolist() == [0, 1, 2]
    assert lines["1 - FC corr: best"].get_ydata().tolist() == [4.0, 2.0, 0.0]
    assert lines["FCD KS: median"].get_ydata().tolist() == [2.5, 1.0, 2.0]
    assert ax.get_xlabel() == "generation"
    assert all(float(t).is_integer() for t in ax.get_xticks())
    one = plot.progress(history, "fc_loss").axes[0]
    assert [ln.get_label() for ln in one.lines] == ["fc_loss: best", "fc_loss: median"]
    no_generations = Result(history.space, {"fitness": FITNESS[:, 0]})
    with pytest.raises(ValueError, match=r"no `generation` output"):
        plot.progress(no_generations)


@pytest.fixture(scope="module")
def small():
    """y over G [2] x w [2], of both signs."""
    space = Space(
        {"G": GridAxis(0.0, 1.0, 2), "w": GridAxis(0.0, 1.0, 2)}, mode="product"
    )
    return Result(space, {"y": np.arange(4.0) - 1.0})


def test_heatmap_colours_span_the_data_and_ticks_sit_on_the_grid(small):
    (ax, _) = plot.heatmap(small, "y", x="G", y="w", best=None).axes
    assert ax.collections[0].get_clim() == (-1.0, 2.0)  # not centred on 0
    assert ax.get_xticks().tolist() == [0.0, 1.0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "1"]


def test_panels_keep_their_titles_and_save_closes_the_figure(small, tmp_path):
    result = small
    fig, axes = plot.panels(3, ncols=2, titles=["map", None, "fc"], title="study")
    assert len(axes) == 3 and len(fig.axes) == 3  # the 4th cell is removed
    plot.heatmap(result, "y", x="G", y="w", ax=axes[0])
    assert axes[0].get_title() == "map" and fig.get_suptitle() == "study"
    path = plot.save(fig, tmp_path / "study.png", dpi=40)
    assert path.stat().st_size > 1000 and not plt.fignum_exists(fig.number)
    with pytest.raises(ValueError, match=r"`titles` must hold one title .* \(3\)"):
        plot.panels(3, titles=["a"])
    with pytest.raises(ValueError, match=r"`n` must be a positive int"):
        plot.panels(0)


def test_fc_draws_several_simulated_matrices_each_with_its_r():
    emp = np.array([[1.0, 0.5, 0.2], [0.5, 1.0, 0.1], [0.2, 0.1, 1.0]])
    same, other = emp.copy(), emp.copy()
    other[0, 2] = other[2, 0] = 0.9
    fig = plot.fc(np.stack([same, other]), emp, titles=["best FC", "best FCD", "data"])
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert titles == [
        "best FC (r = 1.00 with empirical)",
        "best FCD (r = 0.24 with empirical)",
        "data",
    ]
    with pytest.raises(ValueError, match=r"`titles` must hold one title per matrix"):
        plot.fc([same, other], emp, titles=["a", "b"])
    with pytest.raises(ValueError, match=r"must all be \[n_regions, n_regions\]"):
        plot.fc(same, np.eye(2))


def test_regimes_name_each_category_and_draw_one_line_per_border():
    codes = xr.DataArray(
        [[0, 0, 3], [0, 1, 3]],
        dims=("G", "eta"),
        coords={"G": [0.0, 0.5], "eta": [-6.0, -4.0, -2.0]},
    )
    fig = plot.regimes(codes, "eta", "G", names={0: "fixed point", 3: "bistable"})
    (ax,) = fig.axes
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["fixed point", "1", "bistable"]  # an unnamed code: its number
    borders = ax.collections[-1]  # after the map
    assert [(s[0][0], s[1][0]) for s in borders.get_segments()] == [
        (-3.0, -3.0),  # 0 | 3 in the first row, at the cells' edge
        (-5.0, -5.0),  # 0 | 1 and 1 | 3 in the second
        (-3.0, -3.0),
        (-5.0, -3.0),  # 0 over 1: a horizontal edge at G = 0.25
    ]
    with pytest.raises(TypeError, match=r"`values` must be an xarray.DataArray"):
        plot.regimes(codes.values, "eta", "G")


def test_branches_draw_a_colour_per_hue_and_a_style_per_branch():
    rate = xr.DataArray(
        np.arange(12.0).reshape(2, 2, 3),
        dims=("G", "branch", "eta"),
        coords={"G": [0.1, 0.2], "branch": ["up", "down"], "eta": [-6.0, -4.0, -2.0]},
    )
    (ax,) = plot.branches(rate, "eta", "G", name="rate r").axes
    styles = [(ln.get_label(), ln.get_linestyle(), ln.get_color()) for ln in ax.lines]
    assert styles == [
        ("G = 0.1, up", "-", "C0"),
        ("G = 0.1, down", "--", "C0"),
        ("G = 0.2, up", "-", "C1"),
        ("G = 0.2, down", "--", "C1"),
    ]
    assert ax.lines[1].get_ydata().tolist() == [3.0, 4.0, 5.0]
    with pytest.raises(ValueError, match=r"no dimension 'branch'"):
        plot.branches(rate.sel(branch="up"), "eta", "G")


def test_points_colour_by_value_on_a_named_colour_bar_and_mark_the_truth():
    fig = plot.points([1.0, 2.0], [3.0, 4.0], [0.1, 0.5], name="loss", truth=(1, 3))
    ax, bar = fig.axes
    assert bar.get_ylabel() == "loss"
    fitted, truth = ax.collections[:2]
    assert fitted.get_array().tolist() == [0.1, 0.5]
    assert truth.get_offsets().tolist() == [[1.0, 3.0]]
    with pytest.raises(ValueError, match=r"one number per point"):
        plot.points([1.0, 2.0], [3.0])


def test_region_names_of_interleaved_hemispheres_show_both():
    names = [f"r{k // 2}_{'LR'[k % 2]}" for k in range(80)]  # L, R, L, R...
    (ax, _) = plot.fc(np.eye(80), labels=names).axes
    shown = [t.get_text() for t in ax.get_xticklabels()]
    assert 10 <= len(shown) <= 20
    assert {name[-1] for name in shown} == {"L", "R"}
