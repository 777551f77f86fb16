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
from sweepjax.network._observer import AbstractStepObserver
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
    ``warms`` see them), then the others in blocks of steps (at most about
    ``BLOCK_NUMBERS`` observed states per block, and a multiple of every
    recorded series' ``every``). Observers that fold one step at a time
    (:class:`AbstractStepObserver`: BOLD, ...) are updated inside the step
    loop, on the state just computed, unless ``checkpoint`` (a derivative's
    blocks keep them out of the recomputed steps); each block's observed
    states go to the others at once (``update_block``), and the recorded
    series' records of the block (``record_block``) are the scan's outputs,
    so a trajectory is never carried from block to block.
    """
    n_transient = observation.n_transient
    n_observed = n_steps - n_transient
    y0 = carry0.y  # [size, n_states, n_nodes]
    dtype = y0.dtype
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
    folds, records = [], []
    for name, index in indices.items():
        observer = observation.observers[name]
        monitor = isinstance(observer, AbstractMonitor)
        (records if monitor else folds).append((name, observer, index))
    # observers of one source (the FC and FCD of one BOLD) share its folds
    owner, folds = _owners(folds)
    accs = {
        name: jax.vmap(observer.init)(y0[:, _sel(index)])
        for name, observer, index in folds
    }
    in_step, by_block = [], []
    for fold in folds:
        one = not checkpoint and _one_at_a_time(fold[1])
        (in_step if one else by_block).append(fold)
    blocks = Blocks(by_block, records, y0.shape[1])
    n_kept = max(1, len(blocks.watched))
    largest = max(1, BLOCK_NUMBERS // (points.size * n_kept * y0.shape[-1]))
    multiple = math.lcm(1, *(observer.every for _, observer, _ in blocks.records))
    # blocks as long as the transient's where they can be (a block never
    # spans more of the run than it must)
    base = math.gcd(n_observed, n_transient)
    rows = _rows(base if base % multiple == 0 else n_observed, multiple, largest)
    if not blocks.folds and multiple == 1 and noise.block is None:
        # every state is kept anyway, or none: one block writes them where
        # they stay (blocks would copy each into the stacked output)
        rows = n_observed

    def steps(state: tuple, start: jax.Array, rows: int, observed: bool) -> tuple:
        """``rows`` steps from ``start``: the new ``(carry, in-step
        accumulators)`` and the kept states ``[rows, size, n_kept,
        n_nodes]`` (None when no block observer needs them)."""
        mine = [f for f in in_step if observed or f[1].warms]
        keep = bool(blocks.records or blocks.folds) and (
            observed or any(observer.warms for _, observer, _ in blocks.folds)
        )
        counts = None
        if observed and mine:
            first = (start - n_transient).astype(dtype)  # states folded so far
            counts = first + jnp.arange(1, rows + 1, dtype=dtype)

        def step(state: tuple, item: tuple) -> tuple:
            (carry, accs), (z_k, count) = state, item
            carry, y = body(carry, z_k)
            accs = dict(accs)
            for name, observer, index in mine:
                x = y[:, _sel(index)]
                if observed:
                    update = jax.vmap(observer.update, in_axes=(0, 0, None))
                    accs[name] = update(accs[name], x, count)
                else:
                    accs[name] = jax.vmap(observer.warm)(accs[name], x)
            return (carry, accs), blocks.kept(y) if keep else None

        xs = (noise.inputs(start, rows), counts)
        return scan_checkpointed(step, state, xs, rows, unroll, checkpoint)

    def observed_block(state: tuple[Carry, dict], start: jax.Array) -> tuple:
        carry, accs = state
        (carry, mine), xs = steps(
            (carry, {name: accs[name] for name, _, _ in in_step}), start, rows, True
        )
        count = (start - n_transient).astype(dtype)  # states folded before
        return (carry, {**accs, **mine, **blocks.fold(accs, xs, count)}), (
            blocks.record(xs)
        )

    carry = carry0
    if tangents:
        # their perturbations ride in the carry, moved by the step itself
        follows = [observer.follow() for _, observer in tangents]
        body, carry = follow(body, carry0, follows, n_transient)
    state = (carry, accs)
    if n_transient:
        # a forward run whose transient keeps no state runs it in one scan
        split = checkpoint or any(observer.warms for _, observer, _ in blocks.folds)
        t_rows = block_rows(n_transient, largest) if split else n_transient

        def transient_block(state: tuple[Carry, dict], start: jax.Array) -> tuple:
            carry, accs = state
            warming = {
                name: accs[name] for name, observer, _ in in_step if observer.warms
            }
            (carry, mine), xs = steps((carry, warming), start, t_rows, False)
            return (carry, {**accs, **mine, **blocks.warm(accs, xs)}), None

        transient = jax.checkpoint(transient_block) if checkpoint else transient_block
        state, _ = _blocks(transient, state, 0, n_transient, t_rows)
    block = jax.checkpoint(observed_block) if checkpoint else observed_block
    (carry, accs), outs = _blocks(block, state, n_transient, n_steps, rows)
    count = jnp.asarray(n_observed, dtype)
    results = {
        name: jax.vmap(observer.finalize, in_axes=(0, None))(accs[owns], count)
        for name, (observer, owns) in owner.items()
    }
    for (name, observer), perturbed in zip(
        tangents, carry.perturbed if tangents else (), strict=True
    ):
        results[name] = observer.result(perturbed)
    for name, _, _ in blocks.records:
        # [n_blocks, records per block, size, ...] -> [size, n_records, ...]
        out = outs[name]
        out = out.reshape(-1, *out.shape[2:])
        results[name] = jnp.moveaxis(out, 1, 0)
    results = {name: results[name] for name in observation.observers}
    return (results, carry) if with_carry else results


class Blocks:
    """The observers fed a block of states at a time: ``folds`` (their
    ``update_block``, and ``warm_block`` in the transient) and ``records``
    (the recorded series), each ``(name, observer, where its states sit in
    the kept ones)``; ``watched`` are the state variables kept."""

    def __init__(self, folds: list, records: list, n_states: int):
        self.watched = sorted(
            {i for _, _, index in folds + records for i in np.atleast_1d(index)}
        )
        place = {state: k for k, state in enumerate(self.watched)}

        def at(index: Any) -> Any:
            if isinstance(index, int):
                return place[index]
            return tuple(place[i] for i in index)

        self.folds = [(name, observer, at(index)) for name, observer, index in folds]
        self.records = [(name, observer, at(i)) for name, observer, i in records]
        self._every_state = self.watched == list(range(n_states))

    def kept(self, y: jax.Array) -> jax.Array:
        """The watched states of ``y`` ``[size, n_states, n_nodes]``."""
        return y if self._every_state else y[:, np.asarray(self.watched, int)]

    def fold(self, accs: dict, xs: jax.Array, count: jax.Array) -> dict:
        """The folds' accumulators after the block ``xs`` ``[rows, size,
        n_kept, n_nodes]``; ``count`` states were folded before it."""
        return {
            name: jax.vmap(observer.update_block, in_axes=(0, 1, None))(
                accs[name], xs[:, :, at], count
            )
            for name, observer, at in self.folds
        }

    def warm(self, accs: dict, xs: jax.Array) -> dict:
        """The warming folds' accumulators after the transient's block ``xs``."""
        return {
            name: jax.vmap(observer.warm_block, in_axes=(0, 1))(
                accs[name], xs[:, :, at]
            )
            for name, observer, at in self.folds
            if observer.warms
        }

    def record(self, xs: jax.Array) -> dict:
        """The records of the block ``xs``, by name."""
        return {
            name: observer.record_block(_pick(xs, at))
            for name, observer, at in self.records
        }


def _sel(index: Any) -> Any:
    """A state index as ``y[:, _sel(index)]`` takes it: an int, or an array."""
    return index if isinstance(index, int) else np.asarray(index, int)


def _one_at_a_time(observer: Any) -> bool:
    """Whether ``observer`` folds its states one step at a time (its block
    fold is a loop of ``update``): it can ride in the step loop."""
    return isinstance(_folded(observer), AbstractStepObserver)


def _blocks(block: Callable, state: Any, start: int, stop: int, rows: int) -> tuple:
    """``jax.lax.scan(block, state, jnp.arange(start, stop, rows))``; a
    single block is called as it is (no loop of one trip to trace and
    compile), its outputs given the scan's leading axis."""
    if stop - start > rows:
        return jax.lax.scan(block, state, jnp.arange(start, stop, rows))
    state, out = block(state, jnp.arange(start, stop, rows)[0])
    return state, jax.tree.map(lambda x: x[None], out)


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
