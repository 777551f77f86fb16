"""Benchmark: a ReducedWongWang G x sigma sweep through sweepjax.network.

Three ways to run the same sweep (68-region TVB connectome, 10^4 Heun steps at
dt = 0.1 ms, 16 x 16 = 256 points of coupling G and noise sigma, observable:
mean and std of S per point), timed in one process, compilation included:

1. sweepjax: ``prepare`` + ``Space`` + ``ParallelExecution``;
2. baseline: a hand-written ``jax.jit(jax.vmap(scan))`` of the same equations
   (written out below, sharing nothing with sweepjax);
3. The Virtual Brain's simulator (tvb-library), one simulation, scaled to the
   sweep (skipped when tvb-library is not installed).

Prints the ratio ``baseline_time / sweepjax_time`` (>= 1.0 means sweepjax is
at least as fast as the hand-written code), of wall-clock and of CPU seconds
(all threads; less inflated by other jobs on a shared machine), and checks
that both give the same numbers (max |diff|; the two programs round float32
differently). Usage::

    python benchmarks/network_sweep.py            # full run
    python benchmarks/network_sweep.py --quick    # small smoke run
    python benchmarks/network_sweep.py --cache-dir /tmp/xla  # JAX's persistent
        # compilation cache: the first round compiles, later ones load
    python benchmarks/network_sweep.py --stages   # the fixed cost, split: CPU
        # seconds of trace, lowering and compilation of each contender
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import time
import warnings
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax import GridAxis, ParallelExecution, Space
from sweepjax.network import (
    AdditiveNoise,
    Heun,
    LinearCoupling,
    Network,
    ReducedWongWang,
    load_connectome,
    prepare,
)

DT = 0.1
G_RANGE = (0.0, 1.0)
SIGMA_RANGE = (1e-4, 1e-2)


def baseline_sweep(weights, n_steps, Gs, sigmas, key):
    """Hand-written jit(vmap(scan)) of ReducedWongWang + linear coupling + Heun,
    S clamped into [0, 1] as TVB (and sweepjax) do."""
    return jax.jit(jax.vmap(baseline_simulate(weights, n_steps, key)))(Gs, sigmas)


def baseline_simulate(weights, n_steps, key):
    """The hand-written simulation of one point ``(G, sigma)``."""
    a, b, d, gamma, tau_s, w, J_N, I_o = (
        0.270, 0.108, 154.0, 0.641, 100.0, 0.6, 0.2609, 0.33,
    )  # fmt: skip
    n = weights.shape[0]

    def simulate(G, sigma):
        z = jax.random.normal(key, (n_steps, n))

        def f(S):
            x = w * J_N * S + I_o + J_N * G * (weights @ S)
            u = a * x - b
            H = u / (1.0 - jnp.exp(-d * u))
            return -S / tau_s + (1.0 - S) * H * gamma

        def step(S, z_k):
            # TVB's HeunStochastic: the predictor and the new state are both
            # clamped into S's bounds [0, 1]
            dW = sigma * jnp.sqrt(DT) * z_k
            k1 = f(S)
            k2 = f(jnp.clip(S + DT * k1 + dW, 0.0, 1.0))
            S = jnp.clip(S + 0.5 * DT * (k1 + k2) + dW, 0.0, 1.0)
            return S, S

        _, ys = jax.lax.scan(step, jnp.full(n, 0.1), z)
        return {"mean_S": ys.mean(), "std_S": ys.std()}

    return simulate


def sweepjax_sweep(weights, t1, n_g, n_sigma, key, n_vmap, n_pmap, unroll):
    network = Network(
        dynamics=ReducedWongWang(),
        coupling={"instant": LinearCoupling(incoming_states="S", G=0.5)},
        graph=_graph(weights),
        noise=AdditiveNoise(sigma=1e-3, key=key),
    )
    solve_fn, config = prepare(network, Heun(), t0=0.0, t1=t1, dt=DT, unroll=unroll)

    def observe(cfg):
        ys = solve_fn(cfg).ys
        return {"mean_S": ys.mean(), "std_S": ys.std()}

    sweep = copy.deepcopy(config)
    sweep.coupling.instant.G = GridAxis(*G_RANGE, n_g)
    sweep.noise.sigma = GridAxis(*SIGMA_RANGE, n_sigma)
    space = Space(sweep, mode="product")
    return ParallelExecution(
        observe, space, n_vmap=n_vmap, n_pmap=n_pmap, progress=False
    ).run()


def _graph(weights):
    from sweepjax.network import DenseGraph

    return DenseGraph(weights)


def tvb_one(weights, lengths, n_steps):
    """Seconds for one TVB simulation of the same network (stochastic Heun)."""
    from tvb.datatypes import connectivity
    from tvb.simulator import coupling, integrators, models, monitors, noise, simulator

    n = weights.shape[0]
    conn = connectivity.Connectivity(
        weights=weights,
        tract_lengths=lengths,
        speed=np.array([np.inf]),
        region_labels=np.array([f"r{i}" for i in range(n)]),
        centres=np.zeros((n, 3)),
    )
    sim = simulator.Simulator(
        model=models.ReducedWongWang(),
        connectivity=conn,
        coupling=coupling.Linear(a=np.array([0.5])),
        integrator=integrators.HeunStochastic(
            dt=DT, noise=noise.Additive(nsig=np.array([0.5e-6]))
        ),
        monitors=(monitors.Raw(),),
        simulation_length=n_steps * DT,
    )
    sim.configure()
    start = time.perf_counter()
    sim.run()
    return time.perf_counter() - start


def worker(name: str, quick: bool, n_vmap: int, unroll: int) -> dict:
    """Run one contender in this process; returns its seconds and outputs."""
    n_steps, n_g, n_sigma = (500, 4, 4) if quick else (10_000, 16, 16)
    connectome = load_connectome("68")
    weights = connectome.weights / connectome.weights.max()
    key = jax.random.key(0)
    jax.block_until_ready(jax.jit(jnp.sin)(1.0))  # start the backend untimed
    start, cpu_start = time.perf_counter(), time.process_time()
    if name == "baseline":
        G_all = np.repeat(np.linspace(*G_RANGE, n_g), n_sigma)
        sigma_all = np.tile(np.linspace(*SIGMA_RANGE, n_sigma), n_g)
        out = baseline_sweep(
            jnp.asarray(weights, jnp.float32),
            n_steps,
            jnp.asarray(G_all, jnp.float32),
            jnp.asarray(sigma_all, jnp.float32),
            key,
        )
        out = {k: np.asarray(v).tolist() for k, v in out.items()}
    else:
        n_pmap = len(jax.devices())
        result = sweepjax_sweep(
            weights, n_steps * DT, n_g, n_sigma, key, n_vmap, n_pmap, unroll
        )
        # the outputs as arrays, like the hand-written code's (a DataFrame
        # would add pandas' import, ~0.3 s, to this side only)
        out = {k: np.asarray(result.outputs[k]).tolist() for k in ("mean_S", "std_S")}
    return {
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu_start,
        "out": out,
    }


def _sweepjax_program(weights, t1, key):
    """The program `ParallelExecution` builds for all 256 points in one call
    (`point_program`, batched and jitted as its executor does), untraced."""
    from sweepjax.execution._dependencies import point_program

    network = Network(
        dynamics=ReducedWongWang(),
        coupling={"instant": LinearCoupling(incoming_states="S", G=0.5)},
        graph=_graph(weights),
        noise=AdditiveNoise(sigma=1e-3, key=key),
    )
    solve_fn, config = prepare(network, Heun(), t0=0.0, t1=t1, dt=DT)

    def observe(cfg):
        ys = solve_fn(cfg).ys
        return {"mean_S": ys.mean(), "std_S": ys.std()}

    sweep = copy.deepcopy(config)
    sweep.coupling.instant.G = GridAxis(*G_RANGE, 16)
    sweep.noise.sigma = GridAxis(*SIGMA_RANGE, 16)
    space = Space(sweep, mode="product")
    point, dynamic, _ = point_program(observe, space, (), {})
    fn = jax.jit(jax.vmap(point, in_axes=(None, None, 0)))
    pos = jax.ShapeDtypeStruct((256, 2), space.position_dtype)
    return partial(fn.trace, dynamic, space.tables, pos)


def stages(name: str) -> dict:
    """CPU seconds of building, tracing, lowering and compiling one
    contender's program (the first time in this process)."""
    connectome = load_connectome("68")
    weights = connectome.weights / connectome.weights.max()
    key = jax.random.key(0)
    jax.block_until_ready(jax.jit(jnp.sin)(1.0))
    cpu = {}
    start = time.process_time()
    if name == "baseline":
        args = [jnp.zeros(256, jnp.float32)] * 2
        w = jnp.asarray(weights, jnp.float32)
        simulate = baseline_simulate(w, 10_000, key)
        trace = partial(jax.jit(jax.vmap(simulate)).trace, *args)
    else:
        trace = _sweepjax_program(weights, 10_000 * DT, key)
    cpu["build"], start = time.process_time() - start, time.process_time()
    traced = trace()
    cpu["trace"], start = time.process_time() - start, time.process_time()
    lowered = traced.lower()
    cpu["lower"], start = time.process_time() - start, time.process_time()
    lowered.compile()
    cpu["compile"] = time.process_time() - start
    return cpu


def print_stages(args) -> None:
    """`stages` of each contender, fresh processes, alternating, best of
    ``--repeat``."""
    runs: dict[str, list] = {"baseline": [], "sweepjax": []}
    for _ in range(args.repeat):
        for name in runs:
            env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1")
            cmd = [sys.executable, __file__, "--worker", name, "--stages"]
            done = subprocess.run(
                cmd, env=env, capture_output=True, text=True, check=True
            )
            runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"CPU seconds, fresh process each, best of {args.repeat}")
    print(f"{'stage':<10} {'hand-written':>12} {'sweepjax':>10}")
    for stage in runs["baseline"][0]:
        best = [min(r[stage] for r in runs[name]) for name in runs]
        print(f"{stage:<10} {best[0]:12.3f} {best[1]:10.3f}")


def run_worker(name, devices, args) -> dict:
    """One contender in a fresh process with ``devices`` XLA CPU devices."""
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    if args.cache_dir:
        env["JAX_COMPILATION_CACHE_DIR"] = args.cache_dir
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    cmd = [sys.executable, __file__, "--worker", name, "--n-vmap", str(args.n_vmap)]
    cmd += ["--unroll", str(args.unroll)] + (["--quick"] if args.quick else [])
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument(
        "--n-vmap",
        type=int,
        default=256,
        help="points per call (default: all 256 in one call, as the hand-written code)",
    )
    parser.add_argument("--unroll", type=int, default=1, help="prepare(unroll=)")
    parser.add_argument("--repeat", type=int, default=3, help="runs; min is kept")
    parser.add_argument("--no-tvb", action="store_true", help="skip TVB timing")
    parser.add_argument(
        "--cache-dir", help="JAX persistent compilation cache of the workers"
    )
    parser.add_argument(
        "--stages", action="store_true", help="the fixed cost split by stage"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker and args.stages:
        print(json.dumps(stages(args.worker)))
        return {}
    if args.stages:
        print_stages(args)
        return {}
    if args.worker:
        print(json.dumps(worker(args.worker, args.quick, args.n_vmap, args.unroll)))
        return {}

    n_steps, n_points = (500, 16) if args.quick else (10_000, 256)
    cores = os.cpu_count() or 1
    n_vmap = min(args.n_vmap, n_points)
    print(
        f"ReducedWongWang, 68 regions, {n_steps} Heun steps, {n_points} points "
        f"(G x sigma); {cores} cores; each run in a fresh process, compilation "
        f"included; best of {args.repeat}"
    )
    contenders = {
        "hand-written jit(vmap(scan)), 1 device": ("baseline", 1, args),
        f"sweepjax n_vmap={n_vmap}, n_pmap=1": ("sweepjax", 1, args),
    }
    if n_vmap < n_points:  # all points in one call, as the hand-written code
        whole = argparse.Namespace(**{**vars(args), "n_vmap": n_points})
        contenders[f"sweepjax n_vmap={n_points}, n_pmap=1"] = ("sweepjax", 1, whole)
    if cores > 1:
        per_device = argparse.Namespace(**{**vars(args), "n_vmap": n_vmap // cores})
        contenders[f"sweepjax n_vmap={n_vmap // cores}, n_pmap={cores}"] = (
            "sweepjax",
            cores,
            per_device,
        )
    runs: dict[str, list] = {name: [] for name in contenders}
    for _ in range(args.repeat):  # interleaved, so load changes hit all alike
        for label, (name, devices, a) in contenders.items():
            runs[label].append(run_worker(name, devices, a))
    best = {label: min(r["seconds"] for r in rs) for label, rs in runs.items()}
    # CPU seconds (all threads): what a busy machine's waits do not inflate
    cpu = {label: min(r["cpu_seconds"] for r in rs) for label, rs in runs.items()}
    labels = list(contenders)
    base, ref = labels[0], runs[labels[0]][0]["out"]
    figures = {base: {"seconds": best[base], "cpu_seconds": cpu[base]}}
    print(f"{base:<40} {best[base]:7.2f} s  (CPU {cpu[base]:5.2f} s)")
    for label in labels[1:]:
        got = runs[label][0]["out"]
        diff = max(float(np.max(np.abs(np.subtract(got[k], ref[k])))) for k in ref)
        ratio = best[base] / best[label]
        figures[label] = {
            "seconds": best[label],
            "cpu_seconds": cpu[label],
            "ratio": ratio,
            "cpu_ratio": cpu[base] / cpu[label],
            "max_diff": diff,
        }
        print(
            f"{label:<40} {best[label]:7.2f} s  (CPU {cpu[label]:5.2f} s)   "
            f"baseline/sweepjax = {ratio:4.2f} (CPU {cpu[base] / cpu[label]:4.2f})"
            f"   max |diff| {diff:.1e}"
        )
    same = f"sweepjax n_vmap={n_points}, n_pmap=1"
    if same in figures:  # issue 23's target: parity on the same device and batch
        met = figures[same]["ratio"] >= 1.0
        print(
            f"target: {same} at least the hand-written speed, whole process: "
            f"{figures[same]['ratio']:.2f} {'MET' if met else 'MISSED'}"
        )
    if not args.no_tvb:
        try:
            connectome = load_connectome("68")
            weights = connectome.weights / connectome.weights.max()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_tvb = tvb_one(weights, connectome.tract_lengths, n_steps)
        except ImportError:
            print("tvb-library not installed: TVB timing skipped")
        else:
            fastest = min(best[label] for label in labels[1:])
            figures["tvb_one_s"] = t_tvb
            print(f"{'TVB simulator, one simulation':<40} {t_tvb:7.2f} s")
            print(
                f"{f'TVB, {n_points} simulations (estimated)':<40} "
                f"{t_tvb * n_points:7.2f} s   "
                f"{t_tvb * n_points / fastest:.0f}x slower than sweepjax"
            )
    return figures


if __name__ == "__main__":
    main()
