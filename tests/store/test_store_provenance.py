"""The store records how its sweep was run, and resume refuses anything else."""

import hashlib
import warnings
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sweepjax
from sweepjax import (
    ExecutionError,
    GridAxis,
    ParallelExecution,
    SequentialExecution,
    Space,
    UniformAxis,
    open_result,
    store_info,
)
from sweepjax._store import describe_space
from sweepjax.cli import main
from sweepjax.execution._dependencies import trace_point


def scaled(state, gain, offset=0.0):
    return {"y": state["x"] * state["dt"] * gain + offset}


def space_with(dt):
    return Space({"x": GridAxis(0.0, 1.0, 6), "dt": dt, "w": np.ones(3)})


def run(store, dt=0.1, gain=2.0, resume=False, **kwargs):
    executor = ParallelExecution(scaled, space_with(dt), gain, progress=False, **kwargs)
    return executor.run(store, resume=resume, chunk_size=2)


def test_fixed_parameters_are_recorded_and_shown(tmp_path, capsys):
    run(tmp_path / "s")
    info = store_info(tmp_path / "s")
    assert info.fixed["dt"] == 0.1
    assert info.fixed["w"]["shape"] == [3] and len(info.fixed["w"]["sha1"]) == 40
    assert info.provenance["args"] == {"[0]": 2.0}
    assert info.provenance["x64"] is False
    assert info.provenance["versions"]["jax"] == jax.__version__
    assert main(["info", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "fixed:\n  dt = 0.1\n  w = array (3,) float64" in out


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(dt=0.2), r"fixed parameters differs \(dt: stored 0\.1, now 0\.2\)"),
        (dict(gain=3.0), r"positional arguments differs \(\[0\]: stored 2\.0, now 3"),
        (dict(offset=1.0), r"keyword arguments differs \(offset: absent from the"),
    ],
    ids=["fixed leaf", "args", "kwargs"],
)
def test_resume_refuses_changed_parameters_and_names_them(tmp_path, change, match):
    run(tmp_path / "s")
    with pytest.raises(ValueError, match=match):
        run(tmp_path / "s", resume=True, **change)
    with pytest.raises(ValueError, match="resume='force'"):
        run(tmp_path / "s", resume=True, **change)
    run(tmp_path / "s", resume=True)  # unchanged: resumes


def times_k(state):
    return {"y": state["x"] * state["k"]}


@pytest.mark.parametrize(
    "k, expected",
    [
        (1, None),  # the same program: accepted
        (
            np.float32(1.0),  # an array input instead of a constant
            r"the program differs .*equal values of another type: k "
            r"\(1\.0 -> float32 1\.0\)",
        ),
    ],
    ids=["int", "float32"],
)
def test_an_equal_fixed_value_of_another_type_is_compared_by_what_it_computes(
    tmp_path, k, expected
):
    def space(k):
        return Space({"x": GridAxis(0.0, 1.0, 3), "k": k})

    SequentialExecution(times_k, space(1.0), progress=False).run(tmp_path / "s")
    executor = SequentialExecution(times_k, space(k), progress=False)
    if expected is None:
        assert len(executor.run(tmp_path / "s", resume=True)) == 3
        return
    with pytest.raises(ValueError, match=expected) as refused:
        executor.run(tmp_path / "s", resume=True)
    assert "{...}" not in str(refused.value)


def test_resume_refuses_changed_model_code_unless_forced(tmp_path):
    space = space_with(0.1)
    with pytest.raises(ExecutionError, match="stop"):
        SequentialExecution(stops_at_4, space, progress=False).run(
            tmp_path / "s", chunk_size=2
        )
    with pytest.raises(ValueError, match=r"the model differs \(source_sha1: stored"):
        SequentialExecution(fixed_model, space, progress=False).run(
            tmp_path / "s", resume=True
        )
    with pytest.warns(UserWarning, match=r"resume='force' although the model"):
        result = SequentialExecution(fixed_model, space, progress=False).run(
            tmp_path / "s", resume="force"
        )
    np.testing.assert_allclose(result.outputs["y"], np.linspace(0, 1, 6) * 0.1)
    meta = open_result(tmp_path / "s")  # readable as any store
    assert len(meta) == 6
    with pytest.raises(ValueError, match=r"`resume` must be False, True or 'force'"):
        SequentialExecution(fixed_model, space).run(tmp_path / "s", resume="yes")


def stops_at_4(state):
    if float(state["x"]) > 0.7:
        raise RuntimeError("stop")
    return {"y": state["x"] * state["dt"]}


def fixed_model(state):
    return {"y": state["x"] * state["dt"]}


fixed_model.__qualname__ = "stops_at_4"  # the same model, edited


class PairAB(NamedTuple):
    a: jax.Array
    b: jax.Array


class PairBA(NamedTuple):
    b: jax.Array
    a: jax.Array


OUTPUT = {"type": PairAB}


def pair_model(state):
    x = state["x"]
    jax.debug.callback(_stop_if_flagged, x)
    return OUTPUT["type"](a=x * 2, b=x * 3)


def _stop_if_flagged(x):
    if OUTPUT.get("stop") and x > 0.5:
        raise RuntimeError("stop")


def test_outputs_are_matched_by_leaf_path_when_fields_are_reordered(tmp_path):
    space = Space({"x": GridAxis(0.0, 1.0, 6)})
    OUTPUT.update(type=PairAB, stop=True)
    try:
        with pytest.raises(ExecutionError):
            ParallelExecution(pair_model, space, progress=False).run(
                tmp_path / "s", chunk_size=2
            )
        OUTPUT.update(type=PairBA, stop=False)
        ParallelExecution(pair_model, space, progress=False).run(
            tmp_path / "s", resume=True
        )
    finally:
        OUTPUT.update(type=PairAB, stop=False)
    stored = open_result(tmp_path / "s").outputs
    np.testing.assert_allclose(stored["a"], np.linspace(0, 1, 6) * 2, rtol=1e-6)
    np.testing.assert_allclose(stored["b"], np.linspace(0, 1, 6) * 3, rtol=1e-6)


class WithCallable(eqx.Module):
    rate: jax.Array
    transform: object = eqx.field(static=True)


def apply(state):
    return state.transform(state.rate)


def test_a_static_callable_leaves_no_address_in_the_fingerprint(tmp_path):
    def make():
        return Space(WithCallable(GridAxis(0.0, 1.0, 4), lambda r: r * 2))

    ParallelExecution(apply, make(), progress=False).run(tmp_path / "s")
    described = store_info(tmp_path / "s").space["structure"]
    assert " at 0x" not in described
    # another function object (as in a new process): the store still resumes
    ParallelExecution(apply, make(), progress=False).run(tmp_path / "s", resume=True)


def test_an_x64_store_read_without_x64_says_so(tmp_path):
    with jax.enable_x64(True):
        run(tmp_path / "s")
        assert open_result(tmp_path / "s").outputs["y"].dtype == np.float64
    with pytest.raises(ValueError, match=r"written with JAX's x64 mode on"):
        open_result(tmp_path / "s")


def test_outputs_a_store_cannot_hold_are_refused(tmp_path):
    space = Space({"x": GridAxis(0.0, 1.0, 3)})
    with pytest.raises(ValueError, match=r"leaf 'point' has a name the store"):
        ParallelExecution(lambda s: {"point": s["x"]}, space).run(tmp_path / "a")

    def key_out(state):
        return jax.random.fold_in(jax.random.key(0), (state["x"] * 9).astype(int))

    keyed = ParallelExecution(key_out, space, progress=False)
    with pytest.raises(TypeError, match=r"is a PRNG key array .*key_data"):
        keyed.run(tmp_path / "b")
    with pytest.raises(TypeError, match=r"is a PRNG key array"):
        keyed.run()


def test_ctrl_c_keeps_the_finished_points_in_memory_runs():
    def model(state):
        if float(state["x"]) > 0.5:
            raise KeyboardInterrupt
        return state["x"] + 1.0

    space = Space({"x": GridAxis(0.0, 1.0, 6)})
    with pytest.raises(sweepjax.SweepInterrupted, match="after 3 points") as info:
        SequentialExecution(model, space, progress=False).run()
    assert isinstance(info.value, KeyboardInterrupt)
    np.testing.assert_allclose(info.value.partial.outputs, [1.0, 1.2, 1.4])


def test_provenance_has_no_process_specific_values():
    space = Space(WithCallable(GridAxis(0.0, 1.0, 2), jnp.tanh))
    program = trace_point(apply, space, (), {}).jaxpr

    def record():
        return sweepjax._store.provenance(apply, space, (), {"f": jnp.sin}, program)

    text = repr(record())
    assert " at 0x" not in text and "id=" not in text
    assert record()["kwargs"]["f"] == {"callable": "jax.numpy.sin"}
    assert len(record()["program"]["sha1"]) == 40
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert record() == record()


def test_describe_space_identifies_points():
    a = Space({"x": UniformAxis(0, 1, 4)}, key=jax.random.key(1))
    b = Space({"x": UniformAxis(0, 1, 4)}, key=jax.random.key(1))
    c = Space({"x": UniformAxis(0, 1, 4)}, key=jax.random.key(2))
    assert describe_space(a) == describe_space(b)
    assert describe_space(a) != describe_space(c)
    assert describe_space(a[1:]) != describe_space(a)
    assert describe_space(a[1:])["index"] == [1, 4, 1]


def test_describe_space_keeps_the_fingerprints_stores_hold():
    """Stores written before the description moved to the store resume: the
    record of a space is the one they hold (a value hash of the raw bytes, a
    structure without memory addresses)."""
    space = Space(WithCallable(GridAxis(0.0, 1.0, 3), jnp.tanh), mode="product")
    described = describe_space(space)
    values = np.asarray([0.0, 0.5, 1.0], np.float32).tobytes()
    assert described["axes"] == [
        {
            "name": "rate",
            "type": "GridAxis",
            "repr": repr(GridAxis(0.0, 1.0, 3)),
            "size": 3,
            "dimension": 0,
            "group": None,
            "value_shape": [],
            "dtype": "float32",
            "sha1": hashlib.sha1(values).hexdigest(),
        }
    ]
    assert described["mode"] == "product" and described["N"] == 3
    assert " at 0x" not in described["structure"]
