"""FC fit metrics against plain numpy/scipy references and neurolib's functions.

neurolib takes ``[n_regions, n_samples]`` series (we take time first), drops
the last FCD window when it ends at the last sample, and correlates whole
flattened window FCs; the tests below pin each of those differences.
"""

from __future__ import annotations

import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from neurolib.utils import functions as neurolib

from sweepjax.network._metrics import (
    fc,
    fc_correlation,
    fcd,
    fcd_distance,
    ks_distance,
    sliding_fc,
    to_samples,
    upper_triangle,
)

TOL = 1e-10


def series_of(seed, n_samples=120, n_regions=6):
    """Random series whose regions are correlated (a shared component)."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=(n_samples, 1))
    return rng.normal(size=(n_samples, n_regions)) + common * rng.uniform(
        0, 2, n_regions
    )


def reference_fc(x):
    """np.corrcoef over time, rows and columns of constant regions set to 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(np.asarray(x).T)
    constant = np.ptp(x, axis=0) == 0
    corr[constant, :] = 0.0
    corr[:, constant] = 0.0
    return corr


def reference_fcd(x, window, step):
    """A plain loop: every window wholly inside, upper triangles correlated."""
    rows, cols = np.triu_indices(x.shape[1], 1)
    starts = range(0, x.shape[0] - window + 1, step)
    triangles = [reference_fc(x[s : s + window])[rows, cols] for s in starts]
    out = np.empty((len(triangles), len(triangles)))
    for i, a in enumerate(triangles):
        for j, b in enumerate(triangles):
            out[i, j] = np.corrcoef(a, b)[0, 1]
    return out


def scipy_ks(a, b):
    """scipy's statistic (its p-value, which may warn, is not compared)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return scipy.stats.ks_2samp(np.asarray(a), np.asarray(b)).statistic


def test_fc_matches_numpy_and_neurolib(x64):
    x = series_of(0)
    x[:, 2] = 0.5  # constant: np.corrcoef gives NaN, neurolib's fc zeros it
    got = fc(x)
    assert got.dtype == jnp.float64
    np.testing.assert_allclose(got, reference_fc(x), rtol=0, atol=TOL)
    with np.errstate(invalid="ignore", divide="ignore"):
        np.testing.assert_allclose(got, neurolib.fc(x.T), rtol=0, atol=TOL)
    assert got[2, 2] == 0 and got[0, 0] == 1


def test_a_constant_region_gives_exact_zeros_where_numpy_rounds(x64):
    x = series_of(1)
    x[:, 3] = 0.1  # its float mean is not 0.1: np.corrcoef correlates noise
    got = np.asarray(fc(x))
    assert not got[3].any() and not got[:, 3].any()
    keep = [0, 1, 2, 4, 5]
    np.testing.assert_allclose(
        got[np.ix_(keep, keep)], np.corrcoef(x[:, keep].T), rtol=0, atol=TOL
    )


def test_nan_in_a_region_stays_nan_in_its_row_and_column(x64):
    x = series_of(2)
    x[7, 1] = np.nan
    got = np.asarray(fc(x))
    assert np.isnan(got[1]).all() and np.isnan(got[:, 1]).all()
    keep = [0, 2, 3, 4, 5]
    np.testing.assert_allclose(
        got[np.ix_(keep, keep)], reference_fc(x[:, keep]), rtol=0, atol=TOL
    )
    assert np.isnan(fc_correlation(got, got))


@pytest.mark.parametrize("k", [-1, 0, 1, 2, 5])
def test_upper_triangle_is_numpy_triu_order(k):
    m = np.arange(25.0).reshape(5, 5)
    np.testing.assert_array_equal(upper_triangle(m, k), m[np.triu_indices(5, k)])


@pytest.mark.parametrize(
    "n_samples, window, step",
    [
        (120, 30, 5),  # (n - window) % step == 0: the last window ends at the end
        (117, 30, 5),
        (60, 10, 13),  # step > window: gaps between windows
        (40, 40, 3),  # one window
        (50, 3, 1),
    ],
)
def test_fcd_matches_a_plain_loop(x64, n_samples, window, step):
    x = series_of(3, n_samples)
    got = fcd(x, window, step)
    assert got.shape == ((n_samples - window) // step + 1,) * 2
    np.testing.assert_allclose(got, reference_fcd(x, window, step), rtol=0, atol=TOL)
    windows = [reference_fc(x[s : s + window]) for s in range(0, len(x) - window + 1)]
    np.testing.assert_allclose(
        sliding_fc(x, window, step), windows[::step], rtol=0, atol=TOL
    )


def test_fcd_windows_are_neurolibs_but_the_last(x64):
    x = series_of(4, 120)
    # neurolib's range(0, n - window, step) stops before start 90 = 120 - 30:
    assert neurolib.fcd(x.T, 30, 5).shape == (18, 18)
    assert fcd(x, 30, 5).shape == (19, 19)
    # with that window dropped (x[:-1]), flattening whole window FCs as neurolib
    # does gives its FCD exactly
    windows = np.asarray(sliding_fc(x[:-1], 30, 5))
    np.testing.assert_allclose(
        np.corrcoef(windows.reshape(len(windows), -1)),
        neurolib.fcd(x.T, 30, 5),
        rtol=0,
        atol=TOL,
    )
    # and when no window ends at the last sample the windows are the same
    y = x[:117]
    windows = np.asarray(sliding_fc(y, 30, 5))
    np.testing.assert_allclose(
        np.corrcoef(windows.reshape(len(windows), -1)),
        neurolib.fcd(y.T, 30, 5),
        rtol=0,
        atol=TOL,
    )


def test_fc_correlation_matches_neurolib(x64):
    a, b = fc(series_of(5)), fc(series_of(6))
    np.testing.assert_allclose(
        fc_correlation(a, b), neurolib.matrix_correlation(a, b), rtol=0, atol=TOL
    )
    m = np.random.default_rng(7).normal(size=(2, 7, 7))  # not symmetric: triu only
    np.testing.assert_allclose(
        fc_correlation(m[0], m[1]),
        neurolib.matrix_correlation(m[0], m[1]),
        rtol=0,
        atol=TOL,
    )
    assert fc_correlation(a, 3 * a - 1) == pytest.approx(1, abs=TOL)
    assert fc_correlation(a, jnp.eye(6)) == 0  # constant triangle: 0, not NaN


def test_fcd_distance_matches_neurolib(x64):
    a = fcd(series_of(8, 100), 20, 4)
    b = fcd(series_of(9, 80), 20, 5)  # other sizes: KS compares distributions
    assert a.shape != b.shape
    np.testing.assert_allclose(
        fcd_distance(a, b), neurolib.matrix_kolmogorov(a, b), rtol=0, atol=TOL
    )
    assert fcd_distance(a, a) == 0


#: Few sizes, so that few shapes compile; small integers, so that values tie.
SAMPLES = st.sampled_from([1, 7]).flatmap(
    lambda n: st.lists(st.integers(-3, 3), min_size=n, max_size=n)
)


def examples(n):
    """Hypothesis settings: ``n`` examples, no deadline (compiles), the fixture."""
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )


@examples(40)
@given(a=SAMPLES, b=SAMPLES, shift=st.sampled_from([0.0, 0.5, 1e-3]))
def test_ks_distance_equals_scipy_with_ties(x64, a, b, shift):
    a = np.asarray(a, float)
    b = np.asarray(b, float) + shift  # 0: many ties across the samples
    expected = scipy_ks(a, b)
    assert float(ks_distance(a, b)) == pytest.approx(expected, abs=TOL)
    assert float(ks_distance(b, a)) == pytest.approx(expected, abs=TOL)


def test_ks_distance_on_continuous_samples_and_nan(x64):
    rng = np.random.default_rng(10)
    a, b = rng.normal(size=300), rng.normal(0.3, 1.2, size=170)
    np.testing.assert_allclose(ks_distance(a, b), scipy_ks(a, b), rtol=0, atol=TOL)
    a[5] = np.nan
    assert np.isnan(ks_distance(a, b)) and np.isnan(scipy_ks(a, b))
    assert np.isnan(ks_distance(b, a))


@examples(20)
@given(
    seed=st.integers(0, 2**16),
    scale=st.floats(1e-3, 1e3),
    offset=st.floats(-1e3, 1e3),
)
def test_fc_ignores_region_scale_and_offset(x64, seed, scale, offset):
    x = series_of(seed, 40, 4)
    got = fc(x)
    np.testing.assert_allclose(fc(x * scale + offset), got, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(got, got.T)
    np.testing.assert_array_equal(jnp.diag(got), 1)
    assert jnp.all(jnp.abs(got) <= 1)


def test_jit_and_vmap_equal_unbatched_results(x64):
    xs = np.stack([series_of(s, 60, 5) for s in range(3)])
    xs[1, :, 2] = 1.0  # one point with a constant region
    fcs = np.asarray([fc(x) for x in xs])
    fcd_of = functools.partial(fcd, window=20, step=7)
    fcds = np.asarray([fcd_of(x) for x in xs])
    rng = np.random.default_rng(11)
    a, b = rng.integers(0, 4, (3, 10)) * 0.5, rng.integers(0, 4, (3, 7)) * 0.5
    cases = [
        (fc, (xs,), fcs),
        (fcd_of, (xs,), fcds),
        (functools.partial(sliding_fc, window=20, step=7), (xs,), None),
        (upper_triangle, (fcs,), None),
        (fc_correlation, (fcs, fcs[::-1]), None),
        (fcd_distance, (fcds, fcds[::-1]), None),
        (ks_distance, (a, b), None),
    ]
    for f, args, unbatched in cases:
        if unbatched is None:
            unbatched = np.asarray([f(*point) for point in zip(*args, strict=True)])
        np.testing.assert_allclose(jax.jit(jax.vmap(f))(*args), unbatched, atol=1e-12)


def test_gradients_stay_finite_with_a_constant_region():
    x = jnp.asarray(series_of(13, 50, 4), jnp.float32).at[:, 2].set(1.0)
    target = fc(jnp.asarray(series_of(14, 50, 4), jnp.float32))
    g = jax.grad(lambda x: fc_correlation(fc(x), target))(x)
    assert jnp.isfinite(g).all() and not g[:, 2].any() and g[:, 0].any()


def dtypes_of(x, y):
    """The dtype each public function returns for series ``x`` and ``y``
    (traced only, nothing compiles)."""
    fc_x, fc_y = jax.eval_shape(fc, x), jax.eval_shape(fc, y)
    fcd_x = jax.eval_shape(functools.partial(fcd, window=10, step=5), x)
    fcd_y = jax.eval_shape(functools.partial(fcd, window=20, step=5), y)
    return {
        "fc": fc_x.dtype,
        "sliding_fc": jax.eval_shape(lambda x: sliding_fc(x, 10, 5), x).dtype,
        "fcd": fcd_x.dtype,
        "fc_correlation": jax.eval_shape(fc_correlation, fc_x, fc_y).dtype,
        "fcd_distance": jax.eval_shape(fcd_distance, fcd_x, fcd_y).dtype,
        "ks_distance": jax.eval_shape(
            ks_distance,
            jax.ShapeDtypeStruct((9,), x.dtype),
            jax.ShapeDtypeStruct((7,), y.dtype),
        ).dtype,
    }


@pytest.mark.parametrize(
    "x_dtype, y_dtype, x64, of_x, of_both",
    [
        ("float32", "float32", False, "float32", "float32"),
        ("float16", "float16", False, "float16", "float16"),
        ("int32", "int32", False, "float32", "float32"),  # ints: the default float
        ("float64", "float64", True, "float64", "float64"),
        ("float32", "float64", True, "float32", "float64"),  # numpy promotion
        ("int32", "int32", True, "float64", "float64"),
    ],
)
def test_dtype_follows_the_input(x_dtype, y_dtype, x64, of_x, of_both):
    with jax.enable_x64(x64):
        x = jax.ShapeDtypeStruct((40, 4), x_dtype)
        y = jax.ShapeDtypeStruct((40, 4), y_dtype)
        got = dtypes_of(x, y)
    expected = dict.fromkeys(("fc", "sliding_fc", "fcd"), np.dtype(of_x))
    pairs = ("fc_correlation", "fcd_distance", "ks_distance")
    assert got == expected | dict.fromkeys(pairs, np.dtype(of_both))


def test_float32_agrees_with_float64_references():
    x = series_of(12, 80, 5)
    y = jnp.asarray(x, jnp.float32)
    np.testing.assert_allclose(fc(y), reference_fc(x), rtol=0, atol=1e-5)
    a, b = y[:, 0].round(1), y[:, 1].round(1)  # ties
    assert float(ks_distance(a, b)) == pytest.approx(scipy_ks(a, b), abs=1e-7)


def test_to_samples_converts_whole_durations():
    assert to_samples(60_000.0, 2_000.0) == 30
    assert to_samples(30.0, float(np.float32(0.1))) == 300  # dt from float32 times
    with pytest.raises(
        ValueError,
        match=r"duration=60000: 83\.33 periods; use 59760 \(83 samples\) or "
        r"60480 \(84 samples\)",
    ):
        to_samples(60_000.0, 720.0)


X = np.ones((10, 3)) * np.arange(10)[:, None] ** np.arange(3)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda: fc(np.ones(5)),
            ValueError,
            r"`series` must be 2-D .*got shape \(5,\)",
        ),
        (lambda: fc(np.ones((5, 2, 3))), ValueError, r"pick a state: ys\[:, state\]"),
        (lambda: fc(np.ones((1, 3))), ValueError, r"at least 2 samples.*\(1, 3\)"),
        (
            lambda: fcd(X, 11, 1),
            ValueError,
            r"`window` must be between 2 and the series' 10 samples, got window=11",
        ),
        (lambda: fcd(X, 1, 1), ValueError, r"`window` must be between 2 .*window=1"),
        (lambda: fcd(X, 5, 0), ValueError, r"`step` must be a positive int.*step=0"),
        (lambda: fcd(X, 5, 1.5), TypeError, r"`step` must be a positive int.*1\.5"),
        (lambda: fcd(X[:, :1], 5, 1), ValueError, r"at least 2 regions.*\(10, 1\)"),
        (
            lambda: fc_correlation(np.eye(3), np.eye(4)),
            ValueError,
            r"same shape, got fc_a \(3, 3\) and fc_b \(4, 4\)",
        ),
        (
            lambda: fc_correlation(np.ones((3, 4)), np.ones((3, 4))),
            ValueError,
            r"`fc_a` must be a square 2-D matrix, got shape \(3, 4\)",
        ),
        (
            lambda: fc_correlation(np.eye(2), np.eye(2)),
            ValueError,
            r"`fc_a` must be at least 3x3.*\(2, 2\)",
        ),
        (
            lambda: fcd_distance(np.eye(3), np.eye(1)),
            ValueError,
            r"`fcd_b` must be at least 2x2.*\(1, 1\)",
        ),
        (
            lambda: ks_distance(np.ones((2, 2)), np.ones(3)),
            ValueError,
            r"`a` must be a non-empty 1-D sample, got shape \(2, 2\)",
        ),
        (lambda: ks_distance(np.ones(3), np.ones(0)), ValueError, r"`b` .*\(0,\)"),
        (lambda: upper_triangle(np.eye(3), 1.0), TypeError, r"`k` must be a static"),
        (lambda: to_samples(5.0, 0.0), ValueError, r"`dt` must be a positive.*dt=0"),
        (lambda: to_samples(0.01, 1.0), ValueError, r"use 1 \(1 sample\)"),
    ],
)
def test_bad_input_is_named_with_its_value(call, error, match):
    with pytest.raises(error, match=match):
        call()
