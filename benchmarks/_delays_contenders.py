"""The hand-written JAX contenders of ``delays.py`` and what they share with it.

``naive`` (:func:`run_naive`): the obvious ``jax.jit(jax.vmap(scan))`` with a
per-point ring buffer. ``best`` (:func:`run_best`): one scan over the batch
with the history as ``[slots * nodes, 2, batch]`` (batch innermost), one
gather and one segment sum. Both draw exactly sweepjax's noise, so
``delays.py`` checks that they return sweepjax's numbers. The constants and
the point order (:func:`points`) are the benchmark's, shared with its
sweepjax contender.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

DT = 0.1
SPEED = 8.0  # mm/ms
A, OMEGA, SIGMA = -0.5, 1.0, 0.02
G_RANGE = (0.0, 0.5)


def delays_at(lengths: np.ndarray, speed: float) -> np.ndarray:
    """Delays (ms) in float32, the values sweepjax's config holds, so every
    contender rounds the same numbers to steps."""
    return (lengths / speed).astype(np.float32)


def delay_steps(delays):
    """``rint(delay / dt)`` in float32, as sweepjax computes it."""
    return jnp.rint(jnp.asarray(delays, jnp.float32) / DT).astype(jnp.int32)


def points(s: dict):
    """``(G, speed, key)`` of every point, in sweepjax's product order."""
    Gs = np.linspace(*G_RANGE, s["n_g"])
    speeds = np.linspace(SPEED, 2 * SPEED, s["n_speeds"])
    key = jax.random.key(0)  # the network's own key when seeds are not swept
    keys = jax.random.split(key, s["n_seeds"]) if s["n_seeds"] > 1 else key[None]
    G = np.repeat(Gs, s["n_speeds"] * s["n_seeds"])
    speed = np.tile(np.repeat(speeds, s["n_seeds"]), s["n_g"])
    key = jnp.tile(keys, s["n_g"] * s["n_speeds"])
    return Gs, speeds, keys, G, speed, key


def stats(ys):
    """Mean and std over time of x per node, from ``[n_records, 2, n]``."""
    return {"mean_x": ys[:, 0].mean(0), "std_x": ys[:, 0].std(0)}


def compiled(fn, *args):
    """``run()`` of ``jax.jit(fn)(*args)`` compiled ahead, outputs on the host."""
    call = jax.jit(fn).lower(*args).compile()
    return lambda: {k: np.asarray(v) for k, v in call(*args).items()}


def _hopf(x, y, cx, cy, G):
    r = A - x * x - y * y
    return r * x - OMEGA * y + G * cx, r * y + OMEGA * x + G * cy


def _heun(x, y, cx, cy, G, dW):
    """One stochastic Heun step (TVB's scheme) of the coupled Hopf nodes."""
    dx, dy = _hopf(x, y, cx, cy, G)
    xp, yp = x + DT * dx + dW[0], y + DT * dy + dW[1]
    dx2, dy2 = _hopf(xp, yp, cx, cy, G)
    return x + 0.5 * DT * (dx + dx2) + dW[0], y + 0.5 * DT * (dy + dy2) + dW[1]


def _noise(key, shape, block):
    """sweepjax's normals of one point: the whole run (``block`` None, every
    step recorded) or block ``block`` of a subsampled run."""
    if block is None:
        return jax.random.normal(key, shape)
    return jax.random.normal(jax.random.fold_in(key, block), shape)


def scan_recorded(step, carry, n_steps, every, draw):
    """``lax.scan`` of ``step`` recording the state after every ``every``-th
    step; ``draw(block)`` is the noise of a block (of the run for ``every=1``),
    drawn inside the loop so that only one block is ever held."""
    if every == 1:
        return jax.lax.scan(step, carry, draw(None))[1]

    def block(carry, b):
        carry, ys = jax.lax.scan(step, carry, draw(b))
        return carry, ys[-1]

    blocks = jnp.arange(n_steps // every, dtype=jnp.uint32)
    return jax.lax.scan(block, carry, blocks)[1]


def run_naive(s: dict, name: str):
    """jit(vmap(scan)) with a per-point ring buffer ``[slots, 2, n]``."""
    weights = s["weights"]
    n = weights.shape[0]
    n_steps, every = int(round(s["t1"] / DT)), s["every"]
    targets, sources = np.nonzero(weights)
    w = jnp.asarray(weights[targets, sources], jnp.float32)
    max_steps = int(np.ceil((s["lengths"] / SPEED).max() / DT))
    H = max_steps + 1
    sq = SIGMA * np.sqrt(DT)

    def simulate(G, delays, key):
        d = delay_steps(delays[targets, sources])

        def step(carry, z_k):
            x, y, hist, k = carry
            hist = hist.at[k % H].set(jnp.stack([x, y]))
            slot = (k - d) % H
            cx = jax.ops.segment_sum(w * hist[slot, 0, sources], targets, n)
            cy = jax.ops.segment_sum(w * hist[slot, 1, sources], targets, n)
            x, y = _heun(x, y, cx, cy, G, sq * z_k)
            return (x, y, hist, k + 1), jnp.stack([x, y])

        x0 = jnp.full(n, 0.1)
        hist0 = jnp.full((H, 2, n), 0.1)
        shape = (n_steps if every == 1 else every, 2, n)
        ys = scan_recorded(
            step, (x0, x0, hist0, 0), n_steps, every, partial(_noise, key, shape)
        )
        return stats(ys)

    *_, G, speed, key = points(s)
    delays = np.stack([delays_at(s["lengths"], v) for v in speed])
    return compiled(jax.vmap(simulate), jnp.asarray(G, jnp.float32), delays, key)


def run_best(s: dict, name: str):
    """One scan over the batch: history ``[slots * n, 2, batch]``, batch
    innermost; each edge reads a contiguous ``[2, batch]`` block."""
    weights = s["weights"]
    n = weights.shape[0]
    n_steps, every = int(round(s["t1"] / DT)), s["every"]
    targets, sources = (a.astype(np.int32) for a in np.nonzero(weights))
    w = jnp.asarray(weights[targets, sources], jnp.float32)[:, None, None]
    d = delay_steps(delays_at(s["lengths"], SPEED)[targets, sources])
    H = int(np.ceil((s["lengths"] / SPEED).max() / DT)) + 1
    sq = SIGMA * np.sqrt(DT)

    def sweep(G, key):
        size = G.shape[0]
        shape = (n_steps if every == 1 else every, 2, n)

        def draw(block):  # [steps, 2, n, size]
            z = jax.vmap(lambda k: _noise(k, shape, block))(key)
            return jnp.moveaxis(z, 0, -1)

        def step(carry, z_k):
            x, y, hist, k = carry  # x, y: [n, size]
            slot = (k % H) * n
            hist = jax.lax.dynamic_update_slice_in_dim(
                hist, jnp.stack([x, y], 1), slot, 0
            )
            rows = ((k - d) % H) * n + sources
            arriving = hist.at[rows].get(mode="promise_in_bounds") * w
            c = jax.ops.segment_sum(arriving, targets, n, indices_are_sorted=True)
            cx, cy = c[:, 0], c[:, 1]
            x, y = _heun(x, y, cx, cy, G, sq * z_k)
            return (x, y, hist, k + 1), jnp.stack([x, y])

        x0 = jnp.full((n, size), 0.1)
        hist0 = jnp.full((H * n, 2, size), 0.1)
        ys = scan_recorded(step, (x0, x0, hist0, 0), n_steps, every, draw)
        return {"mean_x": ys[:, 0].mean(0).T, "std_x": ys[:, 0].std(0).T}

    *_, G, _, key = points(s)
    return compiled(sweep, jnp.asarray(G, jnp.float32), key)
