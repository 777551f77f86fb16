"""One step of a batch of points, and where its noise comes from.

:func:`make_body` is the scan body of the native fixed-step solvers: hold the
delayed couplings of the batch, then per point turn the step's normals into
an increment and call the solver's ``step``. Its carry is a :class:`Carry`.
Where each step's normals come from is decided once, by :func:`plan_noise`
(a :class:`NoisePlan`), and handed to the body and the loops.

The noise of a point is one thing whatever is recorded or observed of it:
step ``k`` takes row ``k`` of ``jax.random.normal(config.noise.key,
(n_steps, n_noise_states, n_nodes))``, or of ``config.noise_samples`` when
that is set (:func:`noise_samples`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._config import Config
from sweepjax.network._batching import Points
from sweepjax.network._delays import delay_line, interpolates
from sweepjax.network._interpolated import interpolated_line
from sweepjax.network._network import Network
from sweepjax.network._normals import blockwise, rows_of_normal
from sweepjax.network._resume import check_start, initial_history, offset_of, start_y
from sweepjax.network._rhs import add_instant, make_drive, make_rhs, take_states

#: ``f(t, y) -> dy/dt`` as a solver's step sees it (delays already held).
Derivative = Callable[[jax.Array, jax.Array], jax.Array]
#: ``step(f, t, y, dt, dW) -> y_next``: one step of a fixed-step scheme.
Step = Callable[[Derivative, jax.Array, jax.Array, float, jax.Array | None], jax.Array]
#: ``advance(config, y, held, z_k, k) -> y_next``: one step of one point.
Advance = Callable[..., jax.Array]


class Carry(NamedTuple):
    """What the loop carries from one step of a batch to the next."""

    y: jax.Array  # [size, n_states, n_nodes]
    history: Any  # the delay line's buffer (() without delays)
    k: jax.Array  # the step about to be taken (int32)
    z: Any  # step k's normals, drawn one step ahead ("body" noise), else ()


#: ``body(carry, z_k) -> (carry, y)``: one step of every point of a batch.
Body = Callable[[Carry, jax.Array | None], tuple[Carry, jax.Array]]


class NoisePlan(NamedTuple):
    """Where a solve's normals come from, decided once (:func:`plan_noise`).

    ``source`` is one of:

    - ``"none"``: a deterministic network;
    - ``"body"``: each step's row drawn on its own inside the loop, one step
      ahead into the carry (``at(k)``);
    - ``"blocks"``: the rows of a block of steps drawn at once, the scan's
      inputs (``block(start, rows)``): for unrolled loops (a carried draw
      fused into the unrolled steps is recomputed there, 4-6x slower), and,
      drawn whole and sliced, for key types that cannot draw a row alone
      (:func:`blockwise` False);
    - ``"injected"``: rows of ``config.noise_samples``, read as "body" reads
      its draws (``at``), or as "blocks" (``block``) in unrolled loops.

    Every source gives the same numbers for the same key.
    """

    source: str
    #: ``at(k)``: step ``k``'s normals, ``[size, n_noise_states, n_nodes]``
    #: or, for points sharing them, ``[n_noise_states, n_nodes]`` ("body",
    #: "injected").
    at: Callable[[jax.Array], jax.Array] | None = None
    #: ``block(start, rows)``: ``[rows, size, n_noise_states, n_nodes]``
    #: ("blocks", "injected"), without ``size`` for samples the batch shares.
    block: Callable[[jax.Array, int], jax.Array] | None = None
    #: whether ``at``/``block`` give one draw for the whole batch (a shared
    #: key, or ``config.noise_samples`` not swept).
    shared: bool = False

    def inputs(self, start: jax.Array, rows: int) -> jax.Array | None:
        """The scan inputs of steps ``start .. start + rows - 1`` (None when
        the body draws them or the network is deterministic)."""
        return None if self.block is None else self.block(start, rows)


def noise_shape(network: Network, n_steps: int) -> tuple[int, int, int]:
    """``[n_steps, n_noise_states, n_nodes]``: the standard normals of a run."""
    return (n_steps, len(network.noise_index), network.n_nodes)


def noise_samples(network: Network, config: Config, n_steps: int) -> Any:
    """``config.noise_samples`` checked against :func:`noise_shape`: None when
    unset or when the network is deterministic. The one place it is read.

    Setting it replaces the draws of ``config.noise.key`` by these standard
    normals (step ``k`` takes row ``k``), e.g. to feed another simulator's
    noise into a cross-check.
    """
    if network.noise is None:
        return None
    samples = config.noise_samples
    shape = noise_shape(network, n_steps)
    if samples is not None and tuple(jnp.shape(samples)) != shape:
        raise ValueError(
            "config.noise_samples must have shape [n_steps, n_noise_states, "
            f"n_nodes] = {shape}, got {tuple(jnp.shape(samples))}; set it to "
            "None to draw from config.noise.key."
        )
    return samples


def shares_key(points: Points) -> bool:
    """Whether every point of the batch has the same noise key (a sweep
    that does not sweep the key): one draw of normals then serves them all."""
    return not points.varies(lambda config: config.noise.key)


def _steps_first(x: jax.Array) -> jax.Array:
    """``[size, n_steps, ...] -> [n_steps, size, ...]`` (scan over steps)."""
    return jnp.moveaxis(x, 0, 1)


def plan_noise(
    network: Network, points: Points, n_steps: int, dtype: Any, unroll: int
) -> NoisePlan:
    """The :class:`NoisePlan` of a solve of ``points``.

    Drawn one step ahead into the carry, a step's normals stay in cache and
    never fill a block: a delayed 64-point SupHopf sweep ran 25-35% faster
    than with blocks of 25 steps drawn at once (whose megabyte of normals
    pushed the delay history out of cache). Only where a row cannot be drawn
    alone (a key of another generator) is the run's draw made whole.
    """
    if network.noise is None:
        return NoisePlan("none")
    shape = noise_shape(network, n_steps)
    config = points.config
    # samples the batch shares (common random numbers, another simulator's
    # stream) stay one copy: broadcast, 16 runs of 600,000 steps of 80
    # nodes would turn 384 MB into 6 GB
    shared = not points.varies(lambda c: c.noise_samples)
    if shared:
        injected = noise_samples(network, config, n_steps)
    else:
        injected = _steps_first(
            points.map(lambda c: noise_samples(network, c, n_steps))
        )
    if injected is not None:
        if unroll > 1:

            def sliced(start: jax.Array, rows: int) -> jax.Array:
                return jax.lax.dynamic_slice_in_dim(injected, start, rows)

            return NoisePlan("injected", block=sliced, shared=shared)

        # read a row ahead into the carry, as drawn rows are: as scan inputs
        # (blocks of rows) a 16-point delayed gw run was 20% slower
        def row(k: jax.Array) -> jax.Array:
            return jax.lax.dynamic_index_in_dim(injected, k, keepdims=False)

        return NoisePlan("injected", at=row, shared=shared)
    if not blockwise(config.noise.key, shape, dtype):
        if config.start is not None:
            impl = jax.random.key_impl(config.noise.key)
            raise ValueError(
                "config.start continues a noisy run only with JAX's default "
                "threefry keys (jax.random.key(seed)), whose rows can be drawn "
                f"from any step on; got a key of {impl}."
            )
        # the fallback: one draw of the whole run, sliced a block at a time
        whole = _steps_first(
            points.map(lambda c: jax.random.normal(c.noise.key, shape, dtype))
        )

        def drawn(start: jax.Array, rows: int) -> jax.Array:
            return jax.lax.dynamic_slice_in_dim(whole, start, rows)

        return NoisePlan("blocks", block=drawn)

    def rows_of(config: Config, start: jax.Array, rows: int) -> jax.Array:
        # a continued run (config.start) draws on from the step it starts at
        start = offset_of(config) + start
        return rows_of_normal(config.noise.key, shape, start, rows, dtype)

    if unroll > 1:

        def block(start: jax.Array, rows: int) -> jax.Array:
            return _steps_first(points.map(partial(rows_of, start=start, rows=rows)))

        return NoisePlan("blocks", block=block)
    shared = shares_key(points) and not points.varies(_start_step)

    def at(k: jax.Array) -> jax.Array:
        def row(config: Config) -> jax.Array:
            return rows_of(config, k, 1)[0]

        return row(config) if shared else points.map(row)

    return NoisePlan("body", at=at, shared=shared)


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


def make_advance(
    network: Network,
    step: Step,
    t0: float,
    dt: float,
    n_steps: int,
    per_stage: bool = True,
) -> Advance:
    """One step of one point, ``advance(config, y, held, z_k, k) -> y_next``.

    Advances ``y`` ``[n_states, n_nodes]`` from ``t0 + k*dt`` by ``step``
    with the delayed couplings ``held`` and the stimuli of the step fixed for
    all its stages; ``z_k`` (None when deterministic) becomes the increment
    ``dW = g * sqrt(dt) * z_k`` (``g`` the noise's diffusion at ``y``). The
    new state is clamped into the dynamics' ``state_bounds``. With
    ``per_stage=False`` the instantaneous couplings too are evaluated once,
    at the step's start, and held for all its stages (TVB's convention).
    """
    dynamics = network.dynamics

    def advance(config, y, held, z_k, k):
        rhs = make_rhs(network, config, per_stage)
        if not per_stage:
            held = add_instant(network, config, dynamics.bound(y), held)
        drive_of = make_drive(network, config, n_steps)
        # the time of a continued run's step goes on from its config.start
        t = t0 + (offset_of(config) + k).astype(y.dtype) * dt
        drive = None if drive_of is None else drive_of(t, k).astype(y.dtype)
        dW = None
        if z_k is not None:
            x = take_states(y, network.noise_index)
            g = jnp.asarray(network.noise.diffusion(config.noise, x), y.dtype)
            dW = noise_increment(
                network, g * jnp.sqrt(jnp.asarray(dt, y.dtype)), z_k, y
            )
        y_next = step(lambda t_, y_: rhs(t_, y_, held, drive), t, y, dt, dW)
        return dynamics.bound(y_next)

    return advance


def make_body(
    network: Network,
    points: Points,
    step: Step,
    t0: float,
    dt: float,
    n_steps: int,
    unroll: int = 1,
    per_stage: bool = True,
    centroid: float = 0.0,
) -> tuple[Body, Carry, NoisePlan]:
    """The scan body of one step of a batch, its initial carry and the
    noise plan the loops follow.

    ``body(carry, z_k)`` holds the delayed couplings of step ``carry.k`` and
    advances every point; ``y`` is ``[size, n_states, n_nodes]``. The step's
    normals are the carry's ``z`` when the plan's source is "body" (drawn one
    step ahead), else the scan's input ``z_k`` ``[size, n_noise_states,
    n_nodes]`` (None when deterministic). It returns the new carry and the
    new states. ``centroid`` (the solver's ``stage_time_centroid``) shifts
    interpolated delayed reads (:mod:`._interpolated`).
    """
    advance = make_advance(network, step, t0, dt, n_steps, per_stage)
    check_start(network, points.config)
    y0 = points.map(partial(start_y, network))
    if interpolates(network):
        line = interpolated_line(network, points, dt, y0, centroid)
    else:
        line = delay_line(network, points, dt, y0)
    history0 = initial_history(points, line.init)
    noise = plan_noise(network, points, n_steps, y0.dtype, unroll)
    at = noise.at
    last = n_steps - 1  # the draw ahead of the last step is never used
    z_axis = None if noise.shared else 0

    def body(carry: Carry, z_k: jax.Array | None) -> tuple[Carry, jax.Array]:
        if at is not None:
            z_k = carry.z
        held, history = line.hold(carry.history, carry.y, carry.k)
        y = points.map(
            advance, carry.y, held, z_k, carry.k, arg_axes=(0, 0, z_axis, None)
        )
        z = () if at is None else at(jnp.minimum(carry.k + 1, last))
        return Carry(y, history, carry.k + 1, z), y

    k0 = jnp.zeros((), jnp.int32)
    return body, Carry(y0, history0, k0, () if at is None else at(k0)), noise


def _start_step(config: Config) -> Any:
    """The step a continued run starts at (``None`` for a fresh run)."""
    return None if config.start is None else config.start.step
