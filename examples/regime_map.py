"""A 2-D regime map of a whole-brain model: input x coupling, with hysteresis.

Montbrio-Pazo-Roxin mean fields on The Virtual Brain's 68-region connectome,
coupled through their firing rates with conduction delays. The input ``eta``
is ramped up and back down at each coupling strength ``G`` (a continuation
scan, the settled state and delay history carried from each value to the
next); all the G values run batched around the scan, one compiled program.
The largest Lyapunov exponent of each (G, eta) is computed in the same
program (the ``Lyapunov`` observer: the tangent of the step, state and delay
history, aligned over the settling and measured over the window). Each
(G, eta) is then classified from the observation window: fixed point (no
region moves), oscillation (some region does, exponent about 0), chaos
(a positive exponent) or bistable (the up and down branches settle on
different states: hysteresis). The figure shows the map with contours
between the regimes and the two branches at a few G.

    python examples/regime_map.py [--quick] [--figure regime_map.png]
"""

from __future__ import annotations

import argparse
import copy

import numpy as np

from sweepjax import GridAxis, ParallelExecution, Space, plot
from sweepjax.network import (
    Continuation,
    DelayedLinearCoupling,
    Heun,
    Lyapunov,
    Mean,
    MontbrioPazoRoxin,
    Network,
    Std,
    classify_regimes,
    combine_replicates,
    load_connectome,
    prepare,
    regime_names,
)

#: What the map's colours mean (the classifier's codes).
LABELS = {0: "fixed point", 1: "oscillation", 2: "chaos", 3: "bistable"}


def main(quick: bool = False, figure: str | None = "regime_map.png") -> dict:
    n_eta, n_G, settle, window = (6, 2, 10.0, 10.0) if quick else (32, 16, 150.0, 50.0)
    connectome = load_connectome("68")
    network = Network(
        dynamics=MontbrioPazoRoxin(),
        coupling={"delayed": DelayedLinearCoupling(incoming_states=("r", "V"), G=0.1)},
        graph=connectome.graph(speed=6.0),  # delays = tract lengths / 6 mm/ms
    )
    solve_fn, config = prepare(
        network,
        Heun(),
        t0=0.0,
        t1=settle + window,
        dt=0.1,
        observe={
            "mean": Mean("r"),
            "std": Std("r"),
            # in the same program: renormalised every 10 ms over the window
            "lyap": Lyapunov(renormalize_ms=min(10.0, window / 2)),
        },
        transient=settle,
        final_state=True,
    )
    etas = np.linspace(-8.0, -2.0, n_eta)
    scan = Continuation(solve_fn, "dynamics.eta", etas, down=True)
    sweep = copy.deepcopy(config)
    sweep.coupling.delayed.G = GridAxis(0.0, 0.3, n_G)
    # on a CPU few points per batch: a point's step is already a vectorised
    # pass over its delayed edges, and large batches of histories leave the cache
    space = Space(sweep, mode="product")
    result = ParallelExecution(scan, space, n_vmap=min(n_G, 4)).run()

    ds = scan.to_xarray(result)  # [G, branch, eta, region]
    std = ds["std"].max("std_dim_0")
    mean = ds["mean"].mean("mean_dim_0")
    # a limit cycle's exponent estimated over a 50 ms window is 0 to about
    # 0.02/ms: chaos above 0.05/ms
    codes = classify_regimes(std, ds["lyap"], fixed_tol=1e-4, chaos_tol=0.05)
    regime = combine_replicates(codes, mean, axis="branch", spread_tol=0.05)
    counts = regime_names(regime.values).value_counts()
    print(f"{connectome.n_regions} regions, {n_G} G x {n_eta} eta, up and down")
    print(counts[counts > 0].to_string())
    print(f"largest exponent: {float(ds['lyap'].max()):.3f}/ms")
    if figure:
        draw(regime, mean, figure)
    return {"regime": regime, "mean": mean, "lyap": ds["lyap"]}


def draw(regime, mean, path: str) -> None:
    """The map with contours between regimes, and the branches at a few G."""
    labels = {"dynamics_eta": "input eta", "coupling.delayed.G": "coupling G"}
    G = "coupling.delayed.G"
    fig, (left, right) = plot.panels(2, titles=["regimes", "hysteresis"])
    plot.regimes(regime, "dynamics_eta", G, names=LABELS, labels=labels, ax=left)
    every = max(1, mean.sizes[G] // 3)
    plot.branches(
        mean.isel({G: slice(None, None, every)}),
        "dynamics_eta",
        G,
        name="mean firing rate r",
        labels=labels,
        ax=right,
    )
    plot.save(fig, path, dpi=100)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="input x coupling regime map")
    parser.add_argument("--quick", action="store_true", help="a few seconds")
    parser.add_argument("--figure", default="regime_map.png")
    args = parser.parse_args()
    main(args.quick, args.figure)
