"""One writer per store: a second process is refused, a dead owner's lock is
taken over, and two processes started together leave a correct store."""

import errno
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
from registry import assert_same

from sweepjax import GridAxis, ParallelExecution, Space, open_result, store_info
from sweepjax._store import StoreBusyError, remove_store
from sweepjax._store._format import ATTR, DONE
from sweepjax._store._lock import (
    LOCK,
    StoreLock,
    boot_id,
    lock_owner,
    process_start,
)

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


def _dead_pid() -> int:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(dead.stdout)


def _contend(stores, barrier, results):
    """One of two processes resuming each crashed store at the same moment.
    Checking whether the owner runs takes 20 ms here, as on a loaded machine,
    so each process judges the lock stale while the other takes it over."""
    real = os.kill

    def slow_kill(pid, sig):
        time.sleep(0.02)
        return real(pid, sig)

    os.kill = slow_kill
    try:
        for store in stores:
            barrier.wait()
            lock = StoreLock(store)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    lock.acquire()
                    took = True
                except StoreBusyError:
                    took = False
            barrier.wait()  # both have tried: the winner may let go
            results.put((str(store), took))
            lock.release()
    finally:
        os.kill = real


def test_two_processes_taking_over_a_stale_lock_together_never_both_get_it(
    tmp_path,
):
    host, pid = socket.gethostname(), _dead_pid()
    stores = []
    for k in range(15):
        store = tmp_path / f"s{k}"
        store.mkdir()
        (store / LOCK).write_text(json.dumps({"host": host, "pid": pid}))
        stores.append(store)
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(2), spawn.Queue()
    other = spawn.Process(target=_contend, args=(stores, barrier, results))
    other.start()
    try:
        _contend(stores, barrier, results)
        took = [results.get(timeout=120) for _ in range(2 * len(stores))]
    finally:
        other.join(timeout=120)
    winners = {str(s): 0 for s in stores}
    for store, won in took:
        winners[store] += won
    assert list(winners.values()) == [1] * len(stores)
    assert not any(p.name != LOCK for s in stores for p in s.iterdir())


@pytest.mark.parametrize("fails", ["write", "fsync"])
def test_a_failed_lock_write_leaves_no_lock(tmp_path, monkeypatch, fails):
    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    store = tmp_path / "s"
    store.mkdir()
    with monkeypatch.context() as patch:
        patch.setattr(os, fails, full)
        with pytest.raises(OSError, match=r"No space left.*cannot write the lock"):
            StoreLock(store).acquire()
    assert list(store.iterdir()) == []  # no lock, no temporary file
    lock = StoreLock(store)
    lock.acquire()
    assert lock_owner(store)["run"] == lock.token
    lock.release()


def test_an_unreadable_lock_is_stale_once_old(tmp_path):
    store = tmp_path / "s"
    store.mkdir()
    (store / LOCK).write_text("")
    with pytest.raises(StoreBusyError, match="being written by an unreadable lock"):
        StoreLock(store).acquire()
    old = time.time() - 60
    os.utime(store / LOCK, (old, old))
    lock = StoreLock(store)
    with pytest.warns(RuntimeWarning, match="which is unreadable"):
        lock.acquire()
    lock.release()


def test_a_restarted_container_or_a_reused_pid_is_not_a_live_owner(tmp_path):
    store = tmp_path / "s"
    store.mkdir()
    me = {"host": socket.gethostname(), "pid": os.getpid()}
    start, parent = process_start(os.getpid()), os.getppid()
    assert start is not None
    kind = start.split(":")[0]
    stale = [
        # this very pid, from a container that restarted (another start time)
        ({**me, "start": f"{kind}:1"}, "its pid now belongs to another process"),
        # another process that got the dead owner's pid
        ({**me, "pid": parent, "start": f"{kind}:1"}, "now belongs to another"),
    ]
    if boot_id() is not None:
        stale.append(({**me, "boot": "before"}, "before this machine restarted"))
    for owner, why in stale:
        (store / LOCK).write_text(json.dumps(owner))
        lock = StoreLock(store)
        with pytest.warns(RuntimeWarning, match=why):
            lock.acquire()
        lock.release()
    live = {**me, "pid": parent, "start": process_start(parent), "boot": boot_id()}
    (store / LOCK).write_text(json.dumps(live))
    with pytest.raises(StoreBusyError, match=rf"pid {parent} on host"):
        StoreLock(store).acquire()


@pytest.fixture(scope="module")
def complete(tmp_path_factory):
    """A complete store, written once for the tests below."""
    path = tmp_path_factory.mktemp("complete") / "s.zarr"
    space = Space({"x": GridAxis(0.0, 1.0, 5)})
    ParallelExecution(double, space, progress=False).run(path, chunk_size=2)
    return path, space


def test_a_copy_of_a_running_store_resumes(complete, tmp_path):
    path, space = complete
    running = StoreLock(path)
    running.acquire()  # the original is being written (by this process)
    try:
        shutil.copytree(path, tmp_path / "copy")
        with pytest.raises(StoreBusyError, match="is being written by pid"):
            StoreLock(path).acquire()
        with pytest.warns(RuntimeWarning, match=r"\(this is a copy\)"):
            result = ParallelExecution(double, space, progress=False).run(
                tmp_path / "copy", resume=True
            )
    finally:
        running.release()
    np.testing.assert_allclose(result.outputs, np.linspace(0, 2, 5))
    assert not (tmp_path / "copy" / LOCK).exists()


def _read_only(monkeypatch):
    """Make every write-mode os.open fail as on a read-only filesystem."""
    real = os.open

    def open_(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)


@pytest.mark.parametrize("how", ["chmod", "erofs"])
def test_a_complete_read_only_store_opens_through_resume(
    complete, tmp_path, monkeypatch, how
):
    path, space = complete
    store = tmp_path / "ro"
    shutil.copytree(path, store)
    executor = ParallelExecution(double, space, progress=False)
    if how == "chmod":
        if os.geteuid() == 0:
            pytest.skip("root ignores permission bits (the erofs form runs)")
        subprocess.run(["chmod", "-R", "a-w", str(store)], check=True)
    else:
        os.remove(store / DONE / "c" / "1")  # chunk 1 is left to compute
        _read_only(monkeypatch)
        with pytest.raises(OSError, match=r"cannot be written .* points left"):
            executor.run(store, resume=True)
        monkeypatch.undo()
        executor.run(store, resume=True)
        _read_only(monkeypatch)
    try:
        result = executor.run(store, resume=True)
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(store)], check=True)
    np.testing.assert_allclose(result.outputs, np.linspace(0, 2, 5))
    assert not (store / LOCK).exists()


def test_a_filesystem_turned_read_only_shows_the_real_error(tmp_path, monkeypatch):
    from sweepjax._store import _writer

    def sync(paths):
        raise OSError(errno.EROFS, "Read-only file system", str(paths[0]))

    real_unlink = os.unlink

    def unlink(path, *args, **kwargs):
        if os.path.basename(path) == LOCK:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(_writer, "fsync", sync)
    monkeypatch.setattr(os, "unlink", unlink)
    space = Space({"x": GridAxis(0.0, 1.0, 5)})
    with (
        pytest.warns(RuntimeWarning, match=r"Could not remove the lock .*sweepjax"),
        pytest.raises(OSError, match="Read-only file system") as err,
    ):
        ParallelExecution(double, space, progress=False).run(tmp_path / "s")
    assert LOCK not in str(err.value)


def test_a_layout_never_deletes_done_chunks(complete, tmp_path):
    """A store whose layout is not final but holds done chunks (two writers
    once raced) is refused, its chunks kept."""
    path, space = complete
    store = tmp_path / "s"
    shutil.copytree(path, store)
    import zarr

    group = zarr.open_group(store, mode="r+", use_consolidated=False)
    meta = dict(group.attrs[ATTR])
    meta.pop("n_chunks")
    group.attrs[ATTR] = {**meta, "outputs": None, "chunk_size": None}
    markers = sorted((store / DONE / "c").iterdir())
    with pytest.raises(RuntimeError, match="holds done chunks but no output layout"):
        ParallelExecution(double, space, progress=False).run(store, resume=True)
    assert sorted((store / DONE / "c").iterdir()) == markers
