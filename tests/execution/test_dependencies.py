"""Swept axes the outputs ignore are reported; options that shadow a model's
keyword arguments are refused."""

import functools
import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax import (
    DataAxis,
    ExecutionError,
    GridAxis,
    ParallelExecution,
    SequentialExecution,
    Space,
    UniformAxis,
)
from sweepjax.execution._dependencies import (
    UnusedAxisWarning,
    check_shadowed_options,
    trace_point,
    unused_axes,
)


def unused_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if w.category is UnusedAxisWarning]


def run_recording(model, space, *args, **options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        executor = ParallelExecution(model, space, *args, progress=False, **options)
        result = executor.run()
        executor.run(chunk_size=2)  # a second run compiles nothing, warns nothing
    return result, unused_warnings(caught)


def network_state():
    return {
        "coupling": {"G": GridAxis(0.0, 1.0, 3), "delay": 4.0},
        "noise": {"sigma": GridAxis(0.01, 0.1, 2), "seed": 0},
    }


def ignores_sigma(state):
    # reads "sigma " (a typo): the swept noise.sigma never reaches the outputs
    sigma = state["noise"].get("sigma ", 0.05)
    return state["coupling"]["G"] * sigma


def test_a_model_that_ignores_a_leaf_is_warned_once_naming_it():
    space = Space(network_state(), mode="product")
    result, messages = run_recording(ignores_sigma, space, n_vmap=2)
    assert len(messages) == 1
    assert "the swept axis `noise.sigma`" in messages[0]
    assert "coupling.G" not in messages[0]
    assert "typo in the leaf path" in messages[0]
    np.testing.assert_allclose(result.outputs, np.repeat([0.0, 0.025, 0.05], 2))
    with pytest.warns(UnusedAxisWarning, match=r"axis `noise\.sigma`: every value"):
        ParallelExecution(ignores_sigma, space, progress=False).run()


def test_a_value_overridden_before_use_is_reported_with_the_others():
    def model(state):
        state = dict(state, G=1.0)  # overrides the swept G
        return state["G"] * state["x"]

    state = {"G": GridAxis(0, 1, 2), "x": GridAxis(0, 1, 2), "y": DataAxis([1, 2])}
    space = Space(state)
    assert unused_axes(model, space) == ["G", "y"]
    with pytest.warns(UnusedAxisWarning, match=r"swept axes `G`, `y`: every"):
        ParallelExecution(model, space, n_vmap=2, n_pmap=2, progress=False).run()


def every_leaf(state, table):
    """Reads every axis through a different route."""
    noise = jax.random.normal(state["key"], (3,))  # a PRNG-key axis
    w = state["w"] @ state["v"]  # matrix and vector DataAxis leaves
    row = table[state["i"]]  # integer indexing only

    def step(x, _):  # a scan whose carry reads the rate
        x = x * state["rate"] + row
        return x, x.sum()

    _, xs = jax.lax.scan(step, jnp.zeros(3), None, length=4)
    sign = jax.lax.cond(state["flip"] > 0, lambda x: -x, lambda x: x, xs)  # cond only
    return {"y": sign.sum() + w.sum() + noise.sum(), "g": state["a"] - state["b"]}


def every_leaf_space():
    keys = jax.random.split(jax.random.key(1), 2)
    state = {
        "key": DataAxis(keys),
        "w": DataAxis(np.arange(2 * 3 * 3.0).reshape(2, 3, 3)),
        "v": DataAxis(np.ones((2, 3))),
        "i": DataAxis(np.array([0, 2])),
        "rate": GridAxis(0.1, 0.9, 2),
        "flip": DataAxis(np.array([-1, 1])),
        "a": UniformAxis(0.0, 1.0, 3, group="ab"),
        "b": GridAxis(0.0, 1.0, 3, group="ab"),
    }
    return Space(state, mode="product")


@pytest.mark.parametrize("n_pmap", [1, 2])
def test_a_model_using_every_leaf_gets_no_warning(n_pmap):
    space = every_leaf_space()
    table = jnp.arange(12.0).reshape(4, 3)
    result, messages = run_recording(every_leaf, space, table, n_vmap=3, n_pmap=n_pmap)
    assert messages == []
    assert len(result) == len(space)
    assert unused_axes(every_leaf, space, (table,)) == []


def test_a_leaf_read_only_by_a_debug_callback_counts_as_unused():
    seen = []

    def model(state):
        jax.debug.print("x={x}", x=state["x"])
        jax.debug.callback(lambda v: seen.append(float(v)), state["label"])

        def step(c, _):
            jax.debug.callback(lambda v: None, state["label"])  # inside a scan
            return c + state["x"], c

        return jax.lax.scan(step, 0.0, None, length=2)[0]

    space = Space({"x": GridAxis(0, 1, 2), "label": GridAxis(5, 6, 2)})
    assert unused_axes(model, space) == ["label"]


def test_the_analysis_costs_no_second_trace():
    traces = []

    def model(state):
        traces.append(1)
        return state["x"]

    space = Space({"x": GridAxis(0, 1, 4), "unused": GridAxis(0, 1, 4)})
    with pytest.warns(UnusedAxisWarning, match="`unused`"):
        ParallelExecution(model, space, n_vmap=2, progress=False).run()
    assert len(traces) == 1


def test_options_that_shadow_model_parameters_are_refused():
    options = {"n_vmap": 4, "progress": False}

    def model(state, n_vmap):
        return state

    with pytest.raises(TypeError, match=r"parameter `n_vmap`.*\(n_vmap=4\)"):
        check_shadowed_options(model, options, executor="ParallelExecution")

    def keyword_only(state, *, progress=True):
        return state

    with pytest.raises(
        TypeError, match=r"functools\.partial\(model, progress=\.\.\.\)"
    ):
        check_shadowed_options(keyword_only, options)


def test_models_that_cannot_be_shadowed_pass():
    options = {"n_vmap": 4, "client": None, "retries": 2}

    def model(state, n_vmap, retries=1, **kwargs):
        return state

    check_shadowed_options(functools.partial(model, n_vmap=8, retries=0), options)
    check_shadowed_options(model, options, args=(8, 0))  # filled positionally
    check_shadowed_options(lambda n_vmap: n_vmap, options)  # the state itself
    check_shadowed_options(lambda state, **client: state, options)
    check_shadowed_options(max, options)  # no signature to inspect


def sets_a_shape(state):
    return jnp.zeros(state["n_steps"]) + state["x"]  # n_steps sets a shape


def converts_to_python(state):
    return float(state["x"]) * jnp.ones(2)  # a Python number of a swept leaf


@pytest.mark.parametrize(
    ("model", "jax_says"),
    [
        (sets_a_shape, r"TypeError: Shapes must be 1D sequences of concrete"),
        (converts_to_python, r"ConcretizationTypeError: Abstract tracer value"),
    ],
)
def test_a_leaf_that_needs_a_value_gets_a_sentence_before_jax_text(model, jax_says):
    space = Space({"n_steps": DataAxis(np.array([2, 2])), "x": GridAxis(0.0, 1.0, 2)})
    sentence = (
        r"^A swept leaf has no value while a compiled executor traces the model: "
        r"the swept leaves \(`n_steps`, `x`\) and the fixed array leaves are "
        r"abstract arrays, so a leaf that sets a shape .* cannot be swept this "
        r"way\. Make it a fixed leaf \(one sweep per value\), compute with "
        r"jax\.numpy, or run with SequentialExecution .* JAX says: "
    )
    executor = ParallelExecution(model, space, n_vmap=2, progress=False)
    with pytest.raises(ExecutionError, match="tracing the model failed") as info:
        executor.run()
    cause = info.value.__cause__
    assert isinstance(cause, TypeError)
    assert re.match(sentence + jax_says, str(cause), re.DOTALL)
    assert isinstance(cause.__cause__, TypeError)  # JAX's error, chained
    # the client's trace of DistributedExecution says the same
    with pytest.raises(TypeError, match=sentence + jax_says):
        trace_point(model, space, (), {})
    # one call per point: nothing is traced, so SequentialExecution runs both
    result = SequentialExecution(model, space, progress=False).run()
    assert np.asarray(result.outputs).shape == (2, 2)
