"""Ctrl-C during a run: said at once, the batch in flight kept and written,
then a short `SweepInterrupted` (no JAX frames) saying how to go on."""

import re
import signal
import subprocess
import sys
import textwrap
import threading
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax import (
    GridAxis,
    ParallelExecution,
    SequentialExecution,
    Space,
    SweepInterrupted,
    store_info,
)

# A sweep whose batches wait, inside the compiled call, for a file the test
# creates once it has sent SIGINT: the signal lands in the batch in flight.
SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    import jax, jax.numpy as jnp, numpy as np
    from sweepjax import GridAxis, ParallelExecution, Space

    def wait(x):
        print("batch", flush=True)
        while not os.path.exists("go"):
            time.sleep(0.01)
        return np.asarray(x) * 2

    def model(state):
        out = jax.ShapeDtypeStruct((), jnp.float32)
        return jax.pure_callback(wait, out, state["x"], vmap_method="expand_dims")

    space = Space({"x": GridAxis(0.0, 1.0, int(sys.argv[2]))})
    executor = ParallelExecution(model, space, n_vmap=int(sys.argv[1]))
    executor.run(store="s.zarr", chunk_size=2)
    """
)


def _interrupt(tmp_path, n_vmap: int, n_points: int):
    """Run SCRIPT, send SIGINT once its first batch started; stderr and the
    store's done points."""
    (tmp_path / "sweep.py").write_text(SCRIPT)
    argv = [sys.executable, "sweep.py", str(n_vmap), str(n_points)]
    proc = subprocess.Popen(
        argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "batch"
        proc.send_signal(signal.SIGINT)
        # the notice comes while the batch still waits (a Python handler
        # could not run then: the main thread is inside the compiled call)
        told = ""
        deadline = time.monotonic() + 120
        while "Ctrl-C" not in told and time.monotonic() < deadline:
            told += proc.stderr.readline()
        (tmp_path / "go").touch()
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    info = store_info(tmp_path / "s.zarr")
    return told, err, proc.returncode, info


def test_ctrl_c_keeps_the_batch_in_flight_and_says_so_at_once(tmp_path):
    told, err, code, info = _interrupt(tmp_path, n_vmap=2, n_points=12)
    assert "stops once the batch in flight is written" in told
    assert code != 0
    # (2 or 4: the next batch may have been dispatched before the signal)
    assert re.search(r"SweepInterrupted: .* after (2|4) points \(of 12\)", err)
    assert "run again with resume=True" in err
    # the batch in flight, points 0-1, was written and marked done
    assert 2 <= info.done_points < 12
    assert info.missing[0][0] == info.done_points
    # a short traceback: the run call and the template, no JAX frames
    assert "jax/_src" not in err and "site-packages/jax" not in err
    assert len(err.splitlines()) < 15, err


def test_ctrl_c_keeps_a_study_run_as_one_batch(tmp_path):
    told, err, code, info = _interrupt(tmp_path, n_vmap=64, n_points=12)
    assert "stops once the batch in flight is written" in told
    # the only batch was in flight: it is written, and the run ends normally
    assert code == 0, err
    assert info.done_points == 12


def _ctrl_c_at(at: int, times: int = 1):
    """A host callback that sends this process SIGINT at point `at`."""

    def send(i):
        if int(i) == at:
            for _ in range(times):
                signal.raise_signal(signal.SIGINT)

    def model(state):
        jax.debug.callback(send, state["i"])
        return {"y": state["x"] * 2, "i": state["i"]}

    return model


SPACE = Space({"i": GridAxis(0, 7, 8), "x": GridAxis(0.0, 1.0, 8)})


@pytest.mark.parametrize("kind", ["parallel", "sequential"])
def test_raise_signal_in_a_callback_keeps_what_was_computed(kind):
    model = _ctrl_c_at(2)
    if kind == "parallel":
        executor = ParallelExecution(model, SPACE, n_vmap=2, progress=False)
        in_flight = 4  # the batch of points 2-3
    else:
        executor = SequentialExecution(model, SPACE, progress=False)
        in_flight = 3  # point 2
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(
        SweepInterrupted, match=r"after \d points \(of 8\); they are in"
    ) as e:
        executor.run()
    assert signal.getsignal(signal.SIGINT) is handler  # put back
    err = e.value
    assert err.__cause__ is None and err.__suppress_context__
    assert in_flight <= len(err.partial) < 8
    expected = np.linspace(0.0, 1.0, 8)[: len(err.partial)] * 2
    np.testing.assert_allclose(err.partial.outputs["y"], expected)


def test_a_second_ctrl_c_stops_at_once(tmp_path):
    model = _ctrl_c_at(2, times=2)
    executor = SequentialExecution(model, SPACE, progress=False)
    with pytest.raises(
        SweepInterrupted, match=r"after 2 points \(of 8\): 2 are kept in the store"
    ) as e:
        executor.run(store=tmp_path / "s", chunk_size=1)
    assert len(e.value.partial) == 2  # point 2 was not finished
    assert store_info(tmp_path / "s").done_points == 2


def test_a_run_outside_the_main_thread_leaves_signals_alone():
    got = []
    space = Space({"x": GridAxis(0.0, 1.0, 3)})

    def work():
        got.append(ParallelExecution(lambda s: s["x"], space, progress=False).run())

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    np.testing.assert_allclose(got[0].outputs, jnp.linspace(0.0, 1.0, 3))
