"""The `sweepjax` command: run, resume after SIGKILL, info, demo, errors."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import jax
import numpy as np
import pytest

from sweepjax import ParallelExecution, open_result, store_info
from sweepjax.cli import load_sweep, main

SWEEP = textwrap.dedent(
    """
    import os
    import time

    import jax
    import jax.numpy as jnp
    import numpy as np

    from sweepjax import DataAxis, GridAxis, Space

    space = Space(
        {"i": DataAxis(np.arange(8)), "G": GridAxis(0.0, 1.0, 6), "dt": 0.1},
        mode="product",
    )
    n_vmap = 4


    def _slow(i):
        time.sleep(float(os.environ.get("SWEEP_DELAY", "0")))


    def model(state):
        jax.debug.callback(_slow, state["i"])
        return {"y": state["G"] * state["i"], "fc": jnp.eye(3) * state["G"]}
    """
)


@pytest.fixture
def sweep(tmp_path):
    path = tmp_path / "mysweep.py"
    path.write_text(SWEEP)
    return path


def expected(sweep):
    ns = load_sweep(sweep)
    return ParallelExecution(ns["model"], ns["space"], n_vmap=4, progress=False).run()


def assert_same(a, b):
    for x, y in zip(jax.tree.leaves(a.outputs), jax.tree.leaves(b.outputs)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_run_then_info(sweep, tmp_path, capsys):
    store = tmp_path / "s.zarr"
    assert main(["run", str(sweep), "--store", str(store), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "progress: 12/12 chunks, 48/48 points (100.0%), chunk size 4" in out
    assert_same(open_result(store), expected(sweep))
    assert main(["info", str(store)]) == 0
    info = capsys.readouterr().out
    assert "model:    mysweep.model" in info
    assert "  i  DataAxis     size=8      dim=1  int32" in info
    assert "fc: (3, 3) float32" in info and "y: () float32" in info


def test_sigkilled_cli_run_resumes_in_the_stored_chunks(sweep, tmp_path, capsys):
    store = tmp_path / "s.zarr"
    cmd = [sys.executable, "-m", "sweepjax.cli", "run", str(sweep), "--store"]
    env = dict(os.environ, SWEEP_DELAY="0.02")
    proc = subprocess.Popen([*cmd, str(store), "--no-progress"], env=env)
    markers = store / "_sweepjax" / "done" / "c"
    deadline = time.monotonic() + 60
    while not (markers.is_dir() and len(os.listdir(markers)) >= 2):
        assert proc.poll() is None and time.monotonic() < deadline, "never started"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    info = store_info(store)
    assert 2 <= info.done_chunks < info.n_chunks
    with pytest.warns(UserWarning, match="is incomplete"):
        open_result(store)
    # no --n-vmap: the stored chunk size (4) is used
    argv = ["run", str(sweep), "--store", str(store), "--resume", "--no-progress"]
    assert main(argv) == 0
    assert "48/48 points" in capsys.readouterr().out
    assert_same(open_result(store), expected(sweep))


def test_errors_exit_with_a_message(sweep, tmp_path, capsys):
    store = tmp_path / "s.zarr"
    assert main(["run", str(sweep), "--store", str(store), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["run", str(sweep), "--store", str(store), "--no-progress"]) == 1
    assert "already exists. Pass resume=True" in capsys.readouterr().err
    argv = ["run", str(sweep), "--store", str(store), "--no-progress"]
    assert main([*argv, "--resume", "--n-vmap", "2"]) == 1
    assert "chunk size differs (stored 4, now 2)" in capsys.readouterr().err
    assert main([*argv, "--overwrite", "--n-vmap", "2"]) == 0
    assert store_info(store).chunk_size == 2
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    assert main(["run", str(empty), "--store", str(tmp_path / "e")]) == 1
    assert "must define `space` as a sweepjax.Space" in capsys.readouterr().err
    assert main(["info", str(tmp_path / "nothing")]) == 1
    assert "No sweepjax store" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "nope.py"), "--store", str(store)]) == 1
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):
        main(["run", str(sweep)])  # --store is required


def test_demo_calls_the_network_demo(tmp_path, monkeypatch):
    seen = []
    fake = types.ModuleType("sweepjax.network._demo")
    fake.run_demo = seen.append
    monkeypatch.setitem(sys.modules, "sweepjax.network._demo", fake)
    assert main(["demo", "--out", str(tmp_path / "d")]) == 0
    assert main(["demo"]) == 0
    assert seen == [tmp_path / "d", Path("sweepjax-demo")]
