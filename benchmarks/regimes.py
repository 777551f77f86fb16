"""Benchmark: a 32 x 32 regime map (continuation in eta, grid in G; the
largest Lyapunov exponent and the peak frequency per point) as one compiled
program, against the same computed one point at a time, TVB-Optim's way.

Scenario: Montbrio-Pazo-Roxin mean fields on the 68-region tvb-data
connectome, delayed linear coupling (6 mm/ms: a 423-slot delay history),
Heun, dt = 0.1 ms, no noise, float32. The input ``eta`` is ramped up through
32 values (continuation: the settled state and delay history carried from
each value to the next; ``--settle`` ms settling + ``--window`` ms observed
per value) at each of 32 coupling strengths ``G`` (the grid). Each (G, eta)
gets the peak frequency of ``r`` per region (periodogram at 1-60 Hz), its
mean and std, and the largest Lyapunov exponent.

Contenders (compilation excluded: each is compiled, then timed, best of
``--repeat`` with all of them interleaved):

- ``sweepjax``: ``Continuation(solve_fn, "dynamics.eta", etas)`` with the
  ``Lyapunov`` observer among ``observe=`` (the tangent of the step, state
  and delay history, renormalised every ``--renormalize`` ms over the
  window, aligned over the settling), under ``ParallelExecution`` over a
  Space of the 32 G values, ``--n-vmap`` of them per batch (a list times
  each): one compiled program.
- ``per point``: TVB-Optim 0.4.0's approach (``experimental/network_dynamics/
  analysis``), one point at a time: ``adiabatic_scan``'s step (run the
  settling + window from the carried state recording the trajectory, then
  reduce the window) and ``lyapunov``'s Benettin estimate (two trajectories
  from the settled state, ``d0`` apart, rescaled every ``--renormalize`` ms
  over the window; each carries its own delay history, the delay-exact form
  its docstring describes), each a jitted call per point, compiled once
  (TVB-Optim compiles anew per call).

    python benchmarks/regimes.py [--quick] [--repeat 2] [--n-vmap 1,4,32]
"""

from __future__ import annotations

import argparse
import copy
import os

import jax
import jax.numpy as jnp
import numpy as np
from _common import timed, verdict

from sweepjax import GridAxis, ParallelExecution, Space
from sweepjax.network import (
    Continuation,
    DelayedLinearCoupling,
    Heun,
    Lyapunov,
    Mean,
    MontbrioPazoRoxin,
    Network,
    PeakFrequency,
    Std,
    load_connectome,
    power_spectrum,
    prepare,
)
from sweepjax.network._continuation import with_leaf

DT = 0.1
FREQUENCIES = np.arange(1.0, 61.0)


def network_68() -> Network:
    return Network(
        MontbrioPazoRoxin(),
        {"delayed": DelayedLinearCoupling(incoming_states=("r", "V"), G=0.1)},
        load_connectome("68").graph(speed=6.0),
    )


def batched_map(network, etas, Gs, settle, window, renormalize, n_vmap):
    """sweepjax: the whole map as one continuation under an executor."""
    observe = {
        "peak": PeakFrequency("r", frequencies=FREQUENCIES),
        "mean": Mean("r"),
        "std": Std("r"),
        "lyap": Lyapunov(renormalize_ms=renormalize),
    }
    solve_fn, config = prepare(
        network,
        Heun(),
        0.0,
        settle + window,
        DT,
        observe=observe,
        transient=settle,
        final_state=True,
    )
    scan = Continuation(solve_fn, "dynamics.eta", etas)
    sweep = copy.deepcopy(config)
    sweep.coupling.delayed.G = GridAxis(float(Gs[0]), float(Gs[-1]), len(Gs))
    executor = ParallelExecution(scan, Space(sweep), n_vmap=n_vmap, progress=False)
    executor.compile()
    # [G, branch, eta, ...] -> [G, eta, ...]
    return lambda: {k: v[:, 0] for k, v in executor.run().outputs.items()}


def per_point_map(network, etas, Gs, settle, window, renormalize, d0):
    """TVB-Optim's way: two jitted calls per point, in continuation order."""
    recorder, config = prepare(
        network, Heun(), 0.0, settle + window, DT, final_state=True
    )
    segment, _ = prepare(network, Heun(), 0.0, renormalize, DT, final_state=True)
    r = network.dynamics.state_index("r")[0]
    n_window = round(window / DT)
    n_segments = round(window / renormalize)

    def at(G, eta, start):
        point = with_leaf(config, "coupling.delayed.G", G)
        return with_leaf(with_leaf(point, "dynamics.eta", eta), "start", start)

    @jax.jit
    def scan_step(G, eta, start):  # adiabatic_scan's step: run, then reduce
        solution = recorder(at(G, eta, start))
        x = solution.ys[-n_window:, r, :]  # [n_window, n_nodes]
        power = power_spectrum(x, FREQUENCIES, DT)
        stats = {
            "peak": jnp.asarray(FREQUENCIES, x.dtype)[power.argmax(0)],
            "mean": x.mean(0),
            "std": x.std(0),
        }
        return solution.final, stats

    @jax.jit
    def lyapunov(G, eta, start):  # lyapunov's Benettin loop
        def run(state):
            return segment(at(G, eta, state)).final

        def distance(a, b):
            parts = [a.y - b.y, a.history - b.history]
            return jnp.sqrt(sum(jnp.sum(p * p) for p in parts))

        size = start.y.size + start.history.size
        u2 = start._replace(
            y=start.y + d0 / np.sqrt(size), history=start.history + d0 / np.sqrt(size)
        )

        def step(carry, _):
            u1, u2, logs = carry
            new1, new2 = run(u1), run(u2)
            d = distance(new1, new2)
            u2 = new1._replace(
                y=new1.y + (new2.y - new1.y) * (d0 / d),
                history=new1.history + (new2.history - new1.history) * (d0 / d),
            )
            return (new1, u2, logs + jnp.log(d / d0)), None

        zero = jnp.zeros((), start.y.dtype)
        (_, _, logs), _ = jax.lax.scan(step, (start, u2, zero), None, n_segments)
        return logs / window

    def run_all():
        out = []
        for G in Gs:
            state = recorder.start_of(with_leaf(config, "coupling.delayed.G", G))
            row = []
            for eta in etas:
                state, stats = scan_step(G, eta, state)
                stats["lyap"] = lyapunov(G, eta, state)
                row.append(stats)
            out.append(row)
        jax.block_until_ready(out)
        return {
            k: np.stack([np.stack([np.asarray(p[k]) for p in row]) for row in out])
            for k in out[0][0]
        }

    return run_all


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 x 8, short runs")
    parser.add_argument("--settle", type=float, default=100.0)
    parser.add_argument("--window", type=float, default=100.0)
    parser.add_argument("--renormalize", type=float, default=10.0)
    parser.add_argument(
        "--n-vmap", default="1,4,32", help="points per batch; a list (4,32) times each"
    )
    parser.add_argument("--d0", type=float, default=1e-3, help="float32: 1e-3")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    n = 8 if args.quick else 32
    settle, window = (20.0, 20.0) if args.quick else (args.settle, args.window)
    renormalize = min(args.renormalize, window / 2)

    network = network_68()
    etas, Gs = np.linspace(-8.0, -2.0, n), np.linspace(0.0, 0.3, n)
    grid = (network, etas, Gs, settle, window, renormalize)
    sizes = [int(k) for k in str(args.n_vmap).split(",")]
    batched = {k: batched_map(*grid, k) for k in sizes}
    one_at_a_time = per_point_map(*grid, args.d0)

    # compile them all, and check they agree
    ours, theirs = batched[sizes[0]](), one_at_a_time()
    for k in sizes[1:]:
        np.testing.assert_allclose(batched[k]()["mean"], ours["mean"], rtol=1e-5)
    np.testing.assert_allclose(ours["mean"], theirs["mean"], rtol=1e-3, atol=1e-5)
    regions = np.asarray(ours["std"]) > 1e-4  # a peak means something there
    same_peak = np.mean((ours["peak"] == theirs["peak"])[regions])
    moving = regions.any(-1)
    lyap, anchor = np.asarray(ours["lyap"]), np.asarray(theirs["lyap"])
    gap = np.abs(lyap - anchor)[moving]
    times = {k: np.inf for k in sizes}
    t_theirs = np.inf
    for _ in range(args.repeat):  # interleaved: all see the same load
        for k in sizes:
            times[k] = min(times[k], timed(batched[k])[0])
        t_theirs = min(t_theirs, timed(one_at_a_time)[0])

    steps = n * n * round((settle + window) / DT)
    print(
        f"{n} x {n} map, {network.n_nodes} regions, {steps:,} point-steps "
        f"(+ the exponent's), {settle:g} + {window:g} ms per value, "
        f"renormalised every {renormalize:g} ms; "
        f"{os.cpu_count()} CPUs, {jax.devices()[0].platform}, load "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(
        f"agree: mean r to 1e-3, peak frequency at {same_peak:.0%} of the "
        f"moving point-regions; exponent |ours - per point| at moving points: median "
        f"{np.median(gap) if gap.size else 0:.3f}/ms, max "
        f"{gap.max() if gap.size else 0:.3f}/ms ({moving.sum()} of {n * n})"
    )
    for k in sizes:
        print(f"sweepjax, n_vmap={k:<3d} (one compiled program): {times[k]:8.2f} s")
    print(f"per point (TVB-Optim's approach, jitted):      {t_theirs:8.2f} s")
    ratio = t_theirs / min(times.values())
    print(f"ratio: {ratio:.1f}x  (target >= 10x: {verdict(ratio, 10.0)})")
    peaks = np.asarray(ours["peak"]).max(-1)
    print(f"peak frequencies seen: {np.unique(np.round(peaks)).tolist()} Hz")
    print(f"largest exponent seen: {np.nanmax(lyap):.3f}/ms")


if __name__ == "__main__":
    main()
