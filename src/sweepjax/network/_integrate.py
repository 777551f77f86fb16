"""The native fixed-step integrator: a solver's ``step`` in one ``lax.scan``.

One solve is: the scan body (:func:`make_body`: hold the delayed couplings,
turn the step's noise draw into an increment, call the solver's ``step``),
the noise draws (all at once for ``Raw``, per block otherwise) and one of two
loops: every step recorded (:func:`scan_steps`) or a monitor reducing each
block of ``every`` steps (:func:`scan_blocks`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._config import Config
from sweepjax.network._delays import delayed_inputs
from sweepjax.network._layout import initial_state_of
from sweepjax.network._monitors import AbstractMonitor, Raw
from sweepjax.network._network import Network
from sweepjax.network._rhs import make_rhs
from sweepjax.network._solution import Solution, SolveFn

#: ``f(t, y) -> dy/dt`` as a solver's step sees it (delays already held).
Derivative = Callable[[jax.Array, jax.Array], jax.Array]
#: ``step(f, t, y, dt, dW) -> y_next``: one step of a fixed-step scheme.
Step = Callable[[Derivative, jax.Array, jax.Array, float, jax.Array | None], jax.Array]
#: The scan carry ``(y, delay history, k)``: state, buffers, step index.
Carry = tuple[jax.Array, Any, jax.Array]
#: ``body(carry, z_k) -> (carry, y)``: one step; ``z_k`` ``[n_noise, n_nodes]``.
Body = Callable[[Carry, jax.Array | None], tuple[Carry, jax.Array]]


def noise_shape(network: Network, n_steps: int) -> tuple[int, int, int]:
    """``[n_steps, n_noise_states, n_nodes]``: the standard normals of a run."""
    return (n_steps, len(network.noise_index), network.n_nodes)


def injected_noise(network: Network, config: Config, n_steps: int) -> Any:
    """``config._internal.noise_samples`` checked against :func:`noise_shape`
    (None when unset or when the network is deterministic)."""
    if network.noise is None:
        return None
    samples = config._internal.noise_samples
    shape = noise_shape(network, n_steps)
    if samples is not None and tuple(jnp.shape(samples)) != shape:
        raise ValueError(
            "config._internal.noise_samples must have shape [n_steps, "
            f"n_noise_states, n_nodes] = {shape}, got {tuple(jnp.shape(samples))}."
        )
    return samples


def noise_increment(
    network: Network, scale: jax.Array, z: jax.Array, y: jax.Array
) -> jax.Array:
    """``dW`` ``[n_states, n_nodes]``: ``scale * z`` on the noisy states (``z``
    is ``[n_noise_states, n_nodes]``), zero on the others."""
    dW = scale * z
    index = network.noise_index
    if index == tuple(range(network.dynamics.n_states)):
        return jnp.broadcast_to(dW, y.shape).astype(y.dtype)
    return jnp.zeros_like(y).at[np.asarray(index)].set(dW.astype(y.dtype))


def make_body(
    network: Network,
    config: Config,
    step: Step,
    t0: float,
    dt: float,
    y0: jax.Array,
) -> tuple[Body, Carry]:
    """The scan body of one step and its initial carry.

    ``body((y, history, k), z_k)`` holds the delayed couplings of step ``k``,
    scales ``z_k`` (None when deterministic) into ``dW = sigma*sqrt(dt)*z_k``
    and advances ``y`` ``[n_states, n_nodes]`` from ``t0 + k*dt`` by ``step``;
    it returns the new carry and the new state.
    """
    dtype = y0.dtype
    rhs = make_rhs(network, config)
    delays = delayed_inputs(network, config, dt, y0)
    scale = None
    if network.noise is not None:
        sigma = jnp.asarray(config.noise.sigma, dtype)
        scale = sigma * jnp.sqrt(jnp.asarray(dt, dtype))

    def body(carry: Carry, z_k: jax.Array | None) -> tuple[Carry, jax.Array]:
        y, history, k = carry
        t = t0 + k.astype(dtype) * dt
        held, history = delays.hold(history, y, k)
        dW = None if z_k is None else noise_increment(network, scale, z_k, y)
        y = step(lambda t_, y_: rhs(t_, y_, held), t, y, dt, dW)
        return (y, history, k + 1), y

    return body, (y0, delays.init, jnp.zeros((), jnp.int32))


def scan_steps(
    body: Body,
    carry0: Carry,
    network: Network,
    config: Config,
    n_steps: int,
    unroll: int,
) -> jax.Array:
    """Every state, ``[n_steps, n_states, n_nodes]``.

    The noise ``[n_steps, n_noise_states, n_nodes]`` is the injected samples
    or one draw from ``config.noise.key``.
    """
    z = None
    if network.noise is not None:
        z = injected_noise(network, config, n_steps)
        if z is None:
            dtype = carry0[0].dtype
            shape = noise_shape(network, n_steps)
            z = jax.random.normal(config.noise.key, shape, dtype)
    _, ys = jax.lax.scan(body, carry0, z, length=n_steps, unroll=unroll)
    return ys


def scan_blocks(
    body: Body,
    carry0: Carry,
    network: Network,
    config: Config,
    monitor: AbstractMonitor,
    n_steps: int,
    unroll: int,
) -> jax.Array:
    """One record per block of ``monitor.every`` steps,
    ``[n_steps // every, n_states, n_nodes]``.

    An outer scan over blocks runs an inner scan of ``every`` steps that
    folds each state into the monitor's accumulator. The noise of block ``b``
    ``[every, n_noise_states, n_nodes]`` is its slice of the injected samples
    or a draw from ``fold_in(config.noise.key, b)``, so the whole run's noise
    is never held.
    """
    every = monitor.every
    n_records = n_steps // every
    noisy = network.noise is not None
    injected = injected_noise(network, config, n_steps)

    def block(carry: Carry, xs: tuple[jax.Array, Any]) -> tuple[Carry, jax.Array]:
        index, z = xs
        if noisy and z is None:
            key = jax.random.fold_in(config.noise.key, index)
            shape = noise_shape(network, every)
            z = jax.random.normal(key, shape, carry[0].dtype)

        def inner(c, z_k):
            state, acc = c
            state, y = body(state, z_k)
            return (state, monitor.update(acc, y)), None

        init = (carry, monitor.init(carry[0]))
        (carry, acc), _ = jax.lax.scan(inner, init, z, length=every, unroll=unroll)
        return carry, monitor.finalize(acc)

    if injected is not None:
        injected = jnp.reshape(injected, (n_records, every, *injected.shape[1:]))
    xs = (jnp.arange(n_records, dtype=jnp.uint32), injected)
    _, ys = jax.lax.scan(block, carry0, xs)
    return ys


def integrate(
    network: Network,
    step: Step,
    t0: float,
    dt: float,
    n_steps: int,
    monitor: AbstractMonitor,
    unroll: int,
) -> SolveFn:
    """``solve(config) -> Solution``: ``n_steps`` steps of ``step`` from ``t0``.

    ``Solution.ys`` is ``[n_steps // monitor.every, n_states, n_nodes]``:
    every state for :class:`Raw`, else one monitor record per block.
    ``unroll`` is the steps per ``lax.scan`` iteration (speed only).

    >>> solve = integrate(network, Heun().step, 0.0, 0.1, 50, Raw(), 1)
    >>> solve(make_config(network)).ys.shape      # [50, n_states, n_nodes]
    (50, 1, 4)
    """
    ts_host = monitor.times(t0, dt, n_steps // monitor.every)
    every_step = type(monitor) is Raw  # decimating monitors draw noise per block

    def solve(config: Config) -> Solution:
        y0 = initial_state_of(network, config)
        body, carry0 = make_body(network, config, step, t0, dt, y0)
        if every_step:
            ys = scan_steps(body, carry0, network, config, n_steps, unroll)
        else:
            ys = scan_blocks(body, carry0, network, config, monitor, n_steps, unroll)
        return Solution(jnp.asarray(ts_host, y0.dtype), ys)

    return solve
