import copy
import dataclasses
import itertools
import math
import os
import subprocess
import sys
import textwrap
import warnings
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as numpyro_dist
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from registry import AXES

from sweepjax import (
    AbstractAxis,
    Config,
    DataAxis,
    GridAxis,
    NumPyroAxis,
    Space,
    UniformAxis,
)


def as_numpy(x):
    if jnp.issubdtype(getattr(x, "dtype", np.float32), jax.dtypes.prng_key):
        x = jax.random.key_data(x)
    return np.asarray(x)


def reference_points(state, mode, key):
    """Brute force: every combination built with itertools, as a list of dicts."""
    names = sorted(k for k, v in state.items() if hasattr(v, "generate_values"))
    subkeys = jax.random.split(key, len(names) + 1)
    values = {n: state[n].generate_values(subkeys[i + 1]) for i, n in enumerate(names)}
    groups: dict = {}
    for n in names:
        if state[n].group is not None:
            groups.setdefault(state[n].group, []).append(n)
    dims = list(groups.values()) + [[n] for n in names if state[n].group is None]
    sizes = [min(state[n].size for n in members) for members in dims]
    if mode == "product":
        combos = itertools.product(*[range(s) for s in sizes])
    else:
        combos = zip(*[range(min(sizes))] * len(dims), strict=True)
    points = []
    for combo in combos:
        point = {k: v for k, v in state.items() if k not in values}
        for members, p in zip(dims, combo, strict=True):
            for n in members:
                point[n] = values[n][p]
        points.append(point)
    return points


def assert_point_equal(actual, expected):
    assert set(actual) == set(expected)
    for k in expected:
        if isinstance(expected[k], str):
            assert actual[k] is expected[k]
        else:
            np.testing.assert_allclose(as_numpy(actual[k]), as_numpy(expected[k]))


axis_specs = st.lists(
    st.tuples(
        st.sampled_from(sorted(AXES)),
        st.integers(1, 4),
        st.sampled_from([None, None, "g1", "g2"]),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=40, deadline=None)
@given(
    specs=axis_specs, mode=st.sampled_from(["product", "zip"]), seed=st.integers(0, 9)
)
def test_indexing_equals_brute_force(specs, mode, seed):
    state = {f"a{i}": AXES[spec[0]](*spec[1:]) for i, spec in enumerate(specs)}
    state["fixed"] = "unchanged"
    key = jax.random.key(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        space = Space(state, mode=mode, key=key)
    expected = reference_points(state, mode, key)
    assert len(space) == space.N == len(expected)
    for i, point in enumerate(expected):
        assert_point_equal(space[i], point)
        assert_point_equal(space[i - len(space)], point)
    for got, point in zip(space, expected, strict=True):
        assert_point_equal(got, point)


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    a=st.integers(-30, 30) | st.none(),
    b=st.integers(-30, 30) | st.none(),
    c=st.sampled_from([None, 1, 2, 3, -1, -2]),
)
def test_slicing_equals_list_slicing(sizes, a, b, c):
    state = {f"x{i}": GridAxis(0.0, 1.0, n) for i, n in enumerate(sizes)}
    space = Space(state, mode="product")
    everything = list(space)
    expected = everything[a:b:c]
    if not expected:
        with pytest.raises(ValueError, match="selects no combination"):
            space[a:b:c]
        return
    sub = space[a:b:c]
    assert isinstance(sub, Space) and len(sub) == len(expected)
    for got, want in zip(sub, expected, strict=True):
        assert_point_equal(got, want)
    # slices of slices stay exact
    if len(sub) > 1:
        for got, want in zip(sub[::-1], expected[::-1], strict=True):
            assert_point_equal(got, want)


@settings(max_examples=25, deadline=None)
@given(specs=axis_specs, mode=st.sampled_from(["product", "zip"]))
def test_dataframe_rows_equal_materialised_states(specs, mode):
    state = {f"a{i}": AXES[spec[0]](*spec[1:]) for i, spec in enumerate(specs)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        space = Space(state, mode=mode)
    df = space.to_dataframe()
    assert list(df.columns) == sorted(state)
    assert len(df) == len(space)
    for i, point in enumerate(space):
        for name in df.columns:
            np.testing.assert_allclose(
                as_numpy(df[name].iloc[i]), as_numpy(point[name])
            )


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    n_vmap=st.integers(1, 5) | st.none(),
    n_pmap=st.integers(1, 3) | st.none(),
)
def test_collect_batches_every_point_in_order(sizes, n_vmap, n_pmap):
    state = {f"x{i}": GridAxis(1.0, 2.0, n) for i, n in enumerate(sizes)}
    state["k"] = 3.0
    space = Space(state, mode="product")
    batch = space.collect(n_vmap=n_vmap, n_pmap=n_pmap)
    lead = [d for d in (n_pmap, n_vmap) if d is not None]
    n_map = math.ceil(len(space) / math.prod(lead)) if lead else len(space)
    assert batch["k"] == 3.0
    for name in state:
        if name == "k":
            continue
        leaf = np.asarray(batch[name])
        assert leaf.shape == (*lead, n_map) if lead else (len(space),)
        flat = leaf.reshape(-1)
        expected = [float(p[name]) for p in space]
        np.testing.assert_allclose(flat[: len(space)], expected)
        assert np.isnan(flat[len(space) :]).all()


def test_collect_without_combine_returns_both_halves_and_pads_keys():
    keys = jax.random.split(jax.random.key(0), 3)
    space = Space({"k": DataAxis(keys), "x": 1.0, "g": GridAxis(0, 1, 1)}, "product")
    axes, static = space.collect(n_vmap=2, combine=False)
    assert axes["x"] is None and static["x"] == 1.0
    assert static["k"] is None and static["g"] is None
    assert axes["k"].shape == (2, 2) and axes["g"].shape == (2, 2)
    np.testing.assert_array_equal(  # padding repeats a real key, never NaN
        jax.random.key_data(axes["k"][1, 1]), jax.random.key_data(keys[0])
    )
    joined = eqx.combine(axes, static)
    combined = space.collect(n_vmap=2)
    assert joined["x"] == combined["x"] == 1.0
    np.testing.assert_array_equal(joined["g"], combined["g"])


def test_key_splitting_contract():
    key = jax.random.key(123)
    space = Space(
        {"a": GridAxis(0.0, 1.0, 2), "b": UniformAxis(0.0, 1.0, 3)},
        mode="product",
        key=key,
    )
    expected = jax.random.uniform(jax.random.split(key, 3)[2], (3,))
    np.testing.assert_allclose(space.values["b"], expected)
    default = Space({"b": UniformAxis(0.0, 1.0, 3)})
    np.testing.assert_allclose(
        default.values["b"],
        jax.random.uniform(jax.random.split(jax.random.key(0), 2)[1], (3,)),
    )


def test_product_order_is_row_major_and_groups_vary_together():
    space = Space(
        {
            "s_a": DataAxis([1.0, 2.0, 3.0], group="settings"),
            "s_b": DataAxis([10.0, 20.0, 30.0], group="settings"),
            "p": GridAxis(0.0, 1.0, 4),
        },
        mode="product",
    )
    rows = [(float(p["s_a"]), float(p["s_b"]), round(float(p["p"]), 2)) for p in space]
    assert len(rows) == 12
    assert rows[:5] == [
        (1.0, 10.0, 0.0),
        (1.0, 10.0, 0.33),
        (1.0, 10.0, 0.67),
        (1.0, 10.0, 1.0),
        (2.0, 20.0, 0.0),
    ]
    assert repr(space) == "Space(N=12, mode='product', axes=3, groups=1)"
    assert [e.name for e in space.effective_axes] == ["settings", "p"]


def test_groups_across_subtrees_with_any_hashable_label():
    state = {
        "model": {"a": GridAxis(0.0, 1.0, 3, group=(1, "x"))},
        "noise": {"b": GridAxis(5.0, 7.0, 3, group=(1, "x"))},
        "other": GridAxis(0.0, 1.0, 2, group=7),
    }
    space = Space(state, mode="product")
    assert len(space) == 6
    assert [float(p["noise"]["b"]) - float(p["model"]["a"]) * 2 for p in space] == [
        5.0
    ] * 6


class Params(NamedTuple):
    g: object
    name: str


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class Model:
    tau: object
    w: object


class Module(eqx.Module):
    gain: object
    label: str = eqx.field(static=True, default="m")


CONTAINERS = {
    "dict": lambda ax: {"b": 1.0, "a": ax},
    "list": lambda ax: [1.0, ax, "text"],
    "tuple": lambda ax: (ax, None),
    "namedtuple": lambda ax: Params(g=ax, name="rww"),
    "dataclass": lambda ax: Model(tau=ax, w=np.ones(2)),
    "equinox": lambda ax: Module(gain=ax),
    "config": lambda ax: Config(coupling=Config(G=ax), dt=0.1),
}
NAMES = {
    "dict": "a",
    "list": "[1]",
    "tuple": "[0]",
    "namedtuple": "g",
    "dataclass": "tau",
    "equinox": "gain",
    "config": "coupling.G",
}


@pytest.mark.parametrize("kind", sorted(CONTAINERS))
def test_containers_keep_their_types_and_fixed_leaves(kind):
    state = CONTAINERS[kind](GridAxis(0.0, 1.0, 3))
    space = Space(state, mode="product")
    point = space[1]
    assert type(point) is type(state)
    leaves = jax.tree.leaves(point)
    assert any(
        np.ndim(x) == 0 and float(x) == 0.5 for x in leaves if not isinstance(x, str)
    )
    assert list(space.to_dataframe().columns) == [NAMES[kind]]
    original = jax.tree.leaves(state, is_leaf=lambda x: isinstance(x, GridAxis))
    for got, orig in zip(leaves, original, strict=True):
        if isinstance(orig, str):
            assert got is orig


def test_config_deepcopy_and_attribute_assignment():
    base = Config(coupling=Config(instant=Config(G=0.5)), noise=Config(sigma=1e-3))
    sweep = copy.deepcopy(base)
    sweep.coupling.instant.G = GridAxis(0.1, 1.0, 4)
    sweep.noise.sigma = DataAxis([1e-4, 1e-3])
    space = Space(sweep, mode="product")
    assert base.coupling.instant.G == 0.5
    assert list(space.to_dataframe().columns) == ["coupling.instant.G", "noise.sigma"]
    assert float(space[-1].noise.sigma) == pytest.approx(1e-3)


def test_huge_space_is_lazy_and_exact():
    state = {f"x{i}": GridAxis(0.0, 1.0, 1000) for i in range(4)}
    space = Space(state, mode="product")
    assert len(space) == 10**12
    last = space[-1]
    assert all(float(last[k]) == 1.0 for k in state)
    mid = space[123_456_789_012]
    digits = [123, 456, 789, 12]
    for k, d in zip(sorted(state), digits, strict=True):
        assert float(mid[k]) == pytest.approx(d / 999)
    sub = space[10**11 :: 10**9]
    assert len(sub) == 900
    assert float(sub[1]["x0"]) == pytest.approx(101 / 999)
    assert float(sub[1]["x1"]) == 0.0


def test_points_hold_jax_arrays_and_stay_independent():
    space = Space({"v": DataAxis(np.zeros((3, 2))), "a": GridAxis(0.0, 1.0, 3)})
    for point in (space[1], next(iter(space)), space.gather(np.arange(2))):
        assert isinstance(point["v"], jax.Array) and isinstance(point["a"], jax.Array)
    point = space[0]
    changed = point["v"].at[0].set(5.0)  # what a TVB-Optim model may do
    point["a"] = 9.0
    assert float(changed[0]) == 5.0
    np.testing.assert_array_equal(space[0]["v"], [0.0, 0.0])
    assert float(space[0]["a"]) == 0.0
    axes, _ = space.collect(combine=False)
    assert isinstance(axes["v"], jax.Array)


def test_zero_dimensional_integer_arrays_index_like_ints():
    space = Space({"a": GridAxis(0.0, 1.0, 5)})
    for i in (np.int64(3), np.array(3), jnp.array(3), jnp.array(-2, jnp.int32)):
        assert float(space[i]["a"]) == 0.75
    with pytest.raises(TypeError, match="got a boolean"):
        space[np.array(True)]
    with pytest.raises(TypeError, match=r"0-d integer arrays\) or slices, got ndarray"):
        space[np.array([1, 2])]


def test_zip_and_group_size_mismatch_warn():
    with pytest.warns(
        UserWarning, match=r"sizes \[3, 2\]\. Using minimum size 2, losing 1"
    ):
        space = Space({"a": GridAxis(0, 1, 3), "b": GridAxis(0, 1, 2)}, mode="zip")
    assert len(space) == 2
    with pytest.warns(UserWarning, match=r"group 'g' have different sizes \[3, 5\]"):
        space = Space(
            {"a": GridAxis(0, 1, 3, group="g"), "b": GridAxis(0, 1, 5, group="g")},
            mode="product",
        )
    assert len(space) == 3


class Opaque:
    def __init__(self, inner):
        self.inner = inner


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: Space({"a": 1.0}), ValueError, "contains no axis"),
        (
            lambda: Space({"a": GridAxis(0, 1, 2)}, mode="grid"),
            ValueError,
            "mode='grid'",
        ),
        (
            lambda: Space({"m": Opaque({"x": GridAxis(0, 1, 2)})}),
            TypeError,
            r"`m.inner\['x'\]` inside a Opaque .* Register Opaque as a pytree",
        ),
    ],
)
def test_bad_spaces(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_bad_indices():
    space = Space({"a": GridAxis(0, 1, 3)})
    with pytest.raises(IndexError, match="index 3 is out of range .* N=3"):
        space[3]
    with pytest.raises(IndexError, match="index -4"):
        space[-4]
    with pytest.raises(TypeError, match="or slices, got str"):
        space["a"]
    with pytest.raises(ValueError, match="selects no combination"):
        space[2:1]
    with pytest.raises(IndexError, match=r"indices must lie in \[0, 3\)"):
        space.gather([0, 3])
    with pytest.raises(ValueError, match="`n_vmap` must be a positive int"):
        space.collect(n_vmap=0)


def test_gather_batches_leaves():
    space = Space(
        {"a": GridAxis(0, 1, 3), "m": DataAxis(np.zeros((2, 4, 4)))}, mode="product"
    )
    batch = space.gather(np.arange(6))
    assert batch["a"].shape == (6,) and batch["m"].shape == (6, 4, 4)


def test_spaces_beyond_int64_index_exactly():
    space = Space({f"x{i}": GridAxis(0.0, 999.0, 1000) for i in range(7)}, "product")
    assert space.N == 10**21 and "N=1000000000000000000000" in repr(space)
    point = space[10**20 + 5]
    assert float(point["x0"]) == 100.0 and float(point["x6"]) == 5.0
    assert float(space[-1]["x0"]) == 999.0
    backwards = space[::-7]
    assert backwards.N == -(-(10**21) // 7)
    assert [float(p["x6"]) for p in itertools.islice(backwards, 3)] == [
        999.0,
        992.0,
        985.0,
    ]
    np.testing.assert_array_equal(space[::-1].positions([1]), [[999] * 6 + [998]])


def test_generated_values_are_checked_with_the_leaf_path():
    close = Config(coupling=Config(G=GridAxis(1.0, 1.0000002, 5)))
    with pytest.raises(
        ValueError,
        match=r"Axis `coupling.G` \(GridAxis\(low=1.0, high=1.0000002, n=5\)\) "
        r"generated duplicate points in float32: .* Enable 64-bit floats with "
        r'jax.config.update\("jax_enable_x64", True\) before creating the axis',
    ):
        Space(close)
    with jax.enable_x64(True):  # made and generated in float64: distinct
        assert len(Space(close)) == 5
        made_in_x64 = {"noise": {"sigma": GridAxis(1.0, 1.00000001, 3)}}
    # the axis passed its check in float64, its values are made in float32
    with pytest.raises(ValueError, match=r"Axis `noise.sigma` .* duplicate points"):
        Space(made_in_x64)


def test_non_finite_values_raise_except_in_data_axes():
    with pytest.raises(
        ValueError,
        match=r"Axis `model\[1\]` \(NumPyroAxis\(distribution='LogNormal', n=2\)\) "
        r"generated values that are not finite in float32: 0 NaN and 2 inf",
    ):
        Space({"model": [1.0, NumPyroAxis(numpyro_dist.LogNormal(100.0, 1.0), n=2)]})
    data = Space({"x": DataAxis([0.5, np.nan]), "y": GridAxis(0, 1, 2)}, "product")
    assert np.isnan(float(data[3]["x"]))  # NaN as a "missing" marker passes


class NanAxis(DataAxis):
    """A custom axis whose values are computed: checked like any other."""

    def check_values(self, values, name=None):
        AbstractAxis.check_values(self, values, name)


def test_custom_axes_are_checked_by_default():
    with pytest.raises(ValueError, match=r"Axis `c` .* 1 NaN and 0 inf among 2"):
        Space({"c": NanAxis([1.0, np.nan])})


def test_a_table_too_large_raises_before_anything_is_made():
    # XLA aborts the interpreter when it cannot allocate a table: refuse first
    with pytest.raises(
        ValueError,
        match=r"Axis `x` \(GridAxis\(low=0.0, high=1.0, n=1000000000000\)\) is too "
        r"large for one table: 1,000,000,000,000 values of shape \(\) in float32 "
        r"need 4.0 TB \(4,000,000,000,000 bytes\), and JAX indexes it with "
        r"int32, .* Use fewer points, or split it into several axes combined in "
        r"mode='product'",
    ):
        Space({"x": GridAxis(0, 1, 10**12)})
    wide = GridAxis(0, 1, 10**6, shape=(10**7,))
    with pytest.raises(
        ValueError,
        match=r"Axis `net.w` .* need 40.0 TB \(40,000,000,000,000 bytes\), more "
        r"than .* of memory",
    ):
        Space({"a": UniformAxis(0, 1, 3), "net": {"w": wide}}, "product")


def test_leaves_whose_names_print_alike_raise():
    with pytest.raises(
        ValueError,
        match=r"Two leaves of `state` are both named 'a.b': \['a'\]\['b'\] and "
        r"\['a.b'\]\. .* rename a key",
    ):
        Space({"a.b": GridAxis(0, 1, 2), "a": {"b": GridAxis(0, 1, 3)}})
    with pytest.raises(ValueError, match=r"'x\[0\]': \['x'\]\[0\] and \['x\[0\]'\]"):
        Space({"x[0]": 1.0, "x": [GridAxis(0, 1, 2)]})
    with pytest.raises(ValueError, match=r"both named 'd.t'"):  # fixed leaves too
        Space({"g": GridAxis(0, 1, 2), "d.t": 0.0, "d": {"t": 1.0}})


def test_dimension_names_must_not_name_an_axis_outside_them():
    with pytest.raises(
        ValueError,
        match=r"Group 'b' \(axes a, c\) names its dimension 'b', the name of the "
        r"axis `b` outside the group: .* e.g. group='b_group'",
    ):
        Space(
            {
                "a": GridAxis(0, 1, 3, group="b"),
                "c": GridAxis(5, 6, 3, group="b"),
                "b": GridAxis(0, 1, 2),
            },
            "product",
        )
    with pytest.raises(
        ValueError, match=r"Groups 1 and '1' both name their dimension '1'"
    ):
        Space({"a": GridAxis(0, 1, 3, group=1), "c": GridAxis(5, 6, 2, group="1")})
    # a group labelled like one of its own members: that member is the index
    space = Space(
        {"G": GridAxis(0, 1, 3, group="G"), "H": GridAxis(5, 6, 3, group="G")}
    )
    assert [e.name for e in space.effective_axes] == ["G"]


@pytest.mark.parametrize("key", [None, jax.random.key(7)])
def test_tables_equal_each_axis_generated_alone_bit_for_bit(key):
    # One compiled program makes the range axes' tables: the values must be
    # exactly those of generate_values with the documented subkey (stores
    # fingerprint them, so one ulp would refuse a resume).
    state = {name: make(3 + i) for i, (name, make) in enumerate(sorted(AXES.items()))}
    state["wide"] = GridAxis(0.1, 2.3, 1001, shape=(2,))
    state["draw"] = UniformAxis(1e-4, 1e-2, 777)
    subkeys = jax.random.split(
        jax.random.key(0) if key is None else key, len(state) + 1
    )
    space = Space(state, mode="product", key=key)
    for i, name in enumerate(sorted(state)):
        alone = state[name].generate_values(subkeys[i + 1])
        np.testing.assert_array_equal(as_numpy(space.values[name]), as_numpy(alone))
        assert space.values[name].dtype == alone.dtype


def test_tables_equal_generate_values_in_x64():
    with jax.enable_x64(True):
        state = {"g": GridAxis(0.1, 2.3, 17), "u": UniformAxis(-1.0, 3.0, 9)}
        space = Space(state, mode="product", key=jax.random.key(3))
        subkeys = jax.random.split(jax.random.key(3), 3)
        for i, name in enumerate(sorted(state)):
            alone = np.asarray(state[name].generate_values(subkeys[i + 1]))
            assert alone.dtype == np.float64
            np.testing.assert_array_equal(np.asarray(space.values[name]), alone)


FRESH_PROCESS = textwrap.dedent(
    """
    import itertools
    import jax
    import numpy as np

    jax.config.update("jax_enable_compilation_cache", False)
    compiles = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, secs, **kw: compiles.append(event)
        if event == "/jax/core/compile/backend_compile_duration" else None
    )
    from sweepjax import DataAxis, GridAxis, Space, UniformAxis
    from sweepjax._store import describe_space

    # Uniform draws are made on the host: no program at all.
    drawn = Space({"sigma": UniformAxis(1e-4, 1e-2, 1000, shape=(2,)), "dt": 0.1})
    drawn[17], drawn[999]
    uniform_only = len(compiles)
    space = Space(
        {"G": GridAxis(0.0, 1.0, 1000), "sigma": UniformAxis(1e-4, 1e-2, 1000),
         "speed": DataAxis(np.linspace(1.0, 10.0, 10)), "dt": 0.1},
        mode="product",
    )
    point = space[123_456]
    first = len(compiles)
    # Everything else on the host path: none compiles.
    points = list(itertools.islice(space, 300))
    small = space[10:100]
    small.gather(np.arange(20)), small.collect(n_vmap=7), small.to_dataframe()
    space.parameters(5), describe_space(space), small[3], space[-1]
    print(
        uniform_only, first, len(compiles), float(point["G"]),
        float(points[299]["speed"]),
    )
    """
)


def test_building_and_indexing_compile_at_most_once_in_a_fresh_process():
    # a user's process: no shared cache, XLA's default optimisations
    env = {k: v for k, v in os.environ.items() if "COMPILATION_CACHE" not in k}
    env["JAX_DISABLE_MOST_OPTIMIZATIONS"] = "0"
    out = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.split()
    # The one compilation: the grid's table (XLA's float32 linspace rounds as
    # its compiled loop does, so the host cannot repeat it bit for bit).
    assert out[:3] == ["0", "1", "1"], out
    assert float(out[3]) == pytest.approx(12 / 999) and float(out[4]) == 10.0


def test_points_match_the_device_gather():
    # Points come from host tables, executors gather on the device: the same.
    space = Space(
        {
            "a": UniformAxis(0, 1, 5),
            "k": AXES["data_keys"](3),
            "m": AXES["data_matrix"](2),
        },
        mode="product",
    )
    idx = np.arange(len(space))
    device = space.assemble(jnp.asarray(space.positions(idx)))
    host = space.gather(idx)
    for name in ("a", "k", "m"):
        np.testing.assert_array_equal(as_numpy(host[name]), as_numpy(device[name]))
        np.testing.assert_array_equal(
            as_numpy(space[7][name]), as_numpy(device[name][7])
        )


def test_the_traced_gather_wraps_no_negative_positions_and_host_tables_are_views():
    # positions are never negative: the traced gather clips (XLA's own
    # semantics) instead of tracing a wrap-around per axis; on a CPU the host
    # tables are JAX's read-only views of the device tables, not copies
    space = Space({"a": GridAxis(0.0, 1.0, 3), "b": DataAxis([1.0, 2.0, 3.0])})
    program = str(jax.make_jaxpr(space.assemble)(jnp.zeros(2, jnp.int32)))
    assert "select_n" not in program and " lt " not in program
    for host, device in zip(space.host_tables, space.tables, strict=True):
        assert not host.flags.writeable
        if device.platform() == "cpu":
            assert np.shares_memory(host, np.asarray(device))


@pytest.mark.parametrize(
    "key, error, match",
    [
        (
            0,
            TypeError,
            r"`key` must be a JAX PRNG key, got int: 0\. Pass "
            r"key=jax\.random\.key\(0\)\.",
        ),
        ("seed", TypeError, r"got str: 'seed'\. Pass key=jax\.random\.key\(0\)"),
        (
            jax.random.split(jax.random.key(0), 2),
            ValueError,
            r"`key` must be a single PRNG key, got a key array of shape \(2,\)",
        ),
    ],
)
def test_a_key_that_is_not_one_prng_key_is_refused(key, error, match):
    with pytest.raises(error, match=match):
        Space({"a": UniformAxis(0, 1, 3)}, key=key)


def test_a_raw_key_still_works():
    raw = Space({"a": UniformAxis(0, 1, 3)}, key=jax.random.PRNGKey(4))
    typed = Space({"a": UniformAxis(0, 1, 3)}, key=jax.random.key(4))
    np.testing.assert_array_equal(raw.values["a"], typed.values["a"])


def _with_long_axis(space, size):
    """`space` whose first dimension claims `size` values (a table that long
    needs gigabytes: only the dtype choice is under test)."""
    long = dataclasses.replace(space.effective_axes[0], size=size)
    space._effective = (long, *space.effective_axes[1:])
    return space


def test_positions_are_int64_when_an_axis_outgrows_int32():
    space = Space({"x": GridAxis(0, 1, 3), "y": GridAxis(0, 1, 2)}, mode="product")
    assert space.position_dtype == np.int32
    with jax.enable_x64(True):
        assert _with_long_axis(space, 2**31 + 8).position_dtype == np.int64
        assert _with_long_axis(space, 2**31 - 1).position_dtype == np.int32
    with pytest.raises(
        ValueError,
        match=r"The axis `x` has 2,147,483,656 values, more than int32 positions "
        r"reach \(2,147,483,647\), and JAX's x64 mode is off.*"
        r'jax.config.update\("jax_enable_x64", True\)',
    ):
        _with_long_axis(space, 2**31 + 8).position_dtype
