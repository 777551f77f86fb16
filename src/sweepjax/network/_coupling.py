"""Couplings: how the states of other nodes enter a node's equations.

Every coupling has the form of The Virtual Brain's couplings,
``c_i = post(sum_j W[i, j] * pre(x_j), x_i)``: ``pre`` turns each sending
node's states into signals, the graph sums them into the receiving nodes
(through conduction delays for delayed couplings, so a delayed coupling sums
``pre(x_j(t - d_ij))``), and ``post`` turns the sum into the coupling input,
possibly using the receiving node's current states ``x_i``.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from sweepjax._config import Config
from sweepjax.network._dynamics import as_state_names


class AbstractCoupling(abc.ABC):
    """A map from the incoming states of all nodes to one coupling input.

    A coupling reads ``incoming_states`` (names of the dynamics' state
    variables); its output is added to the dynamics' coupling input
    ``target`` (the dynamics' only input when None). Its numeric parameters
    (``parameters()``) become config leaves under ``config.coupling.<name>``.

    Subclasses write ``post`` and, when the signal a node sends is not its
    state itself, ``pre``:

    - ``pre(params, x)``: ``[n_incoming, n_nodes] -> [n_signals, n_nodes]``,
      what each node sends. It must treat each node (column) on its own: for
      delayed couplings it is applied once, when a state enters the history.
    - ``post(params, summed, x)``: the coupling input ``[n_components,
      n_nodes]`` from ``summed[:, i] = sum_j W[i, j] * pre(x)[:, j]`` and the
      receiving nodes' current incoming states ``x`` ``[n_incoming, n_nodes]``.

    Instantaneous couplings (``delayed = False``) are re-evaluated at every
    solver stage; delayed couplings once per step, from the states
    ``delays[i, j]`` ms ago, and held for all stages (as The Virtual Brain
    does).
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

    def pre(self, params: Config, x: jax.Array) -> jax.Array:
        """The signals each node sends, ``[n_signals, n_nodes]``: its states."""
        return x

    @abc.abstractmethod
    def post(self, params: Config, summed: jax.Array, x: jax.Array) -> jax.Array:
        """The coupling input ``[n_components, n_nodes]`` from the weighted sum
        of the received signals ``summed`` and the current states ``x``."""

    def __call__(self, params: Config, weights: jax.Array, x: jax.Array) -> jax.Array:
        """The instantaneous coupling through a dense ``weights[i, j]`` (j -> i).

        >>> coupling = LinearCoupling("S", G=0.5)
        >>> params = Config(G=jnp.asarray(0.5), b=jnp.asarray(0.0))
        >>> coupling(params, jnp.ones((2, 2)), jnp.array([[1.0, 3.0]]))
        Array([[2., 2.]], dtype=float32)
        """
        return self.post(params, self.pre(params, x) @ weights.T, x)

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

    def post(self, params: Config, summed: jax.Array, x: jax.Array) -> jax.Array:
        return params.G * summed + params.b


class DelayedLinearCoupling(LinearCoupling):
    """Linear coupling through conduction delays.

    ``c_i(t) = G * sum_j W[i, j] * x_j(t - D[i, j]*dt) + b`` with
    ``D = rint(delays / dt)`` steps from a delay graph; states before ``t0``
    equal the initial state. Computed once per step and held for all solver
    stages (as The Virtual Brain does).

    >>> coupling = DelayedLinearCoupling(incoming_states="S", G=0.5)
    """

    delayed: ClassVar[bool] = True


class KuramotoCoupling(AbstractCoupling):
    """Kuramoto coupling ``c_i = G / n_nodes * sum_j W[i, j] sin(x_j - x_i)``.

    As The Virtual Brain's ``coupling.Kuramoto`` (its ``a`` is ``G``).
    Evaluated as ``cos(x_i) (W sin x)_i - sin(x_i) (W cos x)_i``: each node
    sends ``(sin x, cos x)``.

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

    def pre(self, params: Config, x: jax.Array) -> jax.Array:
        return jnp.concatenate([jnp.sin(x), jnp.cos(x)])

    def post(self, params: Config, summed: jax.Array, x: jax.Array) -> jax.Array:
        k = x.shape[0]
        total = jnp.cos(x) * summed[:k] - jnp.sin(x) * summed[k:]
        return params.G / x.shape[-1] * total
