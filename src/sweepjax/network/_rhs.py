"""The right-hand side of a network: dynamics fed by its couplings."""

from __future__ import annotations

import copy
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._config import Config
from sweepjax.network._edge_coupling import edge_scaled
from sweepjax.network._network import Network

#: ``rhs(t, y, held, drive=None) -> dy/dt``; ``y``, ``drive`` and ``dy/dt``
#: are ``[n_states, n_nodes]``.
Rhs = Callable[..., jax.Array]
#: ``drive(t, k) -> [n_states, n_nodes]``: the stimuli's input of step ``k``.
Drive = Callable[[jax.Array, jax.Array], jax.Array]


def take_states(y: jax.Array, index: tuple[int, ...]) -> jax.Array:
    """``y[index]`` for a static index tuple; a slice when it is contiguous.

    ``y`` is ``[n_states, ...]``; the result ``[len(index), ...]``.

    >>> take_states(jnp.arange(6).reshape(3, 2), (1, 2)).shape
    (2, 2)
    """
    start = index[0]
    if index == tuple(range(start, start + len(index))):
        return y[start : start + len(index)]
    return y[np.asarray(index)]


def add_instant(
    network: Network, config: Config, y: jax.Array, total: dict[str, jax.Array]
) -> dict[str, jax.Array]:
    """``total`` (``{input: [n_components, n_nodes]}``) plus the instantaneous
    couplings evaluated at the (bounded) states ``y``."""
    total = dict(total)
    for name, c in network.coupling.items():
        if c.delayed:
            continue
        x = take_states(y, network.incoming_index[name])
        params = config.coupling[name]
        graph = config.graph
        for edge in getattr(c, "edge_leaves", ()):
            graph = copy.copy(graph)
            path = f"config.coupling.{name}.{edge}"
            graph.weights = edge_scaled(network.graph, graph, path, params[edge])
        summed = network.graph.propagate(graph, c.pre(params, x))
        out = c.post(params, summed, x)
        target = network.targets[name]
        total[target] = total[target] + out if target in total else out
    return total


def make_rhs(network: Network, config: Config, per_stage: bool = True) -> Rhs:
    """``rhs(t, y, held, drive=None) -> dy/dt`` of ``network`` with the values
    of ``config``.

    ``y`` ``[n_states, n_nodes]`` is first clamped into the dynamics'
    ``state_bounds`` (so every solver stage sees bounded states, as in The
    Virtual Brain). The instantaneous couplings are evaluated at ``y`` and
    summed into their inputs together with ``held``
    (``{input: [n_components, n_nodes]}``, the delayed couplings of the step,
    ``{}`` when there are none); inputs nothing feeds are zeros. With
    ``per_stage=False`` the instantaneous couplings are left to the caller,
    who holds them in ``held`` for the step (:func:`add_instant`). ``drive``
    (the stimuli of the step, :func:`make_drive`) is added to the result.

    >>> rhs = make_rhs(network, make_config(network))
    >>> rhs(0.0, y, {}).shape            # [n_states, n_nodes]
    (1, 4)
    """
    inputs = network.dynamics.coupling_inputs
    n_nodes = network.n_nodes

    def rhs(
        t: jax.Array,
        y: jax.Array,
        held: dict[str, jax.Array],
        drive: jax.Array | None = None,
    ) -> jax.Array:
        y = network.dynamics.bound(y)
        total = add_instant(network, config, y, held) if per_stage else dict(held)
        for name, k in inputs.items():
            if name not in total:
                total[name] = jnp.zeros((k, n_nodes), y.dtype)
        dy = network.dynamics.derivative(t, y, total, config.dynamics)
        return dy if drive is None else dy + drive

    return rhs


def make_drive(network: Network, config: Config, n_steps: int) -> Drive | None:
    """``drive(t, k)``: the summed stimuli of step ``k`` (starting at ``t``)
    on their states, ``[n_states, n_nodes]``; None without stimuli.

    ``n_steps`` is the length of the solve, which every stimulus checks it
    covers (``check_steps``: a :class:`DataStimulus` needs a row per step).
    """
    if not network.stimulus:
        return None
    shape = (network.dynamics.n_states, network.n_nodes)
    for name, stimulus in network.stimulus.items():
        stimulus.check_steps(config.stimulus[name], n_steps, f"config.stimulus.{name}")

    def drive(t: jax.Array, k: jax.Array) -> jax.Array:
        total = jnp.zeros(shape, jnp.result_type(float))
        for name, stimulus in network.stimulus.items():
            value = stimulus(config.stimulus[name], t, k)
            index = np.asarray(network.stimulus_index[name])
            total = total.at[index].add(jnp.broadcast_to(value, shape[1:]))
        return total

    return drive
