"""Couplings: how the states of other nodes enter a node's equations."""

from __future__ import annotations

import abc
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._config import Config
from sweepjax.network._dynamics import as_state_names


class Edges(NamedTuple):
    """The connections of a graph as an edge list, targets sorted.

    Attributes:
        targets: ``[n_edges]`` receiving node of each edge (static, sorted).
        sources: ``[n_edges]`` sending node of each edge (static).
        weights: ``[n_edges]`` ``weights[targets, sources]`` of the config.
        n_nodes: number of nodes.
    """

    targets: np.ndarray
    sources: np.ndarray
    weights: jax.Array
    n_nodes: int

    def sum_into_targets(self, values: jax.Array) -> jax.Array:
        """Sum ``values`` ``[..., n_edges]`` per target node: ``[..., n_nodes]``."""
        moved = jnp.moveaxis(values, -1, 0)
        summed = jax.ops.segment_sum(
            moved, self.targets, self.n_nodes, indices_are_sorted=True
        )
        return jnp.moveaxis(summed, 0, -1)


class AbstractCoupling(abc.ABC):
    """A map from the incoming states of all nodes to one coupling input.

    A coupling reads ``incoming_states`` (names of the dynamics' state
    variables) and returns ``[n_incoming, n_nodes]``, which is added to the
    dynamics' coupling input ``target`` (the dynamics' only input when None).
    Its numeric parameters (``parameters()``) become config leaves under
    ``config.coupling.<name>``.

    Instantaneous couplings (``delayed = False``) are called as
    ``coupling(params, weights, x)`` with the current states ``x``
    ``[n_incoming, n_nodes]`` at every solver stage. Delayed couplings are
    called once per step as ``coupling(params, edges, x)`` where ``edges`` is
    an :class:`Edges` (the connections ``sources[e] -> targets[e]`` with
    weights ``edges.weights[e]``) and ``x[k, e]`` is state ``k`` of node
    ``sources[e]`` as it was ``delays[targets[e], sources[e]]`` ms ago,
    ``[n_incoming, n_edges]``.
    """

    delayed: ClassVar[bool] = False

    def __init__(self, incoming_states: str | tuple[str, ...], target: str | None):
        self.incoming_states = as_state_names(incoming_states)
        if target is not None and not isinstance(target, str):
            raise TypeError(f"target must be a coupling input name, got {target!r}.")
        self.target = target

    @abc.abstractmethod
    def parameters(self) -> dict[str, Any]:
        """``{name: value}`` of the parameters placed in the config."""

    @abc.abstractmethod
    def __call__(
        self, params: Config, weights: jax.Array | Edges, x: jax.Array
    ) -> jax.Array:
        """Coupling input ``[n_incoming, n_nodes]``; ``weights[i, j]`` is j -> i
        (an :class:`Edges` for delayed couplings)."""

    def __repr__(self) -> str:
        items = {"incoming_states": self.incoming_states, **self.parameters()}
        if self.target is not None:
            items["target"] = self.target
        inner = ", ".join(f"{k}={v!r}" for k, v in items.items())
        return f"{type(self).__name__}({inner})"


class LinearCoupling(AbstractCoupling):
    """Instantaneous linear coupling ``c = G * (W @ x) + b``.

    ``W[i, j]`` is the weight from node j into node i; re-evaluated at every
    solver stage.

    >>> coupling = LinearCoupling(incoming_states="S", G=0.5)
    """

    def __init__(
        self,
        incoming_states: str | tuple[str, ...],
        G: Any = 1.0,
        b: Any = 0.0,
        target: str | None = None,
    ):
        super().__init__(incoming_states, target)
        self.G = G
        self.b = b

    def parameters(self) -> dict[str, Any]:
        return {"G": self.G, "b": self.b}

    def __call__(self, params: Config, weights: jax.Array, x: jax.Array) -> jax.Array:
        return params.G * (x @ weights.T) + params.b


class DelayedLinearCoupling(LinearCoupling):
    """Linear coupling through conduction delays.

    ``c_i(t) = G * sum_j W[i, j] * x_j(t - D[i, j]*dt) + b`` with
    ``D = rint(delays / dt)`` steps from a :class:`DenseDelayGraph`; states
    before ``t0`` equal the initial state. Computed once per step and held for
    all solver stages (as The Virtual Brain does).

    >>> coupling = DelayedLinearCoupling(incoming_states="S", G=0.5)
    """

    delayed: ClassVar[bool] = True

    def __call__(self, params: Config, edges: Edges, x: jax.Array) -> jax.Array:
        return params.G * edges.sum_into_targets(edges.weights * x) + params.b


class KuramotoCoupling(AbstractCoupling):
    """Kuramoto coupling ``c_i = G / n_nodes * sum_j W[i, j] sin(x_j - x_i)``.

    As The Virtual Brain's ``coupling.Kuramoto`` (its ``a`` is ``G``).
    Evaluated with two matrix products,
    ``cos(x_i) (W sin x)_i - sin(x_i) (W cos x)_i``.

    >>> coupling = KuramotoCoupling(incoming_states="theta", G=2.0)
    """

    def __init__(
        self,
        incoming_states: str | tuple[str, ...] = "theta",
        G: Any = 1.0,
        target: str | None = None,
    ):
        super().__init__(incoming_states, target)
        self.G = G

    def parameters(self) -> dict[str, Any]:
        return {"G": self.G}

    def __call__(self, params: Config, weights: jax.Array, x: jax.Array) -> jax.Array:
        sin, cos = jnp.sin(x), jnp.cos(x)
        total = cos * (sin @ weights.T) - sin * (cos @ weights.T)
        return params.G / x.shape[-1] * total
