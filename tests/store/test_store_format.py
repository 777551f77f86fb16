"""The store format: column names, output structures, opening and paths."""

import json

import jax
import jax.numpy as jnp
import pytest

from sweepjax._store._format import (
    ATTR,
    FORMAT,
    array_name,
    check_path,
    open_store,
    store_exists,
    structure,
    unflatten,
)

LEAF = jax.ShapeDtypeStruct((), jnp.float32)


def test_array_names_avoid_separators_reserved_names_and_clashes():
    taken = {"_sweepjax", "point"}
    assert array_name("coupling.G", taken) == "coupling.G"
    assert array_name("a/b", taken) == "a_b"
    assert array_name("__x", taken) == "x__x"
    assert array_name("_sweepjax", set()) == "x_sweepjax"
    with pytest.raises(ValueError, match=r"Column 'a_b' would be stored as 'a_b'"):
        array_name("a_b", taken)


@pytest.mark.parametrize(
    "tree",
    [LEAF, {"b": LEAF, "a": [LEAF, (LEAF, None)]}, [], {"x": {"y": LEAF}}],
    ids=["leaf", "nested", "empty", "dicts"],
)
def test_structure_round_trips_through_json(tree):
    described = json.loads(json.dumps(structure(tree)))
    leaves = iter(range(len(jax.tree.leaves(tree))))
    rebuilt = unflatten(described, leaves)
    numbered = jax.tree.unflatten(
        jax.tree.structure(tree), list(range(len(jax.tree.leaves(tree))))
    )
    assert rebuilt == numbered


def test_structure_of_other_node_types_is_none():
    class Point(tuple):
        pass

    assert structure({"a": Point((LEAF,))}) is None
    assert structure({1: LEAF}) is None  # non-string keys


def test_opening_refuses_what_sweepjax_did_not_write(tmp_path):
    with pytest.raises(TypeError, match=r"`store` must be a local directory path"):
        check_path(3)
    assert not store_exists(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    assert not store_exists(tmp_path / "empty")
    with pytest.raises(ValueError, match="is not a sweepjax store"):
        open_store(tmp_path / "empty", "r")
    old = tmp_path / "old"
    old.mkdir()
    meta = {"format": FORMAT + 1, "space": {}}
    attrs = {"zarr_format": 3, "node_type": "group", "attributes": {ATTR: meta}}
    (old / "zarr.json").write_text(json.dumps(attrs))
    with pytest.raises(ValueError, match=rf"format {FORMAT + 1}; this version reads"):
        open_store(old, "r")


def test_store_paths_are_made_absolute(tmp_path, monkeypatch):
    """Dask workers (and a Dask client that computes lazy reads) may run in
    another directory: a relative store path must not follow them there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert check_path("s.zarr") == tmp_path / "s.zarr"
    assert check_path("~/s.zarr") == tmp_path / "home" / "s.zarr"
