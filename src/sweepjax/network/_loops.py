"""The one loop of the native solvers: steps in blocks, observers fed a
block of states at a time.

:func:`observe_loop` runs every solve of :mod:`._integrate`, whatever it
saves: the recorded series (:class:`Raw`, :class:`SubSample`,
:class:`TemporalAverage`: each block's records are the scan's outputs) and
the observers that fold the states into an accumulator (moments, FC, BOLD,
...) are run alike, on the same steps with the same noise
(:class:`._body.NoisePlan`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from sweepjax.network._batching import Points
from sweepjax.network._body import Body, Carry, NoisePlan
from sweepjax.network._lyapunov import AbstractTangentObserver
from sweepjax.network._monitors import AbstractMonitor
from sweepjax.network._network import Network
from sweepjax.network._normals import block_rows
from sweepjax.network._observers import Observation
from sweepjax.network._of_series import AbstractOfSeries
from sweepjax.network._tangents import follow

#: Observed states per block of steps folded into the observers at once, for
#: a whole batch: small enough to stay in cache and keep a sweep's memory low
#: (2**20 ran no faster and held 16 MB more for a 64-point RWW chunk).
BLOCK_NUMBERS = 2**18

#: Checkpointed loops this long or shorter keep every step's residuals.
UNSPLIT_STEPS = 64


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
    ``sqrt(length)``. The loop also checkpoints its blocks, so a whole run
    keeps one carry per block. Loops of at most ``UNSPLIT_STEPS`` steps are
    not split: their residuals are small, and the split costs a forward run
    about 10% (nested loops).
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


def _rows(n_steps: int, multiple: int, largest: int) -> int:
    """Steps per block: a multiple of ``multiple`` dividing ``n_steps``, at
    most about ``largest``."""
    return multiple * block_rows(n_steps // multiple, max(1, largest // multiple))


def observe_loop(
    body: Body,
    carry0: Carry,
    noise: NoisePlan,
    network: Network,
    points: Points,
    n_steps: int,
    observation: Observation,
    unroll: int,
    checkpoint: bool,
    with_carry: bool = False,
) -> dict[str, Any] | tuple[dict[str, Any], Carry]:
    """The observers' results, each with a leading ``size`` axis (and,
    ``with_carry``, the last carry: where a continued run starts).

    The first ``n_transient`` steps are run unobserved (observers that
    ``warms`` see them through ``warm_block``), then the others in blocks of
    steps (at most about ``BLOCK_NUMBERS`` observed states per block, and a
    multiple of every recorded series' ``every``); each block's observed
    states go to the observers at once (``update_block``), and the recorded
    series' records of the block (``record_block``) are the scan's outputs,
    so a trajectory is never carried from block to block.
    """
    n_transient = observation.n_transient
    n_observed = n_steps - n_transient
    y0 = carry0.y  # [size, n_states, n_nodes]
    n_states = y0.shape[1]
    tangents = [
        (name, observer)
        for name, observer in observation.observers.items()
        if isinstance(observer, AbstractTangentObserver)
    ]  # they watch the step, not the states
    indices = {
        name: observer.index(network)
        for name, observer in observation.observers.items()
        if not isinstance(observer, AbstractTangentObserver)
    }
    # the states some observer watches, and where each observer's sit in them
    watched = sorted({i for index in indices.values() for i in np.atleast_1d(index)})
    every_state = watched == list(range(n_states))
    place = {state: k for k, state in enumerate(watched)}
    folds, records = [], []
    for name, index in indices.items():
        observer = observation.observers[name]
        at = place[index] if isinstance(index, int) else tuple(place[i] for i in index)
        if isinstance(observer, AbstractMonitor):
            records.append((name, observer, at))
        else:
            folds.append((name, observer, at))
    # observers of one source (the FC and FCD of one BOLD) share its folds
    owner, folds = _owners(folds)
    n_watched = max(1, len(watched))
    largest = max(1, BLOCK_NUMBERS // (points.size * n_watched * y0.shape[-1]))
    multiple = math.lcm(1, *(observer.every for _, observer, _ in records))
    # blocks as long as the transient's where they can be (a block never
    # spans more of the run than it must)
    base = math.gcd(n_observed, n_transient)
    rows = _rows(base if base % multiple == 0 else n_observed, multiple, largest)
    if not folds and multiple == 1 and noise.block is None:
        # every state is kept anyway: one block writes them where they stay
        # (blocks would copy each into the stacked output once more)
        rows = n_observed

    def watch(carry: Carry, z_k: Any) -> tuple[Carry, jax.Array]:
        carry, y = body(carry, z_k)
        return carry, y if every_state else y[:, np.asarray(watched, int)]

    def steps(carry: Carry, start: jax.Array, rows: int, fn: Body) -> tuple:
        return scan_checkpointed(
            fn, carry, noise.inputs(start, rows), rows, unroll, checkpoint
        )

    def observed_block(state: tuple[Carry, dict], start: jax.Array) -> tuple:
        carry, accs = state
        carry, xs = steps(carry, start, rows, watch)
        # xs: [rows, size, n_watched, n_nodes]
        count = (start - n_transient).astype(y0.dtype)  # states folded so far
        accs = {
            name: jax.vmap(observer.update_block, in_axes=(0, 1, None))(
                accs[name], xs[:, :, at], count
            )
            for name, observer, at in folds
        }
        out = {
            name: observer.record_block(_pick(xs, at)) for name, observer, at in records
        }
        return (carry, accs), out

    accs = {
        name: jax.vmap(observer.init)(y0[:, indices[name]])
        for name, observer, _ in folds
    }
    carry = carry0
    if tangents:
        # their perturbations ride in the carry, moved by the step itself
        follows = [observer.follow() for _, observer in tangents]
        body, carry = follow(body, carry0, follows, n_transient)
    if n_transient:
        carry, accs = _transient(
            steps, watch, body, carry, accs, folds, n_transient, largest, checkpoint
        )
    block = jax.checkpoint(observed_block) if checkpoint else observed_block
    (carry, accs), outs = jax.lax.scan(
        block, (carry, accs), jnp.arange(n_transient, n_steps, rows)
    )
    count = jnp.asarray(n_observed, y0.dtype)
    results = {
        name: jax.vmap(observer.finalize, in_axes=(0, None))(accs[owns], count)
        for name, (observer, owns) in owner.items()
    }
    for (name, observer), perturbed in zip(
        tangents, carry.perturbed if tangents else (), strict=True
    ):
        results[name] = observer.result(perturbed)
    for name, _, _ in records:
        # [n_blocks, records per block, size, ...] -> [size, n_records, ...]
        out = outs[name]
        out = out.reshape(-1, *out.shape[2:])
        results[name] = jnp.moveaxis(out, 1, 0)
    results = {name: results[name] for name in observation.observers}
    return (results, carry) if with_carry else results


def _folded(observer: Any) -> Any:
    """What ``observer`` folds: its source's accumulator, or its own."""
    return observer.source if isinstance(observer, AbstractOfSeries) else observer


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    try:
        return bool(eqx.tree_equal(a, b))
    except (TypeError, ValueError):  # leaves that do not compare
        return False


def _owners(folds: list) -> tuple[dict, list]:
    """``({name: (observer, owner)}, folds to run)``: observers that fold the
    same thing (equal sources on the same states) read the accumulator of
    the first of them, ``owner``, so it is updated once per step."""
    owner, kept = {}, []
    for name, observer, at in folds:
        first = next(
            (
                other
                for other, o, a in kept
                if a == at and _same(_folded(o), _folded(observer))
            ),
            None,
        )
        if first is None:
            kept.append((name, observer, at))
        owner[name] = (observer, name if first is None else first)
    return owner, kept


def _pick(xs: jax.Array, at: Any) -> jax.Array:
    """``xs[:, :, at]``, without a copy when ``at`` is every watched state."""
    return xs if at == tuple(range(xs.shape[2])) else xs[:, :, at]


def _transient(steps, watch, body, carry, accs, folds, n_transient, largest, ckpt):
    """``(carry, accs)`` after the unobserved first ``n_transient`` steps.

    Observers that ``warms`` see the transient's states (``warm_block``); with
    none, no state leaves the steps."""
    rows = block_rows(n_transient, largest)
    warming = [(name, observer, at) for name, observer, at in folds if observer.warms]

    def unobserved(carry: Carry, z_k: Any) -> tuple[Carry, None]:
        return body(carry, z_k)[0], None

    def block(state: tuple[Carry, dict], start: jax.Array) -> tuple:
        carry, accs = state
        if not warming:
            return (steps(carry, start, rows, unobserved)[0], accs), None
        carry, xs = steps(carry, start, rows, watch)
        accs = dict(accs)
        for name, observer, at in warming:
            accs[name] = jax.vmap(observer.warm_block, in_axes=(0, 1))(
                accs[name], xs[:, :, at]
            )
        return (carry, accs), None

    block = jax.checkpoint(block) if ckpt else block
    state, _ = jax.lax.scan(block, (carry, accs), jnp.arange(0, n_transient, rows))
    return state
