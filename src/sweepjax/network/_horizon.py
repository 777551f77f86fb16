"""Truncated gradients: a fixed-step solve whose derivatives see a horizon.

Near a bifurcation the exact gradient of a long run grows like
``exp(T * lambda)`` over the run's length ``T``; truncated backpropagation
through time (TVB-Optim's ``grad_horizon``) keeps credit within windows of
``horizon`` steps by severing the carried state's derivative at each
window's start. The forward run is unchanged (``stop_gradient`` is the
identity); only derivatives differ, and a horizon that covers the run gives
the exact gradient.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from sweepjax.network._body import Body, Carry


def _sever(cut: jax.Array, x: jax.Array) -> jax.Array:
    return jnp.where(cut, jax.lax.stop_gradient(x), x)


def truncate(body: Body, horizon: int) -> Body:
    """``body`` whose carried states (and delay history) lose their
    derivative before steps ``horizon, 2 * horizon, ...``.

    The first window keeps its derivative with respect to the initial state
    (TVB-Optim severs it too, so its initial-state gradient is zero).
    """

    def truncated(carry: Carry, z_k: jax.Array | None) -> tuple[Carry, jax.Array]:
        cut = (carry.k % horizon == 0) & (carry.k > 0)
        y = _sever(cut, carry.y)
        history = jax.tree.map(lambda h: _sever(cut, h), carry.history)
        return body(Carry(y, history, carry.k, carry.z), z_k)

    return truncated
