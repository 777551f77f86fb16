"""Damaged files are named and treated as not done; never different values."""

import json
import shutil
import warnings
import zlib

import jax
import jax.numpy as jnp
import numpy as np
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
from sweepjax._store._integrity import (
    SUMS,
    checksum,
    chunk_files,
    read_done,
    sums_match,
)


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


def diverging(state):
    """NaN (with the sign bit set, as x86 arithmetic makes it, not the fill
    value's NaN) for x < 0.3: chunk 0 of size 2 is all NaN."""
    x = state["x"]
    nan = jax.lax.bitcast_convert_type(jnp.uint32(0xFFC00000), jnp.float32)
    return {"y": jnp.where(x < 0.3, nan, x), "n": jnp.int32(0) * state["i"]}


DIVERGING = Space({"x": GridAxis(0.0, 1.0, 6), "i": GridAxis(1, 6, 6)}, "zip")


def test_an_all_nan_chunk_verifies_and_is_never_recomputed(tmp_path):
    """Zarr writes no file for a chunk equal to the NaN fill value (nor the
    all-zero int chunk): resuming finds it done, twice, with no warning."""
    run = SequentialExecution(diverging, DIVERGING, progress=False).run
    with pytest.warns(RuntimeWarning, match="2 of 6 points produced NaN"):
        run(tmp_path / "s", chunk_size=2)
    assert chunk_files(tmp_path / "s", "y", 0) == []  # not written by Zarr
    record = (tmp_path / "s" / SUMS / "0.json").stat().st_ino
    for _ in range(2):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run(tmp_path / "s", resume=True)
        assert not [w for w in caught if "Damaged" in str(w.message)]
        assert (tmp_path / "s" / SUMS / "0.json").stat().st_ino == record


def test_the_nonfinite_warning_after_a_resume_counts_the_whole_store(tmp_path):
    run = SequentialExecution(diverging, DIVERGING, progress=False).run
    with pytest.warns(RuntimeWarning, match="NaN"):
        run(tmp_path / "s", chunk_size=3)  # points 0 and 1 of chunk 0 are NaN
    (tmp_path / "s" / "_sweepjax" / "done" / "c" / "1").unlink()
    with pytest.warns(RuntimeWarning, match=r"2 of 6 points .*indices: \[0, 1\]"):
        run(tmp_path / "s", resume=True)  # computes chunk 1 only: finite


def test_checksums_read_every_nan_as_one():
    minus = np.full(3, np.copysign(np.nan, -1.0), np.float32)
    payload = np.frombuffer(np.uint32([0, 0x7FC00001, 0]).tobytes(), np.float32)
    fill = np.full(3, np.nan, np.float32)
    assert checksum(minus) == checksum(fill)
    assert checksum(payload) == checksum(np.array([0, np.nan, 0], np.float32))
    assert checksum(np.float32([-0.0])) != checksum(np.float32([0.0]))
    # A record of an older store took the model's own (sign-bit) NaN.
    assert sums_match(zlib.crc32(minus.tobytes()), fill)
    assert not sums_match(zlib.crc32(minus.tobytes()), np.zeros(3, np.float32))
