"""Figures of a Result: what each panel shows (labels, scales, panels, marks)."""

from __future__ import annotations

import jax
import matplotlib
import numpy as np
import pytest

from sweepjax import DataAxis, GridAxis, LogGridAxis, Result, Space, plot

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(scope="module")
def result():
    """G [3] x sigma [3, log-spaced] x w [2] x 2 replicate keys; y peaks at
    G = 0.5, sigma = 0.1; one point failed (NaN)."""
    space = Space(
        {
            "G": GridAxis(0.0, 1.0, 3),
            "sigma": LogGridAxis(1e-3, 1e-1, 3),
            "w": GridAxis(0.0, 1.0, 2),
            "key": DataAxis(jax.random.split(jax.random.key(0), 2)),
        },
        mode="product",
    )
    table = space.to_dataframe()
    g, s, w = (table[c].to_numpy(float) for c in ("G", "sigma", "w"))
    replicate = np.arange(len(g)) // 6 % 2  # points run G, key, sigma, w
    y = -((g - 0.5) ** 2) + np.log10(s) / 10 + w / 100 + replicate / 1000
    y[table.index[(g == 1.0) & np.isclose(s, 1e-3)]] = np.nan  # both replicates
    return Result(space, {"y": y, "z": g + np.log10(s)})


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def panels(fig):
    """The axes that draw a map (colour bars are axes too)."""
    return [ax for ax in fig.axes if ax.collections and ax.get_label() != "<colorbar>"]


def best_mark(ax):
    (mark,) = [line for line in ax.lines if line.get_gid() == plot.BEST_GID]
    return float(mark.get_xdata()[0]), float(mark.get_ydata()[0])


def test_heatmap_labels_log_axis_masks_failures_and_marks_the_best(result):
    labels = {"G": "coupling G (1/ms)", "y": "fit y (a.u.)"}
    fig = plot.heatmap(result, "y", x="G", y="sigma", contour=-0.3, labels=labels)
    (ax,) = panels(fig)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("coupling G (1/ms)", "sigma")
    assert (ax.get_xscale(), ax.get_yscale()) == ("linear", "log")
    (bar,) = [a for a in fig.axes if a.get_label() == "<colorbar>"]
    assert bar.get_ylabel() == "fit y (a.u.)"
    mesh = ax.collections[0]
    cells = np.ma.masked_invalid(mesh.get_array())
    assert cells.mask.sum() == 1  # the failed (G=1, sigma=1e-3) cell is blank
    assert ax.patch.get_hatch() == "xx"
    best = result.best("y", k=1, mode="max").iloc[0]
    assert best_mark(ax) == pytest.approx((best["G"], best["sigma"]))
    assert best_mark(ax) == pytest.approx((0.5, 0.1))
    assert len(ax.collections) > 1  # the contour at y = -0.3


def test_heatmap_facets_one_panel_per_value_and_contours_a_second_output(result):
    fig = plot.heatmap(result, "y", x="G", y="sigma", col="w", contour="z", best="min")
    maps = panels(fig)
    assert len(maps) == 2
    assert [ax.get_title() for ax in maps] == ["w = 0.0", "w = 1.0"]
    for ax in maps:
        assert ax.get_yscale() == "log" and len(ax.collections) > 1
        assert best_mark(ax) == pytest.approx((0.0, 1e-3))  # each panel's min


def test_line_draws_replicate_bands_on_a_log_axis(result):
    fig = plot.line(result, "y", x="sigma", hue="w")
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "y"
    assert len([c for c in ax.collections if c.get_paths()]) == 2  # one band per w
    assert best_mark(ax)[0] == pytest.approx(0.1)


def test_figures_refuse_unknown_axes_and_array_outputs(result):
    with pytest.raises(ValueError, match=r"`x` must name an axis .* got 'g'"):
        plot.heatmap(result, "y", x="g", y="sigma")
    with pytest.raises(ValueError, match=r"must name different axes"):
        plot.heatmap(result, "y", x="G", y="G")
    with pytest.raises(ValueError, match=r"`output` must name a scalar output"):
        plot.line(result, "nope", x="G")
    with pytest.raises(TypeError, match=r"must be a sweepjax.Result or the path"):
        plot.line(result.outputs, "y", x="G")


def test_fc_beside_empirical_names_the_regions_on_one_colour_scale():
    names = ["lh-V1", "rh-V1", "lh-M1"]
    sim, emp = np.eye(3), np.full((3, 3), 0.5) + 0.5 * np.eye(3)
    sim[0, 2] = sim[2, 0] = 0.3
    emp[0, 1] = emp[1, 0] = 0.2
    fig = plot.fc(sim, emp, labels=names)
    images = [ax for ax in fig.axes if ax.images]
    assert len(images) == 2
    assert [t.get_text() for t in images[0].get_xticklabels()] == names
    assert images[0].images[0].get_clim() == (-1.0, 1.0)
    (bar,) = [a for a in fig.axes if not a.images]
    assert bar.get_ylabel() == "correlation"
    assert "r = " in images[0].get_title()


def test_regions_and_curves_draw_one_line_per_series():
    fig = plot.regions({"a": [1.0, 2.0], "b": [0.0, 1.0]}, ["x", "y"], name="mean S")
    (ax,) = fig.axes
    assert len(ax.lines) == 2 and ax.get_ylabel() == "mean S"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y"]
    fig = plot.curves(np.ones((3, 5)), xlabel="Adam step", ylabel="loss")
    assert len(fig.axes[0].lines) == 3 and fig.axes[0].get_xlabel() == "Adam step"
    with pytest.raises(ValueError, match=r"`values` must be \[n_lines, n_steps\]"):
        plot.curves(np.ones(3))


def test_heatmap_draws_a_figure_of_its_own_beside_the_current_one(result):
    import matplotlib.pyplot as plt

    current = plt.figure()
    fig = plot.heatmap(result, "y", x="G", y="sigma")
    assert fig is not current and not current.axes
    plt.close("all")
