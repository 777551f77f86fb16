"""The bottom layer's shared checks: key recognition, positive ints, indices."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.tree_util import DictKey, GetAttrKey, SequenceKey

from sweepjax._tree import (
    as_index,
    check_positive_int,
    find_hidden,
    is_key_array,
    path_name,
)


def test_is_key_array_recognises_typed_and_optionally_raw_keys():
    typed, raw = jax.random.key(0), jax.random.PRNGKey(0)
    assert is_key_array(typed) and is_key_array(jax.random.split(typed, 3))
    assert not is_key_array(raw) and is_key_array(raw, raw=True)
    assert not is_key_array(jnp.zeros(2)) and not is_key_array(jnp.zeros(2), raw=True)
    assert not is_key_array(np.zeros(2, np.uint32), raw=True)  # NumPy is no key


@pytest.mark.parametrize(
    "value, error, match",
    [
        (0, ValueError, r"`n` must be a positive int, got n=0"),
        (-3, ValueError, r"got n=-3"),
        (1.5, TypeError, r"`n` must be a positive int, got float: 1\.5"),
        (True, TypeError, r"got bool: True"),
        ("2", TypeError, r"got str: '2'"),
    ],
)
def test_check_positive_int_names_the_argument(value, error, match):
    with pytest.raises(error, match=match):
        check_positive_int("n", value)


def test_check_positive_int_accepts_numpy_integers():
    assert check_positive_int("n", np.int32(4)) == 4
    assert type(check_positive_int("n", np.int64(4))) is int


@pytest.mark.parametrize(
    "item", [3, -2, np.int16(3), np.array(3), jnp.array(-2), jnp.array(3, jnp.uint8)]
)
def test_as_index_takes_ints_and_zero_d_integer_arrays(item):
    assert as_index(item, 5) == 3


@pytest.mark.parametrize(
    "item, error, match",
    [
        (5, IndexError, r"index 5 is out of range for a Result of N=5"),
        (-6, IndexError, r"index -6 is out of range"),
        (1.0, TypeError, r"got float: 1\.0"),
        (np.array([1]), TypeError, r"0-d integer arrays\) or slices, got ndarray"),
        (np.bool_(True), TypeError, r"got a boolean"),
    ],
)
def test_as_index_errors_say_what_was_received(item, error, match):
    with pytest.raises(error, match=match):
        as_index(item, 5, "Result")


def test_path_names_and_hidden_axes():
    path = (DictKey("coupling"), GetAttrKey("G"), SequenceKey(1))
    assert path_name(path) == "coupling.G[1]" and path_name(()) == "value"

    class Box:
        def __init__(self, inner):
            self.inner = inner

    marker = object.__new__(type("Marker", (), {}))
    assert find_hidden(Box({"a": [1, marker]}), lambda x: x is marker) == (
        ".inner['a'][1]"
    )
    assert find_hidden(Box({"a": [1]}), lambda x: x is marker) is None
