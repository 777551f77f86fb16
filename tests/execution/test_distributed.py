"""DistributedExecution on a local Dask cluster of worker processes."""

import os
import signal
import threading
import time
from functools import partial

import cloudpickle
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
from registry import assert_same

from sweepjax import (
    DataAxis,
    DistributedExecution,
    ExecutionError,
    GridAxis,
    ParallelExecution,
    Space,
    SweepInterrupted,
    UniformAxis,
    open_result,
    store_info,
)
from sweepjax._sink import describe_outputs
from sweepjax._store import remove_store
from sweepjax.cli import main
from sweepjax.execution._dependencies import UnusedAxisWarning, trace_point
from sweepjax.execution._worker import numeric_config, run_chunk


@pytest.fixture
def client(dask_client):
    return dask_client


def model(state):
    return {
        "fc": jnp.outer(jnp.arange(4.0), jnp.ones(3)) * state["G"] + state["noise"],
        "mean": jnp.sin(state["G"]) * state["noise"] / state["dt"],
    }


def make_space():
    state = {"G": GridAxis(0.0, 1.0, 12), "noise": UniformAxis(0.0, 0.1, 5), "dt": 0.1}
    return Space(state, mode="product")


def indexed_space(n=96):
    return Space({"i": DataAxis(np.arange(n)), "x": GridAxis(0.0, 1.0, n)})


def _log(path, i):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, f"{int(i)}\n".encode())
    os.close(fd)


def _die_once(marker, log, i):
    """Log the point; at point 37, SIGKILL this worker process (once)."""
    _log(log, i)
    if int(i) == 37 and not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)


def _fail_at(point, log, i):
    _log(log, i)
    if int(i) == point:
        raise ValueError(f"boom at {point}")


def killer(state, marker, log):
    jax.debug.callback(partial(_die_once, marker, log), state["i"])
    return {"i": state["i"], "y": state["x"] * 3}


def flaky(state, fail_at, log):
    jax.debug.callback(partial(_fail_at, fail_at, log), state["i"])
    return {"y": state["x"] * 2 + state["i"], "z": jnp.full((2,), state["i"])}


def traced(state, log):
    _log(log, os.getpid())  # runs once per trace, in the tracing process
    return state["x"] * 2


def calls(log, n):
    return np.bincount(np.loadtxt(log, dtype=int, ndmin=1), minlength=n)


def test_distributed_store_holds_the_same_values_as_parallel(client, tmp_path):
    space = make_space()
    ParallelExecution(model, space, n_vmap=4, progress=False).run(
        tmp_path / "p", chunk_size=8
    )
    result = DistributedExecution(
        model, space, client=client, n_vmap=4, progress=False
    ).run(store=tmp_path / "d", chunk_size=8)
    assert store_info(tmp_path / "d").complete
    parallel, distributed = open_result(tmp_path / "p"), open_result(tmp_path / "d")
    assert_same(distributed, parallel)
    assert_same(result, parallel)
    xr.testing.assert_identical(distributed.to_xarray(), parallel.to_xarray())


def test_outputs_come_back_to_the_client(client):
    space = make_space()
    expected = ParallelExecution(model, space, n_vmap=4, progress=False).run()
    result = DistributedExecution(
        model, space, client=client.scheduler.address, n_vmap=4
    ).run(chunk_size=12)
    assert isinstance(result.outputs["fc"], np.ndarray)
    assert_same(result, expected)
    assert result.to_dataframe().equals(expected.to_dataframe())


def test_each_worker_compiles_once(client, tmp_path):
    log = tmp_path / "traces.txt"
    space = Space({"x": GridAxis(0.0, 1.0, 64)})
    executor = DistributedExecution(
        traced, space, client=client, n_vmap=2, log=str(log)
    )
    first = executor.run(chunk_size=4)
    second = executor.run(chunk_size=8)  # the workers reuse their compiled sweep
    np.testing.assert_array_equal(first.outputs, second.outputs)
    pids = np.loadtxt(log, dtype=int)
    _, counts = np.unique(pids, return_counts=True)
    assert (counts == 1).all()  # the client's trace plus one per worker
    assert len(counts) <= 3


@pytest.mark.parametrize("with_store", [False, True])
def test_killed_worker_still_yields_every_point_once(
    own_dask_client, tmp_path, with_store
):
    client = own_dask_client
    space, n = indexed_space(), 96
    marker, log = tmp_path / "killed", tmp_path / "calls.txt"
    done_marker = tmp_path / "exists"
    done_marker.touch()
    expected = ParallelExecution(
        killer, space, n_vmap=4, progress=False, marker=str(done_marker), log=os.devnull
    ).run()
    store = tmp_path / "s.zarr" if with_store else None
    result = DistributedExecution(
        killer,
        space,
        client=client,
        n_vmap=4,
        progress=False,
        marker=str(marker),
        log=str(log),
    ).run(store=store, chunk_size=8)
    assert marker.exists(), "no worker was killed"
    counts = calls(log, n)
    assert (counts >= 1).all() and counts[37] >= 2  # the killed chunk ran again
    assert_same(result, expected)
    np.testing.assert_array_equal(result.outputs["i"], np.arange(n))  # each once
    if with_store:
        assert store_info(store).complete
        assert_same(open_result(store), expected)


def _fail_at_listed(control, log, i):
    _log(log, i)
    if int(i) == int(open(control).read()):
        raise ValueError(f"boom at {int(i)}")


def flaky_by_file(state, control, log):
    """`flaky`, failing at the point named in the file `control`: a resume
    keeps the same arguments (a store refuses changed ones)."""
    jax.debug.callback(partial(_fail_at_listed, control, log), state["i"])
    return {"y": state["x"] * 2 + state["i"], "z": jnp.full((2,), state["i"])}


def test_failure_then_resume_skips_done_chunks(client, tmp_path):
    space, n = indexed_space(), 96
    store, log, control = tmp_path / "s", tmp_path / "calls.txt", tmp_path / "fail"
    run = partial(
        DistributedExecution,
        flaky_by_file,
        space,
        client=client,
        n_vmap=4,
        retries=0,
        progress=False,
        control=str(control),
        log=str(log),
    )
    control.write_text("50")
    with pytest.raises(
        ExecutionError,
        match=r"(?s)chunk \(after 0 retries\) failed at index 48 .*boom at 50",
    ) as err:
        run().run(store=store, chunk_size=8)
    assert len(err.value.partial) == 48  # every chunk before the failing one
    done = store_info(store).done
    assert not done[6]
    control.write_text("-1")
    os.replace(log, tmp_path / "first-run.txt")
    result = run().run(store=store, resume=True)
    expected = ParallelExecution(
        flaky, space, n_vmap=4, progress=False, fail_at=-1, log=os.devnull
    ).run()
    assert_same(result, expected)
    recomputed = calls(log, n)
    assert (recomputed[np.repeat(done, 8)] == 0).all(), "a done chunk was recomputed"


def test_failure_without_store_keeps_every_chunk_before_it(client, tmp_path):
    space = indexed_space(32)
    with pytest.raises(ExecutionError, match="after 0 retries") as err:
        DistributedExecution(
            flaky,
            space,
            client=client,
            n_vmap=4,
            retries=0,
            progress=False,
            fail_at=20,
            log=str(tmp_path / "log"),
        ).run(chunk_size=8)
    assert err.value.index == 20
    partial_result = err.value.partial
    assert len(partial_result) == 16  # chunks [0, 8) and [8, 16), whatever order
    np.testing.assert_allclose(
        partial_result.outputs["y"],
        np.linspace(0, 1, 32)[:16] * 2 + np.arange(16),
        rtol=1e-6,
    )


def test_embedded_local_cluster():
    space = make_space()
    expected = ParallelExecution(model, space, n_vmap=8, progress=False).run()
    result = DistributedExecution(
        model, space, n_vmap=8, n_workers=1, progress=False
    ).run(chunk_size=16)
    assert_same(result, expected)


def test_cli_runs_on_a_scheduler(client, tmp_path, capsys):
    sweep = tmp_path / "clisweep.py"
    sweep.write_text(
        "import jax.numpy as jnp\n"
        "from sweepjax import GridAxis, Space\n"
        "space = Space({'x': GridAxis(0.0, 1.0, 40)})\n"
        "def model(state):\n"
        "    return {'y': jnp.cos(state['x'])}\n"
    )
    store = tmp_path / "s.zarr"
    args = ["run", str(sweep), "--store", str(store), "--no-progress"]
    assert main([*args, "--scheduler", client.scheduler.address, "--n-vmap", "4"]) == 0
    assert "40/40 points" in capsys.readouterr().out
    y = np.asarray(open_result(store).outputs["y"])
    np.testing.assert_allclose(y, np.cos(np.linspace(0, 1, 40)), rtol=1e-6)


def test_arguments_are_checked_before_any_cluster_starts(tmp_path):
    space = make_space()
    with pytest.raises(TypeError, match="`client` must be None"):
        DistributedExecution(model, space, client=3)
    with pytest.raises(ValueError, match=r"`retries` must be an int >= 0, got -1"):
        DistributedExecution(model, space, retries=-1)
    with pytest.raises(ValueError, match=r"`n_workers` must be a positive int"):
        DistributedExecution(model, space, n_workers=0)
    ParallelExecution(model, space, n_vmap=4, progress=False).run(
        tmp_path / "s", chunk_size=4
    )
    with pytest.raises(ValueError, match=r"chunk size differs \(stored 4, now 8\)"):
        DistributedExecution(model, space, progress=False).run(
            tmp_path / "s", resume=True, chunk_size=8
        )


def test_relative_store_paths_work_with_a_client_around(client, tmp_path, monkeypatch):
    """A live Client is Dask's default scheduler: lazy reads of a store then run
    on workers in another directory, and so do the workers' writes."""
    monkeypatch.chdir(tmp_path)
    space = make_space()
    expected = ParallelExecution(model, space, n_vmap=4, progress=False).run()
    DistributedExecution(model, space, client=client, progress=False).run("rel.zarr")
    assert_same(open_result("rel.zarr"), expected)


def ignores_noise(state):
    return {"y": state["G"] * state["dt"]}


def test_distributed_warns_about_an_axis_the_outputs_ignore(client):
    space = make_space()
    with pytest.warns(UnusedAxisWarning, match=r"DistributedExecution: .* `noise`"):
        result = DistributedExecution(
            ignores_noise, space, client=client, n_vmap=4, progress=False
        ).run(chunk_size=20)
    np.testing.assert_allclose(
        result.outputs["y"], np.repeat(np.linspace(0, 1, 12), 5) * 0.1, rtol=1e-6
    )


def tiny_step(state):
    # 1 + 1e-12 is 1 in float32: the outputs tell which precision ran
    return {"y": state["x"] + 1e-12 * state["i"], "i": state["i"] * 2}


def test_workers_compute_in_float64_when_the_client_enables_x64(client):
    with jax.enable_x64(True):  # this thread only: other tests keep float32
        space = Space({"x": GridAxis(1.0, 2.0, 24), "i": DataAxis(np.arange(24))})
        expected = ParallelExecution(tiny_step, space, n_vmap=4, progress=False).run()
        result = DistributedExecution(
            tiny_step, space, client=client, n_vmap=4, progress=False
        ).run(chunk_size=6)
    assert result.outputs["y"].dtype == np.float64
    assert result.outputs["i"].dtype == np.int64
    assert (result.outputs["y"] != np.linspace(1.0, 2.0, 24)).sum() == 23
    assert_same(result, expected)


def test_a_worker_output_mismatch_names_the_flag_that_differs():
    space = Space({"x": GridAxis(1.0, 2.0, 4), "i": DataAxis(np.arange(4))})
    expected = {
        "i": {"shape": [], "dtype": "int64"},
        "y": {"shape": [], "dtype": "float64"},
    }
    blob = cloudpickle.dumps((tiny_step, space, (), {}, 2, expected))
    # a flag this JAX does not know cannot be applied: the check names it
    config = {"jax_enable_x64": False, "jax_made_up_precision_flag": "high"}
    with pytest.raises(
        ValueError,
        match=r"(?s)returns \{'i'.*int32.*but the client traced .*float64.*"
        r"jax_made_up_precision_flag is 'high' on the client but 'unknown' on this "
        r"worker",
    ):
        run_chunk((config, blob), "mismatch-token", "run", 0, 4, 2, None)


def _wait_for(path):
    deadline = time.monotonic() + 120
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)


def _hold_chunk_1(started, release, fail, i):
    """Point 4 (chunk 1) says it runs, then waits for the test to release it;
    with `fail`, point 0 fails once chunk 1 runs."""
    if int(i) == 4:
        open(started, "w").close()
        _wait_for(release)
    if int(i) == 0 and fail:
        _wait_for(started)
        raise ValueError("boom at 0")


def old_model(state, started, release, fail):
    jax.debug.callback(partial(_hold_chunk_1, started, release, fail), state["i"])
    return {"y": state["x"] + 100.0 + 0.0 * state["i"]}


def fixed_model(state):
    return {"y": state["x"] + 0.0 * state["i"]}


def _executing(dask_worker):
    return dask_worker.state.executing_count


@pytest.mark.parametrize("end", ["failure", "interrupt"])
def test_no_write_lands_after_the_run_ended(own_dask_client, tmp_path, end):
    """Chunk 1 still runs when the run ends (its point 0 fails, or Ctrl-C);
    the store is removed and written again by a fixed model; then chunk 1 of
    the old run finishes: it must not write into the new store."""
    client = own_dask_client
    space, store = indexed_space(16), tmp_path / "s.zarr"
    started, release = tmp_path / "started", tmp_path / "release"
    old = DistributedExecution(
        old_model,
        space,
        client=client,
        n_vmap=4,
        retries=0,
        progress=False,
        started=str(started),
        release=str(release),
        fail=end == "failure",
    )
    if end == "failure":
        with pytest.raises(ExecutionError, match="boom at 0"):
            old.run(store=store, chunk_size=4)
    else:

        def interrupt():
            _wait_for(started)
            os.kill(os.getpid(), signal.SIGINT)

        threading.Thread(target=interrupt, daemon=True).start()
        with pytest.raises(SweepInterrupted, match="[Ii]nterrupted after"):
            old.run(store=store, chunk_size=4)
    assert started.exists()
    try:
        remove_store(store)
        rerun = ParallelExecution(fixed_model, space, n_vmap=4, progress=False)
        expected = rerun.run(store=store, chunk_size=4)
    finally:
        release.touch()
    deadline = time.monotonic() + 120
    while any(client.run(_executing).values()):  # the old chunk 1 finishes
        assert time.monotonic() < deadline, "the old task never finished"
        time.sleep(0.05)
    assert store_info(store).complete
    np.testing.assert_array_equal(
        open_result(store).outputs["y"], expected.outputs["y"]
    )
    np.testing.assert_allclose(expected.outputs["y"], np.linspace(0, 1, 16))


def test_workers_that_cannot_see_the_store_say_so(client, tmp_path):
    space = indexed_space(4)
    struct = trace_point(fixed_model, space, (), {}).struct
    blob = cloudpickle.dumps((fixed_model, space, (), {}, 2, describe_outputs(struct)))
    missing = str(tmp_path / "elsewhere.zarr")
    future = client.submit(
        run_chunk, (numeric_config(), blob), "unseen", "run", 0, 4, 2, missing
    )
    with pytest.raises(
        FileNotFoundError,
        match=r"is not visible on worker .*: a store written by DistributedExecution "
        r"must be on a filesystem shared by the client and every worker",
    ):
        future.result()


def test_a_scheduler_without_workers_is_named_after_a_timeout():
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as cluster:
        executor = DistributedExecution(
            fixed_model,
            indexed_space(4),
            client=cluster.scheduler_address,
            worker_timeout=0.5,
            progress=False,
        )
        with pytest.raises(
            TimeoutError,
            match=rf"scheduler at '{cluster.scheduler_address}' has no workers "
            r"\(waited 0.5 s\)",
        ):
            executor.run()
    with pytest.raises(ValueError, match=r"`worker_timeout` must be a positive"):
        DistributedExecution(fixed_model, indexed_space(4), worker_timeout=0)
