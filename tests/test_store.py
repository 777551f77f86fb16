"""Zarr stores: round trips, resume, refusal, partial stores, SIGKILL safety."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from typing import NamedTuple
from unittest import mock

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sweepjax._store
from sweepjax import (
    DataAxis,
    ExecutionError,
    GridAxis,
    ParallelExecution,
    SequentialExecution,
    Space,
    UniformAxis,
    ZarrSink,
    open_result,
    store_info,
)

EXECUTORS = {
    "sequential": lambda m, s, n: SequentialExecution(
        m, s, chunk_size=n, progress=False
    ),
    "parallel": lambda m, s, n: ParallelExecution(m, s, n_vmap=n, progress=False),
    "parallel_2dev": lambda m, s, n: ParallelExecution(
        m, s, n_vmap=n // 2, n_pmap=2, progress=False
    ),
}


def model(state):
    x = state["coupling"]
    return {
        "fc": jnp.outer(jnp.arange(3.0), jnp.ones(2)) * x + state["noise"],
        "stats": (x * 2, jnp.int32(3) * state["seed_id"]),
    }


def make_space(mode="product"):
    state = {
        "coupling": GridAxis(0.0, 1.0, 5, group="g"),
        "delay": GridAxis(1.0, 2.0, 5, group="g"),
        "noise": UniformAxis(0.0, 0.1, 3),
        "seed_id": DataAxis(np.arange(2)),
        "weights": DataAxis(np.arange(12.0).reshape(2, 2, 3)),
        "key": DataAxis(jax.random.split(jax.random.key(1), 2)),
        "dt": 0.1,
        "label": "fixed",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zip mode drops combinations: expected
        return Space(state, mode=mode)


def leaves(result):
    return [np.asarray(x) for x in jax.tree.leaves(result.outputs)]


def assert_same(a, b):
    for x, y in zip(leaves(a), leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("kind", sorted(EXECUTORS))
@pytest.mark.parametrize("mode", ["product", "zip"])
def test_store_round_trip_matches_memory(tmp_path, kind, mode):
    space = make_space(mode)
    memory = EXECUTORS[kind](model, space, 4).run()
    stored = EXECUTORS[kind](model, space, 4).run(store=tmp_path / "s.zarr")
    assert_same(stored, memory)
    reopened = open_result(tmp_path / "s.zarr")
    assert jax.tree.structure(reopened.outputs) == jax.tree.structure(memory.outputs)
    assert_same(reopened, memory)
    xr.testing.assert_identical(reopened.to_xarray(), memory.to_xarray())
    expected = memory.to_dataframe()
    got = reopened.to_dataframe()[expected.columns]
    scalar = [c for c in expected if expected[c].dtype != object]
    assert got[scalar].equals(expected[scalar])
    np.testing.assert_array_equal(np.stack(got["fc"]), np.stack(expected["fc"]))
    assert (
        reopened.space.describe()["axes"][0]["sha1"]
        == space.describe()["axes"][0]["sha1"]
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
    ParallelExecution(model, space, n_vmap=8, progress=False).run(store=tmp_path / "s")
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


def test_existing_store_is_never_clobbered(tmp_path):
    space = Space({"x": GridAxis(0.0, 1.0, 4)})
    run = SequentialExecution(model_x, space, progress=False).run
    run(store=tmp_path / "s")
    with pytest.raises(FileExistsError, match="already exists. Pass resume=True"):
        run(store=tmp_path / "s")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "data.txt").write_text("mine")
    with pytest.raises(ValueError, match="is not a sweepjax store"):
        run(store=tmp_path / "other", resume=True)
    with pytest.raises(ValueError, match="is not a sweepjax store"):
        sweepjax._store.remove_store(tmp_path / "other")
    assert (tmp_path / "other" / "data.txt").exists()
    # resume=True on a missing store simply starts it
    assert len(run(store=tmp_path / "new", resume=True)) == 4
    with pytest.raises(TypeError, match="`store` must be a local directory path"):
        run(store=3)
    with pytest.raises(FileNotFoundError, match="No sweepjax store"):
        open_result(tmp_path / "missing")


def model_x(state):
    return {"y": state["x"] * 2}


def model_other(state):
    return {"y": state["x"] * 2}


def test_mismatched_resume_refuses_and_says_what_differs(tmp_path):
    space = Space({"x": GridAxis(0.0, 1.0, 8), "n": 3})
    store = tmp_path / "s"
    ParallelExecution(model_x, space, n_vmap=4, progress=False).run(store=store)

    def resume(fn, sp, n_vmap=4):
        ParallelExecution(fn, sp, n_vmap=n_vmap, progress=False).run(store, resume=True)

    other_values = Space({"x": GridAxis(0.0, 2.0, 8), "n": 3})
    with pytest.raises(ValueError, match=r"the space differs \(axes\.x\.repr.*sha1"):
        resume(model_x, other_values)
    with pytest.raises(ValueError, match=r"N: stored 8, now 6"):
        resume(model_x, Space({"x": GridAxis(0.0, 1.0, 6), "n": 3}))
    with pytest.raises(ValueError, match=r"axes\.y: absent from the store"):
        resume(model_x, Space({"x": GridAxis(0.0, 1.0, 8), "y": GridAxis(0, 1, 8)}))
    with pytest.raises(
        ValueError, match=r"model name differs \(stored 'test_store\.model_x', now"
    ):
        resume(model_other, space)
    with pytest.raises(ValueError, match=r"chunk size differs \(stored 4, now 2\)"):
        resume(model_x, space, n_vmap=2)
    with pytest.raises(
        ValueError,
        match=r"output structure differs \(y\.shape: stored \[\], now \[2\]\)",
    ):
        resume(model_x_shape, space)
    resume(model_x, space)  # the same run resumes (nothing left to do)


def model_x_shape(state):
    return {"y": jnp.stack([state["x"], state["x"]])}


model_x_shape.__qualname__ = "model_x"  # same name, different outputs


class _Stop(Exception):
    pass


def stopping_sink(after: int):
    """A ZarrSink class that dies (like a killed process) after `after` chunks."""

    class Stopping(ZarrSink):
        def _store(self, start, stop, leaves, complete):
            if complete:
                if Stopping.left == 0:
                    raise _Stop
                Stopping.left -= 1
            super()._store(start, stop, leaves, complete)

    Stopping.left = after
    return Stopping


def test_partial_store_is_readable_and_names_missing_points(tmp_path):
    space = Space({"x": GridAxis(0.0, 1.0, 10)})
    with mock.patch.object(sweepjax._store, "ZarrSink", stopping_sink(2)):
        with pytest.raises(_Stop):
            ParallelExecution(model_x, space, n_vmap=3, progress=False).run(
                store=tmp_path / "s"
            )
    info = store_info(tmp_path / "s")
    assert (info.done_chunks, info.n_chunks, info.done_points) == (2, 4, 6)
    assert info.missing == [(6, 10)]
    assert "progress: 2/4 chunks, 6/10 points (60.0%)" in str(info)
    with pytest.warns(UserWarning, match=r"4 of 10 points are missing \(\[6, 10\)\)"):
        partial = open_result(tmp_path / "s")
    y = np.asarray(partial.outputs["y"])
    np.testing.assert_allclose(y[:6], np.linspace(0, 1, 10)[:6] * 2, rtol=1e-6)
    assert np.isnan(y[6:]).all()


def test_failure_partial_and_nonfinite_warning_with_a_store(tmp_path):
    def bad(state):
        if state["x"] > 0.5:
            raise RuntimeError("boom")
        return {"y": jnp.log(state["x"])}

    space = Space({"x": GridAxis(0.0, 1.0, 6)})
    with pytest.raises(ExecutionError, match="index 3") as err:
        SequentialExecution(bad, space, chunk_size=2, progress=False).run(
            tmp_path / "s"
        )
    assert len(err.value.partial) == 3
    np.testing.assert_allclose(err.value.partial.outputs["y"][1:], np.log([0.2, 0.4]))
    assert store_info(tmp_path / "s").done_chunks == 1  # [2, 3) is not done
    with pytest.warns(RuntimeWarning, match=r"1 of 3 points produced NaN"):
        SequentialExecution(bad, space[:3], chunk_size=2, progress=False).run(
            tmp_path / "t"
        )


def counting_model(calls):
    def model(state):
        jax.debug.callback(lambda i: calls.append(int(i)), state["i"])
        return {"y": state["x"] * state["i"], "v": jnp.full((2,), state["x"])}

    return model


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    n=st.integers(1, 23),
    chunk=st.integers(1, 6),
    stop_at=st.integers(0, 30),
    parallel=st.booleans(),
)
def test_resume_after_interruption_equals_uninterrupted(
    tmp_path_factory, n, chunk, stop_at, parallel
):
    """Interrupt at any point (sequential) or chunk (parallel), resume: the
    result is the uninterrupted one and no done chunk is recomputed."""
    store = tmp_path_factory.mktemp("resume") / "s.zarr"
    space = Space({"i": DataAxis(np.arange(n)), "x": GridAxis(0.0, 1.0, n)})
    calls: list[int] = []
    fn = counting_model(calls)

    def executor():
        if parallel:
            return ParallelExecution(fn, space, n_vmap=chunk, progress=False)
        return SequentialExecution(fn, space, chunk_size=chunk, progress=False)

    expected = executor().run()
    if parallel:
        with mock.patch.object(sweepjax._store, "ZarrSink", stopping_sink(stop_at)):
            try:
                executor().run(store=store)
            except _Stop:
                pass
    else:

        def failing(state):
            if int(state["i"]) == stop_at:
                raise _Stop
            return fn(state)

        failing.__qualname__ = fn.__qualname__
        try:
            SequentialExecution(failing, space, chunk_size=chunk, progress=False).run(
                store=store
            )
        except ExecutionError:
            pass
    done = store_info(store).done if store.exists() else np.zeros(0, bool)
    calls.clear()
    resumed = executor().run(store=store, resume=True)
    assert_same(resumed, expected)
    assert_same(open_result(store), expected)
    recomputed = {i // chunk for i in calls}
    assert not recomputed & set(np.flatnonzero(done))


KILL_SWEEP = textwrap.dedent(
    """
    import os
    import time

    import jax
    import jax.numpy as jnp
    import numpy as np

    from sweepjax import DataAxis, GridAxis, Space

    N = 192
    space = Space({"i": DataAxis(np.arange(N)), "x": GridAxis(0.0, 1.0, N)})


    def _log(i):
        path = os.environ.get("SWEEP_COUNTER")
        if path:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            os.write(fd, f"{int(i)}\\n".encode())
            os.close(fd)
            time.sleep(float(os.environ.get("SWEEP_DELAY", "0")))


    def model(state):
        jax.debug.callback(_log, state["i"])
        return {"y": jnp.sin(state["x"]) * state["i"], "v": jnp.full((3,), state["x"])}
    """
)


def test_sigkill_mid_run_then_resume(tmp_path, monkeypatch):
    """Kill a sweep's process with SIGKILL while it writes, then resume: the
    result equals an uninterrupted run and no done chunk is computed again."""
    (tmp_path / "killsweep.py").write_text(KILL_SWEEP)
    store, counter = tmp_path / "s.zarr", tmp_path / "calls.txt"
    code = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import killsweep as k; "
        "from sweepjax import ParallelExecution; "
        "ParallelExecution(k.model, k.space, n_vmap=8, progress=False)"
        f".run(store={str(store)!r})"
    )
    env = dict(os.environ, SWEEP_COUNTER=str(counter), SWEEP_DELAY="0.01")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    markers = store / "_sweepjax" / "done" / "c"
    deadline = time.monotonic() + 60
    while not (markers.is_dir() and len(os.listdir(markers)) >= 4):
        assert proc.poll() is None and time.monotonic() < deadline, (
            "sweep never started"
        )
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    done = store_info(store).done
    assert 4 <= done.sum() < len(done), "the kill must land mid-run"

    monkeypatch.syspath_prepend(str(tmp_path))
    import killsweep

    expected = ParallelExecution(
        killsweep.model, killsweep.space, n_vmap=8, progress=False
    ).run()
    monkeypatch.setenv("SWEEP_COUNTER", str(counter))
    ParallelExecution(killsweep.model, killsweep.space, n_vmap=8, progress=False).run(
        store=store, resume=True
    )
    result = open_result(store)
    assert_same(result, expected)
    calls = np.bincount(np.loadtxt(counter, dtype=int), minlength=killsweep.N)
    assert (calls >= 1).all()
    in_done = np.repeat(done, 8)[: killsweep.N]
    assert (calls[in_done] == 1).all(), "a done chunk was recomputed"
