"""DGSM through an executor (derivatives in the batched program) bounds the
total indices; the figures draw what they say."""

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import pytest

from sweepjax import GridAxis, LogGridAxis, ParallelExecution, Result, UniformAxis
from sweepjax.sensitivity import (
    DesignSpace,
    SaltelliSpace,
    dgsm,
    plot_convergence,
    plot_indices,
    plot_indices_along,
    sobol_indices,
    with_gradients,
)

matplotlib.use("Agg")

ST_ISHIGAMI = np.array([0.5576, 0.4424, 0.2437])


def ishigami(state):
    x1, x2, x3 = state["x1"], state["x2"], state["x3"]
    y = jnp.sin(x1) + state["a"] * jnp.sin(x2) ** 2 + 0.1 * x3**4 * jnp.sin(x1)
    return {"y": y, "pair": jnp.stack([y, x1 * x3])}


def test_dgsm_bounds_the_total_indices_of_ishigami():
    state = {f"x{i}": UniformAxis(-np.pi, np.pi, 2) for i in (1, 2, 3)}
    state["a"] = 7.0
    design = DesignSpace(state, n=1024, key=jax.random.key(0))
    model = with_gradients(ishigami, design)
    result = ParallelExecution(model, design, n_vmap=1024, progress=False).run()
    ds = dgsm(result, output="output.y")
    assert ds["dgsm"].dims == ("parameter",)
    # d f / d x2 = 7 sin(2 x2): its mean square is 49 / 2
    assert float(ds["dgsm"].sel(parameter="x2")) == pytest.approx(24.5, rel=0.02)
    assert (ds["st_bound"].values >= ST_ISHIGAMI).all()
    pair = dgsm(result, output="output.pair")
    assert pair["dgsm"].shape == (3, 2)
    # x1 * x3 has d/dx2 = 0 and d/dx1 = x3, mean square pi^2 / 3
    assert float(pair["dgsm"].values[1, 1]) == 0.0
    assert pair["dgsm"].values[0, 1] == pytest.approx(np.pi**2 / 3, rel=0.02)


def test_dgsm_bound_is_nan_for_an_axis_that_is_not_uniform():
    state = {"x": GridAxis(0.0, 1.0, 2), "s": LogGridAxis(1.0, 10.0, 2)}
    design = DesignSpace(state, n=16)
    grads = {"output": np.ones(16), "gradient": (np.ones(16), np.ones(16))}
    ds = dgsm(Result(design, grads))
    assert np.isnan(ds["st_bound"].sel(parameter="x")) == False  # noqa: E712
    assert np.isnan(ds["st_bound"].sel(parameter="s"))


def test_the_figures_draw_indices_regions_and_convergence():
    state = {"a": UniformAxis(0.0, 1.0, 2), "b": UniformAxis(0.0, 1.0, 2)}
    design = SaltelliSpace(state, 64, key=jax.random.key(2))
    u = design.unit
    regions = np.stack([u[:, 0] * k + u[:, 1] for k in range(4)], -1)
    result = Result(design, {"r": regions})
    ds = sobol_indices(result, dims=("region",))
    ax = plot_indices(ds.isel(region=0))
    assert len(ax.patches) == 2 * 2  # S1 and ST bars for two parameters
    ax = plot_indices_along(ds, "ST")
    assert [line.get_label() for line in ax.lines] == ["a", "b"]
    assert len(ax.lines[0].get_xdata()) == 4
    ax = plot_convergence(result, element=(3,))
    assert list(ax.lines[0].get_xdata()) == [4, 8, 16, 32, 64]
    with pytest.raises(ValueError, match="select one element"):
        plot_indices(ds)
