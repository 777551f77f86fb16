import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest

from sweepjax import (
    AbstractAxis,
    DataAxis,
    GridAxis,
    LogGridAxis,
    NumPyroAxis,
    UniformAxis,
)

KEY = jax.random.key(7)

# Every axis type, built small: joins every parametrised invariant below.
AXES = {
    "grid": lambda: GridAxis(0.0, 2.0, 5),
    "grid_shaped": lambda: GridAxis(0.0, 1.0, 3, shape=(2, 3)),
    "loggrid": lambda: LogGridAxis(1e-3, 1e-1, 3),
    "uniform": lambda: UniformAxis(-1.0, 1.0, 4),
    "uniform_shaped": lambda: UniformAxis(0.0, 1.0, 2, shape=(4,)),
    "data_list": lambda: DataAxis([0.1, 0.2, 0.3]),
    "data_matrices": lambda: DataAxis(np.arange(12.0).reshape(3, 2, 2)),
    "data_keys": lambda: DataAxis(jax.random.split(jax.random.key(0), 4)),
    "numpyro": lambda: NumPyroAxis(dist.Normal(0.0, 1.0), n=3),
    "numpyro_broadcast": lambda: NumPyroAxis(
        dist.Beta(2.0, 5.0), n=3, sample_shape=(2,), broadcast_mode=True
    ),
}


@pytest.mark.parametrize("name", sorted(AXES))
def test_values_lead_with_size_and_are_reproducible(name):
    axis = AXES[name]()
    assert isinstance(axis, AbstractAxis)
    values = axis.generate_values(KEY)
    assert values.shape[0] == axis.size
    again = axis.generate_values(KEY)
    if jnp.issubdtype(values.dtype, jax.dtypes.prng_key):
        values, again = jax.random.key_data(values), jax.random.key_data(again)
    np.testing.assert_array_equal(np.asarray(values), np.asarray(again))
    assert repr(axis).startswith(type(axis).__name__ + "(")


@pytest.mark.parametrize("name", sorted(AXES))
def test_group_label_is_kept_and_shown(name):
    axis = AXES[name]()
    axis.group = ("g", 1)
    assert "group=('g', 1)" in repr(axis)


def test_grid_and_loggrid_values():
    np.testing.assert_allclose(
        GridAxis(0.0, 1.0, 5).generate_values(), [0, 0.25, 0.5, 0.75, 1]
    )
    np.testing.assert_allclose(
        LogGridAxis(1e-3, 1e-1, 3).generate_values(), [1e-3, 1e-2, 1e-1], rtol=1e-6
    )
    shaped = GridAxis(0.0, 1.0, 5, shape=(68,)).generate_values()
    assert shaped.shape == (5, 68)
    np.testing.assert_allclose(shaped[2], 0.5)


def test_random_axes_default_key_and_key_dependence():
    uniform = UniformAxis(0.0, 1.0, 100)
    np.testing.assert_array_equal(
        uniform.generate_values(), uniform.generate_values(jax.random.key(0))
    )
    assert not np.allclose(
        uniform.generate_values(jax.random.key(1)),
        uniform.generate_values(jax.random.key(2)),
    )
    values = uniform.generate_values(jax.random.key(42))
    assert 0.0 <= float(values.min()) and float(values.max()) < 1.0


def test_uniform_matches_jax_random_uniform():
    key = jax.random.key(3)
    np.testing.assert_array_equal(
        UniformAxis(0.01, 0.1, 3).generate_values(key),
        jax.random.uniform(key, (3,), minval=0.01, maxval=0.1),
    )


def test_numpyro_modes():
    key = jax.random.key(456)
    independent = NumPyroAxis(dist.Normal(0.0, 1.0), n=3, sample_shape=(2, 4))
    broadcast = NumPyroAxis(
        dist.Normal(0.0, 1.0), n=3, sample_shape=(2, 4), broadcast_mode=True
    )
    a, b = independent.generate_values(key), broadcast.generate_values(key)
    assert a.shape == b.shape == (3, 2, 4)
    assert np.unique(np.asarray(a[0])).size == 8
    np.testing.assert_allclose(b[0], b[0, 0, 0])
    # one draw per point, the first matches the independent draw's first element
    np.testing.assert_allclose(b[0, 0, 0], a[0, 0, 0], rtol=1e-6)


def test_data_axis_accepts_arrays_of_any_kind():
    assert DataAxis(np.zeros((4, 3))).generate_values().shape == (4, 3)
    assert DataAxis(jnp.ones(2)).size == 2
    keys = jax.random.split(jax.random.key(0), 8)
    axis = DataAxis(keys)
    assert axis.size == 8
    assert jnp.issubdtype(axis.values.dtype, jax.dtypes.prng_key)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: GridAxis(0.0, 1.0, 0), ValueError, "`n` must be a positive int"),
        (lambda: GridAxis(0.0, 1.0, -3), ValueError, "n=-3"),
        (
            lambda: GridAxis(0.0, 1.0, 2.5),
            TypeError,
            "GridAxis: `n` must be a positive int, got float",
        ),
        (lambda: GridAxis(1.0, 1.0, 3), ValueError, "low=1.0, high=1.0"),
        (lambda: UniformAxis(2.0, 1.0, 3), ValueError, "smaller than `high`"),
        (lambda: GridAxis(float("nan"), 1.0, 3), ValueError, "`low` must be finite"),
        (lambda: UniformAxis(0.0, float("inf"), 3), ValueError, "high=inf"),
        (lambda: LogGridAxis(0.0, 1.0, 3), ValueError, "> 0 on a log scale"),
        (lambda: LogGridAxis(-1.0, 1.0, 3), ValueError, "low=-1.0"),
        (lambda: GridAxis("a", 1.0, 3), TypeError, "`low` must be a real number"),
        (lambda: DataAxis([]), ValueError, "`values` is empty"),
        (lambda: DataAxis(3.0), ValueError, "needs a leading axis dimension"),
        (lambda: DataAxis(object()), TypeError, "must be array-like"),
        (lambda: NumPyroAxis("normal", n=3), TypeError, "numpyro.distributions"),
        (
            lambda: NumPyroAxis(dist.Normal(0, 1), n=0),
            ValueError,
            "`n` must be a positive int",
        ),
        (lambda: GridAxis(0.0, 1.0, 3, group=[1]), TypeError, "`group` must be"),
        (lambda: GridAxis(0.0, 1.0, 3, shape="ab"), TypeError, "`shape` must be"),
    ],
)
def test_invalid_axes_raise_clear_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()
