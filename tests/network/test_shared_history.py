"""One delay history per batch: the shared (batch-innermost) layout, the
per-point path for swept delays, and a plain loop all give the same numbers."""

from __future__ import annotations

import copy

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from registry import EXECUTORS

from sweepjax import DataAxis, GridAxis, Space
from sweepjax.network import (
    AdditiveNoise,
    DelayedLinearCoupling,
    DenseDelayGraph,
    DenseGraph,
    Euler,
    Generic2dOscillator,
    Heun,
    JansenRit,
    Kuramoto,
    KuramotoCoupling,
    LinearCoupling,
    Network,
    ReducedWongWang,
    SparseDelayGraph,
    SparseGraph,
    SubSample,
    SupHopf,
    prepare,
)
from sweepjax.network._batching import Points
from sweepjax.network._delays import shares_layout

DT = 0.1


def random_network(seed: int, n: int, density: float, sparse: bool) -> Network:
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.1, 1.0, (n, n)) * (rng.random((n, n)) < density)
    delays = rng.uniform(0.0, 1.5, (n, n))  # up to 15 steps, not multiples of dt
    graph = (
        SparseDelayGraph.from_dense(weights, delays, max_delay=2.0)
        if sparse
        else DenseDelayGraph(weights, delays, max_delay=2.0)
    )
    return Network(
        SupHopf(a=-0.2, omega=0.8),
        {
            "d": DelayedLinearCoupling(("x", "y"), G=0.3),
            "i": LinearCoupling(("x", "y"), G=0.1),
        },
        graph,
        AdditiveNoise(0.05, jax.random.key(seed)),
        initial_state=rng.uniform(-1.0, 1.0, (2, n)),
    )


def euler_reference(network: Network, config, n_steps: int) -> np.ndarray:
    """A plain float64 loop of Euler-Maruyama with delays: ``[n_steps, 2, n]``."""
    W = np.asarray(network.graph.weights)
    if isinstance(network.graph, SparseDelayGraph):
        W, D = network.graph.to_dense()
    else:
        D = np.asarray(config.graph.delays)
        W = np.asarray(config.graph.weights)
    steps = np.rint(D / DT).astype(int)
    a, omega = float(config.dynamics.a), float(config.dynamics.omega)
    Gd, Gi = float(config.coupling.d.G), float(config.coupling.i.G)
    z = np.asarray(
        jax.random.normal(config.noise.key, (n_steps, 2, W.shape[0]), jnp.float64)
    )
    scale = float(config.noise.sigma) * np.sqrt(DT)
    history = [np.asarray(config.initial_state, float)]
    n = W.shape[0]
    for k in range(n_steps):
        y = history[-1]
        delayed = np.zeros((2, n))
        for i in range(n):
            for j in range(n):
                if W[i, j]:
                    past = history[max(k - steps[i, j], 0)]
                    delayed[:, i] += W[i, j] * past[:, j]
        x, v = y
        r = a - x**2 - v**2
        c = Gd * delayed + Gi * (y @ W.T)
        f = np.stack([r * x - omega * v, r * v + omega * x]) + c
        history.append(y + DT * f + scale * z[k])
    return np.stack(history[1:])


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_equals_a_plain_float64_loop(x64, sparse):
    network = random_network(3, 5, 0.6, sparse)
    solve, config = prepare(network, Euler(), 0.0, 3.0, DT)
    got = np.asarray(solve(config).ys)
    np.testing.assert_allclose(got, euler_reference(network, config, 30), rtol=1e-12)


SWEPT = ("coupling.d.G", "graph.weights", "noise.key")


def sweep_of(config, rng, n_points, sweep_delays):
    """Per-point configs and ``vmap``'s inputs ``(batch, axes)``: G, weights
    and keys vary (and the delays when ``sweep_delays``), the rest is shared."""
    swept = SWEPT + (("graph.delays",) if sweep_delays else ())
    configs = []
    for p in range(n_points):
        c = copy.deepcopy(config)
        c.coupling.d.G = jnp.asarray(rng.uniform(0.0, 0.6))
        c.graph.weights = config.graph.weights * rng.uniform(0.5, 1.5)
        c.noise.key = jax.random.key(p)
        if sweep_delays:
            c.graph.delays = config.graph.delays * rng.uniform(0.5, 1.3)
        configs.append(c)
    batch, axes = copy.deepcopy(config), jax.tree.map(lambda _: None, config)
    for path in swept:
        *parents, name = path.split(".")
        b, a = batch, axes
        for parent in parents:
            b, a = b[parent], a[parent]
        b[name] = jnp.stack([leaf_at(c, path) for c in configs])
        a[name] = 0
    return configs, batch, axes


def leaf_at(config, path):
    for name in path.split("."):
        config = config[name]
    return config


# random delays may fall under a step: that warning is not what this tests
@pytest.mark.filterwarnings("ignore:dt=.* rounds .* to 0 steps:UserWarning")
@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, 1000),
    n=st.integers(2, 6),
    density=st.sampled_from([0.3, 0.7, 1.0]),
    sparse=st.booleans(),
    sweep_delays=st.booleans(),
    monitor=st.sampled_from([None, SubSample(3)]),
)
def test_a_batch_equals_its_points_solved_one_by_one(
    x64, seed, n, density, sparse, sweep_delays, monitor
):
    network = random_network(seed, n, density, sparse)
    solve, config = prepare(network, Heun(), 0.0, 1.8, DT, monitor=monitor)
    rng = np.random.default_rng(seed)
    configs, batch, axes = sweep_of(config, rng, 3, sweep_delays)
    batched = np.asarray(jax.jit(jax.vmap(solve, in_axes=(axes,)))(batch).ys)
    for p, c in enumerate(configs):
        np.testing.assert_allclose(batched[p], solve(c).ys, rtol=1e-12, atol=1e-14)


@pytest.mark.filterwarnings("ignore:dt=0.1 ms rounds:UserWarning")  # sub-step delays
def test_swept_delays_take_the_per_point_path_and_others_share():
    network = random_network(0, 3, 1.0, False)
    _, config = prepare(network, Heun(), 0.0, 1.0, DT)
    axes = jax.tree.map(lambda _: None, config)
    axes.coupling.d.G = 0
    axes.graph.weights = 0
    assert shares_layout(network, Points(config, axes, 4))
    axes.graph.delays = 0
    assert not shares_layout(network, Points(config, axes, 4))


def shapes_in(jaxpr) -> set[tuple[int, ...]]:
    """Shapes of every value computed anywhere in a jaxpr, nested ones too."""
    found = set()
    for eqn in jaxpr.eqns:
        found |= {tuple(v.aval.shape) for v in eqn.outvars}
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            found |= shapes_in(sub)
    return found


@pytest.mark.parametrize("sweep_delays", [False, True])
def test_under_vmap_the_history_is_shared_unless_delays_vary(sweep_delays):
    network = random_network(1, 4, 1.0, False)
    solve, config = prepare(network, Heun(), 0.0, 1.0, DT)
    _, batch, axes = sweep_of(config, np.random.default_rng(0), 5, sweep_delays)
    traced = jax.make_jaxpr(jax.vmap(solve, in_axes=(axes,)))(batch)
    shapes = shapes_in(traced.jaxpr)
    H = int(np.ceil(2.0 / DT)) + 1
    shared = (H * 4, 2, 5)  # [slots * nodes, signals, batch]: batch innermost
    per_point = (5, H * 4, 2, 1)  # a history of one point for each point
    assert (shared in shapes) != sweep_delays
    assert (per_point in shapes) == sweep_delays


@pytest.fixture(scope="module")
def executor_case():
    """``(solve, space, expected)``: a product sweep of G and noise keys, and
    its points solved one by one (shared by every executor)."""
    with jax.enable_x64(True):
        network = random_network(5, 4, 0.7, False)
        solve, config = prepare(network, Heun(), 0.0, 1.5, DT)
        sweep = copy.deepcopy(config)
        sweep.coupling.d.G = GridAxis(0.0, 0.5, 3)
        sweep.noise.key = DataAxis(jax.random.split(jax.random.key(1), 2))
        space = Space(sweep, mode="product")
        expected = np.stack([solve(point).ys for point in space])
    return solve, space, expected


@pytest.mark.parametrize(
    "executor", ["parallel", "parallel_2dev", "parallel_4dev", "sequential"]
)
def test_every_executor_gives_the_same_numbers(x64, executor_case, executor):
    solve, space, expected = executor_case

    def model(cfg):
        return {"ys": solve(cfg).ys}

    got = EXECUTORS[executor](model, space, None).run().outputs["ys"]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_sparse_and_dense_graphs_agree_with_swept_weights(x64):
    dense_net = random_network(7, 5, 0.5, False)
    sparse_net = random_network(7, 5, 0.5, True)
    d_solve, d_config = prepare(dense_net, Heun(), 0.0, 2.0, DT)
    s_solve, s_config = prepare(sparse_net, Heun(), 0.0, 2.0, DT)
    scales = jnp.array([0.5, 1.0, 2.0])

    def dense(scale):
        c = copy.deepcopy(d_config)
        c.graph.weights = d_config.graph.weights * scale
        return d_solve(c).ys

    def sparse(scale):
        c = copy.deepcopy(s_config)
        c.graph.weights = s_config.graph.weights * scale
        return s_solve(c).ys

    np.testing.assert_allclose(
        jax.jit(jax.vmap(sparse))(scales),
        jax.jit(jax.vmap(dense))(scales),
        rtol=1e-12,
        atol=1e-14,
    )


def test_kuramoto_sends_two_signals_through_a_sparse_graph(x64):
    rng = np.random.default_rng(0)
    W = rng.uniform(0, 1, (6, 6)) * (rng.random((6, 6)) < 0.5)
    nets = [
        Network(Kuramoto(), {"k": KuramotoCoupling("theta", G=1.0)}, g)
        for g in (DenseGraph(W), SparseGraph.from_dense(W))
    ]
    (a_fn, a_cfg), (b_fn, b_cfg) = (prepare(n, Heun(), 0.0, 2.0, DT) for n in nets)
    np.testing.assert_allclose(a_fn(a_cfg).ys, b_fn(b_cfg).ys, rtol=1e-12)


def test_gradients_through_delays_match_finite_differences(x64):
    network = random_network(2, 3, 1.0, False)
    solve, config = prepare(network, Heun(), 0.0, 1.0, DT)

    def loss(G):
        c = copy.deepcopy(config)
        c.coupling.d.G = G
        return jnp.sum(solve(c).ys[-1] ** 2)

    G, one = jnp.asarray(0.3), jnp.asarray(1.0)
    eps = 1e-6
    # one compiled program gives the loss (its primal) and the tangent
    jvp = jax.jit(lambda g, t: jax.jvp(loss, (g,), (t,)))
    fd = (jvp(G + eps, one)[0] - jvp(G - eps, one)[0]) / (2 * eps)
    grad = jax.jit(jax.grad(loss))  # one compilation for every G below
    np.testing.assert_allclose(grad(G), fd, rtol=1e-6)
    Gs = jnp.array([0.1, 0.3])
    np.testing.assert_allclose(
        jax.jit(jax.vmap(grad))(Gs), [grad(g) for g in Gs], rtol=1e-12
    )
    _, tangent = jvp(G, one)
    np.testing.assert_allclose(tangent, fd, rtol=1e-6)


MODELS = {
    "ReducedWongWang": (ReducedWongWang(), "S"),
    "Generic2dOscillator": (Generic2dOscillator(), "V"),
    "SupHopf": (SupHopf(), ("x", "y")),
    "JansenRit": (JansenRit(), "y1"),
    "Kuramoto": (Kuramoto(), "theta"),
}


@pytest.mark.parametrize("model", list(MODELS))
def test_every_model_and_coupling_batched_equals_point_by_point(x64, model):
    dynamics, states = MODELS[model]
    rng = np.random.default_rng(1)
    weights = rng.uniform(0.0, 1.0, (4, 4)) * (rng.random((4, 4)) < 0.7)
    coupling = {
        "d": DelayedLinearCoupling(states, G=0.05),
        "i": LinearCoupling(states, G=0.05),
    }
    if model == "Kuramoto":
        coupling["k"] = KuramotoCoupling("theta", G=0.5)
    network = Network(
        dynamics,
        coupling,
        DenseDelayGraph(weights, rng.uniform(0.0, 0.8, (4, 4))),
        AdditiveNoise(1e-3, jax.random.key(0)),
    )
    solve, config = prepare(network, Heun(), 0.0, 1.0, DT)
    Gs = jnp.array([0.0, 0.05, 0.1])
    keys = jax.random.split(jax.random.key(3), 3)

    def at(G, key):
        c = copy.deepcopy(config)
        c.coupling.d.G = G
        c.noise.key = key
        return c

    batched = jax.jit(jax.vmap(lambda G, key: solve(at(G, key)).ys))(Gs, keys)
    for p in range(3):
        np.testing.assert_allclose(
            batched[p], solve(at(Gs[p], keys[p])).ys, rtol=1e-12, atol=1e-14
        )
