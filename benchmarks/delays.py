"""Benchmark: delay-coupled network sweeps against hand-written JAX and neurolib.

Scenarios (each contender in a fresh process, best of ``--repeat``; float32,
the JAX default):

- ``raw``: the 76-region tvb-data connectome (nonzero weights only, diagonal
  zeroed, normalised by the maximum), tract lengths at 8 mm/ms (delays up to
  17.3 ms, 174 history slots at dt = 0.1 ms), SupHopf, Heun, additive noise;
  64 points (16 coupling strengths G x 4 noise seeds), 1 s each, every step
  recorded, observable: mean and std of x per node.
- ``long``: the same for 10 s per point, recorded every ms (``SubSample(10)``).
- ``sparse``: 1,000 nodes, 10% random connections with random delays up to
  10 ms (``SparseDelayGraph``), 16 points (G), 100 ms each.
- ``swept``: the ``raw`` network with the conduction speed swept (8 speeds x
  8 G): every point has its own delays, so each is solved on its own.

Contenders: sweepjax (``prepare`` + ``Space`` + ``ParallelExecution``);
``naive``, the obvious hand-written ``jax.jit(jax.vmap(scan))`` with a
per-point ring buffer; ``best``, a hand-written scan that keeps the history
as ``[slots * nodes, 2, batch]`` (batch innermost) and sums the edges with
one gather and one segment sum; neurolib's ``HopfModel`` (numba) with
``coupling="additive"``, one run per point, one process per core (its
Euler scheme couples into x only and is cheaper per step than Heun on both
states). Every hand-written contender draws exactly sweepjax's noise, and
the script checks that they all return sweepjax's numbers.

Each contender is timed two ways. End to end: from the network's
definition to the outputs on the host, JAX tracing and compilation
included (for neurolib: the batch of worker processes, with their start,
imports and numba compilation). Steady: the compiled sweep alone (the
JAX contenders' run after ``compile()``; neurolib's slowest worker after
its warm-up run), which is what a sweep costs per point once it is larger
than a few minutes of compilation's worth. Prints ``contender time /
sweepjax time`` (>= 1.0: sweepjax is faster; every JAX contender on one
device) and simulated seconds per wall second;
``sweepjax-cores`` is sweepjax with one XLA CPU device per core
(``n_pmap`` = cores), the like-for-like contender of neurolib's one process
per core. Usage::

    python benchmarks/delays.py                 # all scenarios
    python benchmarks/delays.py --quick         # small smoke run
    python benchmarks/delays.py --scenario raw --no-neurolib
    python benchmarks/delays.py --scenario long --couple x   # neurolib's model

``--observe`` has sweepjax compute the mean and std of x in the loop
(``observe={"mean_x": Mean("x"), "std_x": Std("x")}``: every step, nothing
recorded), as a sweep that wants only summaries would; on ``raw`` that is
the recorded contenders' observable (equal to float32 round-off), on
``long`` it summarises every step instead of every 10th record (compare
the times only).

``--couple x`` couples x alone into dx (``DelayedLinearCoupling("x",
G=[[K], [0]])``), as neurolib's Hopf model does, so sweepjax and neurolib
simulate the same equations (sweepjax still with Heun, neurolib with Euler);
only sweepjax and neurolib run (the hand-written contenders couple both
states). The default, ``xy``, couples both states (TVB's SupHopf).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from _common import peak_rss_mb

from sweepjax import DataAxis, GridAxis, ParallelExecution, Space
from sweepjax.network import (
    AdditiveNoise,
    DelayedLinearCoupling,
    DenseDelayGraph,
    Heun,
    Mean,
    Network,
    SparseDelayGraph,
    Std,
    SubSample,
    SupHopf,
    load_connectome,
    prepare,
)

DT = 0.1
SPEED = 8.0  # mm/ms
A, OMEGA, SIGMA = -0.5, 1.0, 0.02
G_RANGE = (0.0, 0.5)


def scenario(name: str, quick: bool) -> dict:
    """Network and sweep sizes of one scenario."""
    if name in ("raw", "long", "swept"):
        connectome = load_connectome("76")
        weights = connectome.weights / connectome.weights.max()
        np.fill_diagonal(weights, 0.0)
        lengths = connectome.tract_lengths
    else:
        rng = np.random.default_rng(0)
        n = 200 if quick else 1000
        weights = rng.uniform(0.0, 1.0, (n, n)) * (rng.random((n, n)) < 0.1)
        np.fill_diagonal(weights, 0.0)
        weights /= weights.sum(1, keepdims=True).max()
        lengths = rng.uniform(0.0, 10.0 * SPEED, (n, n))
    sizes = {
        "raw": dict(t1=1000.0, every=1, n_g=16, n_seeds=4, n_speeds=1),
        "long": dict(t1=10_000.0, every=10, n_g=16, n_seeds=4, n_speeds=1),
        "sparse": dict(t1=100.0, every=1, n_g=16, n_seeds=1, n_speeds=1),
        "swept": dict(t1=1000.0, every=1, n_g=8, n_seeds=1, n_speeds=8),
    }[name]
    if quick:
        sizes["t1"] = sizes["t1"] / 10
    return dict(weights=weights, lengths=lengths, **sizes)


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


def run_sweepjax(s: dict, name: str):
    weights, lengths = s["weights"], s["lengths"]
    if name == "sparse":
        graph = SparseDelayGraph.from_dense(weights, delays_at(lengths, SPEED))
    else:
        graph = DenseDelayGraph(weights, delays_at(lengths, SPEED))
    x_only = os.environ.get("SWEEPJAX_COUPLE", "xy") == "x"  # --couple
    coupling = (
        DelayedLinearCoupling("x", G=np.array([[0.1], [0.0]], np.float32))
        if x_only
        else DelayedLinearCoupling(("x", "y"), G=0.1)
    )
    network = Network(
        SupHopf(a=A, omega=OMEGA),
        {"c": coupling},
        graph,
        AdditiveNoise(SIGMA, jax.random.key(0)),
        initial_state=0.1,
    )
    unroll = int(os.environ.get("SWEEPJAX_UNROLL", "1"))  # --unroll
    observed = os.environ.get("SWEEPJAX_OBSERVE") == "1"  # --observe
    if observed:  # summaries of every step, in the loop; nothing recorded
        output = {"observe": {"mean_x": Mean("x"), "std_x": Std("x")}}
    else:
        output = {"monitor": SubSample(s["every"]) if s["every"] > 1 else None}
    solve, config = prepare(network, Heun(), 0.0, s["t1"], DT, unroll=unroll, **output)
    Gs, speeds, keys, *_ = points(s)
    sweep = copy.deepcopy(config)
    sweep.coupling.c.G = GridAxis(G_RANGE[0], G_RANGE[1], s["n_g"])
    if x_only:  # G maps x into (dx, dy): [[K], [0]]
        G = np.zeros((s["n_g"], 2, 1), np.float32)
        G[:, 0, 0] = Gs
        sweep.coupling.c.G = DataAxis(jnp.asarray(G))
    if s["n_speeds"] > 1:
        delays = np.stack([delays_at(lengths, v) for v in speeds])
        sweep.graph.delays = DataAxis(jnp.asarray(delays))
    if s["n_seeds"] > 1:
        sweep.noise.key = DataAxis(keys)
    space = Space(sweep, mode="product")
    n_pmap = len(jax.devices())  # 1, or one per core for "sweepjax-cores"

    def observe(cfg):
        return dict(solve(cfg).observed) if observed else stats(solve(cfg).ys)

    executor = ParallelExecution(
        observe, space, n_vmap=len(space) // n_pmap, n_pmap=n_pmap, progress=False
    )
    executor.compile()

    def run():
        result = executor.run()
        return {k: np.asarray(result.outputs[k]) for k in ("mean_x", "std_x")}

    return run


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


def run_neurolib(s: dict, name: str) -> dict:
    from _neurolib_hopf import time_neurolib_hopf  # noqa: PLC0415 (optional peer)

    Gs, *_ = points(s)
    n_runs = s["n_g"] * s["n_seeds"]
    return time_neurolib_hopf(
        s["weights"],
        s["lengths"],
        SPEED,
        DT,
        s["t1"],
        n_runs,
        np.resize(Gs, n_runs),
        SIGMA,
        os.cpu_count() or 1,
        a=A,
        w=OMEGA,
    )


RUNNERS = {
    "sweepjax": run_sweepjax,
    "sweepjax-cores": run_sweepjax,
    "naive": run_naive,
    "best": run_best,
    "neurolib": run_neurolib,
}


def worker(contender: str, name: str, quick: bool) -> dict:
    s = scenario(name, quick)
    jax.block_until_ready(jax.jit(jnp.sin)(1.0))  # start the backend untimed
    if contender == "neurolib":
        out = run_neurolib(s, name)
        return {
            "seconds": out["wall_s"],
            "steady": out["steady_s"],
            "out": None,
            "detail": out,
        }
    start = time.perf_counter()
    run = RUNNERS[contender](s, name)  # set up and compiled
    ready = time.perf_counter()
    out = run()
    end = time.perf_counter()
    return {
        "seconds": end - start,
        "steady": end - ready,
        "out": {k: np.asarray(v).tolist() for k, v in out.items()},
        "peak_rss_mb": peak_rss_mb(),
    }


def run_worker(contender: str, name: str, quick: bool) -> dict:
    """One contender in a fresh process; "sweepjax-cores" gets one XLA CPU
    device per core (``n_pmap`` = cores), the others one device."""
    cmd = [sys.executable, __file__, "--worker", contender, "--scenario", name]
    env = dict(os.environ)
    devices = os.cpu_count() if contender == "sweepjax-cores" else 1
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    done = subprocess.run(
        cmd + (["--quick"] if quick else []), capture_output=True, text=True, env=env
    )
    if done.returncode:
        raise RuntimeError(f"{contender} on {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--scenario", action="append", help="raw, long, sparse, swept")
    parser.add_argument("--repeat", type=int, default=2, help="runs; min is kept")
    parser.add_argument("--no-neurolib", action="store_true", help="skip neurolib")
    parser.add_argument("--unroll", type=int, default=1, help="sweepjax's unroll")
    parser.add_argument(
        "--couple", choices=["xy", "x"], default="xy", help="coupled states"
    )
    parser.add_argument(
        "--observe",
        action="store_true",
        help="sweepjax computes mean and std of x in the loop (observers)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    names = args.scenario or ["raw", "long", "sparse", "swept"]
    if args.worker:
        print(json.dumps(worker(args.worker, names[0], args.quick)))
        return {}
    os.environ["SWEEPJAX_UNROLL"] = str(args.unroll)  # read by the workers
    os.environ["SWEEPJAX_COUPLE"] = args.couple
    os.environ["SWEEPJAX_OBSERVE"] = "1" if args.observe else "0"
    cores = os.cpu_count() or 1
    print(
        f"{cores} cores; each run in a fresh process; seconds: end to end "
        "(set-up and compilation included) | steady (the compiled sweep alone); "
        f"xN: contender / sweepjax; sweepjax with prepare(unroll={args.unroll}); "
        f"coupled states: {args.couple}"
        + ("; sweepjax observes mean and std in the loop" if args.observe else "")
    )
    figures = {}
    for name in names:
        s = scenario(name, args.quick)
        n_points = s["n_g"] * s["n_seeds"] * s["n_speeds"]
        simulated = n_points * s["t1"] / 1000.0
        contenders = ["sweepjax", "best", "naive"]
        if name == "swept":
            contenders = ["sweepjax", "naive"]
        if args.couple == "x":  # the hand-written contenders couple both states
            contenders = ["sweepjax"]
        if cores > 1:
            contenders.append("sweepjax-cores")
        if name in ("raw", "long") and not args.no_neurolib:
            contenders.append("neurolib")
        print(
            f"\n[{name}] {s['weights'].shape[0]} nodes, {n_points} points x "
            f"{s['t1'] / 1000:g} s, record every {s['every']} step(s)"
        )
        runs = {c: [] for c in contenders}
        for _ in range(args.repeat):  # interleaved: load changes hit all alike
            for c in contenders:
                if c == "neurolib" and runs[c]:
                    continue  # one batch of processes is enough
                runs[c].append(run_worker(c, name, args.quick))
        best = {c: min(r["seconds"] for r in rs) for c, rs in runs.items()}
        steady = {c: min(r["steady"] for r in rs) for c, rs in runs.items()}
        ref = runs["sweepjax"][0]["out"]
        figures[name] = {}
        for c in contenders:
            row = {
                "seconds": best[c],
                "steady_seconds": steady[c],
                "ratio": best[c] / best["sweepjax"],
                "steady_ratio": steady[c] / steady["sweepjax"],
                "simulated_s_per_s": simulated / best[c],
                "steady_simulated_s_per_s": simulated / steady[c],
            }
            line = (
                f"  {c:<14} {best[c]:7.2f} s {row['simulated_s_per_s']:6.1f} sim-s/s"
                f" x{row['ratio']:5.2f} | steady {steady[c]:7.2f} s "
                f"{row['steady_simulated_s_per_s']:6.1f} sim-s/s"
                f" x{row['steady_ratio']:5.2f}"
            )
            got = runs[c][0]["out"]
            if got is not None:
                rss = max(r["peak_rss_mb"] for r in runs[c])
                diff = max(
                    float(np.max(np.abs(np.subtract(got[k], ref[k])))) for k in ref
                )
                row.update(peak_rss_mb=rss, max_diff=diff)
                line += f" | RSS {rss:5.0f} MB |diff| {diff:.1e}"
            else:
                row["detail"] = runs[c][0]["detail"]
                line += f" | {row['detail'].get('processes')} processes"
            figures[name][c] = row
            print(line)
        if "neurolib" in runs:
            fast = "sweepjax-cores" if "sweepjax-cores" in runs else "sweepjax"
            print(
                f"  {fast} vs neurolib ({cores} processes), simulated seconds per "
                f"wall second: {best['neurolib'] / best[fast]:.2f}x end to end, "
                f"{steady['neurolib'] / steady[fast]:.2f}x steady"
            )
    return figures


if __name__ == "__main__":
    main()
