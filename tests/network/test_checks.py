"""Checks that hold under sweeping: what a constructor refuses, a solve refuses.

Each checked leaf is swept through ``ParallelExecution`` with one bad value
(an ``ExecutionError`` names the leaf, what it received and what is allowed),
every bad kind is refused eagerly and under ``jit`` and ``vmap``, every solver
is covered, good values give bit-identical results to the unchecked solve,
and the checks leave the time loop alone and put no host callback in the
program an executor compiles (``test_persistent_cache.py``: it is cached).
"""

from __future__ import annotations

import copy

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from network_helpers import SOLVERS, all_to_all, replace_leaf, solver_id

from sweepjax import (
    DataAxis,
    DistributedExecution,
    ExecutionError,
    ParallelExecution,
    SequentialExecution,
    Space,
)
from sweepjax._failures import collecting_checks
from sweepjax.network import (
    AdditiveNoise,
    DelayedLinearCoupling,
    DenseDelayGraph,
    DenseGraph,
    Euler,
    Heun,
    LinearCoupling,
    Network,
    ReducedWongWang,
    make_config,
    prepare,
)
from sweepjax.network._checks import Allowed, failure_code
from sweepjax.network._layout import leaf_rules
from sweepjax.network._solution import Plan

N, T1, DT = 3, 0.5, 0.1
ALLOWED = {
    "graph.weights": "finite values",
    "graph.delays": "finite values >= 0 ms",
    "noise.sigma": "finite values >= 0",
    "initial_state": "finite values",
}
RECEIVED = {
    "negative": "a negative value",
    "nan": "a NaN value",
    "inf": "an infinite value",
}
#: Every checked leaf with every bad kind it can receive.
CASES = [
    ("graph.weights", "nan"),
    ("graph.weights", "inf"),
    ("graph.delays", "negative"),
    ("graph.delays", "nan"),
    ("graph.delays", "inf"),
    ("noise.sigma", "negative"),
    ("noise.sigma", "nan"),
    ("noise.sigma", "inf"),
    ("initial_state", "nan"),
    ("initial_state", "inf"),
]


def delayed_network() -> Network:
    return Network(
        ReducedWongWang(),
        {"d": DelayedLinearCoupling("S", G=0.2), "i": LinearCoupling("S", G=0.1)},
        DenseDelayGraph(all_to_all(N), np.full((N, N), 0.2), max_delay=0.4),
        AdditiveNoise(1e-3, jax.random.key(0)),
    )


def message(path: str, kind: str) -> str:
    """The regex of the run-time error for ``kind`` received at ``path``."""
    return rf"config\.{path} received {RECEIVED[kind]}; allowed: {ALLOWED[path]}"


def bad_value(config, path: str, kind: str) -> jax.Array:
    """The good value at ``path`` with one entry made negative, NaN or inf."""
    good = _leaf(config, path)
    bad = {"negative": -1.0, "nan": np.nan, "inf": np.inf}[kind]
    flat = good.reshape(-1).copy()
    flat[-1] = bad
    return jnp.asarray(flat.reshape(good.shape), good.dtype)


def _leaf(config, path: str) -> np.ndarray:
    node = config
    for name in path.split("."):
        node = node[name]
    return np.asarray(node)


@pytest.fixture(scope="module")
def prepared():
    """``(solve_fn, config)`` of a small noisy network with delays."""
    return prepare(delayed_network(), Heun(), 0.0, T1, DT)


@pytest.fixture(scope="module")
def batched(prepared):
    """``batched(path)``: a jitted ``vmap`` of the solve over the leaf at
    ``path``, compiled once per leaf for the whole module (the tests call it
    with batches of 3 values)."""
    solve_fn, config = prepared
    compiled = {}

    def get(path):
        if path not in compiled:

            def run(value):
                return solve_fn(replace_leaf(config, path, value)).ys

            compiled[path] = jax.jit(jax.vmap(run))
        return compiled[path]

    return get


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("graph.weights", "nan"),
        ("graph.delays", "negative"),
        ("noise.sigma", "negative"),
        ("initial_state", "inf"),
    ],
)
def test_a_swept_bad_value_fails_the_sweep_naming_the_leaf(prepared, path, kind):
    solve_fn, config = prepared
    sweep = copy.deepcopy(config)
    good = jnp.asarray(_leaf(config, path))
    setter = sweep
    *parents, name = path.split(".")
    for parent in parents:
        setter = setter[parent]
    setter[name] = DataAxis(jnp.stack([good, bad_value(config, path, kind)]))

    def observe(cfg):
        return solve_fn(cfg).ys.mean()

    executor = ParallelExecution(observe, Space(sweep), n_vmap=2, progress=False)
    with pytest.raises(ExecutionError, match=message(path, kind)) as info:
        executor.run()
    assert "A swept value must obey the rule" in str(info.value.__cause__)


@pytest.mark.parametrize("executor", ["n_pmap=2", "store", "distributed"])
def test_every_executor_fails_the_batch_of_a_bad_point(
    prepared, executor, request, tmp_path
):
    """Across devices, into a store (which replays the fingerprinted trace)
    and on Dask workers, a bad point's check fails its batch (the exact
    point is named) and the batches before it are kept."""
    solve_fn, config = prepared
    sweep = copy.deepcopy(config)
    good = config.noise.sigma
    bad = bad_value(config, "noise.sigma", "nan")
    sweep.noise.sigma = DataAxis(jnp.stack([good] * 5 + [bad]))

    def observe(cfg):
        return solve_fn(cfg).ys.mean()

    if executor == "distributed":
        client = request.getfixturevalue("dask_client")
        run = DistributedExecution(
            observe, Space(sweep), client=client, n_vmap=2, progress=False
        )
        kwargs = {"chunk_size": 2}
    elif executor == "store":
        run = ParallelExecution(observe, Space(sweep), n_vmap=2, progress=False)
        kwargs = {"store": tmp_path / "store", "chunk_size": 2}
    else:
        run = ParallelExecution(
            observe, Space(sweep), n_vmap=1, n_pmap=2, progress=False
        )
        kwargs = {}
    with pytest.raises(ExecutionError, match=message("noise.sigma", "nan")) as info:
        run.run(**kwargs)
    assert info.value.index == 5
    assert len(info.value.partial.outputs) == 4


def test_a_bad_point_fails_a_sequential_sweep_after_the_good_ones(prepared):
    solve_fn, config = prepared
    sweep = copy.deepcopy(config)
    good = config.noise.sigma
    bad = bad_value(config, "noise.sigma", "nan")
    sweep.noise.sigma = DataAxis(jnp.stack([good, good, bad]))

    def observe(cfg):
        return solve_fn(cfg).ys.mean()

    executor = SequentialExecution(observe, Space(sweep), progress=False)
    with pytest.raises(ExecutionError, match=message("noise.sigma", "nan")) as info:
        executor.run()
    assert info.value.index == 2
    assert np.all(np.isfinite(info.value.partial.outputs))
    assert len(info.value.partial.outputs) == 2


def test_a_direct_call_raises_a_value_error_on_the_host(prepared):
    solve_fn, config = prepared
    bad = replace_leaf(config, "noise.sigma", bad_value(config, "noise.sigma", "inf"))
    with pytest.raises(ValueError, match=message("noise.sigma", "inf")):
        solve_fn(bad)


def test_a_delay_beyond_the_buffer_fails_the_sweep_before_compiling(prepared):
    solve_fn, config = prepared
    sweep = copy.deepcopy(config)
    delays = np.full((N, N), 0.2)
    # refused when the axis is set: no Space, no executor, nothing compiled
    with pytest.raises(
        ValueError,
        match=r"config\.graph\.delays: the delays set reach 0\.6 ms, beyond the "
        r"history buffer of this prepared solve: 4 steps of dt=0\.1 ms, delays "
        r"up to max_delay=0\.4 ms",
    ):
        sweep.graph.delays = DataAxis(jnp.asarray(np.stack([delays, delays * 3])))


@pytest.mark.parametrize(("path", "kind"), CASES)
def test_every_bad_kind_is_refused_under_jit_and_vmap(prepared, batched, path, kind):
    solve_fn, config = prepared
    bad = bad_value(config, path, kind)
    with pytest.raises(Exception, match=message(path, kind)):
        jax.block_until_ready(solve_fn(replace_leaf(config, path, bad)))
    good = jnp.asarray(_leaf(config, path))
    with pytest.raises(Exception, match=message(path, kind)):
        jax.block_until_ready(batched(path)(jnp.stack([good, bad, good])))
    assert np.all(np.isfinite(batched(path)(jnp.stack([good, good, good]))))


def test_the_first_bad_leaf_in_config_order_is_named(prepared):
    solve_fn, config = prepared
    # the leaf's own dtype (not a weakly typed -1.0): the compiled solve serves
    both = replace_leaf(
        config, "noise.sigma", bad_value(config, "noise.sigma", "negative")
    )
    both = replace_leaf(both, "graph.delays", bad_value(config, "graph.delays", "nan"))
    with pytest.raises(Exception, match=message("graph.delays", "nan")):
        jax.block_until_ready(solve_fn(both))


@pytest.fixture(scope="module", params=SOLVERS, ids=solver_id)
def each_solver(request):
    """``(solver, network, solve_fn, config)`` of a small noisy network without
    delays (every solver supports it), compiled once per solver."""
    network = Network(
        ReducedWongWang(),
        {"i": LinearCoupling("S", G=0.3)},
        DenseGraph(all_to_all(N)),
        AdditiveNoise(1e-2, jax.random.key(0)),
    )
    solve_fn, config = prepare(network, request.param, 0.0, T1, DT)
    return request.param, network, solve_fn, config


def test_every_solver_checks_what_it_receives(each_solver):
    _, _, solve_fn, config = each_solver
    sigma = jnp.asarray(-1e-3, config.noise.sigma.dtype)
    with pytest.raises(Exception, match=message("noise.sigma", "negative")):
        jax.block_until_ready(solve_fn(replace_leaf(config, "noise.sigma", sigma)))


def test_good_values_give_identical_results(each_solver):
    solver, network, solve_fn, config = each_solver
    unchecked = jax.jit(solver.build(network, Plan.recording(0.0, DT, 5)))
    np.testing.assert_array_equal(solve_fn(config).ys, unchecked(config).ys)


def test_good_swept_values_give_identical_results_with_delays(prepared, batched):
    _, config = prepared
    unchecked = Heun().build(delayed_network(), Plan.recording(0.0, DT, 5))
    dtype = config.graph.delays.dtype  # not weakly typed: batched serves
    delays = jnp.stack([jnp.full((N, N), d, dtype) for d in (0.0, 0.2, 0.4)])
    plain = jax.jit(
        jax.vmap(lambda d: unchecked(replace_leaf(config, "graph.delays", d)).ys)
    )
    # batched: the checked solve, vmapped over the delays
    np.testing.assert_array_equal(batched("graph.delays")(delays), plain(delays))


def _primitives(jaxpr, inside_loop: bool = False):
    """``(name, inside a scan or while)`` of every equation, recursively."""
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        yield name, inside_loop
        loop = inside_loop or name in ("scan", "while")
        for param in eqn.params.values():
            for sub in param if isinstance(param, tuple | list) else (param,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    yield from _primitives(inner, loop)


@pytest.mark.parametrize("solver", (Euler(), Heun()), ids=solver_id)
def test_the_checks_leave_the_loop_alone_and_call_no_host(solver):
    """Traced as an executor traces it, the checked solve has the unchecked
    solve's time loop and no host callback (nothing that keeps XLA's program
    out of JAX's persistent cache); each checked leaf costs one or two
    reductions."""
    solve_fn, config = prepare(delayed_network(), solver, 0.0, T1, DT)
    unchecked = solver.build(delayed_network(), Plan.recording(0.0, DT, 5))

    @jax.jit
    def program(cfg):  # what an executor compiles for a point
        with collecting_checks() as failures:
            out = solve_fn(cfg)
        return out, failures.code()

    jaxpr = program.trace(config).jaxpr.jaxpr
    assert "callback" not in program.lower(config).as_text()
    checked = list(_primitives(jaxpr))
    plain = list(_primitives(jax.make_jaxpr(unchecked)(config).jaxpr))
    assert [n for n, inside in checked if inside] == [
        n for n, inside in plain if inside
    ]
    reductions = [n for n, _ in checked if n.startswith("reduce")]
    extra = len(reductions) - len([n for n, _ in plain if n.startswith("reduce")])
    # max |x| of each checked leaf, min x of those with a minimum, one
    # reduction for the buffer and one for the edges
    rules = leaf_rules(delayed_network()).values()
    assert extra == len(rules) + sum(r.minimum is not None for r in rules) + 2


def test_a_users_own_jit_still_raises_through_a_callback(prepared):
    """Outside the executors, nothing collects the error: a user's jit of
    the solve raises through a host callback (documented in `_checks`)."""
    solve_fn, config = prepared
    bad = replace_leaf(config, "graph.delays", bad_value(config, "graph.delays", "nan"))
    run = jax.jit(lambda cfg: solve_fn(cfg).ys)
    assert "callback" in run.lower(config).as_text()
    with pytest.raises(Exception, match=message("graph.delays", "nan")):
        jax.block_until_ready(run(bad))


def test_good_and_absent_leaves_fail_no_check():
    network = delayed_network()
    config = make_config(network)
    assert int(failure_code(config, {"no.such.leaf": Allowed(minimum=1e9)})[0]) == 0
    assert int(failure_code(config, leaf_rules(network))[0]) == 0
    code, messages = failure_code(config, {"noise.sigma": Allowed(minimum=1.0)})
    assert messages[int(code) - 1].startswith(
        "config.noise.sigma received a value below 1"
    )


def test_leaf_rules_follow_the_network():
    assert leaf_rules(delayed_network()) == {
        "graph.weights": Allowed(),
        "graph.delays": Allowed(minimum=0.0, unit="ms"),
        "noise.sigma": Allowed(minimum=0.0),
        "initial_state": Allowed(),
    }
    plain = Network(ReducedWongWang(), {}, DenseGraph(np.eye(2)))
    assert list(leaf_rules(plain)) == ["graph.weights", "initial_state"]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (
            lambda: AdditiveNoise(-0.1),
            r"sigma must hold finite values >= 0, got a "
            r"negative value \(minimum -0\.1\)",
        ),
        (lambda: AdditiveNoise(np.nan), "sigma must hold finite values >= 0, got NaN"),
        (lambda: AdditiveNoise([1e-3, np.inf]), "got inf"),
        (
            lambda: DenseDelayGraph(np.ones((2, 2)), np.full((2, 2), np.nan)),
            "delays must hold finite values >= 0 ms, got NaN",
        ),
        (
            lambda: Network(
                ReducedWongWang(), {}, DenseGraph(np.eye(2)), initial_state=np.inf
            ),
            "initial_state must hold finite values, got inf",
        ),
    ],
)
def test_constructors_apply_the_same_rules(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_allowed_in_words_and_wrong_kinds():
    assert Allowed().describe() == "finite values"
    assert Allowed(minimum=0.0, unit="ms").describe() == "finite values >= 0 ms"
    assert Allowed(minimum=1.5).below() == "a value below 1.5"
    assert (
        Allowed(minimum=1.5)
        .messages("x")[2]
        .startswith(
            "config.x received a value below 1.5; allowed: finite values >= 1.5."
        )
    )
    with pytest.raises(TypeError, match="sigma must be a number or a numeric array"):
        AdditiveNoise("loud")
