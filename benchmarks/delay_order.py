"""Convergence order of Heun with linearly interpolated delays: the read
shifted half a step (the default, TVB-Optim's stage-time shift) against the
unshifted read, on a delayed 4-node SupHopf network (float64).

Each run is compared at t = 6 ms with an RK4 run at dt = 0.00125 ms; the
order is log2 of the ratio of the errors of successive halvings of dt.

    python benchmarks/delay_order.py
"""

from __future__ import annotations

import os

import jax
import numpy as np
from _common import verdict

from sweepjax.network import (
    RK4,
    DelayedLinearCoupling,
    DenseDelayGraph,
    Heun,
    Network,
    SupHopf,
    prepare,
)

jax.config.update("jax_enable_x64", True)

STEPS = (0.1, 0.05, 0.025, 0.0125)
T1 = 6.0


class UnshiftedHeun(Heun):
    """Heun reading the history at the step's start (no stage-time shift)."""

    stage_time_centroid = 0.0


def _network() -> Network:
    rng = np.random.default_rng(1)
    n = 4
    weights = rng.uniform(0.2, 1.0, (n, n))
    np.fill_diagonal(weights, 0.0)
    delays = rng.uniform(0.3, 1.5, (n, n))  # every delay >= dt / 2
    np.fill_diagonal(delays, 0.0)
    return Network(
        SupHopf(a=-0.2, omega=2.0),
        {"c": DelayedLinearCoupling(("x", "y"), G=0.8)},
        DenseDelayGraph(weights, delays, interpolation="linear"),
        initial_state=np.linspace(-1.0, 1.0, 2 * n).reshape(2, n),
    )


def _final(solver, dt: float) -> np.ndarray:
    solve_fn, config = prepare(_network(), solver, 0.0, T1, dt)
    return np.asarray(solve_fn(config).ys[-1])


def main() -> None:
    print(f"load average: {os.getloadavg()[0]:.1f}")
    reference = _final(RK4(), 0.00125)
    orders = {}
    for name, solver in (("shifted (default)", Heun()), ("unshifted", UnshiftedHeun())):
        errors = np.array(
            [np.abs(_final(solver, dt) - reference).max() for dt in STEPS]
        )
        orders[name] = np.log2(errors[:-1] / errors[1:])
        print(
            f"{name:>18}: max error at dt = {', '.join(map(str, STEPS))} ms: "
            + ", ".join(f"{e:.2e}" for e in errors)
            + "; orders "
            + ", ".join(f"{o:.2f}" for o in orders[name])
        )
    last = orders["shifted (default)"][-1]
    print(f"verdict: shifted Heun order {last:.2f} >= 1.8: {verdict(last, 1.8)}")


if __name__ == "__main__":
    main()
