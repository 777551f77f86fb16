"""Random graphs and null models: what a connectome's effect is measured against.

:func:`random_graph` draws an Erdős-Rényi graph with brain-like (log-normal)
weights, dense or as an edge list (TVB-Optim's ``DenseGraph.random`` and
``SparseGraph.random``); :func:`null_model` keeps what a null hypothesis
keeps of a given weight matrix: its connections with the weights shuffled
among them (``"shuffle"``), or each node's in- and out-degree with the
connections rewired by double-edge swaps (``"rewire"``, Maslov-Sneppen).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax.network._graph import DenseGraph, SparseGraph, square_matrix

_WEIGHTS = ("lognormal", "uniform", "binary")


def _key(key: Any) -> jax.Array:
    if key is None:
        return jax.random.key(0)
    if isinstance(key, int | np.integer) and not isinstance(key, bool):
        return jax.random.key(int(key))
    return key


def random_weights(
    n_nodes: int,
    density: float = 1.0,
    symmetric: bool = True,
    weights: str = "lognormal",
    self_loops: bool = False,
    key: Any = None,
) -> np.ndarray:
    """``[n_nodes, n_nodes]`` random weights: each connection present with
    probability ``density`` (mirrored when ``symmetric``), weights drawn
    ``"lognormal"`` (log-space mean 0, std 1), ``"uniform"`` on [0, 1) or
    ``"binary"``. ``key``: a JAX key or an int seed (default 0). TVB-Optim's
    ``DenseGraph.random`` with the same key draws the same matrix whenever
    the draw has an edge.

    >>> w = random_weights(5, density=0.5, key=1)
    >>> bool((w == w.T).all()), bool(w.diagonal().any())
    (True, False)
    """
    if isinstance(n_nodes, bool) or not isinstance(n_nodes, int | np.integer):
        raise TypeError(f"n_nodes must be an int, got {n_nodes!r}.")
    if n_nodes < 1:
        raise ValueError(f"n_nodes must be >= 1, got {n_nodes}.")
    if not 0.0 <= density <= 1.0:
        raise ValueError(f"density must be in [0, 1], got {density}.")
    if weights not in _WEIGHTS:
        raise ValueError(f"weights must be one of {_WEIGHTS}, got {weights!r}.")
    drawn = _draw(_key(key), n_nodes, float(density), symmetric, weights, self_loops)
    return np.asarray(drawn, dtype=float)


@partial(jax.jit, static_argnums=(1, 2, 3, 4, 5))
def _draw(key, n_nodes, density, symmetric, weights, self_loops) -> jax.Array:
    """The draw of :func:`random_weights`, compiled once per shape."""
    connections, draws = jax.random.split(key)
    shape = (n_nodes, n_nodes)
    mask = jax.random.uniform(connections, shape) < density
    if not self_loops:
        mask = mask & ~jnp.eye(n_nodes, dtype=bool)
    if weights == "lognormal":
        values = jax.random.lognormal(draws, shape=shape)
    elif weights == "uniform":
        values = jax.random.uniform(draws, shape)
    else:
        values = jnp.ones(shape)
    if symmetric:
        mask = jnp.triu(mask, k=1)
        mask = mask | mask.T
        values = jnp.triu(values, k=1)
        values = values + values.T
    return jnp.where(mask, values, 0.0)


def random_graph(
    n_nodes: int,
    density: float = 1.0,
    symmetric: bool = True,
    weights: str = "lognormal",
    self_loops: bool = False,
    key: Any = None,
    sparse: bool = False,
) -> DenseGraph | SparseGraph:
    """A :class:`DenseGraph` (or with ``sparse=True`` a :class:`SparseGraph`)
    of :func:`random_weights`.

    >>> random_graph(100, density=0.05, key=0, sparse=True).n_nodes
    100
    """
    w = random_weights(n_nodes, density, symmetric, weights, self_loops, key)
    return SparseGraph.from_dense(w) if sparse else DenseGraph(w)


def null_model(weights: Any, kind: str = "shuffle", key: Any = None) -> np.ndarray:
    """A null model of ``weights`` ``[n_nodes, n_nodes]``.

    ``"shuffle"``: the same connections, their weights permuted among them
    (a symmetric matrix stays symmetric). ``"rewire"``: 10 double-edge swaps
    per connection (``a->b, c->d`` become ``a->d, c->b`` where that adds no
    self-loop or existing edge), a directed rewiring that keeps every
    node's in- and out-degree (each weight keeps its source, so out-strengths
    stay too).

    >>> w = random_weights(6, density=0.6, key=2)
    >>> shuffled = null_model(w, "shuffle", key=3)
    >>> bool(((shuffled != 0) == (w != 0)).all())
    True
    """
    w = square_matrix("weights", weights)
    if kind not in ("shuffle", "rewire"):
        raise ValueError(
            f"kind must be 'shuffle' (permute the weights) or 'rewire' "
            f"(degree-preserving swaps), got {kind!r}."
        )
    seed = 0 if key is None else key
    if not isinstance(seed, int | np.integer):
        seed = np.asarray(jax.random.key_data(seed)).ravel()
    rng = np.random.default_rng(seed)
    symmetric = bool(np.allclose(w, w.T))
    if kind == "shuffle":
        out = np.zeros_like(w)
        if symmetric:
            rows, cols = np.nonzero(np.triu(w, k=1))
            values = rng.permutation(w[rows, cols])
            out[rows, cols] = values
            out[cols, rows] = values
            out[np.diag_indices_from(w)] = w.diagonal()
        else:
            rows, cols = np.nonzero(w)
            out[rows, cols] = rng.permutation(w[rows, cols])
        return out
    out = w.copy()
    sources, targets = np.nonzero(out)
    edges = list(zip(sources.tolist(), targets.tolist(), strict=True))
    for _ in range(10 * len(edges)):
        i, j = rng.choice(len(edges), 2, replace=False)
        (a, b), (c, d) = edges[i], edges[j]
        if len({a, b, c, d}) < 4 or out[a, d] or out[c, b]:
            continue
        out[a, d], out[c, b] = out[a, b], out[c, d]
        out[a, b] = out[c, d] = 0.0
        edges[i], edges[j] = (a, d), (c, b)
    return out
