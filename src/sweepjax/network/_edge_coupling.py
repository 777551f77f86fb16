"""Couplings with per-edge parameters: a leaf with one value per connection.

A coupling that names leaves in ``edge_leaves`` reads them per edge: each is
``[n_nodes, n_nodes]`` (``value[i, j]`` on the connection j -> i, as the
weights) or ``[n_edges]`` (in the graph's ``edge_index()`` order), or a
scalar, and scales the weights this coupling sums over (TVB-Optim's
``EDGE_PARAMS``, e.g. an effective ``W * wLRE``). Sweeping or fitting such a
leaf is a sweep or fit of each connection's gain for one coupling, leaving
the graph (and other couplings) as they are.
"""

from __future__ import annotations

from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from sweepjax._config import Config
from sweepjax.network._component import leaf
from sweepjax.network._coupling import AbstractCoupling
from sweepjax.network._graph import AbstractGraph


def edge_scaled(
    graph: AbstractGraph, leaves: Config, name: str, value: Any
) -> jax.Array:
    """The graph's weights (the layout of ``leaves.weights``) times the
    per-edge ``value`` of the leaf ``name``."""
    weights = jnp.asarray(leaves.weights)
    value = jnp.asarray(value)
    targets, sources = graph.edge_index()
    n, n_edges = graph.n_nodes, targets.size
    if value.ndim == 0:
        return weights * value
    if weights.ndim == 2:  # dense weights [n, n]
        if value.shape == (n, n):
            return weights * value
        if value.shape == (n_edges,):
            return weights * jnp.zeros((n, n), value.dtype).at[targets, sources].set(
                value
            )
    else:  # an edge list [n_edges]
        if value.shape == (n_edges,):
            return weights * value
        if value.shape == (n, n):
            return weights * value[targets, sources]
    raise ValueError(
        f"the per-edge leaf {name!r} must be a scalar, [n_nodes, n_nodes] = "
        f"{(n, n)} or [n_edges] = ({n_edges},) in the graph's edge_index() order, "
        f"got shape {value.shape}."
    )


class EdgeLinearCoupling(AbstractCoupling):
    """Linear coupling with a gain per connection:
    ``c_i = G * sum_j gain[i, j] * W[i, j] * x_j + b``.

    ``gain`` is a config leaf (``config.coupling.<name>.gain``): a scalar,
    ``[n_nodes, n_nodes]`` or ``[n_edges]``. Instantaneous only: scale the
    graph's weights for delayed connections.

    >>> coupling = EdgeLinearCoupling("x", G=0.5, gain=np.ones((4, 4)))
    """

    edge_leaves: ClassVar[tuple[str, ...]] = ("gain",)
    G: Any = leaf(1.0)
    b: Any = leaf(0.0)
    gain: Any = leaf(1.0)
    delayed: bool = eqx.field(default=False, init=False)

    def pre(self, params: Config, x: jax.Array) -> jax.Array:
        return x

    def post(self, params: Config, summed: jax.Array, x: jax.Array) -> jax.Array:
        return params.G * summed + params.b
