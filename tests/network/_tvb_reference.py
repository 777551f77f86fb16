"""Cross-check against tvb-library in float64; run as a script (JAX_ENABLE_X64=1).

Prints one line ``CHECK name max_relative_error`` per check. Kept out of the pytest
process because it needs float64 JAX and imports the heavy TVB simulator.
"""

from __future__ import annotations

import sys
import warnings

import jax
import jax.numpy as jnp
import numpy as np

warnings.filterwarnings("ignore")

from tvb.datatypes import connectivity  # noqa: E402
from tvb.simulator import coupling, integrators, models, monitors, simulator  # noqa: E402

from sweepjax import network as sn  # noqa: E402

DT = 0.1
N_STEPS = 200


def tvb_run(model, weights, lengths, speed, G, y0, n_steps=N_STEPS):
    n = weights.shape[0]
    model.variables_of_interest = tuple(model.state_variables)
    conn = connectivity.Connectivity(
        weights=weights,
        tract_lengths=lengths,
        speed=np.array([speed]),
        region_labels=np.array([f"r{i}" for i in range(n)]),
        centres=np.zeros((n, 3)),
    )
    conn.configure()
    sim = simulator.Simulator(
        model=model,
        connectivity=conn,
        coupling=coupling.Linear(a=np.array([G])),
        integrator=integrators.HeunDeterministic(dt=DT),
        monitors=(monitors.Raw(),),
        simulation_length=n_steps * DT,
    )
    sim.configure()
    horizon = sim.connectivity.horizon
    sim.initial_conditions = np.broadcast_to(
        y0[None, :, :, None], (horizon, *y0.shape, 1)
    ).copy()
    sim.configure()
    ((_, ys),) = sim.run()
    return ys[..., 0]  # [n_steps, n_states, n_nodes]


def ours(dynamics, graph, couplings, y0, n_steps=N_STEPS):
    network = sn.Network(dynamics, couplings, graph, initial_state=y0)
    solve_fn, config = sn.prepare(network, sn.Heun(), 0.0, n_steps * DT, DT)
    return np.asarray(solve_fn(config).ys)


def rel_error(a, b):
    return float(np.max(np.abs(a - b) / (np.abs(b) + 1e-12 + 1e-6 * np.abs(b).max())))


def main():
    assert jnp.zeros(()).dtype == jnp.float64, "run with JAX_ENABLE_X64=1"
    rng = np.random.default_rng(0)
    n = 3
    zeros = np.zeros((n, n))
    cases = {
        "ReducedWongWang": (sn.ReducedWongWang(), models.ReducedWongWang()),
        "Generic2dOscillator": (
            sn.Generic2dOscillator(),
            models.Generic2dOscillator(),
        ),
        "SupHopf": (sn.SupHopf(), models.SupHopf()),
        "JansenRit": (sn.JansenRit(), models.JansenRit()),
        "Kuramoto": (sn.Kuramoto(), models.Kuramoto()),
    }
    starts = {
        "ReducedWongWang": rng.uniform(0.05, 0.3, (1, n)),
        "Generic2dOscillator": rng.uniform(-1.0, 1.0, (2, n)),
        "SupHopf": rng.uniform(-1.0, 1.0, (2, n)),
        "JansenRit": rng.uniform(-0.5, 0.5, (6, n)) * [[1], [10], [10], [1], [1], [10]],
        "Kuramoto": rng.uniform(0.0, 6.0, (1, n)),
    }
    for name, (our_model, tvb_model) in cases.items():
        y0 = starts[name]
        ref = tvb_run(tvb_model, zeros, zeros + 1.0, 1.0, 0.0, y0)
        got = ours(our_model, sn.DenseGraph(zeros), {}, y0)
        print(f"CHECK uncoupled-{name} {rel_error(got, ref):.3e}")

    n = 6
    weights = rng.uniform(0.0, 1.0, (n, n))
    np.fill_diagonal(weights, 0.0)
    lengths = rng.uniform(1.0, 8.0, (n, n))  # every delay >= dt at speed 2
    speed, G = 2.0, 0.4
    y0 = rng.uniform(0.05, 0.5, (1, n))
    ref = tvb_run(models.ReducedWongWang(), weights, lengths, speed, G, y0, 400)
    graph = sn.DenseDelayGraph(weights, lengths / speed)
    couplings = {"delayed": sn.DelayedLinearCoupling("S", G=G)}
    got = ours(sn.ReducedWongWang(), graph, couplings, y0, 400)
    print(f"CHECK delayed-ReducedWongWang {rel_error(got, ref):.3e}")
    return 0


if __name__ == "__main__":
    jax.config.update("jax_enable_x64", True)
    sys.exit(main())
