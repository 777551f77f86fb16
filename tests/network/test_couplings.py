"""TVB's coupling family: each coupling's sum-of-signals form equals the
per-edge formula ``post(sum_j W[i, j] pre(x_i, x_j))`` computed edge by edge
in NumPy, instantaneous and through delays (trajectories against TVB's
simulator: test_tvb_crosscheck.py)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax import Config
from sweepjax.network import (
    DelayedLinearCoupling,
    DenseDelayGraph,
    DenseGraph,
    DifferenceCoupling,
    Euler,
    HyperbolicTangentCoupling,
    JansenRit,
    Kuramoto,
    KuramotoCoupling,
    Linear,
    LinearCoupling,
    Network,
    PreSigmoidalCoupling,
    ScalingCoupling,
    SigmoidalCoupling,
    SigmoidalJansenRitCoupling,
    prepare,
)
from sweepjax.network._couplings import COUPLINGS

RNG = np.random.default_rng(3)
N = 4
W = RNG.uniform(0.0, 1.0, (N, N))


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


#: name -> (coupling, states x [k, N], reference(x_i [k], x_j [k, N], w [N])
#: -> the coupling of node i [components]).
CASES = {
    "LinearCoupling": (
        LinearCoupling("x", G=0.7, b=0.2),
        lambda xi, xj, w: 0.7 * (w * xj).sum(-1) + 0.2,
    ),
    "ScalingCoupling": (
        ScalingCoupling("x", a=0.3),
        lambda xi, xj, w: 0.3 * (w * xj).sum(-1),
    ),
    "HyperbolicTangentCoupling": (
        HyperbolicTangentCoupling("x", a=0.5, b=2.0, midpoint=0.1, sigma=0.7),
        lambda xi, xj, w: (w * 0.5 * (1 + np.tanh((2.0 * xj - 0.1) / 0.7))).sum(-1),
    ),
    "SigmoidalCoupling": (
        SigmoidalCoupling("x", cmin=-0.5, cmax=2.0, midpoint=0.3, a=1.5, sigma=0.8),
        lambda xi, xj, w: -0.5 + 2.5 * sigmoid(1.5 * ((w * xj).sum(-1) - 0.3) / 0.8),
    ),
    "SigmoidalJansenRitCoupling": (
        SigmoidalJansenRitCoupling(
            ("u", "v"), cmin=0.1, cmax=0.9, midpoint=0.2, r=3.0, a=2.0
        ),
        lambda xi, xj, w: (
            2.0
            * (w * (0.1 + 0.8 * sigmoid(3.0 * ((xj[0] - xj[1]) - 0.2)))).sum(
                -1, keepdims=True
            )
        ),
    ),
    "PreSigmoidalCoupling": (
        PreSigmoidalCoupling(("x", "theta"), H=0.4, Q=0.5, G=3.0, P=1.2),
        lambda xi, xj, w: np.array(
            [
                (w * 0.4 * (0.5 + np.tanh(3.0 * (1.2 * xj[0] - xj[1])))).sum(),
                0.4 * (0.5 + np.tanh(3.0 * (1.2 * xi[0] - xi[1]))),
            ]
        ),
    ),
    "DifferenceCoupling": (
        DifferenceCoupling(("x", "y"), a=0.3),
        lambda xi, xj, w: 0.3 * (w * (xj - xi[:, None])).sum(-1),
    ),
    "KuramotoCoupling": (
        KuramotoCoupling("x", G=2.0),
        lambda xi, xj, w: 2.0 / N * (w * np.sin(xj - xi[:, None])).sum(-1),
    ),
}


def test_every_coupling_has_a_case():
    assert {type(c).__name__ for c, _ in CASES.values()} == set(COUPLINGS)


def params_of(coupling):
    leaves = coupling.leaves().items()
    return Config({k: jnp.asarray(leaf.value) for k, leaf in leaves})


def per_edge(reference, x_now, x_sent):
    """``c_i`` from ``reference`` with node i's current states and what each
    node j sent to i (``x_sent[i]`` is ``[k, N]``)."""
    return np.stack(
        [reference(x_now[:, i], x_sent[i], W[i]) for i in range(N)], axis=-1
    )


@pytest.mark.parametrize("name", list(CASES))
def test_instantaneous_coupling_equals_the_per_edge_formula(x64, name):
    coupling, reference = CASES[name]
    k = len(coupling.incoming_states)
    x = RNG.uniform(-1.0, 1.0, (k, N))
    got = coupling(params_of(coupling), jnp.asarray(W), jnp.asarray(x))
    want = per_edge(reference, x, np.broadcast_to(x, (N, k, N)))
    np.testing.assert_allclose(got, np.atleast_2d(want), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", list(CASES))
def test_delayed_coupling_sums_what_was_sent_and_reads_the_current_receiver(x64, name):
    """Through delays node i receives pre(x_j(t - d_ij)) and post sees x_i(t):
    the per-edge formula with the delayed senders."""
    coupling, reference = CASES[name]
    k = len(coupling.incoming_states)
    x_sent = RNG.uniform(-1.0, 1.0, (N, k, N))  # what j sent to i, per i
    x_now = RNG.uniform(-1.0, 1.0, (k, N))
    params = params_of(coupling)
    sent = np.stack([np.asarray(coupling.pre(params, jnp.asarray(s))) for s in x_sent])
    summed = np.einsum("ij,isj->si", W, sent)
    got = coupling.post(params, jnp.asarray(summed), jnp.asarray(x_now))
    want = per_edge(reference, x_now, x_sent)
    np.testing.assert_allclose(got, np.atleast_2d(want), rtol=1e-12, atol=1e-14)


def test_presigmoidal_global_threshold_averages_the_own_output(x64):
    local = PreSigmoidalCoupling(("x", "theta"))
    shared = PreSigmoidalCoupling(("x", "theta"), globalT=True)
    x = jnp.asarray(RNG.uniform(-1.0, 1.0, (2, N)))
    c_local = local(params_of(local), jnp.asarray(W), x)
    c_shared = shared(params_of(shared), jnp.asarray(W), x)
    np.testing.assert_allclose(c_shared[0], c_local[0])
    np.testing.assert_allclose(c_shared[1], np.full(N, np.mean(c_local[1])))


def test_static_presigmoidal_uses_the_threshold_parameter(x64):
    coupling = PreSigmoidalCoupling("x", theta=0.2, dynamic=False)
    assert "theta" in coupling.leaves()
    assert "theta" not in PreSigmoidalCoupling(("x", "t")).leaves()
    x = jnp.asarray(RNG.uniform(-1.0, 1.0, (1, N)))
    got = coupling(params_of(coupling), jnp.asarray(W), x)
    sent = 0.5 * (1.0 + np.tanh(60.0 * (np.asarray(x) - 0.2)))
    np.testing.assert_allclose(got, sent @ W.T, rtol=1e-12)


def test_couplings_that_read_two_states_say_so():
    with pytest.raises(ValueError, match="reads two states"):
        SigmoidalJansenRitCoupling(("y1",))
    with pytest.raises(ValueError, match="dynamic=False"):
        PreSigmoidalCoupling("x")
    with pytest.raises(TypeError, match="delayed must be True or False"):
        ScalingCoupling("x", delayed=1)


def test_sigmoidal_jansen_rit_feeds_jansen_rit_one_component():
    """TVB's JansenRit network: S(y1 - y2) of the senders into one input."""
    network = Network(JansenRit(), {"c": SigmoidalJansenRitCoupling()}, DenseGraph(W))
    solve_fn, config = prepare(network, Euler(), 0.0, 1.0, 0.1)
    assert config.coupling.c.cmax == pytest.approx(0.005)
    assert np.all(np.isfinite(solve_fn(config).ys))


def test_delayed_flag_needs_a_delay_graph_and_shows_in_repr():
    coupling = KuramotoCoupling(G=1.0, delayed=True)
    assert (
        repr(coupling)
        == "KuramotoCoupling(incoming_states=('theta',), delayed=True, G=1.0)"
    )
    with pytest.raises(ValueError, match="needs delays"):
        Network(Kuramoto(), {"k": coupling}, DenseGraph(W))
    assert repr(DelayedLinearCoupling("S")) == (
        "DelayedLinearCoupling(incoming_states=('S',))"
    )


def test_delayed_difference_on_zero_delays_matches_the_instantaneous_at_euler(x64):
    """Euler evaluates once per step, so held (delayed, zero delays) and
    re-evaluated (instantaneous) couplings agree exactly."""
    y0 = RNG.uniform(-1.0, 1.0, (1, N))
    runs = []
    for delayed, graph in [
        (False, DenseGraph(W)),
        (True, DenseDelayGraph(W, np.zeros((N, N)))),
    ]:
        coupling = DifferenceCoupling("x", a=0.4, delayed=delayed)
        network = Network(Linear(), {"c": coupling}, graph, initial_state=y0)
        solve_fn, config = prepare(network, Euler(), 0.0, 2.0, 0.1)
        runs.append(np.asarray(solve_fn(config).ys))
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-12)
