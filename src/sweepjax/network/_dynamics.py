"""AbstractDynamics: the node model interface of a network, and its state names."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._config import Config
from sweepjax.network._component import AbstractComponent, leaf


def as_state_names(value: Any, argument: str = "incoming_states") -> tuple[str, ...]:
    """A state name or a non-empty sequence of them as a tuple of names.

    ``argument`` names the argument in the ``TypeError`` raised otherwise.

    >>> as_state_names("S"), as_state_names(["x", "y"])
    (('S',), ('x', 'y'))
    """
    if isinstance(value, str):
        return (value,)
    if isinstance(value, tuple | list) and value:
        if all(isinstance(s, str) for s in value):
            return tuple(value)
    raise TypeError(
        f"{argument} must be a state name or a non-empty sequence of state "
        f"names, got {value!r}."
    )


class AbstractDynamics(AbstractComponent):
    """The equations of one node, evaluated for all nodes at once.

    A subclass declares four class attributes and one method:

    - ``state_names``: names of the state variables, e.g. ``("S",)``;
    - ``default_parameters``: ``{name: value}`` (floats or per-node arrays);
    - ``default_initial_state``: ``{state_name: value}``, broadcast over nodes;
    - ``coupling_inputs``: ``{input_name: n_components}``: the network inputs
      the equations read; a coupling feeding ``input_name`` returns
      ``[n_components, n_nodes]``;

    and may declare two more (both empty by default):

    - ``coupling_variables``: the states a coupling usually reads (The
      Virtual Brain's ``cvar``), for documentation and tools;
    - ``state_bounds``: ``{state_name: (low, high)}`` (``-inf``/``inf`` for
      an open side): the fixed-step solvers clamp these states after every
      step and before every stage, as TVB's ``state_variable_boundaries``;
    - ``derivative(t, state, coupling, params)``: ``state`` is
      ``[n_states, n_nodes]``, ``coupling[name]`` is
      ``[n_components, n_nodes]`` (zeros when nothing feeds that input),
      ``params`` holds the parameters by attribute; returns
      ``[n_states, n_nodes]``.

    Instances take parameter overrides as keyword arguments; unknown names are
    rejected. ``parameters`` holds defaults plus overrides; each becomes a
    config leaf ``dynamics.<name>`` (see ``leaves()``). A complete new model::

        class LeakyIntegrator(AbstractDynamics):
            '''dx/dt = (-x + I + c) / tau.'''

            state_names = ("x",)
            default_parameters = {"tau": 10.0, "I": 0.0}
            default_initial_state = {"x": 0.0}
            coupling_inputs = {"c": 1}

            def derivative(self, t, state, coupling, params):
                (x,) = state
                c = coupling["c"][0]
                return jnp.stack([(-x + params.I + c) / params.tau])

        dynamics = LeakyIntegrator(tau=20.0)

    >>> isinstance(ReducedWongWang(), AbstractDynamics), ReducedWongWang.state_names
    (True, ('S',))
    """

    state_names: ClassVar[tuple[str, ...]]
    default_parameters: ClassVar[Mapping[str, Any]]
    default_initial_state: ClassVar[Mapping[str, float]]
    coupling_inputs: ClassVar[Mapping[str, int]]
    coupling_variables: ClassVar[tuple[str, ...]] = ()
    state_bounds: ClassVar[Mapping[str, tuple[float, float]]] = {}
    parameters: dict[str, Any] = leaf(group=True)

    def __init__(self, **parameters: Any):
        unknown = sorted(set(parameters) - set(self.default_parameters))
        if unknown:
            raise ValueError(
                f"{type(self).__name__} got unknown parameter(s) {unknown}; "
                f"its parameters are {sorted(self.default_parameters)}."
            )
        self.parameters = {**self.default_parameters, **parameters}

    @property
    def n_states(self) -> int:
        """Number of state variables."""
        return len(self.state_names)

    def state_index(self, names: str | tuple[str, ...]) -> tuple[int, ...]:
        """Indices of the named state variables, with a clear error if unknown.

        ``ReducedWongWang().state_index("S") == (0,)``.
        """
        if isinstance(names, str):
            names = (names,)
        missing = [n for n in names if n not in self.state_names]
        if missing:
            raise ValueError(
                f"unknown state variable(s) {missing} for {type(self).__name__}; "
                f"its states are {list(self.state_names)}."
            )
        return tuple(self.state_names.index(n) for n in names)

    def initial_state(self, n_nodes: int) -> np.ndarray:
        """The default initial state broadcast to ``[n_states, n_nodes]``."""
        rows = [
            np.broadcast_to(np.asarray(self.default_initial_state[s], float), n_nodes)
            for s in self.state_names
        ]
        return np.stack(rows)

    def bound(self, state: jax.Array) -> jax.Array:
        """``state`` ``[n_states, n_nodes]`` with the bounded states clamped
        into ``state_bounds`` (``state`` itself when there are none)."""
        if not self.state_bounds:
            return state
        index = self.state_index(tuple(self.state_bounds))
        low, high = (
            np.array(side, state.dtype)[:, None]
            for side in zip(*self.state_bounds.values(), strict=True)
        )
        if index == tuple(range(self.n_states)):
            return jnp.clip(state, low, high)
        index = np.asarray(index)
        return state.at[index].set(jnp.clip(state[index], low, high))

    @abc.abstractmethod
    def derivative(
        self,
        t: jax.Array,
        state: jax.Array,
        coupling: Mapping[str, jax.Array],
        params: Config,
    ) -> jax.Array:
        """Time derivative ``[n_states, n_nodes]`` of ``state``."""
