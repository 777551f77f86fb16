"""ZarrSink: round trips, chunks of the store's own size, refusals, crashes."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
import zarr.storage._local as local
from registry import EXECUTORS, assert_same
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
from sweepjax._store import describe_space, remove_store


@pytest.fixture(scope="module")
def executors(dask_client):
    """``executor(kind, mode)``: one executor of `model` on `make_space(mode)`
    for each kind and mode, made once; it compiles once for every test."""
    made = {}

    def executor(kind, mode="product"):
        if (kind, mode) not in made:
            made[kind, mode] = EXECUTORS[kind](model, make_space(mode), dask_client)
        return made[kind, mode]

    return executor


@pytest.mark.parametrize("kind", sorted(EXECUTORS))
@pytest.mark.parametrize("mode", ["product", "zip"])
def test_store_round_trip_matches_memory(tmp_path, kind, mode, executors):
    executor = executors(kind, mode)  # compiles once
    space = executor.space
    memory = executor.run()
    stored = executor.run(store=tmp_path / "s.zarr", chunk_size=7)
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
        describe_space(reopened.space)["axes"][0]["sha1"]
        == describe_space(space)["axes"][0]["sha1"]
    )


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
        remove_store(tmp_path / "other")
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
    ParallelExecution(model_x, space, n_vmap=4, progress=False).run(
        store=store, chunk_size=4
    )

    def resume(fn, sp, chunk_size=None):
        ParallelExecution(fn, sp, n_vmap=3, progress=False).run(
            store, resume=True, chunk_size=chunk_size
        )

    other_values = Space({"x": GridAxis(0.0, 2.0, 8), "n": 3})
    with pytest.raises(ValueError, match=r"the space differs \(axes\.x\.repr.*sha1"):
        resume(model_x, other_values)
    with pytest.raises(ValueError, match=r"N: stored 8, now 6"):
        resume(model_x, Space({"x": GridAxis(0.0, 1.0, 6), "n": 3}))
    with pytest.raises(ValueError, match=r"axes\.y: absent from the store"):
        resume(model_x, Space({"x": GridAxis(0.0, 1.0, 8), "y": GridAxis(0, 1, 8)}))
    with pytest.raises(
        ValueError,
        match=r"the model differs \(name: stored 'test_store_writer\.model_x', now",
    ):
        resume(model_other, space)
    with pytest.raises(ValueError, match=r"chunk size differs \(stored 4, now 2\)"):
        resume(model_x, space, chunk_size=2)
    resume(model_x, space)  # the same run resumes (nothing left to do)
    resume(model_x, space, chunk_size=4)  # naming the stored chunk size is fine


def test_resume_refuses_other_outputs_and_skips_a_complete_store(tmp_path):
    space = Space({"x": GridAxis(0.0, 1.0, 8), "n": 3})
    store = tmp_path / "s"
    with pytest.raises(ExecutionError, match="stop at 5"):
        ParallelExecution(stopping_x, space, progress=False).run(store, chunk_size=2)
    with pytest.raises(
        ValueError,
        match=r"output structure differs \(y\.shape: stored \[\], now \[2\]\)",
    ):
        with pytest.warns(UserWarning, match="resume='force' although the program"):
            ParallelExecution(model_x_shape, space, progress=False).run(
                store, resume="force"
            )
    traces = []

    def counted(state):
        if not isinstance(state["x"], jax.core.Tracer):  # not the fingerprint's trace
            traces.append(1)
        return model_x(state)

    counted.__qualname__ = "model_x"
    with pytest.warns(UserWarning, match="resume='force'"):
        SequentialExecution(counted, space, progress=False).run(store, resume="force")
    assert len(traces) == 4  # chunks [4, 6) (not done) and [6, 8): points 4 to 7
    with pytest.warns(UserWarning, match="resume='force'"):
        again = SequentialExecution(counted, space, progress=False)
        done = again.run(store, resume="force")
    assert len(traces) == 4  # a complete store: nothing is computed
    np.testing.assert_allclose(done.outputs["y"], np.linspace(0, 1, 8) * 2)


def stopping_x(state):
    def check(x):
        if x > 0.6:
            raise RuntimeError(f"stop at {round(float(x) * 7)}")

    jax.debug.callback(check, state["x"])
    return model_x(state)


stopping_x.__qualname__ = "model_x"


def model_x_shape(state):
    return {"y": jnp.stack([state["x"], state["x"]])}


model_x_shape.__qualname__ = "model_x"  # same name, different outputs


def test_failure_partial_and_nonfinite_warning_with_a_store(tmp_path):
    def bad(state):
        if state["x"] > 0.5:
            raise RuntimeError("boom")
        return {"y": jnp.log(state["x"])}

    space = Space({"x": GridAxis(0.0, 1.0, 6)})
    with pytest.raises(ExecutionError, match="index 3") as err:
        SequentialExecution(bad, space, progress=False).run(
            tmp_path / "s", chunk_size=2
        )
    assert len(err.value.partial) == 3
    np.testing.assert_allclose(err.value.partial.outputs["y"][1:], np.log([0.2, 0.4]))
    assert store_info(tmp_path / "s").done_chunks == 1  # [2, 3) is not done
    with pytest.warns(RuntimeWarning, match=r"1 of 3 points produced NaN"):
        SequentialExecution(bad, space[:3], progress=False).run(
            tmp_path / "t", chunk_size=2
        )


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
        f".run(store={str(store)!r}, chunk_size=8)"
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

    # Resumed with another batch size: the store keeps its own chunks; the
    # killed process's lock is taken over. The same executor (one compilation)
    # first makes the uninterrupted run, in memory, before calls are counted.
    resumed = ParallelExecution(
        killsweep.model, killsweep.space, n_vmap=5, progress=False
    )
    expected = resumed.run()
    monkeypatch.setenv("SWEEP_COUNTER", str(counter))
    with pytest.warns(RuntimeWarning, match=rf"left by pid {proc.pid} .*no longer"):
        resumed.run(store=store, resume=True)
    result = open_result(store)
    assert_same(result, expected)
    calls = np.bincount(np.loadtxt(counter, dtype=int), minlength=killsweep.N)
    assert (calls >= 1).all()
    in_done = np.repeat(done, 8)[: killsweep.N]
    assert (calls[in_done] == 1).all(), "a done chunk was recomputed"


def test_the_store_chunks_do_not_depend_on_the_executor(tmp_path, executors):
    # Chunks of 5 points: batches of 64 (one device), of 2 x 2 (two devices,
    # compiled once for the round trip above), and one point at a time.
    space = make_space()
    one = ParallelExecution(model, space, n_vmap=64, progress=False)
    one.run(store=tmp_path / "a", chunk_size=5)
    two = executors("parallel_2dev")
    assert (two.n_vmap, two.n_pmap, len(two.space)) == (2, 2, len(space))
    two.run(store=tmp_path / "b", chunk_size=5)
    executors("sequential").run(store=tmp_path / "c", chunk_size=5)
    a, b = open_result(tmp_path / "a"), open_result(tmp_path / "b")
    assert_same(a, b)
    assert_same(a, open_result(tmp_path / "c"), exact=False)  # eager: round-off
    for path in ("a", "b", "c"):
        info = store_info(tmp_path / path)
        assert info.chunk_size == 5 and info.complete
        assert info.n_chunks == -(-len(space) // 5)


def test_the_default_chunk_size_follows_the_output_size(tmp_path):
    space = Space({"x": GridAxis(0.0, 1.0, 10)})
    small = SequentialExecution(lambda s: s["x"], space, progress=False)
    small.run(store=tmp_path / "small")
    big = SequentialExecution(lambda s: jnp.full((1000, 1000), s["x"]), space)
    big.progress = False
    big.run(store=tmp_path / "big")
    assert store_info(tmp_path / "small").chunk_size == 4096
    assert store_info(tmp_path / "big").chunk_size == 2  # 8 MiB of 4 MB points


def test_a_store_killed_before_its_layout_resumes(tmp_path):
    """A run may die after creating the store but before laying out outputs
    (while compiling, say): the store says so, and resume starts it."""
    space = Space({"x": GridAxis(0.0, 1.0, 6)})

    with pytest.raises(ExecutionError, match="tracing the model"):
        ParallelExecution(untraceable, space, progress=False).run(tmp_path / "s")
    info = store_info(tmp_path / "s")
    assert info.chunk_size is None and not info.complete
    assert info.missing == [(0, 6)] and "not started" in str(info)
    fixed = ParallelExecution(traceable, space, progress=False)
    with pytest.warns(UserWarning, match="resume='force' although the model"):
        result = fixed.run(tmp_path / "s", resume="force", chunk_size=4)
    np.testing.assert_allclose(result.outputs, np.linspace(0, 1, 6))
    assert store_info(tmp_path / "s").chunk_size == 4


def untraceable(state):
    if state["x"] > 0.5:  # Python control flow on a traced value
        return state["x"]
    return -state["x"]


def traceable(state):
    return jnp.abs(state["x"])


traceable.__qualname__ = "untraceable"  # the fixed model, same name


def test_a_full_disk_names_the_store_and_the_chunk_and_keeps_the_rest(
    tmp_path, monkeypatch
):
    space = Space({"x": GridAxis(0.0, 1.0, 6)})
    put = local._put

    def full(path, value, *args, **kwargs):
        if path.parts[-3:] == ("y", "c", "2"):
            raise OSError(28, "No space left on device", str(path))
        return put(path, value, *args, **kwargs)

    monkeypatch.setattr(local, "_put", full)
    run = SequentialExecution(model_x, space, progress=False).run
    with pytest.raises(OSError, match=r"chunk 2 \(points 4 to 5\).*s'.*No space") as e:
        run(store=tmp_path / "s", chunk_size=2)
    assert e.value.errno == 28 and "finished before it are kept" in str(e.value)
    assert list(store_info(tmp_path / "s").done) == [True, True, False]
    monkeypatch.setattr(local, "_put", put)
    result = run(store=tmp_path / "s", resume=True)
    np.testing.assert_allclose(result.outputs["y"], np.linspace(0, 2, 6))


def test_a_full_disk_after_a_failed_point_keeps_the_failure(tmp_path, monkeypatch):
    """Keeping the unfinished points fails too: a warning says so, and the
    error is still the point's."""
    put = local._put

    def full(path, value, *args, **kwargs):
        if path.parts[-3:] == ("y", "c", "0"):
            raise OSError(28, "No space left on device", str(path))
        return put(path, value, *args, **kwargs)

    monkeypatch.setattr(local, "_put", full)
    space = Space({"x": GridAxis(0.0, 1.0, 8)})
    run = SequentialExecution(stopping_x, space, progress=False).run
    with pytest.warns(RuntimeWarning, match=r"unfinished points of chunk 0 .*s'"):
        with pytest.raises(ExecutionError, match="stop at 5"):
            run(store=tmp_path / "s", chunk_size=8)


@pytest.mark.parametrize(
    "outputs, error, match",
    [
        (
            {},
            ValueError,
            r"`model` returned no arrays \(its output is \{\}\).*at least",
        ),
        (None, ValueError, r"`model` returned no arrays \(its output is None\)"),
        (
            {"a": {"y": jnp.bfloat16(1)}},
            TypeError,
            r"leaf 'a.y' has dtype bfloat16.*y.astype\(jnp.float32\)",
        ),
        ({"zarr.json": 1.0}, ValueError, r"leaf 'zarr.json' has the name of a file"),
        ({"sweepjax.lock": 1.0}, ValueError, r"'sweepjax.lock' .*rename it"),
    ],
    ids=["empty", "none", "bfloat16", "zarr.json", "lock"],
)
def test_outputs_a_store_cannot_hold_are_refused_before_computing(
    tmp_path, outputs, error, match
):
    calls = []

    def constant(state):
        calls.append(1)
        return outputs

    space = Space({"x": GridAxis(0.0, 1.0, 2)})
    executor = SequentialExecution(constant, space, progress=False)
    with pytest.raises(error, match=match):
        executor.run(store=tmp_path / "s")
    assert len(calls) == 1  # traced once, nothing computed
