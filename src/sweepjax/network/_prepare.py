"""prepare: turn a Network into one jitted solve function and its config."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._axes import _is_key_array
from sweepjax._config import Config
from sweepjax.network._monitors import AbstractMonitor, Raw
from sweepjax.network._network import Network
from sweepjax.network._rhs import delayed_inputs, make_rhs
from sweepjax.network._solvers import AbstractSolver


class Solution(NamedTuple):
    """What ``solve_fn(config)`` returns.

    Attributes:
        ts: ``[n_records]`` time of each record (``t0 + (k + 1)*dt`` for
            ``Raw``: the time reached after step ``k``).
        ys: ``[n_records, n_states, n_nodes]`` the recorded states.
    """

    ts: jax.Array
    ys: jax.Array


def _leaf(value: Any) -> Any:
    if value is None or _is_key_array(value):
        return value
    if isinstance(value, jax.Array) and value.dtype == jnp.uint32:
        return value  # a raw uint32 PRNG key
    dtype = jnp.result_type(float)
    if isinstance(value, jax.Array):
        return value if value.dtype == dtype else value.astype(dtype)
    # Host conversion then one transfer: no per-leaf XLA computation to compile.
    return jax.device_put(np.asarray(value, dtype=dtype))


def _time_grid(t0: Any, t1: Any, dt: Any) -> int:
    for name, value in (("t0", t0), ("t1", t1), ("dt", dt)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise TypeError(f"{name} must be a Python number, got {value!r}.")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}.")
    if dt <= 0:
        raise ValueError(f"dt must be > 0, got {dt}.")
    if t1 <= t0:
        raise ValueError(f"t1 must be > t0, got t0={t0}, t1={t1}.")
    # == len(jnp.arange(t0, t1, dt)), without dispatching a computation
    return max(0, int(np.ceil((t1 - t0) / dt)))


def make_config(network: Network) -> Config:
    """The config of a network: every numeric value as a JAX array leaf.

    Layout: ``dynamics.<param>``, ``coupling.<name>.<param>``,
    ``graph.weights`` (and ``graph.delays``), ``noise.sigma`` and
    ``noise.key`` (an empty ``noise`` when deterministic), ``initial_state``
    ``[n_states, n_nodes]`` and ``_internal.noise_samples`` (None).
    """
    noise = Config()
    if network.noise is not None:
        noise = Config({k: _leaf(v) for k, v in network.noise.parameters().items()})
    return Config(
        dynamics=Config({k: _leaf(v) for k, v in network.dynamics.parameters.items()}),
        coupling=Config(
            {
                name: Config({k: _leaf(v) for k, v in c.parameters().items()})
                for name, c in network.coupling.items()
            }
        ),
        graph=Config({k: _leaf(v) for k, v in network.graph.arrays().items()}),
        noise=noise,
        initial_state=_leaf(network.initial_state),
        _internal=Config(noise_samples=None),
    )


def _noise_increment(network: Network, scale: jax.Array, z: jax.Array, y: jax.Array):
    dW = scale * z
    index = network.noise_index
    if index == tuple(range(network.dynamics.n_states)):
        return jnp.broadcast_to(dW, y.shape).astype(y.dtype)
    return jnp.zeros_like(y).at[np.asarray(index)].set(dW.astype(y.dtype))


def _build_native(
    network: Network,
    solver: AbstractSolver,
    t0: float,
    dt: float,
    n_steps: int,
    monitor: AbstractMonitor,
    unroll: int,
) -> Callable[[Config], Solution]:
    n_nodes = network.n_nodes
    n_states = network.dynamics.n_states
    every = monitor.every
    n_records = n_steps // every
    blockwise = type(monitor) is not Raw  # decimating monitors draw per block
    ts_host = monitor.times(t0, dt, n_records)

    def solve(config: Config) -> Solution:
        dtype = jnp.result_type(float)
        y0 = jnp.broadcast_to(
            jnp.asarray(config.initial_state, dtype), (n_states, n_nodes)
        )
        rhs = make_rhs(network, config)
        delay_state = delayed_inputs(network, config, dt, y0)

        noisy = network.noise is not None
        if noisy:
            n_noise = len(network.noise_index)
            shape = (n_steps, n_noise, n_nodes)
            samples = config._internal.noise_samples
            if samples is not None and tuple(jnp.shape(samples)) != shape:
                raise ValueError(
                    "config._internal.noise_samples must have shape [n_steps, "
                    f"n_noise_states, n_nodes] = {shape}, got "
                    f"{tuple(jnp.shape(samples))}."
                )
            scale = jnp.asarray(config.noise.sigma, dtype) * jnp.sqrt(
                jnp.asarray(dt, dtype)
            )

        def step(carry, z_k):
            y, history, k = carry
            t = t0 + k.astype(dtype) * dt
            held, history = delay_state.hold(history, y, k)
            dW = None if z_k is None else _noise_increment(network, scale, z_k, y)
            y = solver.step(lambda t_, y_: rhs(t_, y_, held), t, y, dt, dW)
            return (y, history, k + 1), y

        carry0 = (y0, delay_state.init, jnp.zeros((), jnp.int32))

        if not blockwise:
            z = None
            if noisy:
                z = samples
                if z is None:
                    z = jax.random.normal(config.noise.key, shape, dtype)
            _, ys = jax.lax.scan(step, carry0, z, length=n_steps, unroll=unroll)
        else:

            def block(carry, b):
                index, z_injected = b
                z = None
                if noisy:
                    z = z_injected
                    if z is None:
                        key = jax.random.fold_in(config.noise.key, index)
                        z = jax.random.normal(key, (every, n_noise, n_nodes), dtype)

                def inner(c, z_k):
                    state, acc = c
                    state, y = step(state, z_k)
                    return (state, monitor.update(acc, y)), None

                (carry, acc), _ = jax.lax.scan(
                    inner,
                    (carry, monitor.init(carry[0])),
                    z,
                    length=every,
                    unroll=unroll,
                )
                return carry, monitor.finalize(acc)

            injected = None
            if noisy and samples is not None:
                injected = jnp.reshape(samples, (n_records, every, *shape[1:]))
            xs = (jnp.arange(n_records, dtype=jnp.uint32), injected)
            _, ys = jax.lax.scan(block, carry0, xs)
        return Solution(jnp.asarray(ts_host, dtype), ys)

    return solve


def prepare(
    network: Network,
    solver: Any,
    t0: float,
    t1: float,
    dt: float,
    monitor: AbstractMonitor | None = None,
    unroll: int = 1,
) -> tuple[Callable[[Config], Solution], Config]:
    """Compile a network into ``solve_fn`` and return it with its ``config``.

    ``solve_fn(config)`` integrates ``n_steps = len(jnp.arange(t0, t1, dt))``
    steps and returns a :class:`Solution` with ``ys``
    ``[n_records, n_states, n_nodes]``, the state after each step (the initial
    state is not a row) or the monitor's records. It is jitted once: calling it
    with other values of the same shapes (a swept coupling, noise level,
    noise key, weights, delays, parameters or initial state) reuses the
    compiled code, and it works under ``jax.vmap`` over any config leaf.

    Args:
        network: the :class:`Network`.
        solver: :class:`Euler`, :class:`Heun`, :class:`RK4` or
            :class:`Diffrax`.
        t0, t1, dt: start, end and step of the time grid (ms).
        monitor: :class:`Raw` (default), :class:`SubSample` or
            :class:`TemporalAverage`; ``n_steps`` must be a multiple of
            ``monitor.every``.
        unroll: steps per loop iteration of the native solvers' ``lax.scan``
            (a speed knob; results do not change).

    Returns:
        ``(solve_fn, config)``; ``config`` is a :class:`sweepjax.Config` (see
        :func:`make_config`) on whose leaves sweep axes may be placed.

    Example::

        solve_fn, config = prepare(network, Heun(), t0=0.0, t1=5.0, dt=0.1)
        config.coupling.instant.G = 0.8
        ys = solve_fn(config).ys            # [50, 1, n_nodes]
    """
    from sweepjax.network._diffrax import Diffrax, build_diffrax

    if not isinstance(network, Network):
        raise TypeError(f"network must be a Network, got {network!r}.")
    if not isinstance(solver, AbstractSolver | Diffrax):
        raise TypeError(
            f"solver must be Euler(), Heun(), RK4() or Diffrax(...), got {solver!r}."
        )
    n_steps = _time_grid(t0, t1, dt)
    monitor = Raw() if monitor is None else monitor
    if not isinstance(monitor, AbstractMonitor):
        raise TypeError(
            f"monitor must be Raw(), SubSample(k) or TemporalAverage(k), got "
            f"{monitor!r}."
        )
    if n_steps % monitor.every:
        raise ValueError(
            f"the number of steps {n_steps} (t0={t0}, t1={t1}, dt={dt}) is not a "
            f"multiple of monitor.every={monitor.every}; adjust t1 or every."
        )
    if isinstance(unroll, bool) or not isinstance(unroll, int) or unroll < 1:
        raise ValueError(f"unroll must be a positive int, got {unroll!r}.")
    config = make_config(network)
    if isinstance(solver, Diffrax):
        solve = build_diffrax(network, solver, t0, dt, n_steps, monitor)
    else:
        solve = _build_native(network, solver, t0, dt, n_steps, monitor, unroll)
    return jax.jit(solve), config
