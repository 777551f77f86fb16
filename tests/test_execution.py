import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sweepjax import (
    DataAxis,
    ExecutionError,
    GridAxis,
    ParallelExecution,
    Result,
    SequentialExecution,
    Space,
    UniformAxis,
)

EXECUTORS = {
    "sequential": lambda model, space, **kw: SequentialExecution(
        model, space, progress=False, **kw
    ),
    "parallel": lambda model, space, **kw: ParallelExecution(
        model, space, n_vmap=3, progress=False, **kw
    ),
    "parallel_2dev": lambda model, space, **kw: ParallelExecution(
        model, space, n_vmap=2, n_pmap=2, progress=False, **kw
    ),
}


def metric(state):
    return {
        "activity": state["coupling"] * 2 + state["noise"],
        "ratio": state["coupling"] / (state["noise"] + 1e-6),
    }


def seed_space():
    state = {
        "coupling": GridAxis(0.0, 1.0, 6),
        "noise": UniformAxis(0.01, 0.1, 6),
        "threshold": 0.5,
    }
    return Space(state, mode="zip", key=jax.random.key(42))


@pytest.mark.parametrize("kind", sorted(EXECUTORS))
def test_seed_result_dataframe(kind):
    df = EXECUTORS[kind](metric, seed_space()).run().to_dataframe()
    assert df.head().to_string() == (
        "   coupling     noise  activity      ratio\n"
        "0       0.0  0.070052  0.070052   0.000000\n"
        "1       0.2  0.074934  0.474934   2.668987\n"
        "2       0.4  0.021412  0.821412  18.680656\n"
        "3       0.6  0.041885  1.241885  14.324623\n"
        "4       0.8  0.047898  1.647898  16.701727"
    )


def test_seed_performance_comparison_runs(capsys):
    state = {"param1": GridAxis(0.0, 1.0, 5), "param2": UniformAxis(0.0, 1.0, 5)}
    space = Space(state, mode="product", key=jax.random.key(789))

    def simple(state):
        return {"result": state["param1"] * state["param2"]}

    t0 = time.time()
    seq = SequentialExecution(simple, space).run()
    t1 = time.time()
    par = ParallelExecution(simple, space, n_vmap=5, n_pmap=1).run()
    t2 = time.time()
    assert len(seq) == len(par) == 25
    np.testing.assert_allclose(seq.outputs["result"], par.outputs["result"])
    assert t1 - t0 > 0 and t2 - t1 > 0
    assert "25/25" in capsys.readouterr().err  # the progress bars ran


def rich_model(state, scale, offset=0.0):
    x = state["x"] * scale + offset
    return {
        "sum": jnp.sum(state["m"]) * x,
        "vec": jnp.stack([x, x**2, jnp.sin(state["u"])]),
        "count": jnp.asarray(3, jnp.int32),
    }


@settings(max_examples=12, deadline=None)
@given(
    nx=st.integers(1, 5),
    nu=st.integers(1, 4),
    mode=st.sampled_from(["product", "zip"]),
    n_vmap=st.integers(1, 7),
    n_pmap=st.sampled_from([1, 2, 4]),
)
def test_sequential_equals_parallel(nx, nu, mode, n_vmap, n_pmap):
    state = {
        "x": GridAxis(0.0, 1.0, nx),
        "u": UniformAxis(-1.0, 1.0, nu),
        "m": DataAxis(np.arange(nu * 4.0).reshape(nu, 2, 2)),
        "label": "fixed",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        space = Space(state, mode=mode)
    seq = SequentialExecution(rich_model, space, 2.0, offset=1.0, progress=False).run()
    par = ParallelExecution(
        rich_model, space, 2.0, offset=1.0, n_vmap=n_vmap, n_pmap=n_pmap, progress=False
    ).run()
    for a, b in zip(jax.tree.leaves(seq.outputs), jax.tree.leaves(par.outputs)):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_padding_never_reaches_the_model_and_one_trace_per_sweep():
    seen, traces = [], []
    valid = {round(float(v), 5) for v in np.linspace(0.0, 1.0, 7)}

    def model(state):
        traces.append(1)
        jax.debug.callback(lambda x: seen.append(np.asarray(x).copy()), state["x"])
        assert isinstance(state["name"], str)  # static leaves are closed over
        return state["x"] + 1.0

    space = Space({"x": GridAxis(0.0, 1.0, 7), "name": "rww"}, mode="product")
    result = ParallelExecution(model, space, n_vmap=2, n_pmap=2, progress=False).run()
    jax.effects_barrier()
    assert len(traces) == 1  # 7 points, 2 chunks of 4, one trace
    values = np.concatenate([np.ravel(s) for s in seen])
    assert not np.isnan(values).any()
    assert {round(float(v), 5) for v in values} <= valid
    np.testing.assert_allclose(result.outputs, np.linspace(0.0, 1.0, 7) + 1.0)


def test_sequential_passes_fixed_leaves_untouched():
    marker = object()

    def model(state):
        assert state["obj"] is marker
        return state["x"]

    space = Space({"x": GridAxis(0.0, 1.0, 3), "obj": marker})
    assert len(SequentialExecution(model, space, progress=False).run()) == 3


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
    with pytest.raises(IndexError, match="index 12 is out of range"):
        res[12]
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


def test_bare_array_output_is_named_result():
    space = Space({"x": GridAxis(0.0, 1.0, 3)})
    df = SequentialExecution(lambda s: s["x"] * 3, space, progress=False).run()
    assert list(df.to_dataframe().columns) == ["x", "result"]


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

    ds = ParallelExecution(model, space, n_vmap=8, progress=False).run().to_xarray()
    assert dict(ds.sizes) == {"settings": 3, "G": 4, "keys": 2, "spec_dim_0": 5}
    assert ds["y"].dims == ("settings", "G", "keys")
    assert ds["spec"].dims == ("settings", "G", "keys", "spec_dim_0")
    np.testing.assert_allclose(ds["a"].values, [1.0, 2.0, 3.0])
    assert ds["b"].dims == ("settings",)
    np.testing.assert_allclose(ds["G"].values, np.linspace(0, 1, 4), rtol=1e-6)
    sel = ds["y"].sel(G=ds["G"].values[2]).isel(settings=1, keys=0)
    assert float(sel) == pytest.approx(2.0 * 2 / 3, rel=1e-6)


def test_to_xarray_zip_and_sliced_spaces_use_a_point_dimension():
    res = SequentialExecution(metric, seed_space(), progress=False).run()
    ds = res.to_xarray()
    assert dict(ds.sizes) == {"point": 6}
    assert set(ds.coords) == {"point", "coupling", "noise"}
    np.testing.assert_allclose(ds["activity"].values, res.outputs["activity"])
    product = Space({"x": GridAxis(0, 1, 3), "y": GridAxis(0, 1, 2)}, mode="product")
    sliced = SequentialExecution(
        lambda s: s["x"] + s["y"], product, progress=False
    ).run()[1:5]
    assert dict(sliced.to_xarray().sizes) == {"point": 4}


@pytest.mark.parametrize("kind", sorted(EXECUTORS))
def test_nonfinite_outputs_warn_once(kind):
    space = Space({"x": GridAxis(-1.0, 1.0, 5)})
    with pytest.warns(RuntimeWarning, match=r"2 of 5 points .*first indices: \[0, 1\]"):
        EXECUTORS[kind](lambda s: jnp.sqrt(s["x"]), space).run()


def test_sequential_failure_names_the_point_and_keeps_earlier_results():
    def model(state):
        if float(state["x"]) > 0.7:
            raise RuntimeError("diverged")
        return {"y": state["x"] * 2}

    space = Space({"x": GridAxis(0.0, 1.0, 6)})
    with pytest.raises(
        ExecutionError, match=r"index 4 with parameters \{'x': 0\.8"
    ) as info:
        SequentialExecution(model, space, progress=False, chunk_size=3).run()
    err = info.value
    assert err.index == 4 and err.parameters["x"] == pytest.approx(0.8)
    assert isinstance(err.__cause__, RuntimeError)
    assert len(err.partial) == 4
    np.testing.assert_allclose(err.partial.outputs["y"], [0.0, 0.4, 0.8, 1.2])


def test_parallel_runtime_failure_keeps_completed_chunks():
    def check(x):
        if (np.asarray(x) > 0.7).any():
            raise ValueError("blew up")

    def model(state):
        jax.debug.callback(check, state["x"])
        return state["x"] * 2

    space = Space({"x": GridAxis(0.0, 1.0, 6)})
    with pytest.raises(ExecutionError, match="chunk failed at index 4") as info:
        ParallelExecution(model, space, n_vmap=2, progress=False).run()
    assert len(info.value.partial) == 4
    np.testing.assert_allclose(info.value.partial.outputs, np.linspace(0, 1, 6)[:4] * 2)


def test_untraceable_model_gets_a_clear_error():
    def model(state):
        if state["x"] > 0.5:  # Python control flow on a traced value
            return state["x"]
        return -state["x"]

    space = Space({"x": GridAxis(0.0, 1.0, 3)})
    with pytest.raises(ExecutionError, match="tracing the model failed at index 0"):
        ParallelExecution(model, space, progress=False).run()


def test_bad_executor_arguments():
    space = Space({"x": GridAxis(0.0, 1.0, 3)})
    with pytest.raises(
        ValueError, match="XLA_FLAGS=--xla_force_host_platform_device_count=64"
    ):
        ParallelExecution(lambda s: s, space, n_pmap=64)
    with pytest.raises(
        ValueError, match="`n_vmap` must be a positive int, got n_vmap=0"
    ):
        ParallelExecution(lambda s: s, space, n_vmap=0)
    with pytest.raises(TypeError, match="`n_pmap` must be a positive int"):
        ParallelExecution(lambda s: s, space, n_pmap=1.5)
    with pytest.raises(TypeError, match="`model` must be callable"):
        SequentialExecution("model", space)
    with pytest.raises(TypeError, match="`space` must be a sweepjax.Space"):
        SequentialExecution(lambda s: s, {"x": 1})
    with pytest.raises(ValueError, match="`resume=True` needs a `store`"):
        SequentialExecution(lambda s: s["x"], space).run(resume=True)


def test_result_validates_output_shapes():
    space = Space({"x": GridAxis(0.0, 1.0, 3)})
    with pytest.raises(ValueError, match=r"leading dimension of len\(space\)=3"):
        Result(space, {"y": np.zeros(2)})


def test_scan_from_a_fixed_initial_state_runs_on_several_devices():
    def model(state):
        def step(x, _):
            x = x * state["decay"] + 1.0
            return x, x

        _, xs = jax.lax.scan(step, jnp.zeros(3), None, length=5)
        return xs.sum()

    space = Space({"decay": GridAxis(0.1, 0.9, 6)})
    seq = SequentialExecution(model, space, progress=False).run()
    par = ParallelExecution(model, space, n_vmap=2, n_pmap=4, progress=False).run()
    np.testing.assert_allclose(par.outputs, seq.outputs, rtol=1e-6)


def test_sequential_rejects_outputs_that_change_shape():
    space = Space({"n": DataAxis([1, 2, 3])})
    with pytest.raises(ExecutionError, match=r"index 1 .*must keep one structure"):
        SequentialExecution(lambda s: np.ones(int(s["n"])), space, progress=False).run()
