"""Solves that see their whole batch (``_batching``): under ``vmap`` only the
batch's solve is traced, and a batch gives every point's own numbers."""

from __future__ import annotations

import copy

import cloudpickle
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from network_helpers import rww_network

from sweepjax.network import Heun, prepare
from sweepjax.network import _integrate as integrate_module

G = jnp.array([0.1, 0.5, 0.9])


@pytest.fixture(scope="module")
def prepared():
    """A 2-node RWW network, 5 steps, and a config whose G holds 3 points."""
    solve_fn, config = prepare(rww_network(2), Heun(), t0=0.0, t1=0.5, dt=0.1)
    batch = copy.deepcopy(config)
    batch.coupling.instant.G = G
    axes = jax.tree.map(lambda _: None, config)
    axes.coupling.instant.G = 0
    return solve_fn, config, batch, axes


@pytest.fixture
def traced_sizes(monkeypatch):
    """The batch size of every solve traced while the test runs."""
    sizes: list[int] = []
    make_body = integrate_module.make_body

    def counting(network, points, *args, **kwargs):
        sizes.append(points.size)
        return make_body(network, points, *args, **kwargs)

    monkeypatch.setattr(integrate_module, "make_body", counting)
    return sizes


def test_vmap_traces_the_batch_solve_only(prepared, traced_sizes):
    """``custom_vmap`` traced the one-point solve before the batch's at every
    call, and a nested ``jit`` did too (0.1 s of a 68-node sweep's fixed
    cost): now only the batch's solve is traced, eager or jitted."""
    solve_fn, _, batch, axes = prepared
    solve = jax.vmap(solve_fn, in_axes=(axes,))
    jax.make_jaxpr(solve)(batch)
    assert traced_sizes == [3]
    jax.jit(solve).trace(batch)  # JAX may reuse the trace above
    assert set(traced_sizes) == {3}


def test_an_unbatched_solve_is_traced_once_per_input_types(traced_sizes):
    """The one-point program is traced where it is bound unbatched, once
    (cached by input types, as the nested ``jit`` it replaces was)."""
    solve_fn, config = prepare(rww_network(2), Heun(), t0=0.0, t1=0.5, dt=0.1)
    for _ in range(2):
        jax.make_jaxpr(solve_fn)(config)
    assert traced_sizes == [1]


def test_a_moved_nested_or_pickled_batch_gives_each_points_numbers(prepared):
    """A batch axis not first under a nested vmap, and a pickled solve (a
    Dask worker's, which must bind the registered primitive, not a copy),
    give the points' own solutions; the time stamps are shared."""
    solve_fn, config, batch, axes = prepared
    pickled = cloudpickle.loads(cloudpickle.dumps(solve_fn))
    expected = jax.jit(jax.vmap(pickled, in_axes=(axes,)))(batch)
    assert expected.ys.shape == (3, 5, 1, 2)
    assert np.ptp(np.asarray(expected.ys[:, -1]), axis=0).max() > 0  # G matters
    # G as [2, 3]: the points along axis 1, batched again along axis 0
    nested = copy.deepcopy(batch)
    nested.coupling.instant.G = jnp.stack([G, G])
    outer_axes = jax.tree.map(lambda _: None, config)
    outer_axes.coupling.instant.G = 1
    inner = jax.vmap(solve_fn, in_axes=(axes,))
    twice = jax.jit(jax.vmap(inner, in_axes=(outer_axes,)))(nested)
    assert twice.ys.shape == (3, 2, 5, 1, 2)
    assert twice.ts.shape == (3, 2, 5)
    for k in range(2):
        np.testing.assert_allclose(twice.ys[:, k], expected.ys, rtol=1e-6)
