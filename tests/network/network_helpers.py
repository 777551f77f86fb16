"""Shared pieces of the network tests: tiny networks and the solver registry.

A plain module (not conftest.py) so that its name cannot collide with
``tests/conftest.py`` when test files import from it.
"""

from __future__ import annotations

import copy
import functools

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax.network import (
    RK4,
    AbstractDynamics,
    AdditiveNoise,
    DenseGraph,
    Diffrax,
    Euler,
    Heun,
    LinearCoupling,
    Network,
    ReducedWongWang,
    prepare,
)

#: Every solver; a new solver joins every invariant test by being added here.
SOLVERS = (Euler(), Heun(), RK4(), Diffrax(diffrax.Heun()))

#: What a solver documents it does not support, with the error it raises:
#: ``{(solver type, feature): regex of the ValueError}``.
UNSUPPORTED = {
    (Diffrax, "delays"): "Diffrax does not support delayed couplings",
    (Diffrax, "TemporalAverage"): "Diffrax supports the Raw and SubSample monitors",
    (Diffrax, "noise_samples"): "noise_samples is not used by Diffrax",
}


def solver_id(solver) -> str:
    return type(solver).__name__


def refusal(solver, feature: str) -> str | None:
    """The error regex when ``solver`` does not support ``feature``, else None."""
    return UNSUPPORTED.get((type(solver), feature))


def skip_unsupported(solver, *features: str) -> None:
    """Skip the calling test when ``solver`` documents a feature as unsupported
    (``test_prepare.py`` checks that each such combination raises)."""
    for feature in features:
        if refusal(solver, feature) is not None:
            pytest.skip(f"{solver!r} does not support {feature}")


class Linear(AbstractDynamics):
    """dx/dt = -x/tau + rate + c: linear, so exact solutions are known."""

    state_names = ("x",)
    default_parameters = {"tau": 1.0, "rate": 0.0}
    default_initial_state = {"x": 1.0}
    coupling_inputs = {"c": 1}

    def derivative(self, t, state, coupling, params):
        (x,) = state
        return jnp.stack([-x / params.tau + params.rate + coupling["c"][0]])


def all_to_all(n: int) -> np.ndarray:
    return np.ones((n, n)) - np.eye(n)


def rww_network(n: int = 4, G: float = 0.5, sigma: float | None = 1e-3) -> Network:
    noise = None if sigma is None else AdditiveNoise(sigma, jax.random.key(0))
    return Network(
        dynamics=ReducedWongWang(),
        coupling={"instant": LinearCoupling("S", G=G)},
        graph=DenseGraph(all_to_all(n)),
        noise=noise,
    )


@functools.cache
def _prepared_rww(n, G, sigma, t1, dt, x64):
    return prepare(rww_network(n, G, sigma), Heun(), 0.0, t1, dt)


def prepared_rww(n=4, G=0.5, sigma: float | None = 1e-3, t1=2.0, dt=0.1):
    """``prepare(rww_network(n, G, sigma), Heun(), 0.0, t1, dt)`` once per
    session and float mode (so every test that runs it shares one compiled
    solve), with a fresh copy of the config."""
    solve_fn, config = _prepared_rww(n, G, sigma, t1, dt, jax.config.jax_enable_x64)
    return solve_fn, copy.deepcopy(config)


def replace_leaf(config, path: str, value):
    """A copy of ``config`` with the leaf at dotted ``path`` set to ``value``
    (works inside jit/vmap, where deep copies of concrete keys are not)."""
    found = []

    def swap(p, leaf):
        if jax.tree_util.keystr(p, simple=True, separator=".") == path:
            found.append(path)
            return value
        return leaf

    out = jax.tree_util.tree_map_with_path(swap, config)
    assert found, f"no leaf at {path}"
    return out
