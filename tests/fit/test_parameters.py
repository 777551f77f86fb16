"""Parameters: array behaviour, transforms and their domains, pytree halves."""

import operator

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sweepjax import (
    BoundedParameter,
    LogNegativeParameter,
    LogPositiveParameter,
    MaskedParameter,
    NormalizedParameter,
    Parameter,
    RescaledParameter,
    SigmoidBoundedParameter,
    TransformedParameter,
    collect_parameters,
    combine_state,
    extract_values,
    is_parameter,
    mark_parameters,
    partition_state,
    show_parameters,
)


def with_raw(p, raw):
    """`p` with its raw value replaced (as an optimizer step would)."""
    return eqx.tree_at(lambda q: q.value, p, jnp.asarray(raw, p.dtype))


# ----- a parameter is an array ----------------------------------------------


def test_parameter_holds_a_float_array_and_its_attributes():
    p = Parameter(jnp.array([1, 2, 3]))
    assert p.dtype == jnp.float32 and not p.value.weak_type  # ints -> float
    assert (p.shape, p.ndim, p.size) == ((3,), 1, 3)
    assert p.constrained_value is p.value
    assert np.asarray(p).tolist() == [1.0, 2.0, 3.0]
    assert float(Parameter(2.5)) == 2.5
    assert repr(Parameter(0.5)) == "Parameter(0.5)"
    assert repr(p) == "Parameter([1. 2. 3.])"  # TVB-Optim prints it so
    assert repr(Parameter(5)) == "Parameter(5.0)"  # a float: it is one


@pytest.mark.parametrize(
    "op",
    [
        operator.add,
        operator.sub,
        operator.mul,
        operator.truediv,
        operator.pow,
        operator.floordiv,
        operator.mod,
        operator.eq,
        operator.ne,
        operator.lt,
        operator.le,
        operator.gt,
        operator.ge,
    ],
)
def test_operators_act_on_the_constrained_value_both_ways(op):
    p = LogPositiveParameter(jnp.array([0.5, 2.0, 3.0]))
    x = jnp.array([0.5, 2.0, 3.0])
    for result, expected in [
        (op(p, 1.5), op(x, 1.5)),
        (op(1.5, p), op(1.5, x)),
        (op(p, p), op(x, x)),
        (op(jnp.ones(3), p), op(jnp.ones(3), x)),
        (op(np.ones(3), p), op(np.ones(3), x)),  # NumPy defers to the parameter
    ]:
        assert isinstance(result, jax.Array)
        np.testing.assert_allclose(result, expected, rtol=1e-6)


def test_unary_operators_indexing_matmul_and_jnp_functions():
    x = jnp.array([[1.0, -2.0], [3.0, 4.0]])
    p = Parameter(x)
    for result, expected in [
        (-p, -x),
        (+p, x),
        (abs(p), jnp.abs(x)),
        (p[0], x[0]),
        (p @ p, x @ x),
        (x @ p, x @ x),
        (jnp.sin(p), jnp.sin(x)),
        (jnp.sum(p, axis=0), x.sum(0)),
        (jnp.where(p > 0, p, 0.0), jnp.where(x > 0, x, 0.0)),
    ]:
        np.testing.assert_allclose(result, expected, rtol=1e-6)


def test_format_formats_the_constrained_value():
    p = SigmoidBoundedParameter(0.3, low=0.05, high=1.0)
    assert f"{p:.3f}" == "0.300"
    assert f"{Parameter([1.0, 2.5]):.1f}" == "[1.0, 2.5]"
    assert f"{Parameter(jnp.array([1.0, 2.5]))}" == "[1. , 2.5]"


def test_reprs_show_the_constrained_value_and_the_settings():
    assert repr(SigmoidBoundedParameter(0.3, 0.05, 1.0)) == (
        "SigmoidBoundedParameter(0.3, low=0.05, high=1.0)"
    )
    assert repr(LogPositiveParameter(2.0, lower=1.0)) == (
        "LogPositiveParameter(2.0, lower=1.0)"
    )
    assert repr(RescaledParameter(0.15, 0.3)) == "RescaledParameter(0.15, scale=0.3)"
    bounded = "BoundedParameter(0.5, low=0.0, high=1.0)"
    assert repr(BoundedParameter(0.5, 0, 1)) == bounded
    moved = with_raw(BoundedParameter(0.5, 0, 1), 1.5)
    assert repr(moved) == "BoundedParameter(1.0, low=0.0, high=1.0, raw=1.5)"
    # a parameter made under a trace prints its type, not a value
    text = jax.jit(lambda x: jnp.asarray(len(repr(Parameter(x)))))(1.0)
    assert int(text) == len("Parameter(traced float32[])")


def test_gradients_flow_through_the_transform_to_the_raw_value():
    p = SigmoidBoundedParameter(0.3, low=0.05, high=1.0)
    grad = jax.grad(lambda q: q * 2.0)(p)
    s = jax.nn.sigmoid(p.value)
    assert isinstance(grad, SigmoidBoundedParameter)
    np.testing.assert_allclose(grad.value, 2.0 * 0.95 * s * (1 - s), rtol=1e-5)
    # jit and vmap see the parameter as a pytree of its raw value
    batch = jax.vmap(lambda v: SigmoidBoundedParameter(v, 0.0, 1.0))(
        jnp.array([0.2, 0.7])
    )
    np.testing.assert_allclose(batch.constrained_value, [0.2, 0.7], rtol=1e-6)
    doubled = jax.jit(lambda q: q * 2)(p)
    np.testing.assert_allclose(doubled, 0.6, rtol=1e-6)


# ----- transforms: constructors take the constrained start -------------------


def test_constructors_take_the_constrained_start_and_store_its_pre_image():
    cases = [
        (SigmoidBoundedParameter(0.3, 0.05, 1.0), np.log(0.25 / 0.7)),
        (LogPositiveParameter(2.0), np.log(2.0)),
        (LogPositiveParameter(3.0, lower=1.0), np.log(2.0)),
        (LogNegativeParameter(-2.0), np.log(2.0)),
        (LogNegativeParameter(1.0, upper=3.0), np.log(2.0)),
        (RescaledParameter(0.15, scale=0.3), 0.5),
        (TransformedParameter(4.0, jnp.square, jnp.sqrt), 2.0),
    ]
    for p, raw in cases:
        np.testing.assert_allclose(p.value, raw, rtol=1e-6)
    for p, start in zip([c[0] for c in cases], [0.3, 2, 3, -2, 1, 0.15, 4]):
        np.testing.assert_allclose(p.constrained_value, start, rtol=1e-6)
    assert LogPositiveParameter(2).dtype == jnp.float32  # ints become floats


def test_forward_and_inverse_are_exposed_like_tvb_optim():
    p = LogPositiveParameter(2.0)
    assert p.forward_transform is not None
    np.testing.assert_allclose(p.forward_transform(0.0), 1.0)
    np.testing.assert_allclose(p.inverse_transform(1.0), 0.0)
    q = TransformedParameter(2.0, jnp.exp, jnp.log)
    np.testing.assert_allclose(q.inverse_transform(q.constrained_value), q.value)


def test_sigmoid_start_at_a_bound_is_moved_just_inside():
    p = SigmoidBoundedParameter(jnp.array([0.0, 1.0]), low=0.0, high=1.0)
    assert np.all(np.isfinite(p.value))
    np.testing.assert_allclose(p.constrained_value, [0.0, 1.0], atol=1e-6)


def test_normalized_parameter_starts_at_ones_and_keeps_zeros_at_zero():
    p = NormalizedParameter(jnp.array([2.0, 0.0, -4.0]))
    np.testing.assert_array_equal(p.value, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(p.scale, [2.0, 0.0, -4.0])
    moved = with_raw(p, [1.5, 7.0, 0.5])
    np.testing.assert_allclose(moved.constrained_value, [3.0, 0.0, -2.0])
    assert isinstance(p, RescaledParameter)


def test_masked_parameter_freezes_the_unmasked_entries():
    start = jnp.array([[1.0, 2.0], [3.0, 4.0]])
    mask = np.triu(np.ones((2, 2), bool))
    p = MaskedParameter(start, mask)
    np.testing.assert_array_equal(p.constrained_value, start)
    np.testing.assert_array_equal(p.value, [[1.0, 2.0], [0.0, 4.0]])
    grad = jax.grad(lambda q: jnp.sum(q * q))(p)
    np.testing.assert_array_equal(grad.value, [[2.0, 4.0], [0.0, 8.0]])
    moved = with_raw(p, jnp.full((2, 2), 9.0))
    np.testing.assert_array_equal(moved.constrained_value, [[9.0, 9.0], [3.0, 9.0]])


def test_bounded_parameter_clips_and_warns_about_a_start_outside():
    with pytest.warns(UserWarning, match=r"outside \[low, high\] = \[0.0, 1.0\]"):
        p = BoundedParameter(jnp.array([-1.0, 0.5, 2.0]), low=0.0, high=1.0)
    np.testing.assert_array_equal(p.value, [-1.0, 0.5, 2.0])
    np.testing.assert_array_equal(p.constrained_value, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(jax.grad(lambda q: jnp.sum(q))(p).value, [0, 1, 0])


def test_array_bounds_and_shape_broadcasting():
    p = SigmoidBoundedParameter(jnp.array([0.5, 5.0]), low=[0.0, 4.0], high=[1, 6])
    np.testing.assert_allclose(p.constrained_value, [0.5, 5.0], rtol=1e-6)
    g = LogPositiveParameter(2.0)
    g.shape = (3,)
    assert g.shape == (3,)
    np.testing.assert_allclose(g.constrained_value, [2.0, 2.0, 2.0], rtol=1e-6)
    m = MaskedParameter(1.0, mask=True)
    m.shape = (2,)
    assert m.mask.shape == (2,) and m.frozen.shape == (2,)
    with pytest.raises(ValueError, match=r"cannot broadcast shape \(3,\) to \(2,\)"):
        g.shape = (2,)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (
            lambda: SigmoidBoundedParameter(1.5, low=0.05, high=1.0),
            ValueError,
            r"SigmoidBoundedParameter: the start `value` must lie in \[low, high\] "
            r"= \[0.05, 1.0\], got value=1.5\.",
        ),
        (
            lambda: SigmoidBoundedParameter(jnp.array([0.5, 0.2, -3.0]), 0.0, 1.0),
            ValueError,
            r"got 1 of 3 entries outside, first value\[2\]=-3",
        ),
        (
            lambda: SigmoidBoundedParameter(0.5, low=1.0, high=1.0),
            ValueError,
            r"`low` must be smaller than `high` \(in float32\), got low=1.0, high=1.0",
        ),
        (
            lambda: SigmoidBoundedParameter(1.0, low=1.0, high=1.00000001),
            ValueError,
            r"`low` must be smaller than `high` \(in float32\)",
        ),
        (
            lambda: SigmoidBoundedParameter(0.5, low=0.0, high=np.inf),
            ValueError,
            r"`low` and `high` must be finite",
        ),
        (
            lambda: LogPositiveParameter(-1.0),
            ValueError,
            r"LogPositiveParameter: the start `value` must lie in \(lower, inf\) = "
            r"\(0.0, inf\), got value=-1.0\.",
        ),
        (
            lambda: LogPositiveParameter(jnp.array([1.0, 0.0])),
            ValueError,
            r"first value\[1\]=0\.",
        ),
        (
            lambda: LogPositiveParameter(1e-50),  # 0.0 in float32
            ValueError,
            r"got value=0\.",
        ),
        (
            lambda: LogNegativeParameter(1.0, upper=0.5),
            ValueError,
            r"\(-inf, upper\) = \(-inf, 0.5\), got value=1\.",
        ),
        (
            lambda: RescaledParameter(1.0, scale=0.0),
            ValueError,
            r"`scale` must be non-zero, got scale=0",
        ),
        (
            lambda: MaskedParameter(jnp.ones(3), mask=[True, False]),
            ValueError,
            r"`mask` must have the value's shape \(3,\), got shape \(2,\)",
        ),
        (
            lambda: BoundedParameter(0.5, low=2.0, high=1.0),
            ValueError,
            r"BoundedParameter: `low` must be smaller than `high`",
        ),
        (
            lambda: TransformedParameter(1.0, "exp", jnp.log),
            TypeError,
            r"`forward_transform` must be callable, got str: 'exp'",
        ),
        (
            lambda: TransformedParameter(-1.0, jnp.exp, jnp.log),
            ValueError,
            r"inverse transform of the start is not finite: value=-1.0 gives raw "
            r"value nan",
        ),
    ],
)
def test_bad_starts_and_settings_name_the_value_and_the_domain(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_a_traced_start_is_not_checked_but_clamped_inside():
    """Under a trace the check is skipped; the raw value stays finite."""

    def make(x):
        return (
            SigmoidBoundedParameter(x, 0.0, 1.0).value,
            LogPositiveParameter(x - 3.0).value,
            LogNegativeParameter(x).value,
        )

    for raw in jax.jit(make)(2.0):
        assert np.isfinite(raw)
    with pytest.raises(TypeError, match=r"`low` must be a concrete number"):
        jax.jit(lambda lo: SigmoidBoundedParameter(0.5, lo, 1.0).value)(0.0)


# ----- invariants ------------------------------------------------------------

finite = st.floats(-1e3, 1e3, allow_nan=False, width=32)
# fixed sizes: eager JAX compiles each operation once per shape
raws = st.lists(st.floats(-60, 60, allow_nan=False, width=32), min_size=8, max_size=8)


@st.composite
def bounds(draw):
    low = draw(finite)
    width = draw(st.floats(0.0625, 1024.0, width=32))
    return low, float(np.float32(low) + np.float32(width))


@settings(max_examples=20, deadline=None)
@given(bounds(), raws)
def test_constrained_values_stay_in_their_domain_for_any_raw_value(lh, raw):
    low, high = lh
    raw = np.asarray(raw, np.float32)
    start = np.float32((low + high) / 2)
    sig = with_raw(SigmoidBoundedParameter(start, low, high), raw).constrained_value
    assert np.all((sig >= np.float32(low)) & (sig <= np.float32(high)))
    box = with_raw(BoundedParameter(start, low, high), raw * 50).constrained_value
    assert np.all((box >= np.float32(low)) & (box <= np.float32(high)))
    pos = with_raw(LogPositiveParameter(high + 1, lower=low), raw).constrained_value
    assert np.all(pos >= np.float32(low))
    neg = with_raw(LogNegativeParameter(low - 1, upper=high), raw).constrained_value
    assert np.all(neg <= np.float32(high))


@settings(max_examples=20, deadline=None)
@given(bounds(), st.lists(st.floats(0.001, 0.999), min_size=8, max_size=8))
def test_forward_of_inverse_is_the_identity_inside_the_domain(lh, fractions):
    low, high = lh
    x = np.float32(low) + np.asarray(fractions, np.float32) * np.float32(high - low)
    scale = max(abs(low), abs(high), high - low)
    cases = [
        SigmoidBoundedParameter(x, low, high),
        LogPositiveParameter(x, lower=low - 1.0),
        LogNegativeParameter(x, upper=high + 1.0),
        RescaledParameter(x, scale=high - low),
        NormalizedParameter(x),
        MaskedParameter(x, mask=np.arange(x.size) % 2 == 0),
    ]
    for p in cases:
        np.testing.assert_allclose(p.constrained_value, x, atol=2e-5 * scale)
        again = p.forward(p.inverse(p.constrained_value))
        np.testing.assert_allclose(again, p.constrained_value, atol=2e-5 * scale)


# ----- state helpers ---------------------------------------------------------


class Model(eqx.Module):
    gain: Parameter
    weights: list
    name: str = eqx.field(static=True, default="m")


def make_state():
    return {
        "coupling": {"G": SigmoidBoundedParameter(0.3, 0.0, 1.0), "dt": 0.1},
        "model": Model(
            gain=RescaledParameter(2.0, scale=4.0),
            weights=[MaskedParameter(jnp.arange(3.0), [True, False, True]), 5],
        ),
        "data": jnp.ones(4),
    }


def test_is_parameter_and_extract_values():
    state = make_state()
    assert is_parameter(state["coupling"]["G"]) and not is_parameter(1.0)
    values = extract_values(state)
    assert not any(
        is_parameter(x) for x in jax.tree.leaves(values, is_leaf=is_parameter)
    )
    np.testing.assert_allclose(values["coupling"]["G"], 0.3, rtol=1e-6)
    np.testing.assert_allclose(values["model"].gain, 2.0)
    np.testing.assert_allclose(values["model"].weights[0], [0.0, 1.0, 2.0])
    assert values["coupling"]["dt"] == 0.1


def test_mark_parameters_marks_only_the_raw_values():
    spec = mark_parameters(make_state())
    # coupling, data, model (sorted keys); a scale, a mask and frozen entries
    # are metadata (as in TVB-Optim), not leaves
    assert jax.tree.leaves(spec) == [True, False, False, True, True, False]
    assert spec["model"].gain.value is True
    np.testing.assert_array_equal(spec["model"].gain.scale, 4.0)


def test_partition_and_combine_round_trip():
    state = make_state()
    params, static = partition_state(state)
    raw = [
        state["coupling"]["G"].value,
        state["model"].gain.value,
        state["model"].weights[0].value,
    ]
    for a, b in zip(jax.tree.leaves(params), raw, strict=True):
        np.testing.assert_array_equal(a, b)
    assert jax.tree.leaves(params["model"].gain) == [params["model"].gain.value]
    assert static["model"].gain.value is None
    back = combine_state(params, static)
    assert jax.tree.structure(back) == jax.tree.structure(state)
    for a, b in zip(jax.tree.leaves(back), jax.tree.leaves(state), strict=True):
        np.testing.assert_array_equal(a, b)
    assert repr(static["model"].gain) == "RescaledParameter(value=None)"  # a half


def test_equal_settings_give_equal_structures():
    a = SigmoidBoundedParameter(0.3, np.zeros(2), np.ones(2))
    b = SigmoidBoundedParameter(0.6, np.zeros(2), np.ones(2))
    c = SigmoidBoundedParameter(0.3, np.zeros(2), np.full(2, 2.0))
    assert jax.tree.structure(a) == jax.tree.structure(b)
    assert jax.tree.structure(a) != jax.tree.structure(c)
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), a, b)  # as scan/vmap do
    np.testing.assert_allclose(stacked.constrained_value, [[0.3] * 2, [0.6] * 2])


def test_a_traced_mask_or_scale_rides_along_as_an_untrained_leaf():
    w = jnp.array([[0.0, 0.5], [2.0, 0.0]])

    def f(w):
        state = {"w": MaskedParameter(w, w != 0), "s": NormalizedParameter(w + 1)}
        params, static = partition_state(state)
        assert len(jax.tree.leaves(params)) == 2  # only the raw values train
        back = combine_state(params, static)
        return back["w"].constrained_value, back["s"].constrained_value

    ws = jnp.stack([w, 2 * w])
    masked, normalized = jax.vmap(f)(ws)
    np.testing.assert_array_equal(masked, ws)
    np.testing.assert_allclose(normalized, ws + 1)
    # a parameter made under vmap leaves it with its traced fields batched
    r = jax.vmap(lambda s: RescaledParameter(1.0, scale=s))(jnp.array([2.0, 4.0]))
    np.testing.assert_allclose(r.scale, [2.0, 4.0])
    np.testing.assert_allclose(r.constrained_value, [1.0, 1.0])


def test_structures_print_the_same_in_every_process():
    """A Space's description holds its structure's text: no addresses."""
    state = {
        "a": SigmoidBoundedParameter(0.5, 0.0, 1.0),
        "m": MaskedParameter(jnp.ones(2), [True, False]),
        "t": TransformedParameter(1.0, jnp.exp, jnp.log),
    }
    text = str(jax.tree.structure(state))
    assert " at 0x" not in text and "0.0" in text and "jax.numpy.exp" in text
    assert text == str(jax.tree.structure(jax.tree.map(lambda x: x, state)))


def test_collect_parameters_as_tvb_optim_and_flat():
    state = make_state()
    values = collect_parameters(state)
    np.testing.assert_allclose(values["model"].gain, 2.0)
    flat = collect_parameters(state, flat=True)
    assert list(flat) == ["coupling.G", "model.gain", "model.weights[0]"]
    assert all(is_parameter(p) for p in flat.values())


def test_show_parameters_prints_a_table(capsys):
    show_parameters(make_state())
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["path", "type", "value", "raw"]
    assert lines[1].split()[:3] == ["coupling.G", "SigmoidBoundedParameter", "0.3"]
    assert lines[2].split() == ["model.gain", "RescaledParameter", "2.0", "0.5"]
    assert lines[3].startswith("model.weights[0]  MaskedParameter")
    show_parameters({"x": 1.0})
    assert capsys.readouterr().out == "(no parameters)\n"
