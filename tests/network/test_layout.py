"""The config layout: which leaves a network's config has, their dtypes, sweeps."""

from __future__ import annotations

import copy

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from network_helpers import prepared_rww, replace_leaf, rww_network

from sweepjax import Config, GridAxis, ParallelExecution, Space
from sweepjax._tree import is_key_array
from sweepjax.network import (
    AdditiveNoise,
    DelayedLinearCoupling,
    DenseDelayGraph,
    DenseGraph,
    Heun,
    Network,
    ReducedWongWang,
    make_config,
    prepare,
)
from sweepjax.network._layout import initial_state_of


def delayed_network(key):
    graph = DenseDelayGraph(np.ones((2, 2)), np.ones((2, 2)))
    return Network(
        ReducedWongWang(),
        {"d": DelayedLinearCoupling("S")},
        graph,
        AdditiveNoise(1e-3, key),
    )


def named_leaves(config):
    """``{dotted path: leaf}``, None leaves included."""
    flat = jax.tree_util.tree_flatten_with_path(config, is_leaf=lambda x: x is None)
    return {
        jax.tree_util.keystr(p, simple=True, separator="."): leaf for p, leaf in flat[0]
    }


def test_layout_paths():
    config = make_config(delayed_network(0))
    assert isinstance(config, Config)
    assert list(named_leaves(config)) == [
        *(f"dynamics.{p}" for p in ReducedWongWang.default_parameters),
        "coupling.d.G",
        "coupling.d.b",
        "graph.weights",
        "graph.delays",
        "noise.sigma",
        "noise.key",
        "initial_state",
        "noise_samples",
        "start",
    ]


def test_deterministic_network_has_empty_noise():
    config = make_config(rww_network(sigma=None))
    assert len(config.noise) == 0
    assert config.noise_samples is None


@pytest.mark.parametrize("x64_mode", [False, True], ids=("float32", "float64"))
@pytest.mark.parametrize(
    "key", [jax.random.key(1), jax.random.PRNGKey(1)], ids=("typed", "raw")
)
def test_leaves_take_the_default_float_and_keys_stay(x64_mode, key):
    with jax.enable_x64(x64_mode):
        config = make_config(delayed_network(key))
        dtype = jnp.result_type(float)
        for name, leaf in named_leaves(config).items():
            if name not in ("noise.key", "noise_samples", "start"):
                assert isinstance(leaf, jax.Array) and leaf.dtype == dtype, name
    assert config.noise.key is key
    assert is_key_array(config.noise.key, raw=True)
    assert config.initial_state.shape == (1, 2)


def test_rww_defaults_and_initial_state():
    config = make_config(Network(ReducedWongWang(), {}, DenseGraph(np.zeros((5, 5)))))
    assert float(config.dynamics.J_N) == pytest.approx(0.2609)
    assert float(config.dynamics.I_o) == pytest.approx(0.33)
    np.testing.assert_allclose(config.initial_state, np.full((1, 5), 0.1))


def test_initial_state_of_broadcasts_a_swept_scalar():
    network = rww_network(n=3)
    config = make_config(network)
    config.initial_state = jnp.asarray(0.2)
    y0 = initial_state_of(network, config)
    assert y0.shape == (1, 3) and y0.dtype == jnp.result_type(float)
    np.testing.assert_allclose(y0, 0.2)


@pytest.mark.parametrize(
    ("path", "values"),
    [
        ("dynamics.tau_s", jnp.array([80.0, 100.0, 120.0])),
        ("initial_state", jnp.linspace(0.05, 0.3, 3)[:, None, None] * jnp.ones(4)),
        ("graph.weights", jnp.stack([k * (1 - jnp.eye(4)) for k in (0.5, 1.0, 2.0)])),
        ("noise.sigma", jnp.array([0.0, 1e-3, 1e-2])),
    ],
)
def test_any_leaf_vmaps_like_a_loop(path, values):
    solve_fn, config = prepared_rww(n=4)  # shared by the parameters

    def run(value):
        return solve_fn(replace_leaf(config, path, value)).ys

    batched = jax.jit(jax.vmap(run))(values)
    looped = jnp.stack([run(v) for v in values])
    np.testing.assert_allclose(batched, looped, rtol=1e-5, atol=1e-7)
    assert not np.allclose(batched[0], batched[-1])


def config_nodes(config, path=""):
    """``(path, Config)`` of ``config`` and every Config below it."""
    yield path, config
    for name, value in config.items():
        if isinstance(value, Config):
            yield from config_nodes(value, f"{path}.{name}".lstrip("."))


def test_every_level_of_the_config_is_closed():
    config = make_config(delayed_network(0))
    nodes = dict(config_nodes(config))
    assert list(nodes) == [
        "",
        "dynamics",
        "coupling",
        "coupling.d",
        "graph",
        "noise",
        "stimulus",
    ]
    for path, node in nodes.items():
        where = f"at '{path}' " if path else ""
        with pytest.raises(AttributeError, match=f"Config {where}has no field 'zz'"):
            node.zz = 1.0
    with pytest.raises(AttributeError, match=r"closed"):
        make_config(rww_network(sigma=None)).noise.sigma = 0.1  # deterministic


def test_a_typo_raises_instead_of_sweeping_nothing():
    solve_fn, config = prepare(rww_network(n=2), Heun(), 0.0, 0.5, 0.1)
    sweep = copy.deepcopy(config)
    with pytest.raises(
        AttributeError,
        match=r"^Config at 'coupling\.instant' has no field 'g'; did you mean 'G'\? "
        r"Fields: \['G', 'b'\]",
    ):
        sweep.coupling.instant.g = GridAxis(0.0, 1.0, 3)
    with pytest.raises(AttributeError, match=r"did you mean 'tau_s'\?"):
        sweep.dynamics.tau_S
    sweep.coupling.instant.G = GridAxis(0.0, 1.0, 3)  # the real name sweeps
    result = ParallelExecution(
        lambda cfg: solve_fn(cfg).ys.mean(), Space(sweep), n_vmap=3, progress=False
    ).run()
    means = np.asarray(result.outputs)
    assert means.shape == (3,) and len(set(means.tolist())) == 3
