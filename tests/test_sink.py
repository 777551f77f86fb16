"""Sinks: chunk accounting independent of batches, the written prefix, schemas."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax import GridAxis, MemorySink, Space
from sweepjax._sink import (
    CHUNK_BYTES,
    MAX_CHUNK,
    default_chunk_size,
    describe_outputs,
    merge_ranges,
    model_name,
    output_struct,
)

F32 = jax.ShapeDtypeStruct((), jnp.float32)


def open_sink(n, chunk_size):
    sink = MemorySink()
    sink.begin(Space({"x": GridAxis(0.0, 1.0, n)}), "m", chunk_size)
    sink.open({"y": F32})
    return sink


def test_default_chunk_size_bounds_bytes_and_points():
    assert default_chunk_size(F32) == MAX_CHUNK
    big = jax.ShapeDtypeStruct((1000, 100), jnp.float64)  # 800 kB per point
    assert default_chunk_size({"a": big, "b": F32}) == CHUNK_BYTES // (800_000 + 4)
    huge = jax.ShapeDtypeStruct((10**8,), jnp.float32)
    assert default_chunk_size(huge) == 1
    assert default_chunk_size(jax.ShapeDtypeStruct((0,), jnp.float32)) == MAX_CHUNK


def test_chunks_fill_from_any_batches_and_the_prefix_follows():
    sink = open_sink(10, 4)
    assert sink.pending() == [(0, 10)]
    sink.write(0, 3, {"y": np.arange(3.0)})
    assert sink.written_prefix() == 3
    sink.write(3, 7, {"y": np.arange(3.0, 7.0)})  # spans the chunk boundary
    assert sink.written_prefix() == 7 and sink.pending() == [(4, 10)]
    sink.mark_written(8, 10)  # the last chunk, written elsewhere
    assert sink.written_prefix() == 7 and sink.pending() == [(4, 8)]
    sink.write(7, 8, {"y": np.array([7.0, 99.0])})  # longer leaves are cut
    assert sink.pending() == [] and sink.written_prefix() == 10
    np.testing.assert_array_equal(sink.result(8).outputs["y"], np.arange(8.0))


def test_a_write_from_a_chunks_first_point_starts_it_afresh():
    sink = open_sink(6, 3)
    sink.write(0, 2, {"y": np.zeros(2)})
    sink.write(0, 3, {"y": np.ones(3)})  # a retried task rewrites its chunk
    assert sink.pending() == [(3, 6)]
    np.testing.assert_array_equal(sink.result(3).outputs["y"], np.ones(3))


def test_chunk_size_is_checked_and_nonfinite_points_are_counted():
    with pytest.raises(ValueError, match=r"`chunk_size` must be a positive int"):
        MemorySink().begin(Space({"x": GridAxis(0, 1, 2)}), "m", 0)
    sink = open_sink(5, 2)
    sink.write(0, 5, {"y": np.array([0.0, np.nan, 1.0, np.inf, 2.0])})
    assert sink.nonfinite == (2, [1, 3])
    with pytest.warns(RuntimeWarning, match=r"2 of 5 points .*first indices: \[1, 3\]"):
        sink.warn_nonfinite()


def test_merge_ranges_joins_touching_neighbours():
    assert merge_ranges([(4, 6), (0, 2), (2, 4), (8, 9)]) == [(0, 6), (8, 9)]


def test_output_schema_and_model_names():
    assert output_struct(1) == jax.ShapeDtypeStruct((), jnp.int32)
    assert output_struct(np.zeros((2, 3))).shape == (2, 3)
    assert describe_outputs(output_struct(np.float32(1.0))) == {
        "value": {"shape": [], "dtype": "float32"}
    }

    def local():
        pass

    assert model_name(local).endswith(
        "test_output_schema_and_model_names.<locals>.local"
    )
    assert model_name(jnp.sin).endswith(".sin")
