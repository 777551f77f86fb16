"""The run template every executor shares: tables, failures that keep what was
computed, non-finite warnings and argument checks, for every executor."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from registry import EXECUTORS, seed_metric, seed_space

from sweepjax import (
    ExecutionError,
    GridAxis,
    ParallelExecution,
    SequentialExecution,
    Space,
    store_info,
)


@pytest.mark.parametrize("kind", sorted(EXECUTORS))
def test_seed_result_table(kind, dask_client):
    df = EXECUTORS[kind](seed_metric, seed_space(), dask_client).run().to_dataframe()
    assert list(df.columns) == ["coupling", "noise", "activity", "ratio"]
    head = df.head().to_numpy()
    expected = [
        [0.0, 0.070052, 0.070052, 0.000000],
        [0.2, 0.074934, 0.474934, 2.668987],
        [0.4, 0.021412, 0.821412, 18.680656],
        [0.6, 0.041885, 1.241885, 14.324623],
        [0.8, 0.047898, 1.647898, 16.701727],
    ]
    np.testing.assert_allclose(head, expected, rtol=2e-6, atol=5e-7)


@pytest.mark.parametrize("kind", sorted(EXECUTORS))
def test_nonfinite_outputs_warn_once(kind, dask_client):
    space = Space({"x": GridAxis(-1.0, 1.0, 5)})
    with pytest.warns(RuntimeWarning, match=r"2 of 5 points .*first indices: \[0, 1\]"):
        EXECUTORS[kind](lambda s: jnp.sqrt(s["x"]), space, dask_client).run()


def fails_from(state, at):
    """Fails at every point >= `at` (in every executor: a host callback)."""

    def check(i):
        if int(i) >= at:
            raise RuntimeError(f"diverged at {int(i)}")

    jax.debug.callback(check, state["i"])
    return {"y": state["x"] * 2, "i": state["i"]}


@pytest.mark.parametrize("store", [False, True])
@pytest.mark.parametrize("kind", sorted(EXECUTORS))
def test_a_failure_keeps_every_point_computed_before_it(
    kind, store, dask_client, tmp_path
):
    space = Space({"i": GridAxis(0, 11, 12), "x": GridAxis(0.0, 1.0, 12)})
    path = tmp_path / "s" if store else None
    # at 9: past the first batch of every executor (2 points per device at
    # least: 8 on four devices) and in the third chunk
    run = EXECUTORS[kind](fails_from, space, dask_client, at=9)
    with pytest.raises(ExecutionError, match=r"failed at index \d+ with parameters"):
        run.run(store=path, chunk_size=4)
    try:
        run.run(store=None if path is None else tmp_path / "t", chunk_size=4)
    except ExecutionError as err:
        failure = err
    assert isinstance(failure.__cause__, Exception)
    assert failure.parameters["i"] == failure.index >= 8
    partial = failure.partial
    # Every point before the failing batch (chunk, for Dask) is in; none after.
    assert partial is not None and 8 <= len(partial) <= 9
    if kind == "distributed":
        assert len(partial) == 8
    np.testing.assert_allclose(partial.outputs["i"], np.arange(len(partial)))
    np.testing.assert_allclose(
        partial.outputs["y"], np.linspace(0, 1, 12)[: len(partial)] * 2, rtol=1e-6
    )
    if store:
        assert store_info(tmp_path / "t").done[0]
        assert "resume=True" in str(failure)


@pytest.mark.parametrize("kind", ["parallel", "parallel_4dev"])
def test_a_failure_is_reported_once_not_again_at_exit(kind):
    # JAX's exit hook waits on the last batches' effects: a callback error
    # kept there would print "Exception ignored in atexit callback".
    space = Space({"i": GridAxis(0, 11, 12), "x": GridAxis(0.0, 1.0, 12)})
    run = EXECUTORS[kind](fails_from, space, None, at=7)
    with pytest.raises(ExecutionError, match=r"failed at index \d+"):
        run.run(chunk_size=4)
    jax.effects_barrier()


def test_a_model_that_cannot_be_traced_gets_a_clear_error():
    def model(state):
        if state["x"] > 0.5:  # Python control flow on a traced value
            return state["x"]
        return -state["x"]

    space = Space({"x": GridAxis(0.0, 1.0, 3)})
    with pytest.raises(ExecutionError, match="tracing the model failed at index 0"):
        ParallelExecution(model, space, progress=False).run()


def test_bad_arguments_name_what_they_got():
    space = Space({"x": GridAxis(0.0, 1.0, 3)})
    with pytest.raises(TypeError, match="`model` must be callable"):
        SequentialExecution("model", space)
    with pytest.raises(TypeError, match="`space` must be a sweepjax.Space"):
        SequentialExecution(lambda s: s, {"x": 1})
    with pytest.raises(ValueError, match="`resume=True` needs a `store`"):
        SequentialExecution(lambda s: s["x"], space).run(resume=True)
    with pytest.raises(ValueError, match="`chunk_size` must be a positive int"):
        SequentialExecution(lambda s: s["x"], space).run(chunk_size=0)


def test_progress_bar_counts_every_point(capsys):
    space = Space({"x": GridAxis(0.0, 1.0, 25)})
    SequentialExecution(lambda s: s["x"], space).run()
    ParallelExecution(lambda s: s["x"], space, n_vmap=5).run()
    assert capsys.readouterr().err.count("25/25") == 2


def test_executor_options_never_shadow_model_arguments():
    def model(state, n_vmap=1):
        return state["x"] * n_vmap

    space = Space({"x": GridAxis(0.0, 1.0, 3)})
    with pytest.raises(TypeError, match=r"parameter `n_vmap`.*functools.partial"):
        ParallelExecution(model, space, n_vmap=2)
    with pytest.raises(TypeError, match=r"parameter `progress`"):
        SequentialExecution(lambda state, progress: state, space)
