"""The store format: column names, output structures, opening and paths."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from store_helpers import downgrade

from sweepjax import GridAxis, SequentialExecution, Space, store_info
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
SPACE = Space({"x": GridAxis(0.0, 1.0, 5)})


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


def _double(state):
    return {"y": state["x"] * 2}


@pytest.mark.parametrize(
    "format, drop", [(1, ()), (2, ("x64", "versions", "kwargs"))], ids=["1", "2"]
)
def test_older_stores_resume(tmp_path, format, drop):
    """A format-1 store (no provenance) and a format-2 store without records
    added later resume with resume=True: a record not kept cannot differ."""
    executor = SequentialExecution(_double, SPACE, progress=False)
    executor.run(tmp_path / "s", chunk_size=2)
    downgrade(tmp_path / "s", format, drop)
    (tmp_path / "s" / "_sweepjax" / "done" / "c" / "1").unlink()
    result = executor.run(tmp_path / "s", resume=True)
    assert store_info(tmp_path / "s").complete
    np.testing.assert_array_equal(result.outputs["y"], np.linspace(0, 2, 5))
