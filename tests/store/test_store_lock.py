"""One writer per store: a second process is refused, a dead owner's lock is
taken over, and two processes started together leave a correct store."""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from registry import assert_same

from sweepjax import GridAxis, ParallelExecution, Space, open_result, store_info
from sweepjax._store import StoreBusyError, remove_store
from sweepjax._store._lock import LOCK, StoreLock, lock_owner

SWEEP = textwrap.dedent(
    """
    import os, sys, time
    import jax, jax.numpy as jnp, numpy as np
    from sweepjax import DataAxis, ParallelExecution, Space

    space = Space({"i": DataAxis(np.arange(40))})

    def wait_for(path):
        deadline = time.monotonic() + 120
        while path and not os.path.exists(path):
            if time.monotonic() > deadline:
                sys.exit(f"{path} never appeared")
            time.sleep(0.01)

    def hold(i):  # the first run keeps the lock until the test lets it go
        wait_for(os.environ.get("SWEEP_HOLD_UNTIL"))

    def model(state):
        jax.debug.callback(hold, state["i"])
        return {"y": jnp.sin(state["i"] * 0.1), "v": jnp.full(3, state["i"])}

    if __name__ == "__main__":
        wait_for(os.environ.get("SWEEP_START_AFTER"))  # the second run
        try:
            ParallelExecution(model, space, n_vmap=2, progress=False).run(
                sys.argv[1], resume=True, chunk_size=4
            )
        except OSError as err:
            print("REFUSED", err)
            sys.exit(3)
    """
)


def test_two_processes_one_store_the_second_is_refused(tmp_path):
    """Both processes start together; the second tries the store once the
    first holds its lock, and the first finishes once the second has exited."""
    script = tmp_path / "lockedsweep.py"
    script.write_text(SWEEP)
    store = tmp_path / "s.zarr"
    locked, released = tmp_path / "locked", tmp_path / "released"
    run = [sys.executable, str(script), str(store)]
    env = {**os.environ, "SWEEP_HOLD_UNTIL": str(released)}
    first = subprocess.Popen(run, stdout=subprocess.PIPE, text=True, env=env)
    env = {**os.environ, "SWEEP_START_AFTER": str(locked)}
    second = subprocess.Popen(run, stdout=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while not lock_owner(store):
            assert first.poll() is None, "the first run ended without the lock"
            assert time.monotonic() < deadline, "the first run never took the lock"
            time.sleep(0.01)
        locked.touch()
        out, _ = second.communicate(timeout=120)
    finally:
        locked.touch()
        released.touch()
    assert first.wait(timeout=120) == 0
    assert second.returncode == 3, out
    assert "REFUSED" in out and "is being written by pid" in out
    assert f"pid {first.pid}" in out
    assert not (store / LOCK).exists()  # released when the first finished
    sys.path.insert(0, str(tmp_path))
    try:
        import lockedsweep
    finally:
        sys.path.remove(str(tmp_path))
    clean = ParallelExecution(lockedsweep.model, lockedsweep.space, progress=False)
    clean.run(tmp_path / "clean", chunk_size=4)
    assert store_info(store).complete
    assert_same(open_result(store), open_result(tmp_path / "clean"))


def test_a_live_owner_refuses_and_a_dead_one_is_taken_over(tmp_path):
    store = tmp_path / "s"
    store.mkdir()
    host = socket.gethostname()
    (store / LOCK).write_text(json.dumps({"host": host, "pid": os.getppid()}))
    with pytest.raises(StoreBusyError, match=rf"pid {os.getppid()} on host"):
        StoreLock(store).acquire()
    with pytest.raises(StoreBusyError, match="is being written by"):
        remove_store(store)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(dead.stdout)
    (store / LOCK).write_text(json.dumps({"host": host, "pid": pid}))
    lock = StoreLock(store)
    with pytest.warns(RuntimeWarning, match=rf"left by pid {pid} .* no longer runs"):
        lock.acquire()
    assert json.loads((store / LOCK).read_text())["pid"] == os.getpid()
    lock.release()
    assert not (store / LOCK).exists()


def test_another_hosts_lock_is_never_taken_over(tmp_path):
    store = tmp_path / "s"
    store.mkdir()
    (store / LOCK).write_text(json.dumps({"host": "elsewhere", "pid": 1}))
    with pytest.raises(StoreBusyError, match=r"host 'elsewhere'.* delete"):
        StoreLock(store).acquire()


def test_every_run_releases_the_lock(tmp_path):
    space = Space({"x": GridAxis(0.0, 1.0, 5)})
    ParallelExecution(double, space, progress=False).run(tmp_path / "a")
    assert not (tmp_path / "a" / LOCK).exists()
    with pytest.raises(FileExistsError):
        ParallelExecution(double, space, progress=False).run(tmp_path / "a")
    assert not (tmp_path / "a" / LOCK).exists()
    stored = open_result(tmp_path / "a").outputs
    np.testing.assert_allclose(stored, np.linspace(0, 2, 5))


def double(state):
    return state["x"] * 2
