"""``wrap=`` on every axis type: what the state receives, what stays raw,
the checks before a run, and every executor giving the same numbers."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from registry import AXES, EXECUTORS

from sweepjax import DataAxis, GridAxis, Space
from sweepjax._store import describe_space


def at_least(x, low=0.0):
    """A wrap with a domain: concrete values below ``low`` are rejected."""
    if not isinstance(x, jax.core.Tracer) and np.any(np.asarray(x) < low):
        raise ValueError(f"needs values >= {low}, got {x}.")
    return x


def double(x):
    """A wrap that makes a small pytree (keys are kept, not doubled)."""
    doubled = x if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else 2 * x
    return {"raw": x, "doubled": doubled}


def test_every_axis_type_takes_wrap_and_the_state_receives_it():
    for name, make in AXES.items():
        axis = make(3)
        axis.wrap = double
        space = Space({"p": axis, "fixed": 1.0})
        table = space.tables[0]
        point = space[1]
        if jnp.issubdtype(table.dtype, jax.dtypes.prng_key):
            table = jax.random.key_data(table)
            point["p"] = jax.tree.map(jax.random.key_data, point["p"])
            np.testing.assert_array_equal(point["p"]["doubled"], table[1])
        else:
            np.testing.assert_allclose(point["p"]["doubled"], 2 * table[1])
        np.testing.assert_array_equal(point["p"]["raw"], table[1], err_msg=name)


def test_constructors_take_wrap_and_show_it_stably():
    axis = GridAxis(0.0, 1.0, 3, wrap=functools.partial(at_least, low=-1.0))
    assert repr(axis) == "GridAxis(low=0.0, high=1.0, n=3, wrap=at_least(low=-1.0))"
    assert DataAxis([1.0, 2.0], wrap=double).wrap is double
    with pytest.raises(TypeError, match="`wrap` must be None or a callable"):
        GridAxis(0.0, 1.0, 3, wrap=3)


def test_tables_dataframe_and_description_keep_raw_values():
    space = Space({"a": GridAxis(0.0, 1.0, 3, wrap=double), "b": 2.0})
    plain = Space({"a": GridAxis(0.0, 1.0, 3), "b": 2.0})
    assert space.to_dataframe().equals(plain.to_dataframe())
    assert len(space) == 3 and space.parameters(2) == {"a": 1.0}
    described = describe_space(space)["axes"][0]
    assert described["sha1"] == describe_space(plain)["axes"][0]["sha1"]
    assert "wrap=double" in described["repr"]


def test_iteration_and_indexing_wrap_each_point():
    space = Space({"a": DataAxis([1.0, 2.0, 3.0], wrap=double)})
    assert [float(p["a"]["doubled"]) for p in space] == [2.0, 4.0, 6.0]
    assert float(space[-1]["a"]["doubled"]) == 6.0


def test_collect_refuses_to_combine_wrapped_axes_and_gives_raw_halves():
    space = Space({"a": GridAxis(0.0, 1.0, 4, wrap=double), "b": 2.0})
    with pytest.raises(
        ValueError, match=r"collect\(combine=False\).*ParallelExecution"
    ):
        space.collect(n_vmap=2)
    axes, static = space.collect(n_vmap=2, combine=False)
    np.testing.assert_allclose(axes["a"], [[0.0, 1 / 3], [2 / 3, 1.0]], rtol=1e-6)
    assert static["b"] == 2.0


def test_a_value_the_wrap_rejects_raises_at_construction_naming_the_axis():
    with pytest.raises(ValueError, match=r"Axis at `a`.*wrap rejects.*-2"):
        Space({"a": DataAxis([1.0, -2.0], wrap=at_least)})


@pytest.mark.parametrize("executor", sorted(EXECUTORS))
def test_every_executor_applies_the_wrap(executor, dask_client):
    space = Space({"a": GridAxis(0.0, 1.0, 5, wrap=double), "b": 3.0})

    def model(state):
        return state["a"]["doubled"] + state["b"]

    result = EXECUTORS[executor](model, space, dask_client).run()
    np.testing.assert_allclose(
        np.asarray(result.outputs), 2 * np.linspace(0.0, 1.0, 5) + 3.0, rtol=1e-6
    )
