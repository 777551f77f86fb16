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

import jax
import jax.numpy as jnp
import numpy as np
from _common import peak_rss_mb
from _delays_contenders import (
    DT,
    G_RANGE,
    OMEGA,
    SIGMA,
    SPEED,
    A,
    delays_at,
    points,
    run_best,
    run_naive,
    stats,
)

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

# the hand-written contenders ("naive", "best") are in _delays_contenders.py


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
