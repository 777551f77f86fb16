"""Shared pieces of the network tests: tiny networks that solve in milliseconds.

A plain module (not conftest.py) so that its name cannot collide with
``tests/conftest.py`` when test files import from it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax.network import (
    AbstractDynamics,
    AdditiveNoise,
    DenseGraph,
    LinearCoupling,
    Network,
    ReducedWongWang,
)


class Linear(AbstractDynamics):
    """dx/dt = -x/tau + rate + c: linear, so exact solutions are known."""

    state_names = ("x",)
    default_parameters = {"tau": 1.0, "rate": 0.0}
    default_initial_state = {"x": 1.0}
    coupling_inputs = {"c": 1}

    def derivative(self, t, state, coupling, params):
        (x,) = state
        return jnp.stack([-x / params.tau + params.rate + coupling["c"][0]])


def all_to_all(n: int) -> np.ndarray:
    return np.ones((n, n)) - np.eye(n)


def rww_network(n: int = 4, G: float = 0.5, sigma: float | None = 1e-3) -> Network:
    noise = None if sigma is None else AdditiveNoise(sigma, jax.random.key(0))
    return Network(
        dynamics=ReducedWongWang(),
        coupling={"instant": LinearCoupling("S", G=G)},
        graph=DenseGraph(all_to_all(n)),
        noise=noise,
    )


def replace_leaf(config, path: str, value):
    """A copy of ``config`` with the leaf at dotted ``path`` set to ``value``
    (works inside jit/vmap, where deep copies of concrete keys are not)."""
    found = []

    def swap(p, leaf):
        if jax.tree_util.keystr(p, simple=True, separator=".") == path:
            found.append(path)
            return value
        return leaf

    out = jax.tree_util.tree_map_with_path(swap, config)
    assert found, f"no leaf at {path}"
    return out
