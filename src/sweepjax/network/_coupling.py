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

from sweepjax._config import Config
from sweepjax.network._dynamics import as_state_names


class AbstractCoupling(abc.ABC):
    """A map from the incoming states of all nodes to one coupling input.

    A coupling reads ``incoming_states`` (names of the dynamics' state
    variables); its output is added to the dynamics' coupling input
    ``target`` (the dynamics' only input when None). Its numeric parameters
    (``parameters()``) become config leaves under ``config.coupling.<name>``.

    Subclasses list their parameters' attribute names in ``parameter_names``
    and write ``post`` and, when the signal a node sends is not its
    state itself, ``pre``:

    - ``pre(params, x)``: ``[n_incoming, n_nodes] -> [n_signals, n_nodes]``,
      what each node sends. It must treat each node (column) on its own: for
      delayed couplings it is applied once, when a state enters the history.
    - ``post(params, summed, x)``: the coupling input ``[n_components,
      n_nodes]`` from ``summed[:, i] = sum_j W[i, j] * pre(x)[:, j]`` and the
      receiving nodes' current incoming states ``x`` ``[n_incoming, n_nodes]``.

    Instantaneous couplings (``delayed=False``) are re-evaluated at every
    solver stage; delayed couplings (``delayed=True``, on a graph with
    delays) once per step, from what the nodes sent ``delays[i, j]`` ms ago,
    and held for all stages (as The Virtual Brain does); ``x`` is then the
    receiving nodes' states at the start of the step.
    """

    parameter_names: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        incoming_states: str | tuple[str, ...],
        target: str | None,
        delayed: bool = False,
    ):
        self.incoming_states = as_state_names(incoming_states)
        if target is not None and not isinstance(target, str):
            raise TypeError(f"target must be a coupling input name, got {target!r}.")
        if not isinstance(delayed, bool):
            raise TypeError(f"delayed must be True or False, got {delayed!r}.")
        self.target = target
        self.delayed = delayed

    def parameters(self) -> dict[str, Any]:
        """``{name: value}`` of the parameters placed in the config: the
        attributes named in ``parameter_names``."""
        return {name: getattr(self, name) for name in self.parameter_names}

    def pre(self, params: Config, x: jax.Array) -> jax.Array:
        """The signals each node sends, ``[n_signals, n_nodes]``: its states."""
        return x

    @abc.abstractmethod
    def post(self, params: Config, summed: jax.Array, x: jax.Array) -> jax.Array:
        """The coupling input ``[n_components, n_nodes]`` from the weighted sum
        of the received signals ``summed`` and the current states ``x``."""

    def __call__(self, params: Config, weights: jax.Array, x: jax.Array) -> jax.Array:
        """The instantaneous coupling through a dense ``weights[i, j]`` (j -> i).

        >>> coupling = ScalingCoupling("S", a=0.5)
        >>> params = Config(a=jnp.asarray(0.5))
        >>> coupling(params, jnp.ones((2, 2)), jnp.array([[1.0, 3.0]]))
        Array([[2., 2.]], dtype=float32)
        """
        return self.post(params, self.pre(params, x) @ weights.T, x)

    def __repr__(self) -> str:
        items = {"incoming_states": self.incoming_states, **self.parameters()}
        if self.target is not None:
            items["target"] = self.target
        if self.delayed:
            items["delayed"] = True
        inner = ", ".join(f"{k}={v!r}" for k, v in items.items())
        return f"{type(self).__name__}({inner})"
