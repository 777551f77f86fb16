"""Stimuli: TVB's temporal equations, the step they are held over, per-node
weights, recorded inputs, sweeps of their parameters and bad input."""

from __future__ import annotations

import copy

import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax import Config, GridAxis, ParallelExecution, Space
from sweepjax.network import (
    DataStimulus,
    DenseGraph,
    Euler,
    Heun,
    Linear,
    Network,
    PulseTrain,
    Sinusoid,
    prepare,
)

N = 3
DT = 0.1
GAMMA = -2.0  # Linear: dx/dt = gamma * x + c


def run(stimulus, solver=Euler(), n_steps=40, y0=0.3):
    network = Network(
        Linear(gamma=GAMMA), {}, DenseGraph(np.zeros((N, N))), initial_state=y0,
        stimulus=stimulus,
    )  # fmt: skip
    solve_fn, config = prepare(network, solver, 0.0, n_steps * DT, DT)
    return solve_fn, config


def tvb_equation(name, **parameters):
    equations = pytest.importorskip("tvb.datatypes.equations")
    return getattr(equations, name)(parameters=parameters)


@pytest.mark.parametrize(
    "ours, tvb",
    [
        (
            PulseTrain("x", onset=0.73, T=1.13, tau=0.31, amp=2.0),
            ("PulseTrain", {"onset": 0.73, "T": 1.13, "tau": 0.31, "amp": 2.0}),
        ),
        (
            Sinusoid("x", amp=0.5, frequency=0.3),
            ("Sinusoid", {"amp": 0.5, "frequency": 0.3}),
        ),
    ],
    ids=["pulse_train", "sinusoid"],
)
def test_temporal_shape_is_tvbs_equation(x64, ours, tvb):
    t = np.arange(0.0, 8.0, DT)
    name, parameters = tvb
    want = tvb_equation(name, **parameters).evaluate(t)
    params = {k: jnp.asarray(leaf.value) for k, leaf in ours.leaves().items()}
    got = ours(Config(params), jnp.asarray(t), jnp.arange(len(t)))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_euler_adds_dt_times_the_stimulus_of_the_steps_start(x64):
    weights = np.array([1.0, 0.0, 0.5])
    stimulus = Sinusoid("x", amp=0.8, frequency=0.2, onset=0.5, weights=weights)
    solve_fn, config = run({"s": stimulus})
    ys = np.asarray(solve_fn(config).ys)[:, 0]
    x = np.full(N, 0.3)
    for k in range(40):
        t = k * DT
        s = 0.8 * np.sin(2 * np.pi * 0.2 * (t - 0.5)) if t >= 0.5 else 0.0
        x = x + DT * (GAMMA * x + weights * s)
        np.testing.assert_allclose(ys[k], x, rtol=1e-12)


def test_heun_holds_the_stimulus_over_both_stages(x64):
    """As TVB: y' = y + dt/2 (f(y) + f(y~)) + dt * s(t_k)."""
    data = np.random.default_rng(0).normal(size=(40, N))
    solve_fn, config = run({"d": DataStimulus("x", data)}, Heun())
    ys = np.asarray(solve_fn(config).ys)[:, 0]
    x = np.full(N, 0.3)
    for k in range(40):
        predictor = x + DT * (GAMMA * x + data[k])
        x = x + DT / 2 * (GAMMA * x + GAMMA * predictor) + DT * data[k]
        np.testing.assert_allclose(ys[k], x, rtol=1e-12)


def test_stimuli_on_the_same_state_add_up(x64):
    a = PulseTrain("x", onset=-1.0, T=1.0, tau=1.0, amp=0.5)  # always on
    b = DataStimulus("x", np.full(40, 0.25))
    both, config = run({"a": a, "b": b})
    alone, config_alone = run({"c": DataStimulus("x", np.full(40, 0.75))})
    np.testing.assert_allclose(both(config).ys, alone(config_alone).ys, rtol=1e-12)


def test_stimulus_parameters_are_config_leaves_that_sweep():
    solve_fn, config = run({"p": PulseTrain("x", onset=0.5, T=1.0, tau=0.4, amp=1.0)})
    assert set(config.stimulus.p.keys()) == {"onset", "T", "tau", "amp", "weights"}
    sweep = copy.deepcopy(config)
    sweep.stimulus.p.amp = GridAxis(0.5, 2.0, 3)
    sweep.stimulus.p.onset = GridAxis(0.0, 1.0, 2)
    space = Space(sweep, mode="product")

    def final(cfg):
        return solve_fn(cfg).ys[-1]

    result = ParallelExecution(final, space, n_vmap=3, n_pmap=2, progress=False).run()
    direct = np.stack([final(space[i]) for i in range(len(space))])
    np.testing.assert_allclose(np.asarray(result.outputs), direct, rtol=1e-6)
    assert len({round(float(v), 6) for v in direct[:, 0, 0]}) == len(space)


def test_data_must_cover_every_step():
    solve_fn, config = run({"d": DataStimulus("x", np.zeros(10))})
    with pytest.raises(ValueError, match=r"config.stimulus.d.data has 10 rows .* 40"):
        solve_fn(config)


def test_bad_stimulus_input():
    with pytest.raises(ValueError, match="T must hold finite values >= 0"):
        PulseTrain("x", T=-1.0)
    with pytest.raises(ValueError, match="data must hold finite values"):
        DataStimulus("x", [0.0, np.nan])
    with pytest.raises(TypeError, match="states must be a state name"):
        Sinusoid(3)
    with pytest.raises(ValueError, match="unknown state variable"):
        run({"s": Sinusoid("v")})
    with pytest.raises(ValueError, match=r"weights must be a scalar or one value"):
        run({"s": Sinusoid("x", weights=np.ones(5))})
    with pytest.raises(TypeError, match="must be an AbstractStimulus"):
        run({"s": 1.0})
