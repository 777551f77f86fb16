import copy
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax import Config, GridAxis


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
    with pytest.raises(AttributeError, match=r"no field 'missing'; fields are \['a'\]"):
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
