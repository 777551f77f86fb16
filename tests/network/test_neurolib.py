"""Cross-check of the delay-coupled SupHopf network against neurolib's HopfModel.

neurolib (``neurolib/models/hopf/timeIntegration.py``, time in ms) integrates,
with explicit Euler from the state at step ``i - 1`` to step ``i``::

    x' = (a - x^2 - y^2) x - w y + K_gl * sum_l Cmat[n, l] x_l[i - 1 - D[n, l]]
    y' = (a - x^2 - y^2) y + w x

(``coupling="additive"``; it couples into x only), ``D = np.around(lengthMat /
signalV / dt)`` with the diagonal zeroed, a constant history equal to
``xs_init``/``ys_init`` (``[N, 1]``), and outputs ``x``, ``y`` ``[N, n_steps]``
that start after the first step. That is exactly our ``SupHopf`` (``omega =
w``, rad/ms) with ``DelayedLinearCoupling(("x", "y"), G=[[K_gl], [0]])`` on
``DenseDelayGraph(Cmat, lengthMat / signalV)`` under ``Euler()``, whose
``ys[k]`` is the state after step ``k + 1``.
"""

from __future__ import annotations

import copy

import jax.numpy as jnp
import numpy as np
import pytest
from neurolib.models.hopf import HopfModel

from sweepjax.network import (
    AdditiveNoise,
    DelayedLinearCoupling,
    DenseDelayGraph,
    Euler,
    Network,
    SupHopf,
    prepare,
)

N_NODES, DT, DURATION, SPEED = 8, 0.1, 300.0, 2.0  # ms, ms, mm/ms
A, W, K_GL = 0.1, 0.2, 0.3  # limit cycles of radius ~0.3 at ~32 Hz
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(1)
    weights = rng.uniform(0.0, 1.0, (N_NODES, N_NODES))
    np.fill_diagonal(weights, 0.0)
    steps = rng.integers(0, 101, (N_NODES, N_NODES))  # 0..10 ms, some zero
    np.fill_diagonal(steps, 0)
    lengths = steps * DT * SPEED  # mm: delays are whole steps
    x0 = rng.uniform(-0.5, 0.5, N_NODES)
    y0 = rng.uniform(-0.5, 0.5, N_NODES)

    model = HopfModel(Cmat=weights, Dmat=lengths)
    model.params.update(
        coupling="additive",
        K_gl=K_GL,
        signalV=SPEED,
        dt=DT,
        duration=DURATION,
        a=A,
        w=W,
        sigma_ou=0.0,  # no noise: x_ou = y_ou = 0 throughout
        xs_init=x0[:, None].copy(),
        ys_init=y0[:, None].copy(),
    )
    model.run()
    assert np.array_equal(model.params["Dmat_ndt"], steps)
    reference = np.stack([model.x, model.y]).transpose(2, 0, 1)  # [t, 2, n]
    assert reference.shape == (round(DURATION / DT), 2, N_NODES)
    return {
        "weights": weights,
        "delays": lengths / SPEED,  # ms, as neurolib computes them
        "steps": steps,
        "initial_state": np.array([x0, y0]),
        "reference": reference,
    }


def ours(case, delays=None, G=(K_GL, 0.0)) -> np.ndarray:
    """Our trajectory ``[n_steps, 2, n_nodes]``; ``G`` per coupled component.

    One compiled solve serves every call (delays and G are config values; its
    history holds one step more than the longest delay, for the perturbed
    delays)."""
    if "prepared" not in case:
        coupling = DelayedLinearCoupling(("x", "y"), G=np.reshape(G, (-1, 1)))
        graph = DenseDelayGraph(
            case["weights"], case["delays"], max_delay=case["delays"].max() + DT
        )
        network = Network(
            SupHopf(),
            coupling={"c": coupling},
            graph=graph,
            initial_state=case["initial_state"],
        )
        case["prepared"] = prepare(network, Euler(), t0=0.0, t1=DURATION, dt=DT)
    solve, config = case["prepared"]
    config = copy.deepcopy(config)
    delays = case["delays"] if delays is None else delays
    config.graph.delays = jnp.asarray(delays, config.graph.delays.dtype)
    config.coupling.c.G = jnp.asarray(np.reshape(G, (-1, 1)), config.coupling.c.G.dtype)
    config.dynamics.a = A
    config.dynamics.omega = W
    ys = np.asarray(solve(config).ys)
    assert ys.dtype == np.float64
    return ys


def relative_error(got: np.ndarray, reference: np.ndarray) -> float:
    return float(np.abs(got - reference).max() / np.abs(reference).max())


def test_matches_neurolib_hopf_to_1e_4_relative(x64, case):
    got = ours(case)
    error = relative_error(got, case["reference"])
    assert got.shape == case["reference"].shape
    assert error < TOLERANCE, f"max relative error {error:.2e}"


def _delays_plus_one_step(case):
    return case["delays"] + DT * (case["steps"] > 0)


def _longest_delay_minus_one_step(case):
    return case["delays"] - DT * (case["steps"] == case["steps"].max())


PERTURBED = {
    "every delay one step longer": lambda case: ours(case, _delays_plus_one_step(case)),
    "longest delay one step shorter": lambda case: ours(
        case, _longest_delay_minus_one_step(case)
    ),
    "G 1% too strong": lambda case: ours(case, G=(1.01 * K_GL, 0.0)),
    "coupling into y as well": lambda case: ours(case, G=(K_GL, K_GL)),
    "uncoupled": lambda case: ours(case, G=(0.0, 0.0)),
    "sampled one step late": lambda case: np.concatenate(
        [case["initial_state"][None], ours(case)[:-1]]
    ),
}


@pytest.mark.parametrize("perturbation", PERTURBED)
def test_the_comparison_rejects_a_wrong_mapping(x64, case, perturbation):
    error = relative_error(PERTURBED[perturbation](case), case["reference"])
    assert error > TOLERANCE, f"{perturbation}: error only {error:.2e}"


SIGMA = 0.05


def neurolib_normals(n_nodes: int, n_steps: int, seed: int, lag: int = 1):
    """The normals HopfModel draws (NumPy's global generator seeded with
    ``seed``: ``[N, n]`` for x, then for y) as our ``config.noise_samples``.
    With ``tau_ou = dt`` its OU input at step ``k`` is draw ``k - 1``."""
    draws = np.random.RandomState(seed)
    z = np.zeros((n_steps, 2, n_nodes))
    for i in range(2):
        z[lag:, i] = draws.standard_normal((n_nodes, n_steps))[:, : n_steps - lag].T
    return z


def test_noisy_run_matches_neurolib_on_its_own_normals(x64, case):
    """White noise: neurolib's OU input with ``tau_ou = dt`` and ``sigma_ou
    = sigma / dt`` is our ``AdditiveNoise(sigma)``, one step late; fed
    neurolib's normals, the two runs agree step by step (and not with the
    normals one step off)."""
    model = HopfModel(Cmat=case["weights"], Dmat=case["delays"] * SPEED)
    model.params.update(
        coupling="additive", K_gl=K_GL, signalV=SPEED, dt=DT, duration=DURATION,
        a=A, w=W, seed=0, tau_ou=DT, sigma_ou=SIGMA / DT,
        x_ou=np.zeros(N_NODES), y_ou=np.zeros(N_NODES),
        xs_init=case["initial_state"][0][:, None].copy(),
        ys_init=case["initial_state"][1][:, None].copy(),
    )  # fmt: skip
    model.run()
    reference = np.stack([model.x, model.y]).transpose(2, 0, 1)
    network = Network(
        SupHopf(a=A, omega=W),
        coupling={"c": DelayedLinearCoupling("x", G=np.array([[K_GL], [0.0]]))},
        graph=DenseDelayGraph(case["weights"], case["delays"]),
        noise=AdditiveNoise(SIGMA, key=0),
        initial_state=case["initial_state"],
    )
    solve, config = prepare(network, Euler(), t0=0.0, t1=DURATION, dt=DT)
    errors = []
    for lag in (1, 0):
        config.noise_samples = jnp.asarray(
            neurolib_normals(N_NODES, len(reference), 0, lag)
        )
        errors.append(relative_error(np.asarray(solve(config).ys), reference))
    assert errors[0] < TOLERANCE < errors[1], errors
