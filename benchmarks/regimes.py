"""Benchmark: a 32 x 32 regime map as one batched continuation against one
jitted scan per point of the grid (TVB-Optim's ``adiabatic_scan`` approach).

Scenario: Montbrio-Pazo-Roxin mean fields on the 68-region tvb-data
connectome, delayed linear coupling (6 mm/ms), Heun, dt = 0.1 ms, no noise.
The input ``eta`` is ramped up through 32 values (continuation: the settled
state and delay history carried from each value to the next; ``--settle``
ms settling + ``--window`` ms observed per value) at each of 32 coupling
strengths ``G`` (the grid). Each (G, eta) records the peak frequency
(periodogram over 1-60 Hz), mean and std of ``r`` per region.

Contenders (compilation excluded: each is compiled, then timed, best of
``--repeat``):

- ``sweepjax``: ``Continuation(solve_fn, "dynamics.eta", etas)`` under
  ``ParallelExecution`` over a Space of the 32 G values: one compiled program,
  the G values batched around the scan (they share one delay history).
- ``per point``: the same continuation written as TVB-Optim's
  ``adiabatic_scan`` does it, a ``jax.jit``-ed ``lax.scan`` over the eta
  values carrying the state, called once per G (compiled once: kinder than
  ``adiabatic_scan``, which builds a new jitted function on every call).

The Lyapunov exponent observer of issue 26 item 2 is not on main when this
was written: the map records the peak frequency (and mean, std) only.

    python benchmarks/regimes.py [--quick] [--repeat 2]
"""

from __future__ import annotations

import argparse
import copy
import os

import jax
import jax.numpy as jnp
import numpy as np
from _common import interleaved_best, verdict

from sweepjax import GridAxis, ParallelExecution, Space
from sweepjax.network import (
    Continuation,
    DelayedLinearCoupling,
    Heun,
    Mean,
    MontbrioPazoRoxin,
    Network,
    PeakFrequency,
    Std,
    load_connectome,
    prepare,
)
from sweepjax.network._continuation import with_leaf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 x 8, short runs")
    parser.add_argument("--settle", type=float, default=100.0)
    parser.add_argument("--window", type=float, default=100.0)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    n = 8 if args.quick else 32
    settle, window = (20.0, 20.0) if args.quick else (args.settle, args.window)

    connectome = load_connectome("68")
    network = Network(
        MontbrioPazoRoxin(),
        {"delayed": DelayedLinearCoupling(incoming_states=("r", "V"), G=0.1)},
        connectome.graph(speed=6.0),
    )
    observe = {
        "peak": PeakFrequency("r", frequencies=np.arange(1.0, 61.0)),
        "mean": Mean("r"),
        "std": Std("r"),
    }
    solve_fn, config = prepare(
        network,
        Heun(),
        0.0,
        settle + window,
        0.1,
        observe=observe,
        transient=settle,
        final_state=True,
    )
    etas = np.linspace(-8.0, -2.0, n)
    Gs = np.linspace(0.0, 0.3, n)
    scan = Continuation(solve_fn, "dynamics.eta", etas)

    sweep = copy.deepcopy(config)
    sweep.coupling.delayed.G = GridAxis(0.0, 0.3, n)
    executor = ParallelExecution(scan, Space(sweep), n_vmap=n, progress=False)
    executor.compile()

    @jax.jit
    def per_point(G):  # one row of the map, as adiabatic_scan computes it
        row = with_leaf(config, "coupling.delayed.G", G)

        def step(state, eta):
            point = with_leaf(with_leaf(row, "dynamics.eta", eta), "start", state)
            solution = solve_fn(point)
            return solution.final, solution.observed

        return jax.lax.scan(step, solve_fn.start_of(row), jnp.asarray(etas))[1]

    def batched():
        return executor.run().outputs

    def one_at_a_time():
        return [jax.block_until_ready(per_point(G)) for G in Gs]

    # compile both, and check they agree
    ours, theirs = batched(), one_at_a_time()
    for i in (0, n - 1):
        np.testing.assert_allclose(
            ours["mean"][i, 0], theirs[i]["mean"], rtol=1e-4, atol=1e-6
        )
    t_ours, t_theirs = interleaved_best(batched, one_at_a_time, args.repeat)
    steps = n * n * round((settle + window) / 0.1)
    print(
        f"{n} x {n} map, {connectome.n_regions} regions, {steps:,} steps in all "
        f"(peak frequency, mean, std per point; no Lyapunov exponent), "
        f"{os.cpu_count()} CPUs, {jax.devices()[0].platform}"
    )
    print(f"sweepjax (one batched continuation):  {t_ours:8.2f} s")
    print(f"one jitted scan per G (anchor's way): {t_theirs:8.2f} s")
    ratio = t_theirs / t_ours
    print(f"ratio: {ratio:.1f}x  (target >= 10x: {verdict(ratio, 10.0)})")
    peaks = np.asarray(ours["peak"]).max(-1)[:, 0]  # [G, eta]: largest per map
    print(f"peak frequencies seen: {np.unique(np.round(peaks)).tolist()} Hz")


if __name__ == "__main__":
    main()
