"""The config layout of a network: where each numeric value lives as a leaf."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._config import Config
from sweepjax._tree import is_key_array
from sweepjax.network._checks import Allowed
from sweepjax.network._network import INITIAL_STATE, Network


def _leaf(value: Any) -> Any:
    # PRNG keys (typed, or raw uint32 [2]) and None stay as they are.
    if value is None or is_key_array(value, raw=True):
        return value
    dtype = jnp.result_type(float)
    if isinstance(value, jax.Array):
        return value if value.dtype == dtype else value.astype(dtype)
    # Host conversion then one transfer: no per-leaf XLA computation to compile.
    return jax.device_put(np.asarray(value, dtype=dtype))


def _leaves(values: dict[str, Any]) -> Config:
    return Config.closed({k: _leaf(v) for k, v in values.items()})


def make_config(network: Network) -> Config:
    """The config of a network: every numeric value as a JAX array leaf.

    Layout: ``dynamics.<param>``, ``coupling.<name>.<param>``,
    ``graph.weights`` (and ``graph.delays``), ``noise.sigma`` and
    ``noise.key`` (an empty ``noise`` when deterministic),
    ``stimulus.<name>.<param>``, ``initial_state``
    ``[n_states, n_nodes]`` and ``noise_samples`` (None: the noise is
    drawn from ``noise.key``; or standard normals ``[n_steps, n_noise_states,
    n_nodes]`` used instead). Floats
    take JAX's default float dtype; keys are kept as given.

    Every level is a closed :class:`sweepjax.Config`: existing fields take
    new values and sweep axes, but a name the layout lacks (a typo such as
    ``config.coupling.instant.g``) raises ``AttributeError`` instead of
    adding a field that nothing reads.

    >>> config = make_config(network)
    >>> config.coupling.instant.G
    Array(0.5, dtype=float32)
    >>> config.coupling.instant.g = 0.1
    Traceback (most recent call last):
    AttributeError: Config at 'coupling.instant' has no field 'g'; did you mean 'G'? ...
    """
    noise = Config.closed()
    if network.noise is not None:
        noise = _leaves(network.noise.parameters())
    return Config.closed(
        dynamics=_leaves(network.dynamics.parameters),
        coupling=Config.closed(
            {name: _leaves(c.parameters()) for name, c in network.coupling.items()}
        ),
        graph=_leaves(network.graph.arrays()),
        noise=noise,
        stimulus=Config.closed(
            {name: _leaves(s.parameters()) for name, s in network.stimulus.items()}
        ),
        initial_state=_leaf(network.initial_state),
        noise_samples=None,
    )


def leaf_rules(network: Network) -> dict[str, Allowed]:
    """``{dotted config path: rule}`` of every leaf whose values are checked:
    what the graph, the noise and the stimuli declare (``allowed()``) and a finite
    ``initial_state``. ``prepare`` checks them inside every solve.

    >>> from sweepjax.network._layout import leaf_rules
    >>> list(leaf_rules(network))   # a network without delays
    ['graph.weights', 'noise.sigma', 'initial_state']
    """
    rules = {f"graph.{k}": rule for k, rule in network.graph.allowed().items()}
    if network.noise is not None:
        rules.update(
            {f"noise.{k}": rule for k, rule in network.noise.allowed().items()}
        )
    for name, stimulus in network.stimulus.items():
        rules.update(
            {f"stimulus.{name}.{k}": rule for k, rule in stimulus.allowed().items()}
        )
    rules["initial_state"] = INITIAL_STATE
    return rules


def initial_state_of(network: Network, config: Config) -> jax.Array:
    """``config.initial_state`` as ``[n_states, n_nodes]`` in the default float
    dtype (a swept leaf may be a scalar or a row that broadcasts)."""
    shape = (network.dynamics.n_states, network.n_nodes)
    dtype = jnp.result_type(float)
    return jnp.broadcast_to(jnp.asarray(config.initial_state, dtype), shape)
