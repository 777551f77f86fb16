"""The native fixed-step integrator: a solver's ``step`` in one ``lax.scan``.

One solve integrates a batch of points (:class:`Points`; one point unless
``jax.vmap`` hands it a batch): the scan body (:func:`make_body`: hold the
delayed couplings of the batch, then per point turn the step's noise draw
into an increment and call the solver's ``step``), the noise draws (each
step's drawn one step ahead inside the loop, :func:`loop_normals`, or in
blocks of steps when the loop is unrolled: :func:`step_noise`) and one of
three loops: every step recorded (:func:`scan_steps`), a monitor reducing
each block of ``every`` steps (:func:`scan_blocks`) or observers folding
blocks of states (:func:`scan_observed`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._config import Config
from sweepjax.network._batching import Points, batch_aware
from sweepjax.network._delays import delay_line, shares_layout
from sweepjax.network._layout import initial_state_of
from sweepjax.network._monitors import AbstractMonitor, Raw
from sweepjax.network._network import Network
from sweepjax.network._normals import block_rows, blockwise, normal, rows_of_normal
from sweepjax.network._observers import Observation
from sweepjax.network._rhs import make_drive, make_rhs, take_states
from sweepjax.network._solution import Solution, SolveFn

#: Observed states per block of steps folded into the observers at once, for
#: a whole batch: small enough to stay in cache and keep a sweep's memory low
#: (2**20 ran no faster and held 16 MB more for a 64-point RWW chunk).
BLOCK_NUMBERS = 2**18

#: Checkpointed loops this long or shorter keep every step's residuals.
UNSPLIT_STEPS = 64

#: ``f(t, y) -> dy/dt`` as a solver's step sees it (delays already held).
Derivative = Callable[[jax.Array, jax.Array], jax.Array]
#: ``step(f, t, y, dt, dW) -> y_next``: one step of a fixed-step scheme.
Step = Callable[[Derivative, jax.Array, jax.Array, float, jax.Array | None], jax.Array]
#: ``advance(config, y, held, z_k, k) -> y_next``: one step of one point.
Advance = Callable[..., jax.Array]
#: The scan carry ``(y, delay history, k, z)`` of a batch: states, buffer,
#: step, and the normals of step ``k`` drawn ahead (``()`` when the noise
#: comes as the scan's inputs or the network is deterministic).
Carry = tuple[jax.Array, Any, jax.Array, Any]
#: ``at(k) -> z_k``: the normals of step ``k`` of every point,
#: ``[size, n_noise_states, n_nodes]``.
NormalsAt = Callable[[jax.Array], jax.Array]
#: ``body(carry, z_k) -> (carry, y)``: one step of every point of a batch.
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


def make_advance(
    network: Network, step: Step, t0: float, dt: float, n_steps: int
) -> Advance:
    """One step of one point, ``advance(config, y, held, z_k, k) -> y_next``.

    Advances ``y`` ``[n_states, n_nodes]`` from ``t0 + k*dt`` by ``step``
    with the delayed couplings ``held`` and the stimuli of the step fixed for
    all its stages; ``z_k`` (None when deterministic) becomes the increment
    ``dW = g * sqrt(dt) * z_k`` (``g`` the noise's diffusion at ``y``). The
    new state is clamped into the dynamics' ``state_bounds``.
    """
    dynamics = network.dynamics

    def advance(config, y, held, z_k, k):
        rhs = make_rhs(network, config)
        drive_of = make_drive(network, config, n_steps)
        t = t0 + k.astype(y.dtype) * dt
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


def loop_normals(
    network: Network, points: Points, n_steps: int, dtype: Any, every: int | None
) -> NormalsAt | None:
    """``at(k)``, drawing step ``k``'s normals on their own inside the loop,
    or None where the noise must come as the scan's inputs (deterministic
    networks, injected samples, a generator that cannot draw rows on their
    own: :func:`blockwise`).

    ``every`` None: the run's noise is ``jax.random.normal(key, (n_steps,
    ...))``, step ``k`` its row ``k``. Else the noise of block ``b`` of
    ``every`` steps is drawn from ``fold_in(key, b)`` (decimating
    monitors), step ``k`` row ``k % every`` of block ``k // every``.

    ``at(k)`` is ``[size, n_noise_states, n_nodes]``, or, when every point
    has the same key (:func:`shares_key`), the one draw they share,
    ``[n_noise_states, n_nodes]``: drawn once, not broadcast to the batch
    and copied through the carry every step.

    Drawn one step ahead into the carry (:func:`make_body`), the step's
    normals stay in cache and never fill a block: a delayed 64-point
    SupHopf sweep ran 25-35% faster than with blocks of 25 steps drawn at
    once (whose megabyte of normals pushed the delay history out of cache).
    """
    if network.noise is None or points.config._internal.noise_samples is not None:
        return None
    shape = noise_shape(network, n_steps if every is None else every)
    if not blockwise(points.config.noise.key, shape, dtype):
        return None

    def at(k: jax.Array) -> jax.Array:
        def draw(config: Config) -> jax.Array:
            if every is None:
                key, row = config.noise.key, k
            else:
                key, row = jax.random.fold_in(config.noise.key, k // every), k % every
            return rows_of_normal(key, shape, row, 1, dtype)[0]

        return draw(points.config) if shares_key(points) else points.map(draw)

    return at


def shares_key(points: Points) -> bool:
    """Whether every point of the batch has the same noise key (a sweep
    that does not sweep the key): one draw of normals then serves them all."""
    return not points.varies(lambda config: config.noise.key)


def make_body(
    network: Network,
    points: Points,
    step: Step,
    t0: float,
    dt: float,
    n_steps: int,
    every: int | None = None,
    draw_in_body: bool = True,
) -> tuple[Body, Carry]:
    """The scan body of one step of a batch and its initial carry.

    ``body((y, history, k, z), z_k)`` holds the delayed couplings of step
    ``k`` and advances every point; ``y`` is ``[size, n_states, n_nodes]``.
    The step's normals are the carry's ``z``, drawn one step ahead
    (:func:`loop_normals`, ``every`` as there), or with ``draw_in_body``
    False or where that cannot be, the scan's input ``z_k`` ``[size,
    n_noise_states, n_nodes]`` (None when deterministic). It returns the new
    carry and the new states.
    """
    advance = make_advance(network, step, t0, dt, n_steps)
    y0 = points.map(partial(initial_state_of, network))
    line = delay_line(network, points, dt, y0)
    at = (
        loop_normals(network, points, n_steps, y0.dtype, every)
        if draw_in_body
        else None
    )
    last = n_steps - 1  # the draw ahead of the last step is never used
    z_axis = None if at is not None and shares_key(points) else 0

    def body(carry: Carry, z_k: jax.Array | None) -> tuple[Carry, jax.Array]:
        y, history, k, z = carry
        if at is not None:
            z_k = z
        held, history = line.hold(history, y, k)
        y = points.map(advance, y, held, z_k, k, arg_axes=(0, 0, z_axis, None))
        z = () if at is None else at(jnp.minimum(k + 1, last))
        return (y, history, k + 1, z), y

    k0 = jnp.zeros((), jnp.int32)
    return body, (y0, line.init, k0, () if at is None else at(k0))


def _steps_first(x: jax.Array) -> jax.Array:
    """``[size, n_steps, ...] -> [n_steps, size, ...]`` (scan over steps)."""
    return jnp.moveaxis(x, 0, 1)


def scan_checkpointed(
    step: Callable[[Any, Any], tuple[Any, Any]],
    carry: Any,
    xs: Any,
    length: int,
    unroll: int,
    checkpoint: bool,
) -> tuple[Any, Any]:
    """``jax.lax.scan(step, carry, xs, length)``; with ``checkpoint``, in
    sub-blocks of about ``sqrt(length)`` steps under ``jax.checkpoint``.

    A forward run computes the same thing either way. A gradient then keeps
    one carry per sub-block and recomputes each sub-block's steps when it
    needs them, instead of keeping every step's residuals: memory grows as
    ``sqrt(length)``. The callers also checkpoint their blocks of these
    loops, so a whole run keeps one carry per block. Loops of at most
    ``UNSPLIT_STEPS`` steps are not split: their residuals are small, and
    the split costs a forward run about 10% (nested loops).
    """
    sub = block_rows(length, math.isqrt(length))
    if not checkpoint or length <= UNSPLIT_STEPS or sub < 4:
        return jax.lax.scan(step, carry, xs, length=length, unroll=unroll)
    n_sub = length // sub

    @jax.checkpoint
    def sub_block(carry: Any, x: Any) -> tuple[Any, Any]:
        return jax.lax.scan(step, carry, x, length=sub, unroll=unroll)

    split = jax.tree.map(lambda x: x.reshape(n_sub, sub, *x.shape[1:]), xs)
    carry, ys = jax.lax.scan(sub_block, carry, split, length=n_sub)
    return carry, jax.tree.map(lambda y: y.reshape(length, *y.shape[2:]), ys)


#: ``draw(start) -> z``: the normals of steps ``start .. start + rows - 1``
#: of every point, ``[rows, size, n_noise_states, n_nodes]`` (None when
#: deterministic or drawn by the body: :func:`loop_normals`).
Draw = Callable[[jax.Array], jax.Array | None]


def drawn_in_body(carry: Carry) -> bool:
    """Whether the body draws each step's normals (the carry holds them)."""
    return isinstance(carry[3], jax.Array)


def step_noise(
    network: Network, points: Points, n_steps: int, carry0: Carry, period: int
) -> tuple[Draw, int]:
    """``(draw, rows)``: a run's noise as the scan's inputs, a block of
    ``rows`` steps at a time, ``rows`` dividing ``period`` (which divides
    ``n_steps``); ``draw`` gives None when the body draws each step's
    normals itself (the carry holds them: :func:`loop_normals`) or the
    network is deterministic.

    The noise of each point ``[n_steps, n_noise_states, n_nodes]`` is its
    injected samples or ``jax.random.normal`` of its ``config.noise.key``;
    the latter is drawn a block at a time inside the loop when the
    generator allows it (:mod:`._normals`): the same numbers without holding
    every step's. Otherwise it is drawn whole and sliced.
    """
    if network.noise is None or drawn_in_body(carry0):
        return (lambda start: None), period
    shape = noise_shape(network, n_steps)
    dtype = carry0[0].dtype
    config = points.config
    per_step = points.size * math.prod(shape[1:])
    rows = block_rows(period, max(1, BLOCK_NUMBERS // per_step))
    if (
        config._internal.noise_samples is None
        and blockwise(config.noise.key, shape, dtype)
        and (rows >= 8 or rows == period)
    ):

        def draw_rows(start: jax.Array) -> jax.Array:
            def draw(config):
                return rows_of_normal(config.noise.key, shape, start, rows, dtype)

            return _steps_first(points.map(draw))

        return draw_rows, rows

    def draw(config):
        z = injected_noise(network, config, n_steps)
        return jax.random.normal(config.noise.key, shape, dtype) if z is None else z

    z = _steps_first(points.map(draw))
    return (lambda start: jax.lax.dynamic_slice_in_dim(z, start, period)), period


def scan_rows(
    step: Callable[[Any, Any], tuple[Any, Any]],
    carry: Any,
    draw: Draw,
    rows: int,
    first: int,
    last: int,
    unroll: int,
    checkpoint: bool,
) -> tuple[Any, Any]:
    """``step`` over steps ``first .. last - 1`` in blocks of ``rows``, each
    block's noise drawn by ``draw``; outputs ``[n_blocks, rows, ...]``.
    ``checkpoint``: see :func:`scan_checkpointed`."""

    def block(carry: Any, start: jax.Array) -> tuple[Any, Any]:
        return scan_checkpointed(step, carry, draw(start), rows, unroll, checkpoint)

    if checkpoint:
        block = jax.checkpoint(block)
    return jax.lax.scan(block, carry, jnp.arange(first, last, rows))


def scan_steps(
    body: Body,
    carry0: Carry,
    network: Network,
    points: Points,
    n_steps: int,
    unroll: int,
    checkpoint: bool,
) -> jax.Array:
    """Every state, ``[size, n_steps, n_states, n_nodes]`` (noise:
    :func:`step_noise`)."""
    draw, rows = step_noise(network, points, n_steps, carry0, n_steps)
    _, ys = scan_rows(body, carry0, draw, rows, 0, n_steps, unroll, checkpoint)
    ys = jnp.reshape(ys, (n_steps, *ys.shape[2:]))  # [n_steps, size, ...]
    return jnp.moveaxis(ys, 1, 0)


def scan_observed(
    body: Body,
    carry0: Carry,
    network: Network,
    points: Points,
    n_steps: int,
    observation: Observation,
    unroll: int,
    checkpoint: bool,
) -> dict[str, Any]:
    """The observers' results, each with a leading ``size`` axis; no
    trajectory is recorded.

    The loop runs in blocks of steps (at most about ``BLOCK_NUMBERS``
    observed states per block, like the noise); each block's observed
    states are handed to the observers at once (``update_block``). The first
    ``n_transient`` steps are not observed (observers that ``warms`` see
    them through ``warm_block``). The noise is that of an unobserved solve
    (:func:`step_noise`), so the results equal the observers' summaries of
    ``scan_steps``' trajectory.
    """
    n_transient = observation.n_transient
    y0 = carry0[0]  # [size, n_states, n_nodes]
    # the states some observer watches, and where each observer's sit in them
    watched = sorted(
        {i for index in observation.indices.values() for i in np.atleast_1d(index)}
    )
    place = {state: k for k, state in enumerate(watched)}
    items = []
    for name, observer in observation.observers.items():
        index = observation.indices[name]
        if isinstance(index, int):
            items.append((name, observer, place[index]))
        else:
            items.append((name, observer, tuple(place[i] for i in index)))
    largest = max(1, BLOCK_NUMBERS // (points.size * len(watched) * y0.shape[-1]))
    period = block_rows(math.gcd(n_transient, n_steps), largest)
    draw, rows = step_noise(network, points, n_steps, carry0, period)

    def watch(carry: Carry, z_k: Any) -> tuple[Carry, jax.Array]:
        carry, y = body(carry, z_k)
        return carry, y[:, np.asarray(watched)]

    def run_block(state: tuple[Carry, dict], start: jax.Array, fold: Any) -> tuple:
        carry, accs = state
        carry, xs = scan_checkpointed(
            watch, carry, draw(start), rows, unroll, checkpoint
        )
        # xs: [rows, size, n_watched, n_nodes]
        return (carry, fold(accs, xs, start)), None

    def blocks(fold: Any) -> Callable:
        run = partial(run_block, fold=fold)
        return jax.checkpoint(run) if checkpoint else run

    def warm(accs: dict, xs: jax.Array, start: jax.Array) -> dict:
        return {
            name: jax.vmap(observer.warm_block, in_axes=(0, 1))(
                accs[name], xs[:, :, index]
            )
            if observer.warms
            else accs[name]
            for name, observer, index in items
        }

    def update(accs: dict, xs: jax.Array, start: jax.Array) -> dict:
        count = (start - n_transient).astype(y0.dtype)  # states folded so far
        return {
            name: jax.vmap(observer.update_block, in_axes=(0, 1, None))(
                accs[name], xs[:, :, index], count
            )
            for name, observer, index in items
        }

    accs = {
        name: jax.vmap(observer.init)(y0[:, observation.indices[name]])
        for name, observer, _ in items
    }
    state = (carry0, accs)
    # no transient: no loop for it (one traced and compiled for zero steps
    # would cost as much as the observed loop's)
    if n_transient and any(observer.warms for _, observer, _ in items):
        state, _ = jax.lax.scan(blocks(warm), state, jnp.arange(0, n_transient, rows))
    elif n_transient:

        def unobserved(carry: Carry, z_k: Any) -> tuple[Carry, None]:
            return body(carry, z_k)[0], None

        carry, _ = scan_rows(
            unobserved, carry0, draw, rows, 0, n_transient, unroll, checkpoint
        )
        state = (carry, accs)
    state, _ = jax.lax.scan(
        blocks(update), state, jnp.arange(n_transient, n_steps, rows)
    )
    count = jnp.asarray(n_steps - n_transient, y0.dtype)
    return {
        name: jax.vmap(observer.finalize, in_axes=(0, None))(state[1][name], count)
        for name, observer, _ in items
    }


def scan_blocks(
    body: Body,
    carry0: Carry,
    network: Network,
    points: Points,
    monitor: AbstractMonitor,
    n_steps: int,
    unroll: int,
    checkpoint: bool,
) -> jax.Array:
    """One record per block of ``monitor.every`` steps,
    ``[size, n_steps // every, n_states, n_nodes]``.

    An outer scan over blocks runs an inner scan of ``every`` steps that
    folds each state into the monitor's accumulator. The noise of block ``b``
    ``[every, n_noise_states, n_nodes]`` is its slice of the injected samples
    or a draw from ``fold_in(config.noise.key, b)`` (each step's row drawn
    in the body where the generator allows it: :func:`loop_normals`), so the
    whole run's noise is never held.
    """
    every = monitor.every
    n_records = n_steps // every
    noisy = network.noise is not None
    shape = noise_shape(network, every) if noisy else None
    injected = None
    if noisy and points.config._internal.noise_samples is not None:
        samples = points.map(lambda config: injected_noise(network, config, n_steps))
        # [size, n_steps, ...] -> [n_records, every, size, ...]
        blocks = jnp.reshape(samples, (points.size, n_records, every, *shape[1:]))
        injected = jnp.moveaxis(blocks, 0, 2)

    def block(carry: Carry, xs: tuple[jax.Array, Any]) -> tuple[Carry, jax.Array]:
        index, z = xs
        if noisy and z is None and not drawn_in_body(carry):

            def draw(config):
                key = jax.random.fold_in(config.noise.key, index)
                return normal(key, shape, carry[0].dtype)

            z = _steps_first(points.map(draw))

        def inner(c, z_k):
            state, acc = c
            state, y = body(state, z_k)
            return (state, jax.vmap(monitor.update)(acc, y)), None

        init = (carry, jax.vmap(monitor.init)(carry[0]))
        (carry, acc), _ = scan_checkpointed(inner, init, z, every, unroll, checkpoint)
        return carry, jax.vmap(monitor.finalize)(acc)

    xs = (jnp.arange(n_records, dtype=jnp.uint32), injected)
    _, ys = jax.lax.scan(jax.checkpoint(block) if checkpoint else block, carry0, xs)
    return jnp.moveaxis(ys, 1, 0)


def integrate(
    network: Network,
    step: Step,
    t0: float,
    dt: float,
    n_steps: int,
    monitor: AbstractMonitor,
    unroll: int,
    observation: Observation | None = None,
    checkpoint: bool = True,
) -> SolveFn:
    """``solve(config) -> Solution``: ``n_steps`` steps of ``step`` from ``t0``.

    ``Solution.ys`` is ``[n_steps // monitor.every, n_states, n_nodes]``:
    every state for :class:`Raw`, else one monitor record per block. With an
    ``observation`` nothing is recorded (``ys`` has no rows) and
    ``Solution.observed`` holds the observers' results.
    ``unroll`` is the steps per ``lax.scan`` iteration (speed only);
    ``checkpoint`` bounds a gradient's memory (:func:`scan_checkpointed`): a
    derivative goes through the checkpointed loops, a forward run through
    plain ones (the split into checkpointed blocks cost a forward RWW sweep
    20-25%), the same numbers either way. Under ``jax.vmap`` the points of
    the batch share one delay history (:mod:`._batching`).

    >>> solve = integrate(network, Heun().step, 0.0, 0.1, 50, Raw(), 1)
    >>> solve(make_config(network)).ys.shape      # [50, n_states, n_nodes]
    (50, 1, 4)
    """
    ts_host = monitor.times(t0, dt, n_steps // monitor.every)
    every_step = type(monitor) is Raw  # decimating monitors draw noise per block

    def run(points: Points, checkpoint: bool) -> Solution:
        every = None if every_step or observation is not None else monitor.every
        # an unrolled loop fuses a carried draw into the next steps' arithmetic
        # and recomputes it there (4-6x slower): it takes its noise in blocks
        body, carry0 = make_body(
            network, points, step, t0, dt, n_steps, every, draw_in_body=unroll == 1
        )
        if observation is not None:
            observed = scan_observed(
                body, carry0, network, points, n_steps, observation, unroll, checkpoint
            )
            y = carry0[0]
            ys = jnp.zeros((points.size, 0, *y.shape[1:]), y.dtype)
            return Solution(jnp.zeros((0,), y.dtype), ys, observed)
        if every_step:
            ys = scan_steps(body, carry0, network, points, n_steps, unroll, checkpoint)
        else:
            ys = scan_blocks(
                body, carry0, network, points, monitor, n_steps, unroll, checkpoint
            )
        return Solution(jnp.asarray(ts_host, ys.dtype), ys)

    return batch_aware(
        partial(run, checkpoint=False),
        partial(shares_layout, network),
        partial(run, checkpoint=checkpoint),
    )
