"""The `sweepjax` command: run, resume after SIGKILL, info, demo, errors."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import jax
import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from registry import assert_same

import sweepjax
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
    chunk_size = 4


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
    # three marker files: at least two whole ones (the kill may catch the
    # newest half-written)
    while not (markers.is_dir() and len(os.listdir(markers)) >= 3):
        assert proc.poll() is None and time.monotonic() < deadline, "never started"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    info = store_info(store)
    assert 2 <= info.done_chunks < info.n_chunks
    with pytest.warns(UserWarning, match="is incomplete"):
        open_result(store)
    # another batch size resumes the same store: it keeps its own chunks
    argv = ["run", str(sweep), "--store", str(store), "--resume", "--no-progress"]
    with pytest.warns(RuntimeWarning, match=rf"lock .* left by pid {proc.pid}"):
        assert main([*argv, "--n-vmap", "3"]) == 0
    assert "48/48 points" in capsys.readouterr().out
    assert_same(open_result(store), expected(sweep))


def test_errors_exit_with_a_message(sweep, tmp_path, capsys):
    store = tmp_path / "s.zarr"
    assert main(["run", str(sweep), "--store", str(store), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["run", str(sweep), "--store", str(store), "--no-progress"]) == 1
    assert "already exists: add --resume" in capsys.readouterr().err
    argv = ["run", str(sweep), "--store", str(store), "--no-progress"]
    assert main([*argv, "--resume", "--chunk-size", "2"]) == 1
    assert "chunk size differs (stored 4, now 2)" in capsys.readouterr().err
    assert main([*argv, "--resume", "--n-vmap", "0"]) == 1
    assert (
        "`--n-vmap` must be a positive int, got --n-vmap 0" in capsys.readouterr().err
    )
    assert main([*argv, "--overwrite", "--chunk-size", "0"]) == 1
    assert "`--chunk-size` must be a positive int" in capsys.readouterr().err
    assert store_info(store).complete  # a refused --overwrite deletes nothing
    assert main([*argv, "--overwrite", "--chunk-size", "5"]) == 0
    assert store_info(store).chunk_size == 5
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


def test_demo_runs_the_network_sweep(tmp_path, capsys):
    out = tmp_path / "d"
    argv = ["demo", "--out", str(out), "--n-g", "2", "--n-sigma", "2"]
    assert main([*argv, "--duration", "600", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "2 coupling x 2 noise = 4 simulations of 600 ms" in printed
    table = pd.read_csv(out / "results.csv")
    assert list(table.columns) == [
        "coupling.delayed.G",
        "noise.sigma",
        "mean_S",
        "std_S",
        "mean_FC",
    ]
    np.testing.assert_allclose(table["coupling.delayed.G"], [0.0, 0.0, 0.1, 0.1])
    assert table[["mean_S", "std_S"]].gt(0).all().all()
    assert "Output folder:" in printed and str(out.resolve()) in printed
    assert table.notna().all().all()
    image = matplotlib.image.imread(out / "heatmap.png")
    assert image.shape[0] > 300 and image.shape[1] > 1000


@pytest.mark.parametrize("flag", ["--n-vmap", "--workers", "--n-pmap", "--chunk-size"])
@pytest.mark.parametrize("value", ["0", "-2"])
def test_counts_below_one_are_refused_naming_the_option(
    sweep, tmp_path, capsys, flag, value
):
    store = tmp_path / "s.zarr"
    argv = ["run", str(sweep), "--store", str(store), "--no-progress"]
    assert main([*argv, flag, value]) == 1
    err = capsys.readouterr().err
    assert (
        err
        == f"sweepjax: error: `{flag}` must be a positive int, got {flag} {value}.\n"
    )
    assert not store.exists()


def test_n_pmap_is_refused_with_a_dask_run(sweep, tmp_path, capsys):
    argv = ["run", str(sweep), "--store", str(tmp_path / "s"), "--no-progress"]
    assert main([*argv, "--workers", "2", "--n-pmap", "2"]) == 1
    assert "`--n-pmap 2` spreads each call over devices" in capsys.readouterr().err


def test_an_unreachable_scheduler_fails_fast_and_leaves_the_store_alone(
    sweep, tmp_path, capsys
):
    store = tmp_path / "s.zarr"
    argv = ["run", str(sweep), "--store", str(store), "--no-progress"]
    dead = ["--scheduler", "tcp://127.0.0.1:9", "--connect-timeout", "1"]
    t0 = time.monotonic()
    assert main([*argv, *dead]) == 1
    assert time.monotonic() - t0 < 20
    err = capsys.readouterr().err
    assert err.startswith("sweepjax: error: cannot reach the Dask scheduler at ")
    assert "'tcp://127.0.0.1:9'" in err and err.count("\n") == 1
    assert not store.exists()
    # an existing store survives a failed --overwrite
    assert main(argv) == 0
    assert main([*argv, "--overwrite", *dead]) == 1
    assert "tcp://127.0.0.1:9" in capsys.readouterr().err
    assert store_info(store).complete


@pytest.fixture
def restore_x64():
    before = jax.config.jax_enable_x64
    yield
    jax.config.update("jax_enable_x64", before)


X64_SWEEP = textwrap.dedent(
    """
    import jax

    jax.config.update("jax_enable_x64", True)

    import numpy as np

    from sweepjax import DataAxis, GridAxis, Space

    space = Space({"x": GridAxis(1.0, 2.0, 12), "i": DataAxis(np.arange(12))})


    def model(state):
        # 1 + 1e-12 is 1 in float32: the outputs tell which precision ran
        return {"y": state["x"] + 1e-12 * state["i"]}
    """
)


def test_workers_see_the_x64_the_sweep_file_enables(tmp_path, capsys, restore_x64):
    sweep = tmp_path / "x64sweep.py"
    sweep.write_text(X64_SWEEP)
    store = tmp_path / "s.zarr"
    argv = ["run", str(sweep), "--store", str(store), "--no-progress"]
    assert main([*argv, "--workers", "1", "--chunk-size", "4"]) == 0
    assert "y: () float64" in capsys.readouterr().out
    y = np.asarray(open_result(store).outputs["y"])
    assert y.dtype == np.float64
    assert (y != np.linspace(1.0, 2.0, 12)).sum() == 11
    assert_same(open_result(store), expected(sweep))


SMALL = textwrap.dedent(
    """
    import os
    import sys

    import jax
    import jax.numpy as jnp

    from sweepjax import GridAxis, Space

    ARGV = list(sys.argv)
    space = Space({"x": GridAxis(0.0, 1.0, 6)})
    n_vmap = 2
    chunk_size = 4


    def _fail(x):
        if os.environ.get("SWEEP_FAIL") and x > 0.5:
            raise RuntimeError("diverged")


    def model(state):
        jax.debug.callback(_fail, state["x"])
        return {"y": state["x"] * SCALE}
    """
)


def small(tmp_path, scale="2.0", extra=""):
    path = tmp_path / "small.py"
    path.write_text(SMALL.replace("SCALE", scale) + f"\n{extra}\n")
    return path


def test_shell_messages_name_options_not_python_arguments(
    tmp_path, capsys, monkeypatch
):
    store = tmp_path / "s"
    argv = ["run", str(small(tmp_path)), "--store", str(store), "--no-progress"]
    assert main([*argv, "--chunk-size", "2"]) == 0
    capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "already exists: add --resume to continue its sweep, --overwrite" in err
    small(tmp_path, scale="3.0")  # the model changed
    assert main([*argv, "--resume"]) == 1
    err = capsys.readouterr().err
    assert "differs" in err and "resume with --force-resume" in err
    monkeypatch.setenv("SWEEP_FAIL", "1")
    (store / "_sweepjax" / "done" / "c" / "2").unlink()
    forced = r"with --force-resume although the (model|program) differs"
    with pytest.warns(UserWarning, match=forced):
        assert main([*argv, "--force-resume"]) == 1  # fails at x = 0.8
    err = capsys.readouterr().err
    assert "failed at index 4" in err and "run again with --resume to go on" in err
    assert "The 4 points computed before it were written;" in err
    for python in ("resume=", ".partial", "'force'"):
        assert python not in err
    monkeypatch.delenv("SWEEP_FAIL")
    with pytest.warns(UserWarning, match=forced):
        assert main([*argv, "--force-resume"]) == 0
    assert store_info(store).complete


def test_a_failed_first_run_leaves_no_store_behind(tmp_path, capsys, monkeypatch):
    store = tmp_path / "s"
    argv = ["run", None, "--store", str(store), "--no-progress"]
    argv[1] = str(small(tmp_path, scale="undefined_name"))  # fails to trace
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "NameError" in err and f"the store {str(store)!r} this run" in err
    assert not store.exists()
    monkeypatch.setenv("SWEEP_FAIL", "1")  # fails in the first chunk
    argv[1] = str(small(tmp_path))
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "No chunk was finished" in err
    assert "--resume" not in err and "to go on" not in err
    assert not store.exists()
    monkeypatch.delenv("SWEEP_FAIL")
    assert main(argv) == 0  # the same command, once fixed


def test_resume_keeps_the_stored_chunk_size_and_says_when_nothing_is_left(
    tmp_path, capsys
):
    store = tmp_path / "s"
    argv = ["run", str(small(tmp_path)), "--store", str(store), "--no-progress"]
    assert main([*argv, "--chunk-size", "2"]) == 0  # the file says 4
    (store / "_sweepjax" / "done" / "c" / "1").unlink()
    assert main([*argv, "--resume"]) == 0
    assert store_info(store).chunk_size == 2 and store_info(store).complete
    capsys.readouterr()
    assert main([*argv, "--resume"]) == 0
    assert f"nothing to do: all 6 points of {store} are done" in capsys.readouterr().out


@pytest.mark.parametrize(
    "line, match",
    [
        ("kwargs = [1]", r"`kwargs` in '.*small.py' must be a dict.*got list: \[1\]"),
        ("args = 1", r"`args` in '.*small.py' must be a tuple \(or list\), got int: 1"),
        ("model = 3", r"`model` in '.*small.py' must be a callable.*got int: 3"),
        ("space = [1]", r"`space` in '.*small.py' must be a sweepjax.Space.*list"),
        ("del space", r"small.py' must define `space` as a sweepjax.Space"),
    ],
)
def test_sweep_file_values_are_checked_by_name(tmp_path, line, match):
    with pytest.raises((TypeError, ValueError), match=match):
        load_sweep(small(tmp_path, extra=line))


def test_a_sweep_file_sees_its_own_argv_and_errors_keep_their_line(tmp_path, capsys):
    path = small(tmp_path)
    argv = list(sys.argv)
    assert load_sweep(path)["ARGV"] == [str(path)]
    assert sys.argv == argv
    path.write_text("import math\n\nx = math.sqrt(-1)\n")
    assert main(["run", str(path), "--store", str(tmp_path / "s")]) == 1
    err = capsys.readouterr().err
    assert f"ValueError at {path}, line 3 (x = math.sqrt(-1)): math domain" in err


def test_help_and_version(capsys):
    for command in ("info", "demo"):
        with pytest.raises(SystemExit, match="0"):
            main([command, "--help"])
    out = capsys.readouterr().out
    assert "Show what the store at STORE holds" in out
    assert "Sweep a 76-region whole-brain network" in out
    with pytest.raises(SystemExit, match="0"):
        main(["--version"])
    assert capsys.readouterr().out.strip() == sweepjax.__version__
    assert sweepjax.__version__.count(".") >= 1


def test_overwrite_keeps_the_old_store_when_the_new_sweep_does_not_trace(
    sweep, tmp_path, capsys
):
    store = tmp_path / "s.zarr"
    argv = ["run", str(sweep), "--store", str(store), "--no-progress"]
    assert main(argv) == 0
    before = open_result(store)
    sweep.write_text(SWEEP.replace('"y": state["G"]', '"y": jnp.sinn(state["G"])'))
    assert main([*argv, "--overwrite"]) == 1
    err = capsys.readouterr().err
    assert "fails on the first point (AttributeError" in err
    assert "sinn" in err and "was left as it was" in err
    assert store_info(store).complete
    assert_same(open_result(store), before)
