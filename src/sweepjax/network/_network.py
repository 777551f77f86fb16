"""Network: dynamics, couplings, graph and noise, checked against each other."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._config import Config
from sweepjax.network._checks import Allowed
from sweepjax.network._coupling import AbstractCoupling
from sweepjax.network._dynamics import AbstractDynamics
from sweepjax.network._graph import AbstractGraph
from sweepjax.network._noise import AbstractNoise
from sweepjax.network._stimulus import AbstractStimulus

#: An initial state: finite values.
INITIAL_STATE = Allowed()


class Network(eqx.Module):
    """A whole-brain network model: what ``prepare`` compiles.

    Args:
        dynamics: the node model (an :class:`AbstractDynamics`).
        coupling: ``{name: coupling}``; each coupling feeds one of the
            dynamics' coupling inputs (several feeding the same input are
            summed). Names become config paths ``coupling.<name>``.
        graph: the weights (and delays) between nodes, e.g. :class:`DenseGraph`.
        noise: None for a deterministic network, or e.g. :class:`AdditiveNoise`.
        initial_state: ``[n_states, n_nodes]`` (or anything broadcasting to
            it), finite; default: the dynamics' default initial state on
            every node.
        stimulus: ``{name: stimulus}`` of external inputs such as
            :class:`PulseTrain`; names become config paths
            ``stimulus.<name>``.

    >>> network = Network(
    ...     dynamics=ReducedWongWang(),
    ...     coupling={"instant": LinearCoupling(incoming_states="S", G=0.5)},
    ...     graph=DenseGraph(np.ones((8, 8)) - np.eye(8)),
    ...     noise=AdditiveNoise(sigma=1e-3, key=jax.random.key(0)),
    ... )
    >>> network.initial_state.shape  # [n_states, n_nodes]
    (1, 8)

    Like its parts, a Network is an Equinox Module: immutable, equal to
    another built from equal parts.
    """

    dynamics: AbstractDynamics
    coupling: dict[str, AbstractCoupling]
    graph: AbstractGraph
    noise: AbstractNoise | None
    stimulus: dict[str, AbstractStimulus]
    initial_state: np.ndarray = eqx.field(repr=False)
    # what the checks found, for the solvers: per coupling, its input and
    # the indices of the states it reads; those of the noisy and stimulated
    # states
    targets: dict[str, str] = eqx.field(repr=False)
    incoming_index: dict[str, tuple[int, ...]] = eqx.field(repr=False)
    noise_index: tuple[int, ...] | None = eqx.field(repr=False)
    stimulus_index: dict[str, tuple[int, ...]] = eqx.field(repr=False)

    def __init__(
        self,
        dynamics: AbstractDynamics,
        coupling: Mapping[str, AbstractCoupling] | None,
        graph: AbstractGraph,
        noise: AbstractNoise | None = None,
        initial_state: Any = None,
        stimulus: Mapping[str, AbstractStimulus] | None = None,
    ):
        if not isinstance(dynamics, AbstractDynamics):
            raise TypeError(
                f"dynamics must be an AbstractDynamics instance such as "
                f"ReducedWongWang(), got {dynamics!r}."
            )
        if not isinstance(graph, AbstractGraph):
            raise TypeError(
                f"graph must be an AbstractGraph such as DenseGraph(weights), got "
                f"{graph!r}."
            )
        if noise is not None and not isinstance(noise, AbstractNoise):
            raise TypeError(
                f"noise must be None or an AbstractNoise such as "
                f"AdditiveNoise(sigma), got {noise!r}."
            )
        coupling = {} if coupling is None else coupling
        if not isinstance(coupling, Mapping):
            raise TypeError(
                "coupling must be a dict {name: coupling}, e.g. "
                f"{{'instant': LinearCoupling('S', G=0.5)}}, got {coupling!r}."
            )
        self.dynamics = dynamics
        self.graph = graph
        self.noise = noise
        self.coupling = dict(coupling)
        self.targets = {}
        self.incoming_index = {}
        for name, c in self.coupling.items():
            self._check_coupling(name, c)
        self.noise_index = None
        if noise is not None:
            states = noise.states or dynamics.state_names
            self.noise_index = dynamics.state_index(states)
        self.initial_state = self._check_initial_state(initial_state)
        self.stimulus = self._check_stimulus({} if stimulus is None else stimulus)

    @property
    def n_nodes(self) -> int:
        """Number of nodes of the graph."""
        return self.graph.n_nodes

    def _check_coupling(self, name: Any, c: Any) -> None:
        dyn = self.dynamics
        _check_named(
            "coupling", name, c, AbstractCoupling, "LinearCoupling('S', G=0.5)"
        )
        inputs = dict(dyn.coupling_inputs)
        target = c.target
        if target is None:
            if len(inputs) != 1:
                raise ValueError(
                    f"coupling {name!r} needs target=...: {type(dyn).__name__} has "
                    f"coupling inputs {list(inputs)}."
                )
            (target,) = inputs
        if target not in inputs:
            raise ValueError(
                f"unknown coupling input {target!r} for coupling {name!r}; "
                f"{type(dyn).__name__}'s coupling inputs are {list(inputs)}."
            )
        index = dyn.state_index(c.incoming_states)
        components = _output_components(c, len(index), self.n_nodes)
        if components != inputs[target]:
            raise ValueError(
                f"coupling {name!r} gives {components} component(s) (it reads "
                f"{len(index)} state(s) {list(c.incoming_states)}) but input "
                f"{target!r} of {type(dyn).__name__} takes {inputs[target]}; a "
                "linear coupling maps its states to the components through G, "
                "e.g. G=[[K], [0]] sends one state into the first of two."
            )
        if c.delayed and not self.graph.has_delays:
            raise ValueError(
                f"coupling {name!r} ({type(c).__name__}) needs delays: use "
                f"DenseDelayGraph(weights, delays) instead of {self.graph!r}."
            )
        self.targets[name] = target
        self.incoming_index[name] = index

    def _check_stimulus(self, stimulus: Any) -> dict[str, AbstractStimulus]:
        if not isinstance(stimulus, Mapping):
            raise TypeError(
                "stimulus must be a dict {name: stimulus}, e.g. "
                f"{{'pulses': PulseTrain('S', amp=0.1)}}, got {stimulus!r}."
            )
        self.stimulus_index = {}
        for name, s in stimulus.items():
            _check_named(
                "stimulus", name, s, AbstractStimulus, "PulseTrain('S', amp=0.1)"
            )
            self.stimulus_index[name] = self.dynamics.state_index(s.states)
            weights = np.shape(s.weights)
            if weights not in ((), (1,), (self.n_nodes,)):
                raise ValueError(
                    f"stimulus {name!r}: weights must be a scalar or one value "
                    f"per node ({self.n_nodes}), got shape {weights}."
                )
        return dict(stimulus)

    def _check_initial_state(self, initial_state: Any) -> np.ndarray:
        shape = (self.dynamics.n_states, self.n_nodes)
        if initial_state is None:
            return self.dynamics.initial_state(self.n_nodes)
        array = INITIAL_STATE.check("initial_state", initial_state)
        try:
            return np.array(np.broadcast_to(array, shape))
        except ValueError:
            raise ValueError(
                f"initial_state must broadcast to [n_states, n_nodes] = {shape}, "
                f"got shape {array.shape}."
            ) from None


def _check_named(kind: str, name: Any, value: Any, base: type, example: str) -> None:
    """A named coupling or stimulus: an identifier naming a ``base``."""
    if not isinstance(name, str) or not name.isidentifier():
        raise TypeError(f"{kind} names must be identifiers, got {name!r}.")
    if not isinstance(value, base):
        raise TypeError(
            f"{kind} {name!r} must be an {base.__name__} such as {example}, "
            f"got {value!r}."
        )


def _output_components(
    coupling: AbstractCoupling, n_incoming: int, n_nodes: int
) -> int:
    """How many components ``coupling`` gives (the rows of its ``post``),
    from its parameters' shapes: ``G`` ``[2, 1]`` on one state gives two."""
    leaves = coupling.leaves().items()
    params = Config(**{k: jnp.asarray(leaf.value) for k, leaf in leaves})
    x = jax.ShapeDtypeStruct((n_incoming, n_nodes), jnp.result_type(float))

    def output(params: Config, x: jax.Array) -> jax.Array:
        return coupling.post(params, coupling.pre(params, x), x)

    shape = jax.eval_shape(output, params, x).shape
    return shape[0] if len(shape) == 2 else 1
