"""The config layout of a network: where each numeric value lives as a leaf."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._config import Config
from sweepjax._tree import is_key_array
from sweepjax.network._network import Network


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
    return Config({k: _leaf(v) for k, v in values.items()})


def make_config(network: Network) -> Config:
    """The config of a network: every numeric value as a JAX array leaf.

    Layout: ``dynamics.<param>``, ``coupling.<name>.<param>``,
    ``graph.weights`` (and ``graph.delays``), ``noise.sigma`` and
    ``noise.key`` (an empty ``noise`` when deterministic), ``initial_state``
    ``[n_states, n_nodes]`` and ``_internal.noise_samples`` (None). Floats
    take JAX's default float dtype; keys are kept as given.

    >>> config = make_config(network)
    >>> config.coupling.instant.G
    Array(0.5, dtype=float32)
    """
    noise = Config()
    if network.noise is not None:
        noise = _leaves(network.noise.parameters())
    return Config(
        dynamics=_leaves(network.dynamics.parameters),
        coupling=Config(
            {name: _leaves(c.parameters()) for name, c in network.coupling.items()}
        ),
        graph=_leaves(network.graph.arrays()),
        noise=noise,
        initial_state=_leaf(network.initial_state),
        _internal=Config(noise_samples=None),
    )


def initial_state_of(network: Network, config: Config) -> jax.Array:
    """``config.initial_state`` as ``[n_states, n_nodes]`` in the default float
    dtype (a swept leaf may be a scalar or a row that broadcasts)."""
    shape = (network.dynamics.n_states, network.n_nodes)
    dtype = jnp.result_type(float)
    return jnp.broadcast_to(jnp.asarray(config.initial_state, dtype), shape)
