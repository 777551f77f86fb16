"""The right-hand side of a network: dynamics fed by its couplings."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._config import Config
from sweepjax.network._network import Network

#: ``rhs(t, y, held) -> dy/dt``; ``y`` and ``dy/dt`` are ``[n_states, n_nodes]``.
Rhs = Callable[[jax.Array, jax.Array, dict[str, jax.Array]], jax.Array]


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


def make_rhs(network: Network, config: Config) -> Rhs:
    """``rhs(t, y, held) -> dy/dt`` of ``network`` with the values of ``config``.

    The instantaneous couplings are evaluated at ``y`` ``[n_states, n_nodes]``
    and summed into their inputs together with ``held``
    (``{input: [n_components, n_nodes]}``, the delayed couplings of the step,
    ``{}`` when there are none); inputs nothing feeds are zeros.

    >>> rhs = make_rhs(network, make_config(network))
    >>> rhs(0.0, y, {}).shape            # [n_states, n_nodes]
    (1, 4)
    """
    instant = [(n, c) for n, c in network.coupling.items() if not c.delayed]
    inputs = network.dynamics.coupling_inputs
    n_nodes = network.n_nodes

    def rhs(t: jax.Array, y: jax.Array, held: dict[str, jax.Array]) -> jax.Array:
        total = dict(held)
        for name, c in instant:
            x = take_states(y, network.incoming_index[name])
            params = config.coupling[name]
            summed = network.graph.propagate(config.graph, c.pre(params, x))
            out = c.post(params, summed, x)
            target = network.targets[name]
            total[target] = total[target] + out if target in total else out
        for name, k in inputs.items():
            if name not in total:
                total[name] = jnp.zeros((k, n_nodes), y.dtype)
        return network.dynamics.derivative(t, y, total, config.dynamics)

    return rhs
