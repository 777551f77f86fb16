"""Designs are Spaces whose points are SciPy's (and SALib's) for the same seed,
mapped through each axis's range and scale, and they run and resume like any
Space."""

import os
import signal
import sys
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from scipy.stats import norm, qmc

from sweepjax import (
    DataAxis,
    GridAxis,
    LogGridAxis,
    NumPyroAxis,
    ParallelExecution,
    Space,
    SweepInterrupted,
    UniformAxis,
    store_info,
)
from sweepjax.sensitivity import (
    DesignSpace,
    MorrisSpace,
    SaltelliSpace,
    design_seed,
    saltelli_rows,
)
from sweepjax.sensitivity._designs import aligned_empty, as_table

STATE = {
    "a": UniformAxis(-2.0, 2.0, 2),
    "b": LogGridAxis(0.01, 10.0, 2),
    "dt": 0.1,
}


@pytest.mark.parametrize(
    ("mode", "engine"),
    [
        ("sobol", lambda d, s: qmc.Sobol(d, seed=s)),
        ("halton", lambda d, s: qmc.Halton(d, seed=s)),
        ("latin_hypercube", lambda d, s: qmc.LatinHypercube(d, seed=s)),
    ],
)
def test_a_design_is_scipys_sequence_for_the_seed_of_its_key(mode, engine):
    design = DesignSpace(STATE, n=16, mode=mode, key=jax.random.key(7))
    unit = engine(2, 7).random(16)
    np.testing.assert_array_equal(design.unit, unit)
    table = design.to_dataframe()
    np.testing.assert_allclose(table["a"], -2.0 + 4.0 * unit[:, 0], rtol=1e-6)
    b = np.exp(np.log(0.01) + unit[:, 1] * (np.log(10.0) - np.log(0.01)))
    np.testing.assert_allclose(table["b"], b, rtol=1e-5)
    assert design[3]["dt"] == 0.1 and design.factors == ("a", "b")


def test_the_saltelli_design_is_salibs_for_the_same_seed():
    from SALib.sample import sobol as salib_sobol

    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[-2, 2], [0, 1]]}
    state = {"a": UniformAxis(-2.0, 2.0, 2), "b": GridAxis(0.0, 1.0, 2)}
    for second in (False, True):
        design = SaltelliSpace(state, 8, second, key=jax.random.key(3))
        ours = design.to_dataframe()[["a", "b"]].to_numpy()
        theirs = salib_sobol.sample(problem, 8, calc_second_order=second, seed=3)
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
        assert len(design) == 8 * design.step == 8 * (6 if second else 4)
    assert design_seed(jax.random.key(3)) == 3


def test_saltelli_rows_swap_one_column_at_a_time():
    rows = saltelli_rows(np.array([[1.0, 2.0, 3.0, 4.0]]), True)
    assert rows.tolist() == [[1, 2], [3, 2], [1, 4], [1, 4], [3, 2], [3, 4]]


def test_a_saltelli_design_maps_its_a_and_b_columns_and_lays_them_out():
    # each factor is mapped at A and B and laid out once (the unit points are
    # made only when asked for); groups, scales and array leaves as elsewhere
    state = {
        "x": GridAxis(0.0, 1.0, 2, group="g"),
        "y": GridAxis(10.0, 20.0, 2, group="g"),
        "z": NumPyroAxis(dist.Normal(1.0, 2.0), 2, sample_shape=(3,)),
        "w": LogGridAxis(0.1, 10.0, 2),
    }
    design = SaltelliSpace(state, 4, second_order=True, key=jax.random.key(5))
    assert design._unit is None
    u = design.unit
    assert u.shape == (4 * 8, 3) and sorted(design.factors) == ["g", "w", "z"]
    np.testing.assert_array_equal(u, saltelli_rows(design._points, True))
    g, z, w = (u[:, design.factors.index(f)] for f in ("g", "z", "w"))
    points = design.gather(np.arange(len(design)))
    np.testing.assert_allclose(points["x"], g, rtol=1e-6)
    np.testing.assert_allclose(points["y"], 10.0 + 10.0 * g, rtol=1e-6)
    z = norm.ppf(z, loc=1.0, scale=2.0)
    np.testing.assert_allclose(points["z"], np.stack([z] * 3, 1), rtol=1e-5)
    w = np.exp(np.log(0.1) + w * (np.log(10.0) - np.log(0.1)))
    np.testing.assert_allclose(points["w"], w, rtol=1e-5)
    # the values reach JAX without a copy where it can take them
    x = aligned_empty(5, np.float32)
    x[:] = 1.0
    assert x.ctypes.data % 64 == 0
    table = as_table(x)
    if table.platform() == "cpu":
        assert np.shares_memory(np.asarray(table), x)


def test_a_group_shares_a_coordinate_and_a_distribution_maps_by_its_icdf():
    state = {  # the axes' sizes are unused: no warning that they differ
        "x": GridAxis(0.0, 1.0, 2, group="g"),
        "y": GridAxis(10.0, 20.0, 3, group="g"),
        "z": NumPyroAxis(dist.Normal(1.0, 2.0), 2, sample_shape=(3,)),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        design = DesignSpace(state, n=8, key=jax.random.key(1))
    assert design.factors == ("g", "z") and design.unit.shape == (8, 2)
    point = design[5]
    assert float(point["y"]) == pytest.approx(10.0 + 10.0 * float(point["x"]))
    u = design.unit[5, 1]
    expected = norm.ppf(u, loc=1.0, scale=2.0)
    np.testing.assert_allclose(point["z"], [expected] * 3, rtol=1e-5)


def test_a_slice_of_a_design_is_a_design_with_its_rows():
    design = MorrisSpace(STATE, n_trajectories=4, key=jax.random.key(2))
    part = design[3:9:2]
    assert isinstance(part, MorrisSpace) and len(part) == 3
    np.testing.assert_array_equal(part.unit, design.unit[3:9:2])
    assert float(part[1]["a"]) == float(design[5]["a"])
    assert design.is_whole and not part.is_whole


def test_designs_refuse_what_they_cannot_make():
    with pytest.raises(TypeError, match="DataAxis, which says no range"):
        DesignSpace({"a": DataAxis([1.0, 2.0])}, n=4)
    with pytest.raises(ValueError, match="`mode` must be one of"):
        DesignSpace(STATE, n=4, mode="grid")
    with pytest.raises(ValueError, match="more than max_bytes=100"):
        SaltelliSpace(STATE, n=64, max_bytes=100)
    with pytest.raises(ValueError, match="not finite"):
        MorrisSpace({"z": NumPyroAxis(dist.Normal(0.0, 1.0), 2)}, 2)
    with pytest.raises(ValueError, match="`levels` must be an even number"):
        MorrisSpace(STATE, 2, levels=3)
    with pytest.raises(TypeError, match="must be a JAX PRNG key"):
        DesignSpace(STATE, n=4, key=3)


def test_without_scipy_a_design_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.stats", None)
    with pytest.raises(ImportError, match=r"pip install \"sweepjax\[sensitivity\]"):
        DesignSpace(STATE, n=4)


def _model(calls):
    def count(x):
        calls.append(len(x))
        if len(calls) == 2:  # Ctrl-C while the second batch runs
            os.kill(os.getpid(), signal.SIGINT)
        return np.asarray(x) ** 2

    def model(state):
        out = jax.ShapeDtypeStruct((), jnp.float32)
        y = jax.pure_callback(count, out, state["a"], vmap_method="expand_dims")
        return {"y": y + state["b"]}

    return model


def test_a_design_runs_into_a_store_and_resumes(tmp_path):
    store = tmp_path / "design.zarr"
    calls = []
    design = SaltelliSpace(STATE, 4, key=jax.random.key(5))  # 16 points
    run = ParallelExecution(_model(calls), design, n_vmap=4, progress=False)
    with pytest.raises(SweepInterrupted, match="[Ii]nterrupted after"):
        run.run(store=store, chunk_size=4)
    done = store_info(store).done_points
    assert 0 < done < len(design)
    calls.clear()
    again = SaltelliSpace(STATE, 4, key=jax.random.key(5))
    result = ParallelExecution(_model([]), again, n_vmap=4, progress=False).run(
        store=store, resume=True
    )
    table = design.to_dataframe()
    expected = table["a"] ** 2 + table["b"]
    np.testing.assert_allclose(result.outputs["y"], expected, rtol=1e-5)
    other = SaltelliSpace(STATE, 4, key=jax.random.key(6))
    with pytest.raises(ValueError, match="resume"):
        ParallelExecution(_model([]), other, progress=False).run(
            store=store, resume=True
        )
    assert isinstance(design, Space)
