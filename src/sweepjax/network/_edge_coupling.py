"""Couplings with per-edge parameters: a leaf with one value per connection.

A coupling that names leaves in ``edge_leaves`` reads them per edge: each is
``[n_nodes, n_nodes]`` (``value[i, j]`` on the connection j -> i, as the
weights) or ``[n_edges]`` (in the graph's ``edge_index()`` order), or a
scalar, and scales the weights this coupling sums over (TVB-Optim's
``EDGE_PARAMS``, e.g. an effective ``W * wLRE``), instantaneous or delayed.
Sweeping or fitting such a leaf is a sweep or fit of each connection's gain
for one coupling, leaving the graph (and other couplings) as they are.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax import AbstractAxis
from sweepjax._config import Config
from sweepjax.network._component import leaf
from sweepjax.network._coupling import AbstractCoupling
from sweepjax.network._graph import AbstractGraph


def _shape_error(path: str, shape: tuple, n: int, n_edges: int) -> ValueError:
    return ValueError(
        f"{path}: the per-edge leaf {path.rsplit('.', 1)[-1]!r} must be a scalar, "
        f"[n_nodes, n_nodes] = {(n, n)} or [n_edges] = ({n_edges},) in the "
        f"graph's edge_index() order, got shape {shape}; set it in one of "
        "these shapes."
    )


def edge_values(graph: AbstractGraph, path: str, value: Any) -> jax.Array:
    """``[n_edges]`` (or a scalar): the per-edge leaf at ``path`` (its value
    ``value``) on each edge of ``graph.edge_index()``."""
    value = jnp.asarray(value)
    targets, sources = graph.edge_index()
    n, n_edges = graph.n_nodes, targets.size
    if value.ndim == 0 or value.shape == (n_edges,):
        return value
    if value.shape == (n, n):
        return value[targets, sources]
    raise _shape_error(path, value.shape, n, n_edges)


def edge_scaled(
    graph: AbstractGraph, leaves: Config, path: str, value: Any
) -> jax.Array:
    """The graph's weights (the layout of ``leaves.weights``) times the
    per-edge ``value`` of the leaf at ``path``."""
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
        return weights * edge_values(graph, path, value)
    raise _shape_error(path, value.shape, n, n_edges)


def coupling_edge_weights(
    graph: AbstractGraph, config: Config, name: str, coupling: AbstractCoupling
) -> jax.Array:
    """``[n_edges]``: the weight of each edge of ``graph.edge_index()`` that
    the coupling ``name`` sums over, its per-edge leaves included."""
    weights = graph.edge_weights(config.graph)
    params = config.coupling[name]
    for edge in getattr(coupling, "edge_leaves", ()):
        path = f"config.coupling.{name}.{edge}"
        weights = weights * edge_values(graph, path, params[edge])
    return weights


@dataclasses.dataclass(frozen=True)
class EdgeShapeCheck:
    """Refuses a per-edge leaf's value, or an axis's values, of a shape other
    than a scalar, ``[n_nodes, n_nodes]`` or ``[n_edges]`` when it is set on a
    prepared config (:meth:`sweepjax.Config.add_field_check`), naming the
    leaf; ``prepare`` sets it on each coupling's ``edge_leaves``.

    >>> check = EdgeShapeCheck("config.coupling.c.gain", n_nodes=2, n_edges=2)
    >>> check(np.ones(3))
    Traceback (most recent call last):
    ValueError: config.coupling.c.gain: the per-edge leaf 'gain' must be ...
    """

    path: str
    n_nodes: int
    n_edges: int

    def __call__(self, value: Any) -> None:
        if isinstance(value, AbstractAxis):
            if value.uses_key:  # values drawn when the Space is made
                return
            shape = tuple(np.shape(value.generate_values()))[1:]
        else:
            shape = tuple(np.shape(value))
        n = self.n_nodes
        if shape not in ((), (n, n), (self.n_edges,)):
            raise _shape_error(self.path, shape, n, self.n_edges)


def add_edge_checks(couplings: dict, graph: AbstractGraph, config: Config) -> None:
    """Check the per-edge leaves of ``couplings`` (``{name: coupling}``) in
    ``config`` now and each time they are set (:class:`EdgeShapeCheck`)."""
    n_edges = graph.edge_index()[0].size
    for name, coupling in couplings.items():
        for edge in getattr(coupling, "edge_leaves", ()):
            path = f"config.coupling.{name}.{edge}"
            check = EdgeShapeCheck(path, graph.n_nodes, n_edges)
            check(config.coupling[name][edge])
            config.coupling[name].add_field_check(edge, check)


class EdgeLinearCoupling(AbstractCoupling):
    """Linear coupling with a gain per connection:
    ``c_i = G * sum_j gain[i, j] * W[i, j] * x_j + b``.

    ``gain`` is a config leaf (``config.coupling.<name>.gain``): a scalar,
    ``[n_nodes, n_nodes]`` or ``[n_edges]``. Instantaneous, or with
    ``delayed=True`` through the graph's delays (``x_j(t - d_ij)``).

    >>> coupling = EdgeLinearCoupling("x", G=0.5, gain=np.ones((4, 4)))
    >>> delayed = EdgeLinearCoupling("x", gain=np.ones((4, 4)), delayed=True)
    """

    edge_leaves: ClassVar[tuple[str, ...]] = ("gain",)
    G: Any = leaf(1.0)
    b: Any = leaf(0.0)
    gain: Any = leaf(1.0)

    def pre(self, params: Config, x: jax.Array) -> jax.Array:
        return x

    def post(self, params: Config, summed: jax.Array, x: jax.Array) -> jax.Array:
        return params.G * summed + params.b
