"""ParallelExecution: one compiled batch function, padding, several devices."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax import (
    DataAxis,
    DistributedExecution,
    ExecutionError,
    GridAxis,
    ParallelExecution,
    SequentialExecution,
    Space,
    open_result,
)
from sweepjax.execution import _memory


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


def test_n_vmap_is_clamped_to_the_space():
    calls = []

    def model(state):
        jax.debug.callback(lambda x: calls.append(np.shape(x)), state["x"])
        return state["x"] * 2

    space = Space({"x": GridAxis(0.0, 1.0, 15)})
    for n_vmap, n_pmap, batch in [(256, 1, 15), (10**9, 1, 15), (256, 2, 16)]:
        executor = ParallelExecution(
            model, space, n_vmap=n_vmap, n_pmap=n_pmap, progress=False
        )
        assert executor.compile().batch_size == batch
        np.testing.assert_allclose(executor.run().outputs, np.linspace(0, 2, 15))


def _wide(state):
    """40 kB of outputs a point."""
    return jnp.zeros(10_000) + state["x"]


WIDE = Space({"x": GridAxis(0.0, 1.0, 64)})


def test_auto_n_vmap_picks_a_batch_from_memory(monkeypatch):
    auto = ParallelExecution(_wide, WIDE, n_vmap="auto", progress=False)
    assert auto.compile().batch_size == 64  # all of it: 2.5 MB fits
    fixed = ParallelExecution(_wide, WIDE, n_vmap=8, progress=False).run()
    np.testing.assert_array_equal(auto.run().outputs, fixed.outputs)
    # with 4 MiB free, a quarter of it holds about 26 points of 40 kB
    monkeypatch.setattr(_memory, "available_bytes", lambda device: 4 * 2**20)
    small = ParallelExecution(_wide, WIDE, n_vmap="auto", progress=False)
    assert 2 <= small.compile().batch_size < 32
    with pytest.raises(ValueError, match="`n_vmap` must be a positive int or 'auto'"):
        ParallelExecution(_wide, WIDE, n_vmap="max")


def test_a_batch_that_cannot_fit_is_refused_before_running(monkeypatch):
    ran = []

    def model(state):
        jax.debug.callback(lambda x: ran.append(1), state["x"])
        return _wide(state)

    monkeypatch.setattr(_memory, "available_bytes", lambda device: 1_000_000)
    executor = ParallelExecution(model, WIDE, n_vmap=64, progress=False)
    with pytest.raises(
        ValueError,
        match=r"one batch of 64 points needs about 2\.4 MiB .* but CPU memory has "
        r"976\.6 KiB available; use n_vmap=1\d or less, or n_vmap='auto'",
    ):
        executor.run()
    assert ran == []
    monkeypatch.setattr(_memory, "available_bytes", lambda device: 10_000)
    with pytest.raises(ValueError, match="even a batch of 2 points does not fit"):
        ParallelExecution(model, WIDE, n_vmap=4, progress=False).run()


def test_many_small_chunks_warn_with_the_overhead_and_a_better_size(tmp_path):
    def fails(state):
        def stop(i):
            raise RuntimeError("stop here")

        jax.debug.callback(stop, state["x"])
        return state["x"]

    space = Space({"x": GridAxis(0.0, 1.0, 3000)})
    executor = ParallelExecution(fails, space, n_vmap=4, progress=False)
    with (
        pytest.warns(
            UserWarning,
            match=r"chunk_size=1 lays 3000 points out in 3000 chunks of 4 B; each "
            r"chunk costs about 30 ms .* about 1\.5 min in all; a batch of 4 "
            r"points writes 4 chunks.* chunk_size=4096 makes 1 chunks",
        ),
        pytest.raises(ExecutionError, match="stop here"),
    ):
        executor.run(store=tmp_path / "s", chunk_size=1)


def _matmul(state):
    """Matrix products: XLA picks other kernels for other batch shapes."""
    w = jax.random.normal(jax.random.key(0), (33, 33)) / 6
    x = jnp.full((33,), state["a"]) + jnp.arange(33.0) * 0.01
    for _ in range(4):
        x = jnp.tanh(x @ w + state["a"])
    return jnp.tanh(jnp.outer(x, x) @ w)


def test_outputs_agree_to_the_bit_across_n_vmap_and_executors(dask_client):
    space = Space({"a": GridAxis(0.1, 1.0, 11)})
    runs = {
        f"parallel n_vmap={n}": ParallelExecution(
            _matmul, space, n_vmap=n, progress=False
        ).run()
        for n in (1, 2, 3, 5)
    }
    runs["parallel n_vmap=1 n_pmap=4"] = ParallelExecution(
        _matmul, space, n_vmap=1, n_pmap=4, progress=False
    ).run()
    for n in (1, 3):
        runs[f"distributed n_vmap={n}"] = DistributedExecution(
            _matmul, space, client=dask_client, n_vmap=n, progress=False
        ).run()
    reference = runs.pop("parallel n_vmap=2").outputs
    for name, result in runs.items():
        np.testing.assert_array_equal(result.outputs, reference, err_msg=name)


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
    assert read.space.index_range == range(2**62, 2**62 + 5)
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
