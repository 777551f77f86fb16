"""The config layout of a network: where each numeric value lives as a leaf."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._config import Config
from sweepjax._tree import is_key_array
from sweepjax.network._checks import Allowed
from sweepjax.network._component import AbstractComponent, Leaf
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


def _walk(network: Network) -> dict[str, Any]:
    """The config's layout as a nested dict whose leaves are :class:`Leaf`
    (value and rule): the one walk that both the config and its checks read."""

    def part(component: AbstractComponent | None) -> dict[str, Leaf]:
        return {} if component is None else component.leaves()

    def named(components: Mapping[str, AbstractComponent]) -> dict[str, Any]:
        return {name: part(c) for name, c in components.items()}

    return {
        "dynamics": part(network.dynamics),
        "coupling": named(network.coupling),
        "graph": part(network.graph),
        "noise": part(network.noise),
        "stimulus": named(network.stimulus),
        "initial_state": Leaf(network.initial_state, INITIAL_STATE),
        "noise_samples": Leaf(None, None),
        "start": Leaf(None, None),
    }


def _config(tree: dict[str, Any]) -> Config:
    return Config.closed(
        {
            k: _leaf(v.value) if isinstance(v, Leaf) else _config(v)
            for k, v in tree.items()
        }
    )


def _rules(tree: dict[str, Any], prefix: str = "") -> dict[str, Allowed]:
    rules = {}
    for k, v in tree.items():
        if not isinstance(v, Leaf):
            rules.update(_rules(v, f"{prefix}{k}."))
        elif v.allowed is not None:
            rules[f"{prefix}{k}"] = v.allowed
    return rules


def make_config(network: Network) -> Config:
    """The config of a network: every numeric value as a JAX array leaf.

    Layout: ``dynamics.<param>``, ``coupling.<name>.<param>``,
    ``graph.weights`` (and ``graph.delays``), ``noise.sigma`` and
    ``noise.key`` (an empty ``noise`` when deterministic),
    ``stimulus.<name>.<param>``, ``initial_state``
    ``[n_states, n_nodes]`` and ``noise_samples`` (None: the noise is drawn
    from ``noise.key``; or standard normals ``[n_steps, n_noise_states,
    n_nodes]`` used instead) and ``start`` (None: a fresh run; or the
    :class:`RunState` a continued run starts from): each component's
    ``leaves()``. Floats take JAX's default float dtype; keys are kept as
    given.

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
    return _config(_walk(network))


def leaf_rules(network: Network) -> dict[str, Allowed]:
    """``{dotted config path: rule}`` of every leaf whose values are checked:
    the rules the components' ``leaves()`` declare (graph, noise, stimuli) and
    a finite ``initial_state``, from the walk that lays out the config.
    ``prepare`` checks them inside every solve.

    >>> from sweepjax.network._layout import leaf_rules
    >>> list(leaf_rules(network))   # a network without delays
    ['graph.weights', 'noise.sigma', 'initial_state']
    """
    return _rules(_walk(network))


def initial_state_of(network: Network, config: Config) -> jax.Array:
    """``config.initial_state`` as ``[n_states, n_nodes]`` in the default float
    dtype (a swept leaf may be a scalar or a row that broadcasts)."""
    shape = (network.dynamics.n_states, network.n_nodes)
    dtype = jnp.result_type(float)
    return jnp.broadcast_to(jnp.asarray(config.initial_state, dtype), shape)
