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

import equinox as eqx
import jax

from sweepjax._config import Config
from sweepjax.network._component import AbstractComponent
from sweepjax.network._dynamics import as_state_names


def _target(value: str | None) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"target must be a coupling input name, got {value!r}.")
    return value


def _delayed(value: bool) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"delayed must be True or False, got {value!r}.")
    return value


class AbstractCoupling(AbstractComponent):
    """A map from the incoming states of all nodes to one coupling input.

    A coupling reads ``incoming_states`` (names of the dynamics' state
    variables); its output is added to the dynamics' coupling input
    ``target`` (the dynamics' only input when None). Its numeric parameters
    (the fields made by :func:`leaf`, see ``leaves()``) become config leaves
    under ``config.coupling.<name>``. ``target`` and ``delayed`` are
    keyword-only.

    Subclasses declare their parameters as ``leaf`` fields and write ``pre``
    and ``post``:

    - ``pre(params, x)``: ``[n_incoming, n_nodes] -> [n_signals, n_nodes]``,
      what each node sends (``x`` itself for most couplings). It must treat
      each node (column) on its own: for delayed couplings it is applied
      once, when a state enters the history.
    - ``post(params, summed, x)``: the coupling input ``[n_components,
      n_nodes]`` from ``summed[:, i] = sum_j W[i, j] * pre(x)[:, j]`` and the
      receiving nodes' current incoming states ``x`` ``[n_incoming, n_nodes]``.

    Instantaneous couplings (``delayed=False``) are re-evaluated at every
    solver stage; delayed couplings (``delayed=True``, on a graph with
    delays) once per step, from what the nodes sent ``delays[i, j]`` ms ago,
    and held for all stages (as The Virtual Brain does); ``x`` is then the
    receiving nodes' states at the start of the step.

    >>> class SquaredCoupling(AbstractCoupling):
    ...     k: float = leaf(1.0)
    ...     def pre(self, params, x):
    ...         return x**2
    ...     def post(self, params, summed, x):
    ...         return params.k * summed
    >>> SquaredCoupling("x", k=0.5)
    SquaredCoupling(incoming_states=('x',), k=0.5)
    """

    incoming_states: tuple[str, ...] = eqx.field(converter=as_state_names)
    target: str | None = eqx.field(default=None, converter=_target, kw_only=True)
    delayed: bool = eqx.field(default=False, converter=_delayed, kw_only=True)

    @abc.abstractmethod
    def pre(self, params: Config, x: jax.Array) -> jax.Array:
        """The signals each node sends, ``[n_signals, n_nodes]``."""

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
