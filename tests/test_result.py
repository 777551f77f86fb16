"""Result: indexing, slicing, iteration, DataFrames and xarray Datasets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from registry import seed_metric, seed_space

from sweepjax import (
    DataAxis,
    GridAxis,
    ParallelExecution,
    Result,
    SequentialExecution,
    Space,
    UnusedAxisWarning,
)


def test_result_indexing_slicing_iteration():
    space = Space({"a": GridAxis(0.0, 1.0, 4), "b": GridAxis(0.0, 1.0, 3)}, "product")
    res = ParallelExecution(
        lambda s: {"y": s["a"] + 10 * s["b"]}, space, n_vmap=5, progress=False
    ).run()
    assert isinstance(res, Result) and len(res) == 12 and res.space is space
    ys = [float(p["y"]) for p in res]
    assert ys[0] == 0.0 and ys[-1] == pytest.approx(11.0)
    assert float(res[-1]["y"]) == pytest.approx(11.0)
    sub = res[2:9:3]
    assert len(sub) == 3
    assert [float(p["y"]) for p in sub] == pytest.approx(ys[2:9:3])
    assert sub.to_dataframe()["a"].tolist() == pytest.approx([0.0, 1 / 3, 2 / 3])
    with pytest.raises(IndexError, match="index 12 is out of range for a Result"):
        res[12]
    assert float(res[np.array(11)]["y"]) == float(res[jnp.array(-1)]["y"])
    assert "Result(N=12" in repr(res)


def test_dataframe_columns_collisions_and_array_cells():
    def model(state):
        return {
            "model": {"G": state["model"]["G"] * 2},
            "fc": state["w"] + state["model"]["G"],
            "mean": jnp.mean(state["w"]),
        }

    with pytest.warns(UserWarning, match="losing 1 combinations"):
        space = Space(
            {
                "model": {"G": GridAxis(0.0, 1.0, 3)},
                "w": DataAxis(np.stack([np.eye(2), 2 * np.eye(2)])),
            },
            mode="zip",
        )
    df = ParallelExecution(model, space, n_vmap=2, progress=False).run().to_dataframe()
    assert list(df.columns) == ["model.G", "w", "fc", "mean", "result.model.G"]
    assert df["fc"].dtype == object and df["fc"].iloc[1].shape == (2, 2)
    np.testing.assert_allclose(df["fc"].iloc[1], 2 * np.eye(2) + 0.5)
    assert df["w"].iloc[1].shape == (2, 2)
    np.testing.assert_allclose(df["result.model.G"], [0.0, 1.0])


def test_a_bare_array_output_is_a_column_named_value():
    space = Space({"x": GridAxis(0.0, 1.0, 3)})
    res = SequentialExecution(lambda s: s["x"] * 3, space, progress=False).run()
    df = res.to_dataframe()
    assert list(df.columns) == ["x", "value"]
    np.testing.assert_allclose(df["value"], [0.0, 1.5, 3.0])
    assert list(res.to_xarray().data_vars) == ["value"]


def test_to_xarray_product_grid_with_groups_and_extra_dims():
    space = Space(
        {
            "a": DataAxis([1.0, 2.0, 3.0], group="settings"),
            "b": DataAxis([10.0, 20.0, 30.0], group="settings"),
            "G": GridAxis(0.0, 1.0, 4),
            "keys": DataAxis(jax.random.split(jax.random.key(0), 2)),
        },
        mode="product",
    )

    def model(state):
        return {"y": state["a"] * state["G"], "spec": jnp.ones(5) * state["b"]}

    run = ParallelExecution(model, space, n_vmap=8, progress=False).run
    with pytest.warns(UnusedAxisWarning, match="swept axis `keys`"):
        ds = run().to_xarray()  # replicates of a deterministic model: warned
    assert dict(ds.sizes) == {"settings": 3, "G": 4, "keys": 2, "spec_dim_0": 5}
    assert ds["y"].dims == ("settings", "G", "keys")
    assert ds["spec"].dims == ("settings", "G", "keys", "spec_dim_0")
    np.testing.assert_allclose(ds["a"].values, [1.0, 2.0, 3.0])
    assert ds["b"].dims == ("settings",)
    np.testing.assert_allclose(ds["G"].values, np.linspace(0, 1, 4), rtol=1e-6)
    sel = ds["y"].sel(G=ds["G"].values[2]).isel(settings=1, keys=0)
    assert float(sel) == pytest.approx(2.0 * 2 / 3, rel=1e-6)


def test_to_xarray_zip_and_sliced_spaces_use_a_point_dimension():
    res = SequentialExecution(seed_metric, seed_space(), progress=False).run()
    ds = res.to_xarray()
    assert dict(ds.sizes) == {"point": 6}
    assert set(ds.coords) == {"point", "coupling", "noise"}
    np.testing.assert_allclose(ds["activity"].values, res.outputs["activity"])
    product = Space({"x": GridAxis(0, 1, 3), "y": GridAxis(0, 1, 2)}, mode="product")
    sliced = SequentialExecution(
        lambda s: s["x"] + s["y"], product, progress=False
    ).run()[1:5]
    assert dict(sliced.to_xarray().sizes) == {"point": 4}


def test_result_validates_output_shapes():
    space = Space({"x": GridAxis(0.0, 1.0, 3)})
    with pytest.raises(ValueError, match=r"leading dimension of len\(space\)=3"):
        Result(space, {"y": np.zeros(2)})


def test_to_xarray_group_labelled_like_a_member_is_indexed_by_it():
    space = Space(
        {
            "G": GridAxis(0.0, 1.0, 3, group="G"),
            "H": GridAxis(5.0, 6.0, 3, group="G"),
            "x": GridAxis(0.0, 1.0, 2),
        },
        mode="product",
    )
    ds = Result(space, {"G": np.arange(6.0)}).to_xarray()
    assert dict(ds.sizes) == {"G": 3, "x": 2}
    assert list(ds.indexes) == ["G", "x"]  # the member G indexes its group
    np.testing.assert_allclose(ds["G"].values, [0.0, 0.5, 1.0])
    assert ds["H"].dims == ("G",)
    np.testing.assert_allclose(ds["H"].values, [5.0, 5.5, 6.0])
    assert ds["result.G"].dims == ("G", "x")  # the output named like an axis


def test_to_xarray_refuses_names_used_twice():
    # before: xarray's "conflicting sizes for dimension 'b'" at the very end
    with pytest.raises(ValueError, match=r"Group 'b' .* group='b_group'"):
        Space({"a": GridAxis(0, 1, 3, group="b"), "b": GridAxis(0, 1, 2)}, "product")
    # before: the axis silently replaced the point numbers
    zipped = Result(Space({"point": GridAxis(0.0, 1.0, 3)}), {"y": np.zeros(3)})
    with pytest.raises(
        ValueError,
        match=r"to_xarray: the axis `point` has the name of the `point` dimension "
        r".* Rename the leaf \(e.g. to `point_`\), or use to_dataframe\(\)",
    ):
        zipped.to_xarray()
    assert list(zipped.to_dataframe().columns) == ["point", "y"]
    extra = Result(Space({"y_dim_0": GridAxis(0, 1, 3)}), {"y": np.zeros((3, 2))})
    with pytest.raises(
        ValueError,
        match=r"output `y` has extra dimensions named \['y_dim_0'\], but "
        r"\['y_dim_0'\] already names an axis",
    ):
        extra.to_xarray()


def test_output_leaves_whose_names_print_alike_raise():
    space = Space({"x": GridAxis(0.0, 1.0, 3)})
    with pytest.raises(
        ValueError,
        match=r"Two leaves of the outputs are both named 'a.b': \['a'\]\['b'\] "
        r"and \['a.b'\]",
    ):
        Result(space, {"a.b": np.zeros(3), "a": {"b": np.ones(3)}})


def test_to_xarray_labels_output_dimensions_and_numbers_replicates():
    keys = jax.random.split(jax.random.key(0), 3)
    space = Space({"G": GridAxis(0.0, 1.0, 2), "key": DataAxis(keys)}, mode="product")
    fc = np.arange(6 * 4, dtype=float).reshape(6, 2, 2)
    labels = ["lh", "rh"]
    ds = Result(space, {"fc": fc, "m": fc[:, 0]}).to_xarray(
        dims={"fc": ("region", "region_j"), "m": ("region_j",)},
        coords={"region": labels, "region_j": labels},
    )
    assert ds["fc"].dims == ("G", "key", "region", "region_j")
    np.testing.assert_array_equal(ds["key"], [0, 1, 2])  # not key objects
    np.testing.assert_array_equal(
        ds["fc"].sel(G=1.0, key=2, region="rh", region_j="lh"), fc[5, 1, 0]
    )
    with pytest.raises(ValueError, match=r"dims\['fc'\] names 1 dimensions"):
        Result(space, {"fc": fc}).to_xarray(dims={"fc": ("region",)})
    with pytest.raises(ValueError, match=r"dims names outputs \['fcd'\]"):
        Result(space, {"fc": fc}).to_xarray(dims={"fcd": ("a", "b")})
    with pytest.raises(ValueError, match=r"coords\['region'\] has 3 labels.*size 2"):
        Result(space, {"fc": fc}).to_xarray(
            dims={"fc": ("region", "j")}, coords={"region": ["a", "b", "c"]}
        )
