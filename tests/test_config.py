import copy
import pickle

import cloudpickle
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax import Config, GridAxis, Space


def test_attribute_and_item_access():
    cfg = Config({"a": 1.0}, b=Config(c=2.0))
    cfg.d = 3.0
    cfg["e"] = 4.0
    assert cfg.a == 1.0 and cfg["b"].c == 2.0 and cfg.d == 3.0 and cfg.e == 4.0
    assert list(cfg) == ["a", "b", "d", "e"] and len(cfg) == 4 and "d" in cfg
    assert dict(cfg.items())["a"] == 1.0 and list(cfg.values())[0] == 1.0
    del cfg.d
    assert "d" not in cfg
    assert repr(Config(x=1)) == "Config(x=1)"


def test_bad_fields_raise_clear_errors():
    cfg = Config(a=1)
    with pytest.raises(AttributeError, match=r"no field 'missing'\. Fields: \['a'\]"):
        cfg.missing
    with pytest.raises(TypeError, match="must be identifiers, got 'not valid'"):
        Config({"not valid": 1})
    with pytest.raises(AttributeError, match="no field 'zz'"):
        del cfg.zz


def test_pytree_with_attribute_key_paths_in_insertion_order():
    cfg = Config(z=jnp.ones(2), a=Config(G=0.5))
    paths = [
        jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(cfg)
    ]
    assert paths == [".z", ".a.G"]
    doubled = jax.tree.map(lambda x: x * 2, cfg)
    assert isinstance(doubled, Config) and doubled.a.G == 1.0
    assert jax.jit(lambda c: c.z.sum() * c.a.G)(cfg) == 1.0


def test_deepcopy_is_independent_and_shares_immutable_arrays():
    weights = jnp.ones((3, 3))
    base = Config(graph=Config(weights=weights, labels=["a", "b"]), G=0.5)
    sweep = copy.deepcopy(base)
    sweep.G = GridAxis(0.0, 1.0, 3)
    sweep.graph.labels.append("c")
    assert base.G == 0.5 and base.graph.labels == ["a", "b"]
    assert sweep.graph.weights is weights  # JAX arrays are immutable


def test_pickle_round_trip():
    cfg = Config(a=np.arange(3), b=Config(c="text"))
    again = pickle.loads(pickle.dumps(cfg))
    np.testing.assert_array_equal(again.a, cfg.a)
    assert again.b.c == "text"


def test_open_config_suggests_close_names():
    cfg = Config(G=0.5, b=0.0)
    with pytest.raises(
        AttributeError, match=r"^Config has no field 'g'; did you mean 'G'\? Fields: "
    ):
        cfg.g
    with pytest.raises(AttributeError, match=r"no field 'zz'\. Fields: \['G', 'b'\]"):
        cfg.zz
    cfg.g = 1.0  # an open Config takes new fields, as it always has
    assert list(cfg) == ["G", "b", "g"]
    assert not hasattr(cfg, "__array__")  # protocol probes stay plain misses


def closed_tree():
    return Config.closed(
        coupling=Config.closed(instant=Config.closed(G=0.5, b=0.0)),
        noise=Config.closed(sigma=jnp.asarray(1e-3)),
        empty=Config.closed(),
    )


def test_closed_config_refuses_unknown_names_with_path_and_suggestions():
    cfg = closed_tree()
    with pytest.raises(
        AttributeError,
        match=r"^Config at 'coupling\.instant' has no field 'g'; did you mean 'G'\? "
        r"Fields: \['G', 'b'\]\. This Config is closed",
    ):
        cfg.coupling.instant.g = GridAxis(0.0, 1.0, 3)
    with pytest.raises(AttributeError, match=r"^Config at 'coupling\.instant' has no"):
        cfg.coupling.instant.g
    with pytest.raises(AttributeError, match=r"^Config has no field 'nosie'; did you"):
        cfg["nosie"] = 1.0
    with pytest.raises(AttributeError, match=r"at 'noise' has no field 'sgima'; did"):
        cfg.noise.sgima = 1.0
    with pytest.raises(AttributeError, match=r"is closed: field 'G' cannot be deleted"):
        del cfg.coupling.instant.G
    assert list(cfg.coupling.instant) == ["G", "b"]


def test_closed_config_takes_values_and_axes_on_existing_fields():
    cfg = closed_tree()
    cfg.coupling.instant.G = GridAxis(0.0, 1.0, 3)
    cfg["noise"].sigma = 2e-3
    space = Space(cfg)
    assert len(space) == 3 and float(space[2].coupling.instant.G) == 1.0
    with pytest.raises(AttributeError, match="no field 'g'"):
        space[0].coupling.instant.g = 0.1  # a point of a closed sweep is closed
    new = Config.closed(G=1.0, b=2.0)
    cfg.coupling.instant = new  # a closed Config placed in one takes its path
    with pytest.raises(AttributeError, match=r"^Config at 'coupling\.instant' has"):
        new.x = 1


def test_closed_config_copies_and_pickles_stay_closed():
    cfg = closed_tree()
    for again in (
        copy.deepcopy(cfg),
        pickle.loads(pickle.dumps(cfg)),
        cloudpickle.loads(cloudpickle.dumps(cfg)),
        jax.tree.map(lambda x: x, cfg),
        copy.copy(cfg),
    ):
        assert float(again.coupling.instant.G) == 0.5 and len(again.empty) == 0
        with pytest.raises(AttributeError, match=r"at 'coupling\.instant'.*closed"):
            again.coupling.instant.g = 1.0
        with pytest.raises(AttributeError, match="This Config is closed"):
            again.empty.x = 1.0
    opened = Config(dict(cfg.items()))  # an open copy takes new fields
    opened.extra = 1
    assert "extra" in opened and "extra" not in cfg


def test_closed_config_flattens_like_an_open_one():
    closed = closed_tree()
    open_ = Config(
        coupling=Config(instant=Config(G=0.5, b=0.0)),
        noise=Config(sigma=jnp.asarray(1e-3)),
        empty=Config(),
    )
    paths_closed, tree_closed = jax.tree_util.tree_flatten_with_path(closed)
    paths_open, tree_open = jax.tree_util.tree_flatten_with_path(open_)
    assert [p for p, _ in paths_closed] == [p for p, _ in paths_open]
    assert str(tree_closed) == str(tree_open)  # stored sweep structures unchanged
    assert tree_closed != tree_open  # ... but they never share a trace
    rebuilt = tree_closed.unflatten([leaf for _, leaf in paths_closed])
    with pytest.raises(AttributeError, match="This Config is closed"):
        rebuilt.coupling.instant.g = 1.0
    inside = []
    jax.jit(lambda c: inside.append(c) or c.noise.sigma)(closed)
    with pytest.raises(AttributeError, match=r"at 'noise'.*closed"):
        inside[0].noise.sigam = 1.0
    # a plain tuple of names rebuilds an open Config (stores rebuild spaces so)
    plain = Config.tree_unflatten(("a",), [1.0])
    plain.b = 2.0
    assert list(plain) == ["a", "b"]


def test_old_pickles_load_as_open_configs():
    cfg = Config.__new__(Config)
    cfg.__setstate__({"a": 1})  # the state an open Config used to pickle
    cfg.b = 2
    assert dict(cfg.items()) == {"a": 1, "b": 2}


def _at_most_one(value):
    if not isinstance(value, GridAxis) and np.max(value) > 1.0:
        raise ValueError(f"G must be <= 1, got {value}.")


def test_a_field_check_runs_on_every_set_and_travels_with_copies():
    cfg = closed_tree()
    cfg.coupling.instant.add_field_check("G", _at_most_one)
    cfg.coupling.instant.G = 0.9
    for again in (
        cfg,
        copy.deepcopy(cfg),
        pickle.loads(pickle.dumps(cfg)),
        jax.tree.map(lambda x: x, cfg),
        copy.copy(cfg),
    ):
        with pytest.raises(ValueError, match="G must be <= 1, got 2.0"):
            again.coupling.instant.G = 2.0
        with pytest.raises(ValueError, match="G must be <= 1"):
            again.coupling.instant["G"] = jnp.array([0.5, 3.0])
        again.coupling.instant.b = 2.0  # other fields are not checked
        assert float(again.coupling.instant.G) == 0.9  # a refused value is not set
    with pytest.raises(AttributeError, match="has no field 'g'"):
        cfg.coupling.instant.add_field_check("g", _at_most_one)
    # a three-field state (pickled before checks) loads without checks
    old = Config.__new__(Config)
    old.__setstate__(({"G": 1.0}, True, ()))
    old.G = 5.0
