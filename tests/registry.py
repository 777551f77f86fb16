"""Registries of every axis type and every executor, and shared assertions.

Invariant tests take their cases from here, so a new axis type or executor
joins every one of them by adding one entry.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from sweepjax import (
    DataAxis,
    DistributedExecution,
    GridAxis,
    LogGridAxis,
    NumPyroAxis,
    ParallelExecution,
    SequentialExecution,
    Space,
    UniformAxis,
)

#: name -> (n, group=None) -> an axis of n values. Every axis type, with
#: scalar, vector, matrix and PRNG-key values.
AXES = {
    "grid": lambda n, group=None: GridAxis(-1.0, 1.0, n, group=group),
    "grid_vector": lambda n, group=None: GridAxis(0.0, 2.0, n, (2,), group),
    "loggrid": lambda n, group=None: LogGridAxis(1e-2, 10.0, n, group=group),
    "uniform": lambda n, group=None: UniformAxis(-2.0, 2.0, n, group=group),
    "data": lambda n, group=None: DataAxis(np.linspace(0.5, 3.0, n), group),
    "data_matrix": lambda n, group=None: DataAxis(
        np.arange(n * 4.0).reshape(n, 2, 2) / 7.0, group
    ),
    "data_keys": lambda n, group=None: DataAxis(
        jax.random.split(jax.random.key(5), n), group
    ),
    "numpyro": lambda n, group=None: NumPyroAxis(
        dist.Normal(1.0, 0.5), n, sample_shape=(3,), group=group
    ),
}

#: name -> (model, space, client, **kwargs) -> an executor. ``client`` is the
#: shared Dask client (only DistributedExecution uses it).
EXECUTORS = {
    "sequential": lambda m, s, client, **kw: SequentialExecution(
        m, s, progress=False, **kw
    ),
    "parallel": lambda m, s, client, **kw: ParallelExecution(
        m, s, n_vmap=3, progress=False, **kw
    ),
    "parallel_4x1": lambda m, s, client, **kw: ParallelExecution(
        m, s, n_vmap=4, progress=False, **kw
    ),
    "parallel_2dev": lambda m, s, client, **kw: ParallelExecution(
        m, s, n_vmap=2, n_pmap=2, progress=False, **kw
    ),
    "parallel_4dev": lambda m, s, client, **kw: ParallelExecution(
        m, s, n_vmap=1, n_pmap=4, progress=False, **kw
    ),
    "distributed": lambda m, s, client, **kw: DistributedExecution(
        m, s, client=client, n_vmap=2, retries=0, progress=False, **kw
    ),
}


#: Executors that call the model eagerly, op by op. Compiled executors agree
#: with each other (and with ``jit`` per point) to the bit; eager and compiled
#: evaluation differ by float round-off (XLA fuses a*b + c into one FMA).
EAGER = frozenset({"sequential"})


def summarise(leaf: jax.Array) -> jax.Array:
    """A float summary of any axis leaf (PRNG keys become a uniform draw)."""
    if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return jax.random.uniform(leaf)
    return jnp.sum(leaf * 1.5 + 0.25)


def generic_model(state: dict) -> dict:
    """Uses every leaf of a dict state (skipping the fixed ``label``)."""
    values = [summarise(state[k]) for k in sorted(state) if k != "label"]
    total = sum(values)
    return {"total": total, "parts": jnp.stack(values), "flag": total > 1.0}


def leaves(result) -> list[np.ndarray]:
    return [np.asarray(x) for x in jax.tree.leaves(result.outputs)]


def assert_same(a, b, exact: bool = True) -> None:
    """Two results hold the same outputs with the same dtypes: to the bit, or
    (``exact=False``) to float32 round-off."""
    for x, y in zip(leaves(a), leaves(b), strict=True):
        assert x.dtype == y.dtype and x.shape == y.shape
        if exact or not np.issubdtype(x.dtype, np.inexact):
            np.testing.assert_array_equal(x, y)
        else:
            np.testing.assert_allclose(x, y, rtol=2e-7, atol=1e-7)


def seed_space() -> Space:
    """The seed's six-point zip space (its tables are printed in the seed)."""
    state = {
        "coupling": GridAxis(0.0, 1.0, 6),
        "noise": UniformAxis(0.01, 0.1, 6),
        "threshold": 0.5,
    }
    return Space(state, mode="zip", key=jax.random.key(42))


def seed_metric(state: dict) -> dict:
    """The seed's model of `seed_space`."""
    return {
        "activity": state["coupling"] * 2 + state["noise"],
        "ratio": state["coupling"] / (state["noise"] + 1e-6),
    }
