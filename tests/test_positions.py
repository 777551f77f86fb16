"""A compiled sweep's on-device positions equal the host's index arithmetic."""

import math

import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sweepjax import GridAxis, ParallelExecution, Space
from sweepjax._positions import batch_positions, flat_dtype, positions


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    mode=st.sampled_from(["zip", "product"]),
    data=st.data(),
)
def test_device_positions_equal_the_hosts(sizes, mode, data):
    if mode == "zip":
        sizes = [sizes[0]] * len(sizes)
    n = sizes[0] if mode == "zip" else math.prod(sizes)
    start = data.draw(st.integers(0, n - 1))
    step = data.draw(st.sampled_from([1, 2, -1, -3]))
    stop = data.draw(st.integers(-1, n)) if step < 0 else n
    index = range(start, stop, step)
    if not index:
        index = range(start, start + 1)
    count = len(index)
    a = data.draw(st.integers(0, count - 1))
    b = data.draw(st.integers(a + 1, count))
    batch = data.draw(st.integers(b - a, b - a + 3))
    dtype = np.dtype(np.int32)
    kind = flat_dtype(index, sizes, mode, dtype)
    got = batch_positions(index, sizes, mode, np.array([a, b], kind), batch, dtype)
    want = positions(index, sizes, mode, np.minimum(np.arange(a, a + batch), b - 1))
    assert got.dtype == dtype
    np.testing.assert_array_equal(np.asarray(got), want)


def test_two_numbers_travel_per_batch_unless_flat_indices_outgrow_the_device():
    small = Space({"a": GridAxis(0.0, 1.0, 4), "b": GridAxis(0.0, 1.0, 3)}, "product")
    sweep = ParallelExecution(lambda s: s["a"] + s["b"], small, n_vmap=4).compile()
    assert sweep.placed_positions(4, 8).shape == (2,)
    # 5,000^3 points: flat indices beyond int32 (x64 is off in the suite), so
    # the host sends the positions of the slice's points
    axes = {k: GridAxis(0.0, 4999.0, 5000) for k in "xyz"}
    huge = Space(axes, "product")[10**11 - 3 : 10**11 + 2]
    assert flat_dtype(huge.index_range, huge.grid_shape, "product", np.int32) is None
    run = ParallelExecution(
        lambda s: jnp.stack([s["x"], s["y"], s["z"]]), huge, progress=False
    )
    assert run.compile().placed_positions(0, 2).shape == (2, 3)
    want = [list(huge.parameters(i).values()) for i in range(len(huge))]
    np.testing.assert_array_equal(np.asarray(run.run().outputs), want)
