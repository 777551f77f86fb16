"""Reading stores back: open_result, store_info, xarray, partial stores."""

import warnings
from typing import NamedTuple

import jax
import numpy as np
import pytest
import xarray as xr
from registry import assert_same
from store_helpers import make_space, model

from sweepjax import (
    ExecutionError,
    GridAxis,
    ParallelExecution,
    SequentialExecution,
    Space,
    open_result,
    store_info,
)


def test_sliced_space_round_trip_and_lazy_reads(tmp_path):
    space = make_space()[7:50:3]
    memory = ParallelExecution(model, space, n_vmap=4, progress=False).run()
    stored = ParallelExecution(model, space, n_vmap=4, progress=False).run(
        store=tmp_path / "s.zarr"
    )
    reopened = open_result(tmp_path / "s.zarr")
    assert len(reopened) == len(space) == 15
    leaf = reopened.outputs["fc"]
    assert type(leaf).__module__.startswith("dask")  # lazy until read
    np.testing.assert_array_equal(reopened[3]["fc"], memory[3]["fc"])
    assert_same(reopened[2:9], memory[2:9])
    assert_same(stored, memory)
    xr.testing.assert_identical(reopened.to_xarray(), memory.to_xarray())


def test_xarray_opens_the_store_directly(tmp_path):
    space = make_space()
    memory = ParallelExecution(model, space, n_vmap=8, progress=False).run()
    ParallelExecution(model, space, n_vmap=8, progress=False).run(
        store=tmp_path / "s", chunk_size=8
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = xr.open_zarr(tmp_path / "s")
    assert ds["fc"].dims == ("point", "fc_dim_0", "fc_dim_1")
    assert {"coupling", "delay", "noise", "seed_id"} <= set(ds.coords)
    df = memory.to_dataframe()
    np.testing.assert_array_equal(ds["coupling"].values, df["coupling"])
    np.testing.assert_array_equal(ds["fc"].values, memory.outputs["fc"])
    np.testing.assert_array_equal(ds["stats[0]"].values, memory.outputs["stats"][0])
    assert ds.attrs["sweepjax"]["chunk_size"] == 8


def test_output_structures_are_rebuilt(tmp_path):
    class Pair(NamedTuple):
        a: jax.Array
        b: jax.Array

    space = Space({"x": GridAxis(0.0, 1.0, 4)})
    for name, fn, check in [
        ("bare", lambda s: s["x"] * 2, lambda o: o.shape == (4,)),
        ("nested", lambda s: [{"z": s["x"]}, (s["x"],), None], lambda o: o[2] is None),
        ("named", lambda s: Pair(s["x"], s["x"] + 1), lambda o: set(o) == {"a", "b"}),
    ]:
        memory = SequentialExecution(fn, space, progress=False).run()
        SequentialExecution(fn, space, progress=False).run(store=tmp_path / name)
        reopened = open_result(tmp_path / name)
        assert check(reopened.outputs)
        assert reopened.to_dataframe().equals(memory.to_dataframe())


def stops_at(state, at):
    def check(i):
        if i >= at:
            raise RuntimeError(f"stopped at {i}")

    jax.debug.callback(check, state["i"])
    return {"y": state["x"] * 2}


def test_partial_store_is_readable_and_names_missing_points(tmp_path):
    space = Space({"x": GridAxis(0.0, 1.0, 10), "i": GridAxis(0, 9, 10)}, "zip")
    run = SequentialExecution(stops_at, space, progress=False, at=7)
    with pytest.raises(ExecutionError, match="stopped at 7"):
        run.run(store=tmp_path / "s", chunk_size=3)
    info = store_info(tmp_path / "s")
    assert (info.done_chunks, info.n_chunks, info.done_points) == (2, 4, 6)
    assert info.missing == [(6, 10)]
    assert "progress: 2/4 chunks, 6/10 points (60.0%)" in str(info)
    with pytest.warns(UserWarning, match=r"4 of 10 points are missing \(\[6, 10\)\)"):
        partial = open_result(tmp_path / "s")
    y = np.asarray(partial.outputs["y"])
    np.testing.assert_allclose(y[:7], np.linspace(0, 1, 10)[:7] * 2, rtol=1e-6)
    assert np.isnan(y[7:]).all()  # point 6 is kept (not done): 7 on are unwritten


def test_store_info_of_a_missing_or_foreign_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="No sweepjax store"):
        store_info(tmp_path / "missing")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "zarr.json").write_text(
        '{"zarr_format": 3, "node_type": "group"}'
    )
    with pytest.raises(ValueError, match="is not a sweepjax store"):
        open_result(tmp_path / "other")
