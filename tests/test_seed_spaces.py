"""The seed document's axis and space examples, with the numbers it prints."""

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from registry import seed_space

from sweepjax import DataAxis, GridAxis, NumPyroAxis, Space, UniformAxis


def test_preview_product_space():
    state = {
        "coupling_strength": GridAxis(0.0, 2.0, 4),
        "noise_level": UniformAxis(0.01, 0.1, 3),
        "fixed_param": 42.0,
    }
    space = Space(state, mode="product", key=jax.random.key(123))
    assert len(space) == 12
    lines = [
        f"{p['coupling_strength']:.2f} {p['noise_level']:.4f} {p['fixed_param']}"
        for p in list(space)[:5]
    ]
    assert lines == [
        "0.00 0.0265 42.0",
        "0.00 0.0876 42.0",
        "0.00 0.0204 42.0",
        "0.67 0.0265 42.0",
        "0.67 0.0876 42.0",
    ]


def test_grid_axis_prints():
    grid = GridAxis(0.0, 1.0, 5)
    assert grid.size == 5
    assert str(grid.generate_values()) == "[0.   0.25 0.5  0.75 1.  ]"
    values = GridAxis(0.0, 2.0, 11).generate_values()
    assert "1.8000001" in str(values)
    assert bool(jnp.allclose(jnp.diff(values), jnp.diff(values)[0]))
    regional = GridAxis(0.0, 1.0, 5, shape=(68,)).generate_values()
    assert regional.shape == (5, 68) and f"{regional[2][0]:.3f}" == "0.500"


def test_uniform_axis_statistics():
    values = UniformAxis(0.0, 1.0, 100).generate_values(jax.random.key(42))
    assert f"{jnp.mean(values):.3f}" == "0.514"
    assert f"[{jnp.min(values):.3f}, {jnp.max(values):.3f}]" == "[0.010, 0.992]"


def test_data_axis_prints():
    axis = DataAxis(jnp.array([0.142, 0.284, 0.426, 0.568, 0.710]))
    assert axis.size == 5
    assert str(axis.generate_values()) == "[0.142 0.284 0.426 0.568 0.71 ]"
    mats = DataAxis(jnp.array([[[1.0, 0.5], [0.5, 1.0]]] * 3))
    assert mats.generate_values().shape == (3, 2, 2)


def test_numpyro_axis_statistics():
    key = jax.random.key(42)
    normal = NumPyroAxis(dist.Normal(0.5, 0.15), n=1000).generate_values(key)
    beta = NumPyroAxis(dist.Beta(2.0, 5.0), n=1000).generate_values(key)
    lognormal = NumPyroAxis(dist.LogNormal(0.0, 0.5), n=1000).generate_values(key)
    assert f"{jnp.mean(normal):.3f} {jnp.std(normal):.3f}" == "0.506 0.146"
    assert f"{jnp.mean(beta):.3f} {jnp.min(beta):.3f} {jnp.max(beta):.3f}" == (
        "0.285 0.007 0.933"
    )
    assert f"{jnp.mean(lognormal):.3f} {jnp.median(lognormal):.3f}" == "1.145 1.045"


def test_numpyro_independent_and_broadcast_samples():
    key = jax.random.key(456)
    kwargs = dict(n=3, sample_shape=(2, 4))
    independent = NumPyroAxis(dist.Normal(0.0, 1.0), **kwargs).generate_values(key)
    broadcast = NumPyroAxis(
        dist.Normal(0.0, 1.0), broadcast_mode=True, **kwargs
    ).generate_values(key)
    np.testing.assert_allclose(
        independent[0],
        [
            [0.991294, -1.2127206, -0.28042838, 0.02664931],
            [-0.07197085, 0.3858999, -0.5076543, -1.5987304],
        ],
        rtol=1e-6,
    )
    np.testing.assert_allclose(broadcast[0], np.full((2, 4), 0.991294), rtol=1e-6)


def test_nested_simulation_state():
    state = {
        "coupling": {
            "strength": GridAxis(0.1, 0.8, 5),
            "delay": UniformAxis(5.0, 25.0, 3),
        },
        "model": {"noise_amplitude": DataAxis([0.01, 0.02, 0.05]), "tau": 10.0},
        "simulation": {"dt": 0.1, "duration": 1000},
    }
    space = Space(state, mode="product", key=jax.random.key(789))
    assert len(space) == 45
    rows = [
        f"{p['coupling']['strength']:.3f} {p['coupling']['delay']:.2f} "
        f"{p['model']['noise_amplitude']:.3f} {p['model']['tau']} "
        f"{p['simulation']['dt']}"
        for p in list(space)[:3]
    ]
    assert rows == [
        "0.100 16.82 0.010 10.0 0.1",
        "0.100 16.82 0.020 10.0 0.1",
        "0.100 16.82 0.050 10.0 0.1",
    ]


def test_product_and_zip_modes():
    state = {"param_a": GridAxis(0.0, 1.0, 3), "param_b": GridAxis(0.0, 1.0, 2)}
    product = Space(state, mode="product")
    assert [f"{p['param_a']:.1f},{p['param_b']:.1f}" for p in product] == [
        "0.0,0.0",
        "0.0,1.0",
        "0.5,0.0",
        "0.5,1.0",
        "1.0,0.0",
        "1.0,1.0",
    ]
    message = (
        r"In zip mode, effective axes have different sizes \[3, 2\]\. "
        r"Using minimum size 2, losing 1 combinations\."
    )
    with pytest.warns(UserWarning, match=message):
        zipped = Space(state, mode="zip")
    assert [f"{p['param_a']:.1f},{p['param_b']:.1f}" for p in zipped] == [
        "0.0,0.0",
        "0.5,1.0",
    ]
    with pytest.warns(UserWarning, match=r"\[8, 5\]\. Using minimum size 5, losing 3"):
        Space({"x": GridAxis(0.0, 2.0, 8), "y": GridAxis(0.0, 2.0, 5)})


def test_grouped_axes_table():
    state = {
        "setting_a": DataAxis(jnp.array([1.0, 2.0, 3.0]), group="settings"),
        "setting_b": DataAxis(jnp.array([10.0, 20.0, 30.0]), group="settings"),
        "param_x": GridAxis(0.0, 1.0, 4),
    }
    space = Space(state, mode="product", key=jax.random.key(42))
    assert len(space) == 12
    rows = [
        f"{p['setting_a']:.0f} {p['setting_b']:.0f} {p['param_x']:.2f}" for p in space
    ]
    expected = [
        f"{a} {b} {x}"
        for a, b in [(1, 10), (2, 20), (3, 30)]
        for x in ["0.00", "0.33", "0.67", "1.00"]
    ]
    assert rows == expected


def test_iteration_indexing_and_slicing():
    space = seed_space()
    rows = [f"{p['coupling']:.2f} {p['noise']:.4f}" for p in list(space)[:3]]
    assert rows == ["0.00 0.0701", "0.20 0.0749", "0.40 0.0214"]
    assert f"{space[0]['coupling']} {space[-1]['coupling']}" == "0.0 1.0"
    assert len(space[1:4]) == 3


def test_space_dataframe_head():
    head = seed_space().to_dataframe().head()
    assert list(head.columns) == ["coupling", "noise"]
    expected = [
        [0.0, 0.070052],
        [0.2, 0.074934],
        [0.4, 0.021412],
        [0.6, 0.041885],
        [0.8, 0.047898],
    ]  # the seed's printed table, to its six printed digits
    np.testing.assert_allclose(head.to_numpy(), expected, rtol=0, atol=5e-7)
