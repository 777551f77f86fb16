"""Every model of the registry through every solver and through a sweep.

The cases come from ``MODELS``, so a new model joins by its registry line.
Each model runs coupled on 3 nodes, 50 steps of 0.01 ms (small enough for
the stiff models), without noise, in float64 so that the slow models
(ReducedWongWang moves ~5e-7 in 0.5 ms) move well above round-off.
"""

from __future__ import annotations

import copy
import functools

import diffrax
import jax
import numpy as np
import pytest
from network_helpers import all_to_all, replace_leaf

from sweepjax import GridAxis, ParallelExecution, Space
from sweepjax.network import (
    RK4,
    DenseGraph,
    Diffrax,
    Euler,
    Heun,
    Kuramoto,
    KuramotoCoupling,
    LinearCoupling,
    Network,
    prepare,
)
from sweepjax.network._models import MODELS

T1, DT, N_STEPS, N_NODES = 0.5, 0.01, 50, 3

#: name -> (solver, largest distance from RK4 as a fraction of how far RK4's
#: trajectory moves from the initial state; Euler is first order, Heun second).
SOLVERS = {
    "Euler": (Euler(), 5e-2),
    "Heun": (Heun(), 2e-3),
    "RK4": (RK4(), 0.0),
    "Diffrax": (Diffrax(diffrax.Heun()), 2e-3),
}

every_model = pytest.mark.parametrize("model", list(MODELS), ids=list(MODELS))


def coupled_network(model: type) -> Network:
    """``model`` on 3 all-to-all nodes, coupled through its first states."""
    dynamics = model()
    n_components = next(iter(dynamics.coupling_inputs.values()))
    incoming = dynamics.state_names[:n_components]
    coupling = (
        KuramotoCoupling(incoming, G=1.0) if model is Kuramoto
        else LinearCoupling(incoming, G=0.01)
    )  # fmt: skip
    return Network(dynamics, {"c": coupling}, DenseGraph(all_to_all(N_NODES)))


@functools.cache
def prepared(model: str):
    """``(solve_fns, solve_all, config)``: each solver's ``solve_fn`` and one
    jitted function of ``config`` returning every solver's ``ys`` (one
    compilation instead of four), shared by the tests (all run under x64)."""
    network = coupled_network(MODELS[model])
    solve_fns = {}
    for name, (solver, _) in SOLVERS.items():
        solve_fns[name], config = prepare(network, solver, 0.0, T1, DT)
    solve_all = jax.jit(lambda cfg: {n: fn(cfg).ys for n, fn in solve_fns.items()})
    return solve_fns, solve_all, config


@every_model
def test_every_solver_follows_the_model(model, x64):
    """Shapes, finite values, and every solver stays near RK4, relative to
    how far the model moves (a solver ignoring the model would not)."""
    _, solve_all, config = prepared(model)
    ys = {name: np.asarray(y) for name, y in solve_all(config).items()}
    assert set(ys) == set(SOLVERS)
    for name, y in ys.items():
        assert y.shape == (N_STEPS, len(MODELS[model].state_names), N_NODES)
        assert np.all(np.isfinite(y)), name
    moved = np.abs(ys["RK4"] - np.asarray(config.initial_state)).max()
    assert moved > 0
    for name, (_, tolerance) in SOLVERS.items():
        distance = np.abs(ys[name] - ys["RK4"]).max()
        assert distance <= tolerance * moved, (name, distance / moved)


@every_model
@pytest.mark.parametrize("n_pmap", (1, 2), ids=("1dev", "2dev"))
def test_parameter_sweep_equals_point_by_point_solves(model, n_pmap, x64):
    """A sweep of the model's first parameter (+-10 % around its default)
    under ParallelExecution on ``n_pmap`` devices equals solving each point
    on its own, is finite, and the parameter changes the trajectory (3
    points in batches of 2 per device: padding on 1 device and on 2)."""
    solve_fns, solve_all, config = prepared(model)
    name, default = next(iter(MODELS[model].default_parameters.items()))
    low, high = sorted((0.9 * default, 1.1 * default)) if default else (0.0, 0.01)
    axis = GridAxis(low, high, 3)
    sweep = copy.deepcopy(config)
    setattr(sweep.dynamics, name, axis)

    def observe(cfg):
        return solve_fns["Heun"](cfg).ys

    executor = ParallelExecution(
        observe, Space(sweep, mode="product"), n_vmap=2, n_pmap=n_pmap, progress=False
    )
    outputs = np.asarray(executor.run().outputs)
    direct = np.stack(
        [
            solve_all(replace_leaf(config, f"dynamics.{name}", value))["Heun"]
            for value in axis.generate_values()
        ]
    )
    np.testing.assert_allclose(outputs, direct, rtol=1e-12, atol=1e-14)
    assert np.all(np.isfinite(outputs))
    assert not np.allclose(outputs[0], outputs[-1], rtol=1e-9, atol=0.0)
