"""Continued runs: ``prepare(final_state=True)`` and ``config.start``.

Two halves equal one whole run bit for bit (states, delay history, noise),
one point at a time, under ``jax.vmap`` and under an executor."""

from __future__ import annotations

import copy

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax import DataAxis, ParallelExecution, Space
from sweepjax.network import (
    AdditiveNoise,
    DelayedLinearCoupling,
    DenseDelayGraph,
    DenseGraph,
    Diffrax,
    Heun,
    Linear,
    LinearCoupling,
    Network,
    SupHopf,
    prepare,
)

DELAYS = np.array([[0.0, 1.0, 2.0], [0.5, 0.0, 0.3], [1.5, 0.7, 0.0]])


def delayed_network() -> Network:
    """3 noisy Stuart-Landau nodes with delays of up to 20 steps."""
    return Network(
        SupHopf(a=0.2),
        {"d": DelayedLinearCoupling(incoming_states=("x", "y"), G=0.3)},
        DenseDelayGraph(np.ones((3, 3)) - np.eye(3), DELAYS),
        noise=AdditiveNoise(0.05, jax.random.key(1)),
    )


def noisy_network() -> Network:
    """2 noisy Stuart-Landau nodes, no delays (cheap to compile)."""
    return Network(
        SupHopf(a=0.2),
        {"c": LinearCoupling(incoming_states=("x", "y"), G=0.3)},
        DenseGraph(np.ones((2, 2)) - np.eye(2)),
        noise=AdditiveNoise(0.05, jax.random.key(1)),
    )


def with_G(config, G, coupling="d"):
    config = copy.deepcopy(config)
    config.coupling[coupling].G = G
    return config


def with_start(config, start):
    config = copy.deepcopy(config)
    config.start = start
    return config


def assert_same(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_two_halves_equal_the_whole_run_bit_for_bit_under_vmap():
    network = delayed_network()
    whole, cw = prepare(network, Heun(), 0.0, 4.0, 0.1, final_state=True)
    half, ch = prepare(network, Heun(), 0.0, 2.0, 0.1, final_state=True)
    Gs = jnp.array([0.1, 0.3, 0.5])
    runs = jax.jit(jax.vmap(lambda G: whole(with_G(cw, G))))(Gs)

    @jax.jit
    @jax.vmap
    def halves(G, start):  # the batch shares one delay history
        return half(with_start(with_G(ch, G), start))

    # a fresh run starts from what start_of gives: one program for both halves
    fresh = jax.jit(jax.vmap(lambda G: half.start_of(with_G(ch, G))))(Gs)
    assert_same(fresh.step, jnp.zeros(3, jnp.int32))
    firsts = halves(Gs, fresh)
    seconds = halves(Gs, firsts.final)
    assert_same(np.concatenate([firsts.ys, seconds.ys], axis=1), runs.ys)
    assert_same(seconds.final, runs.final)
    np.testing.assert_array_equal(seconds.final.step, 40)
    # the noise is continued, not restarted: a second half from step 0 differs
    restarted = halves(Gs, firsts.final._replace(step=fresh.step))
    assert not np.array_equal(restarted.ys, seconds.ys)


def test_continued_sweep_under_an_executor_equals_whole_runs():
    """Both halves and the whole runs through the same executor (the same
    batching: XLA is free to round a batched program apart from a one-point
    one, and the suite compiles without its fusion emitters)."""
    network = noisy_network()
    whole, cw = prepare(network, Heun(), 0.0, 4.0, 0.1, unroll=2)
    half, ch = prepare(network, Heun(), 0.0, 2.0, 0.1, unroll=2, final_state=True)
    Gs = np.array([0.1, 0.3, 0.5])

    def sweep(solve_fn, config, starts=None):
        config = copy.deepcopy(config)
        config.coupling.c.G = DataAxis(Gs, group="p")
        if starts is not None:
            config.start = jax.tree.map(
                lambda x: DataAxis(np.asarray(x), group="p"), starts
            )

        def model(config):
            solution = solve_fn(config)
            final = {"final": solution.final} if solve_fn is half else {}
            return {"ys": solution.ys, **final}

        executor = ParallelExecution(model, Space(config), n_vmap=2, progress=False)
        return executor.run().outputs

    fresh = [half.start_of(with_G(ch, G, "c")) for G in Gs]
    first = sweep(half, ch, jax.tree.map(lambda *x: np.stack(x), *fresh))
    second = sweep(half, ch, first["final"])
    np.testing.assert_array_equal(
        np.concatenate([first["ys"], second["ys"]], axis=1), sweep(whole, cw)["ys"]
    )


def test_start_refusals():
    network = delayed_network()
    half, config = prepare(network, Heun(), 0.0, 2.0, 0.1, final_state=True)
    with pytest.raises(TypeError, match="config.start must be None or a RunState"):
        half(with_start(config, {"y": 0.0}))
    short, other = prepare(network, Heun(), 0.0, 2.0, 0.2, final_state=True)
    with pytest.raises(ValueError, match="config.start.history has shape"):
        half(with_start(config, short.start_of(other)))
    with pytest.raises(TypeError, match="final_state must be True or False"):
        prepare(network, Heun(), 0.0, 2.0, 0.1, final_state=1)
    plain = Network(
        SupHopf(),
        {"c": LinearCoupling(("x", "y"), G=0.1)},
        DenseGraph(np.ones((2, 2)) - np.eye(2)),
    )
    with pytest.raises(ValueError, match="Diffrax does not hand back a final state"):
        prepare(plain, Diffrax(diffrax.Heun()), 0.0, 1.0, 0.1, final_state=True)


def test_continued_run_crosschecks_tvboptim_update_history(x64):
    """TVB-Optim 0.4.0's ``update_history`` continues a run from its recorded
    trajectory, ours from the carried delay buffer: the two continued runs
    agree (float64). (Where the first piece is shorter than the largest
    delay plus a step, TVB-Optim pads the past it lacks with the first
    recorded state, as it warns, and its continued run leaves its own whole
    run: 4e-5 off at 2 ms pieces with 2 ms delays here; ours still equals
    the whole run bit for bit, which the vmap test above checks.)"""
    tvbo = pytest.importorskip("tvboptim.experimental.network_dynamics.solve")
    from tvboptim.experimental.network_dynamics.core.network import Network as TNet
    from tvboptim.experimental.network_dynamics.coupling.linear import (
        DelayedLinearCoupling as TCoupling,
    )
    from tvboptim.experimental.network_dynamics.dynamics.tvb.linear import (
        Linear as TLinear,
    )
    from tvboptim.experimental.network_dynamics.graph.base import (
        DenseDelayGraph as TGraph,
    )
    from tvboptim.experimental.network_dynamics.solvers.native import Heun as THeun

    weights = np.array([[0, 1.0, 0.5], [0.3, 0, 1.0], [0.8, 0.2, 0]])
    delays = DELAYS / 2  # at most 1 ms: TVB-Optim's 2 ms pieces cover them
    coupling = {"delayed": TCoupling(incoming_states="x", G=0.3)}
    pieces = TNet(TLinear(), coupling, TGraph(weights, delays))
    fn, config = tvbo.prepare(pieces, THeun(), t0=0.0, t1=2.0, dt=0.1)
    first = fn(config)
    pieces.update_history(first)
    fn, config = tvbo.prepare(pieces, THeun(), t0=2.0, t1=4.0, dt=0.1)
    theirs = np.concatenate([first.ys, fn(config).ys])

    network = Network(
        Linear(),
        {"delayed": DelayedLinearCoupling("x", G=0.3)},
        DenseDelayGraph(weights, delays),
        initial_state=0.01,  # TVB-Optim's Linear starts there
    )
    half, config = prepare(network, Heun(), 0.0, 2.0, 0.1, final_state=True)
    ours = half(config)
    ours = np.concatenate([ours.ys, half(with_start(config, ours.final)).ys])
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-12)
