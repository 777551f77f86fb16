"""Invariants every executor keeps, fed by the registries of axes and executors:
the same numbers as a point-by-point loop, and a resumed store (any executor,
any n_vmap / n_pmap, interrupted at any chunk) equal to an uninterrupted run.

Compiled executors agree with each other and with ``jit`` per point to the bit;
the eager SequentialExecution agrees with an eager loop to the bit and with
compiled executors to float round-off (see `registry.EAGER`).
"""

import os
import time
import warnings
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from registry import AXES, EAGER, EXECUTORS, assert_same, generic_model

from sweepjax import DataAxis, ExecutionError, GridAxis, Space, open_result, store_info

SETTINGS = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def reference(space, eager):
    """The outputs of a Python loop over the points, calling the model
    eagerly or compiled (``jit`` of one point)."""
    model = generic_model if eager else eqx.filter_jit(generic_model)
    points = [model(space[i]) for i in range(len(space))]
    return jax.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *points)


@SETTINGS
@given(
    axes=st.lists(st.sampled_from(sorted(AXES)), min_size=1, max_size=3),
    sizes=st.lists(st.integers(1, 4), min_size=3, max_size=3),
    mode=st.sampled_from(["product", "zip"]),
    executor=st.sampled_from(sorted(EXECUTORS)),
)
def test_every_executor_equals_a_point_by_point_loop(
    dask_client, axes, sizes, mode, executor
):
    state = {
        f"{name}_{k}": AXES[name](n)
        for k, (name, n) in enumerate(zip(axes, sizes[: len(axes)], strict=True))
    }
    state["label"] = "fixed"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zip drops combinations
        space = Space(state, mode=mode, key=jax.random.key(11))
    result = EXECUTORS[executor](generic_model, space, dask_client).run()
    expected = reference(space, executor in EAGER)
    for got, want in zip(
        jax.tree.leaves(result.outputs), jax.tree.leaves(expected), strict=True
    ):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def _log_or_fail(flag, fail_at, log, i):
    """Fail at points >= fail_at while `flag` exists; log each computed point."""
    i = int(i)
    if os.path.exists(flag) and i >= fail_at:
        raise RuntimeError(f"interrupted at {i}")
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, f"{i}\n".encode())
    os.close(fd)


def interruptible(state, flag, fail_at, log):
    jax.debug.callback(partial(_log_or_fail, flag, fail_at, log), state["i"])
    x = state["x"]
    return {"y": x * 3.0 + state["i"], "v": jnp.stack([x, x * x]), "i": state["i"]}


def computed(log, n):
    if not os.path.exists(log):
        return np.zeros(n, int)
    return np.bincount(np.loadtxt(log, dtype=int, ndmin=1), minlength=n)


def settle(client, timeout=30.0):
    """Wait until the cluster runs no task (a failed run cancels its pending
    tasks; those already running still finish and write their chunks)."""
    deadline = time.monotonic() + timeout
    while any(client.processing().values()):
        assert time.monotonic() < deadline, "the cluster never settled"
        time.sleep(0.02)


@SETTINGS
@given(
    n=st.integers(2, 24),
    chunk=st.integers(2, 8),
    fail_fraction=st.floats(0.0, 0.99),
    first=st.sampled_from(sorted(EXECUTORS)),
    second=st.sampled_from(sorted(EXECUTORS)),
)
def test_resume_with_any_executor_equals_an_uninterrupted_run(
    dask_client, tmp_path_factory, n, chunk, fail_fraction, first, second
):
    tmp = tmp_path_factory.mktemp("resume")
    space = Space({"i": DataAxis(np.arange(n)), "x": GridAxis(0.0, 1.0, n)})
    fail_at = int(fail_fraction * n)
    flag = tmp / "flag"
    kwargs = {"flag": str(flag), "fail_at": fail_at}

    def executor(kind, log):
        return EXECUTORS[kind](
            interruptible, space, dask_client, log=str(tmp / log), **kwargs
        )

    # The same arguments in both runs on "s" (resume refuses others): the
    # log of the first run is moved aside before the second.
    executor(first, "clean.txt").run(store=tmp / "clean", chunk_size=chunk)
    flag.touch()
    # Batched and distributed executors may meet any point >= fail_at first.
    with pytest.raises(ExecutionError, match="interrupted at"):
        executor(first, "log.txt").run(store=tmp / "s", chunk_size=chunk)
    settle(dask_client)  # tasks already running when the run failed finish
    if (tmp / "log.txt").exists():
        (tmp / "log.txt").rename(tmp / "first.txt")
    info = store_info(tmp / "s")
    assert not info.complete
    if info.chunk_size is None:  # failed at the very first point, before layout
        assert fail_at == 0
        done = np.zeros(-(-n // chunk), bool)
    else:
        assert info.chunk_size == chunk
        done = info.done
    assert not done[fail_at // chunk], "the failing chunk must not be done"
    flag.unlink()
    resumed = executor(second, "log.txt").run(store=tmp / "s", resume=True)
    assert store_info(tmp / "s").complete
    clean = open_result(tmp / "clean")
    exact = (first in EAGER) == (second in EAGER)
    assert_same(open_result(tmp / "s"), clean, exact)
    assert_same(resumed, clean, exact)
    again = computed(tmp / "log.txt", n)
    done_points = np.repeat(done, chunk)[:n]
    assert (again[done_points] == 0).all(), "a done chunk was computed again"
    assert (again[~done_points] >= 1).all()
