"""SequentialExecution: the model as written, one point at a time."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax import DataAxis, ExecutionError, GridAxis, SequentialExecution, Space


def run(model, space, **kwargs):
    return SequentialExecution(model, space, progress=False, **kwargs).run()


def test_fixed_leaves_reach_the_model_untouched_and_axis_leaves_are_jax():
    marker = object()

    def model(state):
        assert state["obj"] is marker
        assert isinstance(state["v"], jax.Array)
        return state["v"].at[0].set(state["x"])  # TVB-Optim models do this

    space = Space(
        {"x": GridAxis(0.0, 1.0, 3), "obj": marker, "v": DataAxis(np.ones((3, 2)))}
    )
    np.testing.assert_allclose(run(model, space).outputs, [[0, 1], [0.5, 1], [1, 1]])


def test_the_first_point_is_computed_once():
    calls = []

    def model(state):
        calls.append(float(state["x"]))
        return state["x"]

    run(model, Space({"x": GridAxis(0.0, 1.0, 4)}))
    assert calls == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])


def test_a_failure_names_the_point_and_keeps_earlier_results():
    def model(state):
        if float(state["x"]) > 0.7:
            raise RuntimeError("diverged")
        return {"y": state["x"] * 2}

    space = Space({"x": GridAxis(0.0, 1.0, 6)})
    with pytest.raises(
        ExecutionError, match=r"model failed at index 4 with parameters \{'x': 0\.8"
    ) as info:
        SequentialExecution(model, space, progress=False).run(chunk_size=3)
    err = info.value
    assert err.index == 4 and err.parameters["x"] == pytest.approx(0.8)
    assert isinstance(err.__cause__, RuntimeError)
    assert len(err.partial) == 4
    np.testing.assert_allclose(err.partial.outputs["y"], [0.0, 0.4, 0.8, 1.2])


@pytest.mark.parametrize(
    "model, match",
    [
        (lambda s: np.ones(int(s["n"])), r"index 1 .*must keep one structure, shape"),
        (lambda s: 0 if int(s["n"]) == 1 else 0.5, r"index 1 .*float32.*int32"),
        (lambda s: {"a": 1.0} if int(s["n"]) == 1 else {"b": 1.0}, r"index 1 "),
    ],
    ids=["shape", "dtype", "structure"],
)
def test_outputs_that_change_between_points_raise(model, match):
    space = Space({"n": DataAxis([1, 2, 3])})
    with pytest.raises(ExecutionError, match=match) as info:
        run(model, space)
    assert len(info.value.partial) == 1  # the first point is kept


def test_outputs_are_stacked_in_the_first_points_dtypes():
    space = Space({"x": GridAxis(0.0, 1.0, 3)})
    out = run(lambda s: {"f": float(s["x"]), "i": jnp.int32(2)}, space).outputs
    assert out["f"].dtype == np.float32 and out["i"].dtype == np.int32
