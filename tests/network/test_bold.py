"""Balloon-Windkessel BOLD model, cross-checked against neurolib in float64."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from neurolib.models.bold import BOLDModel
from neurolib.models.bold.timeIntegration import integrateBOLD_numba, simulateBOLD

from sweepjax.network._bold import BalloonWindkessel, bold, bold_times

N_NODES = 5
DT_MS = 0.5


def neural_signal(seed: int, n_steps: int, n_nodes: int = N_NODES) -> np.ndarray:
    """A positive input ``[n_steps, n_nodes]``: slow oscillations plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_steps)[:, None] * DT_MS * 1e-3
    freq = rng.uniform(0.05, 0.5, n_nodes)
    phase = rng.uniform(0, 2 * np.pi, n_nodes)
    slow = 1.0 + np.sin(2 * np.pi * freq * t + phase)
    return slow + rng.uniform(0.0, 1.0, (n_steps, n_nodes))


def neurolib_trace(z: np.ndarray, dt_ms: float) -> np.ndarray:
    """neurolib's BOLD after every step, ``[n_steps, n_nodes]``, from rest."""
    n = z.shape[1]
    out, *_ = simulateBOLD(
        z.T, dt_ms * 1e-3, np.ones(n), X=np.zeros(n), F=np.ones(n), Q=np.ones(n),
        V=np.ones(n),
    )  # fmt: skip
    return out.T


def assert_close_rel(actual, desired, rtol: float = 1e-4) -> None:
    """Elementwise relative agreement, with the signal's scale as the floor."""
    actual, desired = np.asarray(actual), np.asarray(desired)
    assert actual.shape == desired.shape
    assert np.all(np.isfinite(actual))
    scale = np.max(np.abs(desired))
    assert scale > 1e-3  # the input moved the BOLD signal: a non-trivial check
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol * scale)


def test_step_and_signal_match_neurolib_every_step(x64):
    z = neural_signal(0, n_steps=8000)  # 4 s
    model = BalloonWindkessel()

    def body(state, zk):
        state = model.step(state, zk, DT_MS)
        return state, model.signal(state)

    _, ours = jax.jit(lambda z: jax.lax.scan(body, model.init(N_NODES), z))(z)
    assert ours.dtype == jnp.float64
    assert_close_rel(ours, neurolib_trace(z, DT_MS))


def test_bold_tr_sampling_matches_neurolib(x64):
    z = neural_signal(1, n_steps=20000 + 123)  # 10 s and a partial TR
    trace = neurolib_trace(z, DT_MS)
    tr_ms = 2000.0
    n = 4000  # steps per TR
    ours = bold(z, DT_MS, tr_ms)
    assert ours.shape == (5, N_NODES)
    # sample j: the BOLD after steps (j + 1)*n, at time (j + 1)*tr_ms
    assert_close_rel(ours, trace[n - 1 :: n][:5])
    np.testing.assert_array_equal(bold_times(5, tr_ms), tr_ms * np.arange(1, 6))

    # neurolib's BOLDModel keeps steps 2, 2 + n, ...: the documented recipe
    full = bold(z[:20000], DT_MS, DT_MS)
    ref = BOLDModel(N_NODES, DT_MS)
    assert ref.samplingRate_NDt == n
    ref.X_BOLD = np.zeros(N_NODES)  # BOLDModel starts from s = 1, not rest
    ref.run(z[:20000].T)
    assert_close_rel(full[1::n], ref.BOLD.T)


def test_other_parameters_match_neurolib_kernel(x64):
    z = neural_signal(2, n_steps=6000)
    rho, alpha, v0, k2 = 0.3, 0.36, 0.03, 1.5
    kappa = np.linspace(0.5, 0.8, N_NODES)
    gamma = np.linspace(0.3, 0.5, N_NODES)
    tau = np.linspace(0.8, 1.2, N_NODES)
    model = BalloonWindkessel(
        kappa=kappa, gamma=gamma, tau=tau, rho=rho, alpha=alpha, V0=v0, k2=k2
    )
    ref = np.zeros((N_NODES, z.shape[0]))
    ones = np.ones(N_NODES)
    ref, *_ = integrateBOLD_numba(
        ref, np.zeros(N_NODES), ones.copy(), ones.copy(), ones.copy(), z.T,
        DT_MS * 1e-3, N_NODES, rho, alpha, v0, 7 * rho, k2, 2 * rho - 0.2,
        gamma, kappa, tau,
    )  # fmt: skip
    assert_close_rel(bold(z, DT_MS, 25.0, model), ref.T[49::50])
    # explicit k1/k3 override the rho-derived defaults
    explicit = BalloonWindkessel(
        kappa=kappa, gamma=gamma, tau=tau, rho=rho, alpha=alpha, V0=v0, k2=k2,
        k1=7 * rho, k3=2 * rho - 0.2,
    )  # fmt: skip
    assert_close_rel(bold(z, DT_MS, 25.0, explicit), ref.T[49::50])


def test_vmap_equals_point_by_point(x64):
    run = jax.jit(bold, static_argnums=(1, 2))
    signals = np.stack([neural_signal(s, n_steps=1000) for s in range(3)])
    batched = jax.vmap(lambda z: run(z, DT_MS, 50.0))(signals)
    for z, got in zip(signals, batched, strict=True):
        np.testing.assert_allclose(got, run(z, DT_MS, 50.0), rtol=1e-12)

    models = [BalloonWindkessel(rho=r, tau=t) for r, t in [(0.3, 0.9), (0.4, 1.1)]]
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *models)
    by_model = jax.vmap(lambda m: run(signals[0], DT_MS, 50.0, m))(stacked)
    for m, got in zip(models, by_model, strict=True):
        # round-off of the signal's scale: near rest the signal is 1 - q with
        # q ~ 1, and the batched program may contract other products (FMA)
        want = run(signals[0], DT_MS, 50.0, m)
        scale = float(np.abs(want).max())
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * scale)
    assert not np.allclose(by_model[0], by_model[1])


def test_rest_is_a_fixed_point(x64):
    model = BalloonWindkessel()
    rest = model.init(N_NODES, jnp.float64)
    np.testing.assert_array_equal(rest, [[0.0] * 5, [1.0] * 5, [1.0] * 5, [1.0] * 5])
    np.testing.assert_allclose(
        model.step(rest, jnp.zeros(N_NODES), DT_MS), rest, atol=1e-15
    )
    out = bold(np.zeros((400, N_NODES)), DT_MS, 10.0)
    np.testing.assert_allclose(out, 0.0, atol=1e-13)


def test_dtype_follows_input():
    z = jax.ShapeDtypeStruct((20, N_NODES), jnp.float32)
    assert jax.eval_shape(lambda z: bold(z, DT_MS, 5.0), z).dtype == jnp.float32
    model = BalloonWindkessel()
    state = model.init(N_NODES, jnp.float32)
    assert jax.eval_shape(model.step, state, state[0], DT_MS).dtype == jnp.float32
    assert jax.eval_shape(model.signal, state).dtype == jnp.float32
    assert model.init(N_NODES).dtype == jnp.result_type(float)


def test_gradient_matches_finite_differences(x64):
    z = neural_signal(4, n_steps=1000)

    @jax.jit
    def loss(tau):
        return jnp.sum(bold(z, DT_MS, 100.0, BalloonWindkessel(tau=tau)) ** 2)

    grad = jax.grad(loss)(0.98)
    h = 1e-5
    fd = (loss(0.98 + h) - loss(0.98 - h)) / (2 * h)
    assert np.isfinite(grad) and grad != 0
    np.testing.assert_allclose(grad, fd, rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"dt_ms": 0.0}, ValueError, r"`dt_ms` must be a positive.*dt_ms=0\.0"),
        ({"dt_ms": float("nan")}, ValueError, r"`dt_ms`.*dt_ms=nan"),
        ({"tr_ms": -2.0}, ValueError, r"`tr_ms` must be a positive.*tr_ms=-2\.0"),
        ({"tr_ms": 0.75}, ValueError, r"whole multiple of `dt_ms`.*tr_ms=0\.75"),
        ({"tr_ms": 0.25}, ValueError, r"whole multiple of `dt_ms`.*tr_ms=0\.25"),
        ({"tr_ms": jnp.asarray(1.0)}, TypeError, r"`tr_ms`.*not an array"),
        ({"signal": np.ones(10)}, ValueError, r"`signal` must be 2-D.*\(10,\)"),
        ({"tr_ms": 10.0}, ValueError, r"at least one TR \(20 steps.*got 8 steps"),
    ],
)
def test_bold_errors(kwargs, error, match):
    args = {"signal": np.ones((8, 2)), "dt_ms": 0.5, "tr_ms": 1.0} | kwargs
    with pytest.raises(error, match=match):
        bold(**args)


def test_init_errors():
    with pytest.raises(ValueError, match=r"`n_nodes`.*n_nodes=0"):
        BalloonWindkessel().init(0)
    with pytest.raises(TypeError, match=r"`n_nodes`"):
        BalloonWindkessel().init(2.5)


def test_a_step_takes_no_power_function():
    # XLA's CPU pow is a scalar call per element, most of a BOLD study's step
    model = BalloonWindkessel()
    state = model.init(N_NODES, jnp.float32)
    jaxpr = str(jax.make_jaxpr(model.step)(state, jnp.ones(N_NODES), DT_MS))
    assert "= pow " not in jaxpr
    assert "= log " in jaxpr


def test_float32_keeps_the_small_fluctuations_neurolib_float64_has():
    """At dt = 0.1 ms an increment of the inflow f (about 6.6 at a steady
    input of 2.28) is a few float32 ulps of f: plain sums lost 8% of the
    BOLD's fluctuations after 10 s (63% after 30 s); compensated sums keep
    them to 0.1% of neurolib's float64 BOLD."""
    dt, n_steps = 0.1, 100_000
    rng = np.random.default_rng(0)
    wiggle = np.repeat(rng.normal(0.0, 0.02, (n_steps // 100, 4)), 100, axis=0)
    steady = np.full((n_steps, 4), 2.28)
    run = jax.jit(lambda z: bold(z, dt, 10 * dt))
    ours = [
        np.asarray(run(jnp.asarray(z, jnp.float32))) for z in (steady + wiggle, steady)
    ]
    ref = [neurolib_trace(z, dt)[9::10] for z in (steady + wiggle, steady)]
    late = slice(5_000, None)  # the last 5 s
    fluctuation, want = (ours[0] - ours[1])[late], (ref[0] - ref[1])[late]
    assert ours[0].dtype == np.float32 and np.std(want) > 1e-6
    error = np.sqrt(np.mean((fluctuation - want) ** 2)) / np.std(want)
    assert error < 0.01
