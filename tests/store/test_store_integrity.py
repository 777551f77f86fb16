"""Damaged files are named and treated as not done; never different values."""

import json
import shutil
import warnings

import jax.numpy as jnp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from registry import assert_same

from sweepjax import (
    GridAxis,
    ParallelExecution,
    SequentialExecution,
    Space,
    open_result,
    store_info,
)
from sweepjax._store._integrity import SUMS, read_done


def model(state):
    x = state["x"]
    return {"y": jnp.sin(x) * state["i"], "m": jnp.outer(jnp.arange(2.0), x + 1)}


SPACE = Space({"x": GridAxis(0.0, 1.0, 12), "i": GridAxis(1, 12, 12)}, "zip")


def write(path, chunk=3):
    ParallelExecution(model, SPACE, n_vmap=4, progress=False).run(
        path, chunk_size=chunk
    )


def resume(path):
    return SequentialExecution(model, SPACE, progress=False).run(path, resume=True)


@pytest.fixture(scope="module")
def complete(tmp_path_factory):
    """A complete store, written once (by `write`); each test damages a copy."""
    path = tmp_path_factory.mktemp("complete") / "s"
    write(path)
    return path


def copy_of(complete, path):
    shutil.copytree(complete, path)
    return path


def test_an_empty_done_marker_is_named_and_recomputed(tmp_path, complete):
    copy_of(complete, tmp_path / "s")
    marker = tmp_path / "s" / "_sweepjax" / "done" / "c" / "2"
    marker.write_bytes(b"")
    with pytest.warns(RuntimeWarning, match=rf"{marker}.*count as not done"):
        info = store_info(tmp_path / "s")
    assert list(info.done) == [True, True, False, True]
    with pytest.warns(RuntimeWarning, match=str(marker)):
        resumed = resume(tmp_path / "s")
    assert store_info(tmp_path / "s").complete
    assert_same(resumed, open_result(complete), exact=False)


def test_a_corrupt_data_chunk_is_named_and_recomputed(tmp_path, complete):
    copy_of(complete, tmp_path / "s")
    chunk = tmp_path / "s" / "m" / "c" / "1" / "0" / "0"
    chunk.write_bytes(b"\x00garbage" * 3)
    with pytest.warns(RuntimeWarning, match=rf"{chunk}.*computed again"):
        resume(tmp_path / "s")
    assert_same(open_result(tmp_path / "s"), open_result(complete), False)


def test_empty_metadata_names_the_file(tmp_path, complete):
    copy_of(complete, tmp_path / "s")
    (tmp_path / "s" / "zarr.json").write_text("")
    with pytest.raises(ValueError, match=r"metadata file '.*/s/zarr.json'.*empty"):
        store_info(tmp_path / "s")
    with pytest.raises(ValueError, match=r"s/zarr.json"):
        resume(tmp_path / "s")


def test_chunks_are_recorded_with_checksums(complete):
    sums = json.loads((complete / SUMS / "0.json").read_text())
    assert set(sums) == {"x", "i", "y", "m"}
    done, damaged = read_done(complete, 4)
    assert done.all() and damaged == []


def _files(store):
    return sorted(
        p
        for p in store.rglob("*")
        if p.is_file() and ".zmetadata" not in p.name and "axes" not in p.parts
    )


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(pick=st.integers(0, 10_000), empty=st.booleans())
def test_any_damaged_file_gives_the_right_values_or_names_it(
    tmp_path_factory, complete, pick, empty
):
    """Damage one file of a complete store (empty it, as a crash would, or
    fill it with garbage), then resume: the uninterrupted values, or an error
    naming that file; never other values."""
    tmp = tmp_path_factory.mktemp("damage")
    copy_of(complete, tmp / "s")
    files = _files(tmp / "s")
    victim = files[pick % len(files)]
    victim.write_bytes(b"" if empty else b"\xff\x00 not what was written \x00")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            resume(tmp / "s")
            result = open_result(tmp / "s")
            assert_same(result, open_result(complete), exact=False)
    except (ValueError, OSError) as err:
        assert str(victim) in str(err), f"{victim} damaged: {err}"
