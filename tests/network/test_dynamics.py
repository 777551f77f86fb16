"""AbstractDynamics: parameters, state names, a user model in a few lines."""

from __future__ import annotations

import numpy as np
import pytest
from network_helpers import Linear

from sweepjax.network import (
    DenseGraph,
    Euler,
    JansenRit,
    LinearCoupling,
    Network,
    ReducedWongWang,
    prepare,
)
from sweepjax.network._dynamics import as_state_names


def test_unknown_parameter_is_rejected():
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['G'\]"):
        ReducedWongWang(G=0.5)


def test_state_index():
    assert JansenRit().state_index(("y4", "y1")) == (4, 1)
    with pytest.raises(ValueError, match=r"unknown state variable\(s\) \['V'\]"):
        ReducedWongWang().state_index("V")


def test_default_initial_state_per_node():
    np.testing.assert_array_equal(Linear().initial_state(3), np.ones((1, 3)))


@pytest.mark.parametrize(
    ("value", "expected"), [("S", ("S",)), (["x", "y"], ("x", "y")), (("x",), ("x",))]
)
def test_as_state_names(value, expected):
    assert as_state_names(value) == expected


@pytest.mark.parametrize("value", [3, (), ["x", 1]], ids=repr)
def test_as_state_names_names_the_argument(value):
    with pytest.raises(TypeError, match="states must be a state name or a non-empty"):
        as_state_names(value, "states")


def test_user_model_in_a_few_lines():
    network = Network(
        Linear(tau=2.0), {"c": LinearCoupling("x", G=0.0)}, DenseGraph(np.eye(2))
    )
    solve_fn, config = prepare(network, Euler(), 0.0, 1.0, 0.5)
    np.testing.assert_allclose(solve_fn(config).ys[:, 0, 0], [0.75, 0.5625])


def test_repr_shows_the_parameters():
    assert "'w': 0.9," in repr(ReducedWongWang(w=0.9))
