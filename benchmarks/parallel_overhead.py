"""Executor overhead against hand-written JAX, measured in one run.

1. ParallelExecution vs `jax.jit(jax.vmap(model))` on a 68-node noisy rate
   model (256 points, 2,000 Heun steps): cold (compilation included) and warm
   ratios, baseline time / sweepjax time (1.0 = no overhead). Warm is a second
   `run()` of the same executor: nothing is traced or sent again.
2. SequentialExecution's cost per point beyond the model call (10^4 points,
   trivial model).
3. Peak RSS of a 2x10^5-point sweep returning 64 floats per point with
   n_vmap=1024, measured in a fresh subprocess, against the results' size.

    python benchmarks/parallel_overhead.py [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from _common import best_of, interleaved_best, timed, verdict

from sweepjax import (
    GridAxis,
    LogGridAxis,
    ParallelExecution,
    SequentialExecution,
    Space,
)

N_NODES = 68


def rate_model(params: dict, weights: jax.Array, n_steps: int, dt: float = 0.1):
    """Noisy firing-rate network, Heun-integrated: mean and std of activity."""
    noise = jax.random.normal(jax.random.key(0), (n_steps, N_NODES))
    dw = params["sigma"] * jnp.sqrt(dt) * noise

    def f(x):
        return (-x + jnp.tanh(params["G"] * weights @ x + 0.3)) / 10.0

    def step(x, dw_k):
        k1 = f(x)
        k2 = f(x + dt * k1 + dw_k)
        x = x + dt / 2 * (k1 + k2) + dw_k
        return x, x.mean()

    _, means = jax.lax.scan(step, jnp.full(N_NODES, 0.1), dw)
    return {"mean": means.mean(), "std": means.std()}


def compare_parallel(n_steps: int, n_points: tuple[int, int]) -> dict:
    weights = jax.random.uniform(jax.random.key(1), (N_NODES, N_NODES)) / N_NODES
    state = {
        "G": GridAxis(0.1, 2.0, n_points[0]),
        "sigma": LogGridAxis(1e-4, 1e-2, n_points[1]),
    }
    space = Space(state, mode="product")
    n = len(space)

    # Hand-written baseline: every point's parameters as arrays, one jit(vmap).
    batch = space.gather(np.arange(n))
    batch = {k: jnp.asarray(v) for k, v in batch.items()}

    def baseline_cold():
        fn = jax.jit(jax.vmap(lambda p: rate_model(p, weights, n_steps)))
        return fn, jax.block_until_ready(fn(batch))

    def ours_cold():
        ex = ParallelExecution(
            rate_model, space, weights, n_steps, n_vmap=n, progress=False
        )
        return ex, ex.run()

    t_base_cold, (fn, base_out) = timed(baseline_cold)
    t_ours_cold, (ex, ours_out) = timed(ours_cold)
    np.testing.assert_allclose(ours_out.outputs["mean"], base_out["mean"], rtol=1e-5)
    t_base, t_ours = interleaved_best(
        lambda: jax.block_until_ready(fn(batch)), ex.run, repeats=7
    )
    return {
        "points": n,
        "cold": (t_base_cold, t_ours_cold),
        "warm": (t_base, t_ours),
    }


def sequential_overhead(n: int) -> tuple[float, float]:
    space = Space({"x": GridAxis(0.0, 1.0, n), "y": 2.0}, mode="zip")

    def model(state):
        return state["x"] * state["y"]

    states = list(space)
    t_model = best_of(lambda: [model(s) for s in states], 3)
    t_seq = best_of(lambda: SequentialExecution(model, space, progress=False).run(), 3)
    return t_seq, t_model


MEMORY_SCRIPT = textwrap.dedent(
    """
    import sys, numpy as np, jax.numpy as jnp, psutil
    sys.path.insert(0, sys.argv[2])
    from _common import peak_rss_mb
    from sweepjax import GridAxis, ParallelExecution, Space
    n = int(sys.argv[1])
    space = Space({"a": GridAxis(0.0, 1.0, n // 100), "b": GridAxis(0.0, 1.0, 100)},
                  mode="product")
    def model(s):
        return jnp.sin(jnp.arange(64.0) * s["a"] + s["b"])
    before = psutil.Process().memory_info().rss / 2**20
    res = ParallelExecution(model, space, n_vmap=1024, progress=False).run()
    peak = peak_rss_mb()  # this process's own high-water mark
    print(before, peak, res.outputs.nbytes / 2**20)
    """
)


def memory(n: int) -> tuple[float, float, float]:
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(n), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        check=True,
    )
    before, peak, size = map(float, out.stdout.split())
    return before, peak, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick

    r = compare_parallel(200 if quick else 2000, (4, 4) if quick else (16, 16))
    cold = r["cold"][0] / r["cold"][1]
    warm = r["warm"][0] / r["warm"][1]
    print(
        f"rate model, {N_NODES} nodes, {r['points']} points (ratio = jit(vmap) / ours)"
    )
    print(
        f"  cold: jit(vmap) {r['cold'][0]:.3f} s, ParallelExecution "
        f"{r['cold'][1]:.3f} s, ratio {cold:.3f} (target >= 0.9: {verdict(cold, 0.9)})"
    )
    print(
        f"  warm: jit(vmap) {r['warm'][0]:.3f} s, ParallelExecution "
        f"{r['warm'][1]:.3f} s, ratio {warm:.3f} (target >= 0.97: "
        f"{verdict(warm, 0.97)})"
    )

    n_seq = 2_000 if quick else 10_000
    t_seq, t_model = sequential_overhead(n_seq)
    per_point = (t_seq - t_model) / n_seq * 1e6
    print(
        f"SequentialExecution, {n_seq} points, trivial model: "
        f"{per_point:.1f} us/point beyond the model call (target <= 50: "
        f"{verdict(per_point, 50, False)})"
    )

    before, peak, size = memory(20_000 if quick else 200_000)
    extra = peak - before - size
    print(
        f"memory, {20_000 if quick else 200_000} points x 64 float32: results "
        f"{size:.0f} MB, RSS before run {before:.0f} MB, peak {peak:.0f} MB, "
        f"peak - before - results = {extra:.0f} MB (target <= 1024: "
        f"{verdict(extra, 1024, False)})"
    )


if __name__ == "__main__":
    main()
