"""Shared harness of the ``test_model_*.py`` files: our models against TVB's.

TVB is imported lazily (``pytest.importorskip``) inside each function, so the
module imports without TVB and the tests that need it are skipped.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax._config import Config
from sweepjax.network import DenseGraph, Heun, LinearCoupling, Network, prepare


def tvb_class(name):
    """TVB's model class ``name`` (skips the test without TVB)."""
    return getattr(pytest.importorskip("tvb.simulator.models"), name)


def tvb_model(name, params=None, booleans=()):
    """TVB's configured model ``name`` with ``params`` (TVB's defaults if None);
    the parameters in ``booleans`` are passed to TVB as bool arrays."""
    arrays = {}
    for k, v in (params or {}).items():
        arrays[k] = np.atleast_1d(np.asarray(bool(v) if k in booleans else v))
        if k not in booleans:
            arrays[k] = arrays[k].astype(float)
    model = tvb_class(name)(**arrays)
    model.configure()
    return model


def tvb_parameter_names(cls) -> set[str]:
    """The names of TVB's parameters: the class's declarative NArrays."""
    NArray = pytest.importorskip("tvb.basic.neotraits.api").NArray
    attrs = cls.declarative_attrs
    return {n for n in attrs if isinstance(getattr(cls, n), NArray)}


def check_names_and_defaults(ours_cls, model, cvar, left_out=(), strict=False):
    """Our state names, parameter set, defaults (exactly equal, float) and
    coupling components are TVB's; ``left_out`` are TVB parameters we omit on
    purpose; the default initial state is inside TVB's range (open if
    ``strict``)."""
    assert ours_cls.state_names == tuple(model.state_variables)
    assert list(model.cvar) == list(cvar)
    tvb_names = tvb_parameter_names(type(model))
    assert set(left_out) <= tvb_names
    assert set(ours_cls.default_parameters) == tvb_names - set(left_out)
    for name, value in ours_cls.default_parameters.items():
        assert isinstance(value, float), name
        np.testing.assert_array_equal(getattr(model, name), [value], err_msg=name)
    for name, value in ours_cls.default_initial_state.items():
        lo, hi = model.state_variable_range[name]
        assert (lo < value < hi) if strict else (lo <= value <= hi), name


def random_state(ranges, names, rng, n, overrides=None):
    """States drawn uniformly in ``ranges`` (TVB's ``state_variable_range``),
    with ``overrides`` ({name: (lo, hi)}) replacing some of them."""
    ranges = {**ranges, **(overrides or {})}
    return np.stack([rng.uniform(*ranges[k], n) for k in names])


def random_parameters(defaults, rng, scale=(0.5, 1.5), zero=None, fixed=None):
    """Every parameter moved off its default: scaled by ``scale``, zeros drawn
    from ``zero`` (left zero if None); ``fixed`` values are taken as given."""
    fixed = fixed or {}
    params = {}
    for name, value in defaults.items():
        if name in fixed:
            params[name] = fixed[name]
        elif value == 0.0 and zero is not None:
            params[name] = rng.uniform(*zero)
        else:
            params[name] = value * rng.uniform(*scale)
    return params


def ours(cls, params, state, c):
    """Our ``cls``'s derivative with ``params`` at ``state`` and coupling ``c``."""
    config = Config({k: jnp.asarray(v) for k, v in params.items()})
    dx = cls().derivative(0.0, jnp.asarray(state), {"c": jnp.asarray(c)}, config)
    return np.asarray(dx)


def tvb_dfun(model, state, c):
    """TVB's derivative for our shapes: state [s, n], c [cvar, n] -> [s, n]."""
    return model.dfun(state[..., None], c[..., None])[..., 0]


def assert_close_scaled(got, expected):
    """rtol 1e-10, with an absolute floor of 1e-12 of the largest value."""
    scale = np.abs(expected).max()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12 * scale)


def check_dfun_matches(cls, model, params, rng, n_nodes, components, draws=3):
    """Our ``derivative`` equals TVB's ``dfun`` (``assert_close_scaled``) at
    ``draws`` random states and couplings; TVB gets one coupling row per cvar,
    ours the first ``components``."""
    for _ in range(draws):
        state = random_state(model.state_variable_range, cls.state_names, rng, n_nodes)
        coupling = rng.uniform(-1.0, 1.0, (len(model.cvar), n_nodes))
        got = ours(cls, params, state, coupling[:components])
        assert_close_scaled(got, tvb_dfun(model, state, coupling))


def max_relative_error(got, expected):
    """Largest elementwise relative error (guarded against a zero reference)."""
    return float(np.max(np.abs(got - expected) / np.maximum(np.abs(expected), 1e-300)))


def check_tvb_reads_only_first_cvar(model, rng, n_nodes):
    """TVB's dfun changes with ``coupling[0]`` and ignores the other rows."""
    state = random_state(
        model.state_variable_range, model.state_variables, rng, n_nodes
    )[..., None]
    coupling = rng.uniform(-1.0, 1.0, (len(model.cvar), n_nodes, 1))
    before = model.dfun(state, coupling)
    changed = coupling.copy()
    changed[1:] += 5.0
    np.testing.assert_array_equal(model.dfun(state, changed), before)
    changed[0] += 5.0
    assert not np.allclose(model.dfun(state, changed), before)


def solve(dynamics, coupled=None, G=0.1, weights=None, initial_state=None):
    """Integrate a small network with Heun for 2 time units (dt 0.1): linear
    coupling ``c`` on ``coupled`` (none if None), all-to-all weights of 3
    nodes by default. Returns (ys, initial state, config)."""
    if weights is None:
        weights = np.ones((3, 3)) - np.eye(3)
    coupling = {} if coupled is None else {"c": LinearCoupling(coupled, G=G)}
    kwargs = {} if initial_state is None else {"initial_state": initial_state}
    network = Network(dynamics, coupling, DenseGraph(weights), **kwargs)
    solve_fn, config = prepare(network, Heun(), 0.0, 2.0, 0.1)
    ys = np.asarray(solve_fn(config).ys)
    return ys, np.asarray(config.initial_state), config


def check_runs_coupled(dynamics, coupled, n_states, G=0.1):
    """A coupled 3-node network runs 20 Heun steps, finite and moving."""
    ys, y0, _ = solve(dynamics, coupled, G=G)
    assert ys.shape == (20, n_states, 3)
    assert np.all(np.isfinite(ys))
    assert not np.allclose(ys[-1], y0)
    return ys


def tvb_heun(model, y0, weights, G, cvar, dt=0.1, n_steps=20):
    """Heun with instantaneous linear coupling on the states ``cvar``, using
    TVB's dfun (the reference for ``solve``)."""
    cvar = list(cvar)

    def f(y):
        return tvb_dfun(model, y, G * (weights @ y[cvar].T).T)

    ys, y = [], y0
    for _ in range(n_steps):
        k1 = f(y)
        y = y + 0.5 * dt * (k1 + f(y + dt * k1))
        ys.append(y)
    return np.stack(ys)


def check_per_node_like_scalar(cls, params, per_node, state, c, rtol):
    """Our derivative with per-node arrays ``per_node`` equals, node by node,
    the derivative with that node's scalars."""
    full = {**params, **per_node}
    got = ours(cls, full, state, c)
    for i in range(state.shape[1]):
        node = {**full, **{k: float(v[i]) for k, v in per_node.items()}}
        expected = ours(cls, node, state[:, i : i + 1], c[:, i : i + 1])
        np.testing.assert_allclose(got[:, i : i + 1], expected, rtol=rtol)


def check_per_node_through_prepare(dynamics, name, values, state_index, coupled=None):
    """Nodes with per-node ``name`` = ``values`` (uncoupled unless ``coupled``)
    keep the array in their config and end in three different states from the
    same start."""
    weights = None if coupled else np.zeros((3, 3))
    ys, _, config = solve(dynamics, coupled, weights=weights)
    np.testing.assert_array_equal(getattr(config.dynamics, name), values)
    assert np.all(np.isfinite(ys))
    assert len(np.unique(ys[-1, state_index])) == 3
