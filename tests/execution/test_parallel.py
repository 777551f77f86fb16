"""ParallelExecution: one compiled batch function, padding, several devices."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax import (
    DataAxis,
    GridAxis,
    ParallelExecution,
    SequentialExecution,
    Space,
    open_result,
)


def test_padding_never_reaches_the_model_and_one_trace_per_sweep():
    seen, traces = [], []
    valid = {round(float(v), 5) for v in np.linspace(0.0, 1.0, 7)}

    def model(state):
        traces.append(1)
        jax.debug.callback(lambda x: seen.append(np.asarray(x).copy()), state["x"])
        assert isinstance(state["name"], str)  # static leaves are closed over
        return state["x"] + 1.0

    space = Space({"x": GridAxis(0.0, 1.0, 7), "name": "rww"}, mode="product")
    executor = ParallelExecution(model, space, n_vmap=2, n_pmap=2, progress=False)
    result = executor.run()
    executor.run(chunk_size=3)  # another run, another chunking: no new trace
    assert len(traces) == 1
    values = np.concatenate([np.ravel(s) for s in seen])
    assert not np.isnan(values).any()
    assert {round(float(v), 5) for v in values} <= valid
    np.testing.assert_allclose(result.outputs, np.linspace(0.0, 1.0, 7) + 1.0)


def test_models_get_jax_arrays_and_may_update_them():
    def model(state):
        return state["w"].at[0, 0].set(state["g"]).sum()

    space = Space({"w": DataAxis(np.ones((3, 2, 2))), "g": GridAxis(0.0, 1.0, 3)})
    result = ParallelExecution(model, space, n_vmap=2, progress=False).run()
    np.testing.assert_allclose(result.outputs, [3.0, 3.5, 4.0])


def test_a_scan_from_a_fixed_initial_state_runs_on_several_devices():
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


def test_device_and_batch_arguments_are_checked():
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


def _claim_long_first_axis(space, size):
    """Make `space`'s first dimension claim `size` values: a real table that
    long needs gigabytes; the width of positions is what is under test."""
    space._effective = (
        dataclasses.replace(space.effective_axes[0], size=size),
        *space.effective_axes[1:],
    )
    return space


def test_positions_are_int64_for_an_axis_longer_than_int32(monkeypatch):
    with jax.enable_x64(True):
        space = Space({"x": GridAxis(0.0, 1.0, 8), "y": GridAxis(0, 1, 2)}, "product")
        assert space.position_dtype == np.int32
        monkeypatch.setattr(Space, "position_dtype", np.dtype(np.int64))
        executor = ParallelExecution(
            lambda s: s["x"] * 2 + s["y"], space, n_vmap=3, progress=False
        )
        assert executor.compile().positions(0, 3).dtype == np.int64
        outputs = executor.run().outputs
        expected = [float(p["x"] * 2 + p["y"]) for p in space]
        np.testing.assert_allclose(outputs, expected)


def test_an_axis_longer_than_int32_without_x64_is_refused_up_front():
    space = _claim_long_first_axis(Space({"x": GridAxis(0.0, 1.0, 8)}), 2**31 + 8)
    with pytest.raises(
        ValueError,
        match=r"The axis `x` has 2,147,483,656 values, more than int32 positions "
        r"reach .* x64 mode is off.*jax.config.update\(\"jax_enable_x64\", True\)",
    ):
        ParallelExecution(lambda s: s["x"], space, progress=False)


def test_a_store_of_a_slice_beyond_int64_reads_back(tmp_path):
    space = Space({k: GridAxis(0.0, 1.0, 2**21) for k in "abc"}, mode="product")
    assert space.N == 2**63  # len() cannot hold it
    part = space[2**62 : 2**62 + 5]
    executor = ParallelExecution(
        lambda s: s["a"] + s["b"] + s["c"], part, n_vmap=2, progress=False
    )
    ran = executor.run(store=tmp_path / "huge.zarr")
    read = open_result(tmp_path / "huge.zarr")
    assert read.space.describe()["index"] == [2**62, 2**62 + 5, 1]
    np.testing.assert_array_equal(np.asarray(read.outputs), ran.outputs)
    assert read.to_dataframe().equals(ran.to_dataframe())


def test_a_warm_rerun_traces_analyses_and_transfers_nothing(monkeypatch):
    traces, puts = [], []
    space = Space({"x": GridAxis(0.0, 1.0, 7)})

    def model(state):
        traces.append(1)
        return state["x"] * 2

    executor = ParallelExecution(model, space, n_vmap=3, progress=False)
    first = executor.run()
    put = jax.device_put
    monkeypatch.setattr(
        jax, "device_put", lambda *a, **k: puts.append(a) or put(*a, **k)
    )
    second = executor.run()
    assert traces == [1] and puts == []  # the positions stay on the device
    np.testing.assert_array_equal(first.outputs, second.outputs)
    assert first.outputs is not second.outputs
