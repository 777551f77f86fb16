import contextlib
import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sweepjax import (
    AbstractAxis,
    DataAxis,
    GridAxis,
    LogGridAxis,
    NumPyroAxis,
    Space,
    UniformAxis,
)
from sweepjax import _axis_checks as axis_checks
from sweepjax import _host_random as host_random
from sweepjax._axis_checks import check_size

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


@pytest.mark.parametrize("name", sorted(AXES))
def test_values_spec_matches_generated_values_and_they_pass_the_check(name):
    axis = AXES[name]()
    values = axis.generate_values(KEY)
    spec = axis.values_spec(KEY)
    assert spec.shape == values.shape and spec.dtype == values.dtype
    axis.check_values(values, "leaf")
    check_size(axis, KEY, "leaf")


X64 = (
    r'Enable 64-bit floats with jax.config.update\("jax_enable_x64", True\) '
    "before creating the axis"
)


@pytest.mark.parametrize(
    "make, match",
    [
        (
            lambda: LogGridAxis(1e-50, 1e-40, 3),
            r"LogGridAxis: `low`=1e-50 is below float32's smallest normal number "
            r"1.18e-38 \(it becomes 0\), so a log scale gives NaN",
        ),
        (lambda: LogGridAxis(1e-44, 1e-40, 3), "becomes 9.81e-45"),
        (
            lambda: GridAxis(1.0, 1.00000001, 3),
            r"low=1.0 and high=1.00000001 are the same number in float32",
        ),
        (lambda: GridAxis(0, 1e39, 3), r"`high`=1e\+39 overflows to inf in float32"),
        (lambda: GridAxis(-1e39, 0.0, 3), r"`low`=-1e\+39 overflows to -inf"),
        (lambda: UniformAxis(1.0, 1.00000001, 3), "the same number in float32"),
        (lambda: UniformAxis(-3e38, 3e38, 3), r"high - low = 6e\+38 overflows"),
    ],
)
def test_bounds_are_checked_in_the_dtype_of_the_values(make, match):
    with pytest.raises(ValueError, match=match) as err:
        make()
    assert re.search(X64 + ", or change the bounds", str(err.value))


def test_x64_makes_close_and_tiny_bounds_work():
    with jax.enable_x64(True):
        close = GridAxis(1.0, 1.00000001, 3).generate_values()
        tiny = LogGridAxis(1e-50, 1e-40, 3).generate_values()
    assert close.dtype == tiny.dtype == jnp.float64
    assert len(set(np.asarray(close).tolist())) == 3
    np.testing.assert_allclose(tiny, [1e-50, 1e-45, 1e-40], rtol=1e-9)
    # a grid as wide as float32 allows is fine: linspace never forms high - low
    np.testing.assert_allclose(GridAxis(-3e38, 3e38, 3).generate_values()[1], 0.0)


def test_grid_check_finds_duplicate_and_non_finite_points():
    grid = GridAxis(1.0, 1.0000002, 5)  # two float32 steps apart: bounds differ
    with pytest.raises(
        ValueError,
        match=r"Axis `coupling.G` \(GridAxis\(low=1.0, high=1.0000002, n=5\)\) "
        r"generated duplicate points in float32: 2 of its 5 points do not "
        r"increase, the first at values\[0\] = 1.0 and values\[1\] = 1.0",
    ) as err:
        grid.check_values(grid.generate_values(), "coupling.G")
    assert re.search(X64 + ", or use wider bounds or fewer points", str(err.value))
    shaped = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]], np.float32)
    with pytest.raises(ValueError, match=r"^GridAxis\(.*values\[1\] = 1.0 and"):
        GridAxis(0.0, 1.0, 3, shape=(2,)).check_values(shaped)
    nan = np.array([0.0, np.nan, np.inf], np.float32)
    with pytest.raises(
        ValueError,
        match=r"not finite in float32: 1 NaN and 1 inf among 3, the first at "
        r"values\[1\] = nan",
    ):
        LogGridAxis(1e-3, 1e-1, 3).check_values(nan, "noise")


def test_random_axes_refuse_non_finite_draws():
    overflowing = NumPyroAxis(dist.LogNormal(100.0, 1.0), n=3)
    with pytest.raises(
        ValueError,
        match=r"Axis `s` \(NumPyroAxis.*0 NaN and 3 inf .* or change the "
        r"distribution's parameters",
    ):
        overflowing.check_values(overflowing.generate_values(KEY), "s")
    with pytest.raises(ValueError, match=r"values\[0, 1\] = inf"):
        UniformAxis(0.0, 1.0, 2, shape=(2,)).check_values(
            np.array([[0.5, np.inf], [0.5, 0.5]], np.float32)
        )


def test_data_axis_keeps_nan_and_inf_but_refuses_overflow_in_conversion():
    data = DataAxis([1.0, np.nan, np.inf, -np.inf])
    data.check_values(data.generate_values(), "x")  # explicit data passes as given
    assert np.isnan(np.asarray(data.values)[1])
    with pytest.raises(
        ValueError,
        match=r"DataAxis: `values` holds finite numbers that become inf in "
        r"float32, the dtype JAX stores them in \(2 of 3; the first is "
        r"values\[1, 0\] = 1e\+39\)\. " + X64 + ", or rescale the data",
    ):
        DataAxis(np.array([[1.0], [1e39], [-1e40]]))
    with jax.enable_x64(True):
        assert DataAxis([1.0, 1e39]).values.dtype == jnp.float64


class TracedAxis(AbstractAxis):
    """A custom axis: `values_spec` comes from tracing `generate_values`."""

    uses_key = False

    def __init__(self, n, width):
        self.n, self.width = n, width

    @property
    def size(self):
        return self.n

    def generate_values(self, key=None):
        return jnp.zeros((self.n, self.width), jnp.int16)


class HostAxis(TracedAxis):
    """A custom axis whose values come from NumPy, so it cannot be traced."""

    def generate_values(self, key=None):
        return jnp.asarray(np.arange(self.n) * int(jnp.asarray(self.width)))


def test_custom_axes_get_a_spec_by_tracing_or_none():
    spec = TracedAxis(10**6, 10**7).values_spec()
    assert spec.shape == (10**6, 10**7) and spec.dtype == jnp.int16
    with pytest.raises(ValueError, match=r"need 20.0 TB \(20,000,000,000,000 bytes"):
        check_size(TracedAxis(10**6, 10**7), name="big")
    assert HostAxis(3, 2).values_spec() is None
    np.testing.assert_array_equal(HostAxis(3, 2).generate_values(), [0, 2, 4])
    check_size(HostAxis(3, 2))  # unknown shape: only the size is checked


def test_check_size_refuses_tables_jax_cannot_index_or_memory_cannot_hold(
    monkeypatch,
):
    monkeypatch.setattr(axis_checks, "_memory", lambda: (10**12, "1 TB"))
    # It would fit: x64 (int64 positions) is the fix.
    with pytest.raises(
        ValueError,
        match=r"^GridAxis\(low=0.0, high=1.0, n=2147483648\) is too large for one "
        r"table: 2,147,483,648 values of shape \(\) in float32 need 8.6 GB "
        r"\(8,589,934,592 bytes\), and JAX indexes it with int32, which reaches "
        r"only 2,147,483,647 values\. Enable 64-bit integers with "
        r'jax.config.update\("jax_enable_x64", True\) before creating the axis '
        r"\(executors then index it with int64\), or use fewer points",
    ):
        check_size(GridAxis(0.0, 1.0, 2**31))
    monkeypatch.setattr(axis_checks, "_memory", lambda: (10**9, "1 GB"))
    # It would not fit either way: x64 is no fix.
    with pytest.raises(
        ValueError,
        match=r"reaches only 2,147,483,647 values\. Use fewer points, or split it "
        r"into several axes combined in mode='product'",
    ):
        check_size(GridAxis(0.0, 1.0, 2**31))
    monkeypatch.undo()
    with pytest.raises(
        ValueError,
        match=r"Axis `w` \(NumPyroAxis.*\) is too large for one table: 1,000 "
        r"values of shape \(100000, 100000\) in float32 need 40.0 TB .*, more "
        r"than .* of memory",
    ):
        check_size(
            NumPyroAxis(dist.Normal(0, 1), 1000, sample_shape=(10**5, 10**5)),
            KEY,
            "w",
        )
    check_size(GridAxis(0.0, 1.0, 2**31 - 1))  # 8.6 GB: the limit is the index


def test_float64_data_that_float32_merges_is_refused():
    # Three distinct points would silently become one float32 value.
    with pytest.raises(
        ValueError,
        match=r"DataAxis: `values` holds 3 distinct float64 points, but float32, "
        r"the dtype JAX stores them in, tells only 1 apart \(2 lost: values\[0\] = "
        r"1\.0 and values\[1\] = 1\.000000001 both become 1\.0\).*"
        r'jax.config.update\("jax_enable_x64", True\) before creating the axis',
    ):
        DataAxis(np.array([1, 1 + 1e-9, 1 + 2e-9]))
    with pytest.raises(
        ValueError, match=r"values\[0\] and values\[1\] become the same"
    ):
        DataAxis(np.array([[1.0, 1 + 1e-9], [1.0, 1.0]]))
    # Rounding that keeps points apart, repeats already in the data, and
    # float64 kept as float64 under x64 all pass.
    assert DataAxis([0.1, 0.5, 0.9]).values.dtype == jnp.float32
    assert DataAxis(np.array([1.0, 1.0, 2.0])).size == 3
    with jax.enable_x64(True):
        axis = DataAxis(np.array([1, 1 + 1e-9, 1 + 2e-9]))
        assert len(np.unique(np.asarray(axis.values))) == 3


# Uniform draws are made on the host (sweepjax._host_random); they must be
# JAX's bit for bit, since stores fingerprint them.
_DRAW_SIZES = (1, 2, 3, 7, 1000, 4097)


@jax.jit
def _jax_split(key):
    return jax.random.split(key, 5)


@contextlib.contextmanager
def _optimised_xla(optimised=True):
    """XLA with its default optimisations, whose draws the host emulation
    matches (the suite compiles without them: the root conftest.py)."""
    before = jax.config.values["jax_disable_most_optimizations"]
    jax.config.update("jax_disable_most_optimizations", not optimised)
    try:
        yield
    finally:
        jax.config.update("jax_disable_most_optimizations", before)


@functools.partial(jax.jit, static_argnums=3)
def _jax_uniform_program(key, low, high, n):
    return jax.random.uniform(key, (n,), minval=low, maxval=high)


def _jax_uniform(key, low, high, n):
    # only ever compiled here, so its cache holds optimised programs only
    with _optimised_xla():
        return _jax_uniform_program(key, low, high, n)


def _key_data(key):
    with _optimised_xla():
        return host_random.host_key_data(key)


def _host_draw(key, j, n, low, high):
    subkeys = host_random.host_split(_key_data(key), 5)
    return host_random.host_uniform(subkeys[j], n, low, high)


def _assert_same_bits(host, jax_values):
    jax_values = np.asarray(jax_values)
    assert host.dtype == jax_values.dtype == np.float32
    np.testing.assert_array_equal(host.view(np.uint32), jax_values.view(np.uint32))


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**63 - 1),
    raw=st.booleans(),
    j=st.integers(0, 4),
    n=st.sampled_from(_DRAW_SIZES),
    low=st.floats(-1e6, 1e6),
    width=st.floats(1e-6, 1e6),
)
def test_host_uniform_equals_jax_bit_for_bit(seed, raw, j, n, low, width):
    key = jax.random.PRNGKey(seed) if raw else jax.random.key(seed)
    high = low + width
    subkeys = _jax_split(key)
    np.testing.assert_array_equal(
        host_random.host_split(_key_data(key), 5),
        np.asarray(subkeys if raw else jax.random.key_data(subkeys)),
    )
    _assert_same_bits(
        _host_draw(key, j, n, low, high), _jax_uniform(subkeys[j], low, high, n)
    )


@pytest.mark.parametrize(
    ("key", "low", "high"),
    [
        (None, 1e-4, 1e-2),  # the default key, the sigma axis
        (jax.random.key(123), 0.01, 0.1),  # the seed document's noise_level
        (jax.random.key(7), -3.0, -2.9999),
        (jax.random.key(2**63 - 1), -1e38, 1e38),
        (jax.random.PRNGKey(0), 0.0, 1.0),
    ],
)
def test_host_uniform_fixed_cases(key, low, high):
    subkeys = _jax_split(jax.random.key(0) if key is None else key)
    for n in _DRAW_SIZES:
        _assert_same_bits(
            _host_draw(key, 3, n, low, high), _jax_uniform(subkeys[3], low, high, n)
        )


@pytest.mark.parametrize(
    "case",
    ["x64", "not partitionable", "rbg key", "key array", "traced", "gpu", "O0"],
)
def test_host_key_data_declines_what_it_cannot_emulate(case, monkeypatch):
    # None sends the draw to JAX itself (range_tables' program).
    if case == "gpu":
        monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
        assert host_random.host_key_data(None) is None
    elif case == "O0":
        with _optimised_xla(False):
            assert host_random.host_key_data(None) is None
    elif case == "x64":
        with jax.enable_x64(True):
            assert host_random.host_key_data(jax.random.key(0)) is None
    elif case == "not partitionable":
        with jax.threefry_partitionable(False):
            assert host_random.host_key_data(None) is None
    elif case == "rbg key":
        assert host_random.host_key_data(jax.random.key(0, impl="rbg")) is None
    elif case == "key array":
        assert host_random.host_key_data(_jax_split(jax.random.key(0))) is None
    else:
        seen = []
        jax.jit(lambda k: seen.append(host_random.host_key_data(k)) or 0)(
            jax.random.key(0)
        )
        assert seen == [None]


@pytest.mark.parametrize("impl", ["rbg", "not partitionable"])
def test_space_draws_fall_back_to_jax_and_match_generate_values(impl):
    # Where the host emulation does not apply, the draw still equals the
    # axis generated alone with its documented subkey.
    axis = UniformAxis(0.5, 2.0, 6, shape=(2,))
    if impl == "rbg":
        key, context = jax.random.key(4, impl="rbg"), contextlib.nullcontext()
    else:
        key, context = jax.random.key(4), jax.threefry_partitionable(False)
    with context:
        space = Space({"a": GridAxis(0.0, 1.0, 2), "u": axis}, "product", key=key)
        alone = axis.generate_values(jax.random.split(key, 3)[2])
        np.testing.assert_array_equal(np.asarray(space.values["u"]), alone)
