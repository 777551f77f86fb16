"""Observation functions computed from simulated trajectories."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def functional_connectivity(ys: jax.Array, state: int = 0) -> jax.Array:
    """Functional connectivity: the Pearson correlation matrix between nodes.

    Args:
        ys: ``[n_steps, n_states, n_nodes]`` (a ``Solution.ys``) or
            ``[n_steps, n_nodes]``.
        state: which state variable to correlate when ``ys`` is 3-d.

    Returns:
        ``[n_nodes, n_nodes]``; a node with a constant trace gives NaN entries.
        Works under ``jit`` and ``vmap``.

    >>> ys = jax.random.normal(jax.random.key(0), (100, 1, 4))
    >>> functional_connectivity(ys).shape
    (4, 4)
    """
    ys = jnp.asarray(ys)
    if ys.ndim == 3:
        ys = ys[:, state, :]
    if ys.ndim != 2:
        raise ValueError(
            "ys must be [n_steps, n_states, n_nodes] or [n_steps, n_nodes], got "
            f"shape {ys.shape}."
        )
    centred = ys - ys.mean(axis=0)
    cov = centred.T @ centred
    std = jnp.sqrt(jnp.diag(cov))
    return cov / (std[:, None] * std[None, :])
