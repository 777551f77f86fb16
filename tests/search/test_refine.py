"""Adaptive refinement locates a sharp curved boundary better than a grid of
as many points."""

import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax import DataAxis, GridAxis, ParallelExecution, Result, Space, refine
from sweepjax.search import boundary_points

RADIUS = 0.6


def disc(state):
    r = jnp.sqrt(state["x"] ** 2 + state["y"] ** 2)
    return {"z": jnp.tanh((r - RADIUS) / 0.01), "r": r}


def grid(n):
    axes = {"x": GridAxis(-1.0, 1.0, n), "y": GridAxis(-1.0, 1.0, n)}
    return ParallelExecution(
        disc, Space(axes, mode="product"), n_vmap=64, progress=False
    ).run()


def boundary_error(result):
    columns = result.space.axis_columns(np.arange(len(result)))
    points = np.stack([columns["x"], columns["y"]], 1)
    found = boundary_points(points, np.asarray(result.outputs["z"]))
    return float(np.mean(np.abs(np.hypot(found[:, 0], found[:, 1]) - RADIUS)))


def test_refinement_locates_a_curved_boundary_better_than_the_grid():
    regular = grid(16)  # 256 points
    refined = refine(grid(8), disc, output="z", n_points=64, n_rounds=3, n_vmap=64)
    assert len(refined) == len(regular) == 256
    err_grid, err_refined = boundary_error(regular), boundary_error(refined)
    print(
        f"boundary error at 256 points: grid {err_grid:.4f}, refined {err_refined:.4f}"
    )
    assert err_refined < 0.5 * err_grid
    # merged: the old points first, every output where the model puts it
    np.testing.assert_allclose(
        refined.outputs["r"],
        np.hypot(*[refined.space.axis_columns(np.arange(256))[k] for k in "xy"]),
        rtol=1e-5,
    )


def test_refine_asks_for_a_scalar_output_of_a_2d_sweep():
    small = grid(3)
    with pytest.raises(ValueError, match="pass `output=`"):
        refine(small, disc)
    with pytest.raises(ValueError, match="`output='w'` must name a scalar output"):
        refine(small, disc, output="w")
    line = Result(Space({"x": DataAxis([0.0, 1.0])}), {"z": np.zeros(2)})
    with pytest.raises(ValueError, match="two scalar axes"):
        refine(line, disc)
    with pytest.raises(ValueError, match="`loss` must be one of"):
        refine(small, disc, output="z", loss="steepest")
