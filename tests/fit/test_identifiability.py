"""Identifiability at every start of a multi-start fit, cross-checked against
TVB-Optim 0.4.0's one-point analysis, and profile likelihoods."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import optax
import pytest
import tvboptim.types.parameter as tvb
from tvboptim.analysis.identifiability import analyze_identifiability

import sweepjax as sj
from sweepjax import fit

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


def residuals(state):
    a, b, c = state["a"], state["b"], state["c"]
    return jnp.concatenate(
        [jnp.stack([a * b - 1.0, a + b**2 - 2.5, jnp.sin(a) - 0.5]), c * a - state["y"]]
    )


def loss(state):
    return jnp.sum(residuals(state) ** 2)


def point(p=sj.Parameter):
    return {
        "a": p(jnp.asarray(1.2)),
        "b": p(jnp.asarray(0.7)),
        "c": p(jnp.array([0.3, -0.2])),
        "y": jnp.array([0.1, 0.4]),
    }


@pytest.mark.parametrize("use_residuals", [False, True])
def test_eigenvalues_match_tvb_optim_at_the_same_point(use_residuals):
    """Away from an optimum too (both warn): same matrix, labels, spectrum."""
    with pytest.warns(RuntimeWarning, match=r"gradient norm is above 0.001 at start"):
        ours = fit.identifiability(
            loss, point(), residuals=residuals if use_residuals else None
        )
    with pytest.warns(UserWarning, match="Gradient norm at the supplied point"):
        theirs = analyze_identifiability(
            loss, point(tvb.Parameter), model=residuals if use_residuals else None
        )
    assert ours.kind == theirs.kind
    assert list(ours.labels) == theirs.labels == ["a", "b", "c[0]", "c[1]"]
    np.testing.assert_allclose(ours.eigenvalues[0], theirs.eigenvalues, rtol=1e-6)
    np.testing.assert_allclose(ours.matrix[0], theirs.matrix, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(ours.gradient_norm[0], theirs.gradient_norm, rtol=1e-6)
    # eigenvectors agree up to sign
    dots = np.abs(np.sum(ours.eigenvectors[0] * np.asarray(theirs.eigenvectors), 0))
    np.testing.assert_allclose(dots, 1.0, rtol=1e-6)


def test_stiff_and_sloppy_directions_are_named():
    """(a + b - 1)^2 + eps (a - b)^2: Hessian eigenvalues 4 eps along a - b
    (sloppy) and 4 along a + b (stiff)."""
    eps = 1e-4

    def ridge(s):
        return (s["a"] + s["b"] - 1) ** 2 + eps * (s["a"] - s["b"]) ** 2

    state = {"a": sj.Parameter(jnp.asarray(0.5)), "b": sj.Parameter(jnp.asarray(0.5))}
    result = fit.identifiability(ridge, state)
    np.testing.assert_allclose(result.eigenvalues[0], [4 * eps, 4.0], rtol=1e-10)
    (sloppy,) = result.sloppy_directions(1)
    (stiff,) = result.stiff_directions(1)
    assert sloppy["eigenvalue"] == pytest.approx(4 * eps)
    np.testing.assert_allclose(
        abs(sloppy["loadings"]["a"] + sloppy["loadings"]["b"]), 0, atol=1e-12
    )
    np.testing.assert_allclose(stiff["loadings"]["a"], stiff["loadings"]["b"])
    assert result.condition_number()[0] == pytest.approx(1 / eps)
    assert "sloppiest along a" in result.summary()


def test_fisher_is_half_the_hessian_at_a_perfect_fit():
    """loss = sum r^2: Hessian = 2 J^T J + sum r H_r, and r = 0 at the fit."""
    state = {"a": sj.Parameter(jnp.asarray(2.0)), "b": sj.Parameter(jnp.asarray(0.5))}

    def r(s):
        return jnp.stack([s["a"] * s["b"] - 1.0, s["a"] - 2.0, s["b"] ** 3 - 0.125])

    hessian = fit.identifiability(lambda s: jnp.sum(r(s) ** 2), state)
    fisher = fit.identifiability(lambda s: jnp.sum(r(s) ** 2), state, residuals=r)
    np.testing.assert_allclose(hessian.matrix, 2 * fisher.matrix, rtol=1e-12)
    # per-residual noise scales divide the rows of J
    sigma = jnp.array([1.0, 2.0, 0.5])
    scaled = fit.identifiability(
        lambda s: 0.0 * s["a"], state, residuals=r, sigma=sigma
    )
    jac = jax.jacfwd(lambda t: r({"a": t[0], "b": t[1]}))(jnp.array([2.0, 0.5]))
    jac = jac / sigma[:, None]
    np.testing.assert_allclose(scaled.matrix[0], jac.T @ jac, rtol=1e-12)


@pytest.fixture(scope="module")
def multistart():
    """A 6-start fit of a loss with two optima, x = +2 and x = -2 (y = 1),
    one vmapped program; and its identifiability."""
    with jax.enable_x64(True):

        def double_well(s):
            return (s["x"] ** 2 - 4.0) ** 2 + 0.5 * (s["y"] - 1.0) ** 2

        starts = jnp.array([-3.0, -1.5, -0.5, 0.5, 1.0, 2.5])
        opt = sj.OptaxOptimizer(double_well, optax.adam(0.05))

        def one(x0):
            state = {"x": sj.Parameter(x0), "y": sj.Parameter(jnp.asarray(0.0))}
            return opt.run(state, max_steps=600)[0]

        fitted = jax.jit(jax.vmap(one))(starts)
        result = fit.identifiability(double_well, fitted, batched=True)
        return double_well, fitted, starts, result


def test_multistart_reports_each_optimum(multistart):
    double_well, fitted, starts, result = multistart
    assert result.eigenvalues.shape == (6, 2)
    assert result.n_optima == 2
    optimum_of_start = result.optimum
    signs = np.sign(np.asarray(starts))
    for k in range(2):  # the starts of an optimum share the sign of x
        assert len(set(signs[optimum_of_start == k])) == 1
    # Hessian at x = +-2, y = 1: diag(32 x^2 / ... ) = diag(2 * 4 * 2 * ... ):
    # d2/dx2 (x^2 - 4)^2 = 12 x^2 - 16 = 32, d2/dy2 = 1
    np.testing.assert_allclose(result.eigenvalues, [[1.0, 32.0]] * 6, rtol=1e-4)
    assert "2 optima" in result.summary()
    # each start of the batch equals its own one-point analysis
    single = fit.identifiability(double_well, jax.tree.map(lambda x: x[4], fitted))
    np.testing.assert_allclose(result.matrix[4], single.matrix[0], rtol=1e-12)


def test_plot_draws_one_spectrum_per_start(multistart):
    result = multistart[3]
    ax = result.plot()
    points = np.concatenate([c.get_offsets() for c in ax.collections])
    assert points.shape == (12, 2)  # 6 starts x 2 eigenvalues
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "optimum 0",
        "optimum 1",
    ]


def test_cluster_optima_takes_the_lowest_loss_first():
    theta = np.array([[1.0, 0.0], [-1.0, 0.0], [1.0 + 1e-5, 0.0], [5.0, 5.0]])
    loss = np.array([0.2, 0.1, 0.2, 0.0])
    np.testing.assert_array_equal(fit.cluster_optima(theta, loss), [2, 1, 2, 0])


def test_profile_likelihood_refits_the_others_in_one_sweep():
    """Along a of (a + b - 1)^2 + eps (a - b)^2 the profile is eps (2a - 1)^2
    / (1 + eps) (b refitted): flat where the Hessian says sloppy."""
    eps = 0.1

    def ridge(s):
        return (s["a"] + s["b"] - 1) ** 2 + eps * (s["a"] - s["b"]) ** 2

    state = {"a": sj.Parameter(jnp.asarray(0.5)), "b": sj.Parameter(jnp.asarray(0.0))}
    values = jnp.linspace(-1.0, 2.0, 7)
    out = fit.profile_likelihood(ridge, state, "a", values, optax.sgd(0.2), 100)
    expected = eps * (2 * values - 1) ** 2 / (1 + eps)
    np.testing.assert_allclose(out["loss"], expected, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(out["state"]["a"], values)  # held, not a Parameter
    assert not sj.is_parameter(out["state"]["a"]) and sj.is_parameter(out["state"]["b"])


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="identifiability: `state` holds no Parameter"):
        fit.identifiability(loss, {"a": 1.0})
    state = point()
    with pytest.raises(ValueError, match=r"got name='d'; the parameters are \['a'"):
        fit.profile_likelihood(loss, state, "d", [1.0], optax.sgd(0.1))
    with pytest.raises(ValueError, match=r"values.*shape \[V, \*\(2,\)\].*got shape"):
        fit.profile_likelihood(loss, state, "c", [1.0, 2.0], optax.sgd(0.1))


def test_a_sweep_fits_and_analyses_every_start_in_its_point_program(multistart):
    """curvature() inside an executor's point function: the same analysis as
    identifiability() of the vmapped fit."""
    double_well, _, starts, expected = multistart
    opt = sj.OptaxOptimizer(double_well, optax.adam(0.05))

    def point(state):
        return fit.curvature(double_well, opt.run(state, max_steps=600)[0])

    space = sj.Space(
        {
            "x": sj.DataAxis(np.asarray(starts), group="start", wrap=sj.Parameter),
            "y": sj.DataAxis(np.zeros(6), group="start", wrap=sj.Parameter),
        }
    )
    result = sj.ParallelExecution(point, space, n_vmap=6, progress=False).run()
    ours = fit.Identifiability.from_curvature(
        result.outputs, fit.parameter_labels(space[0])
    )
    assert ours.labels == ("x", "y") and ours.n_optima == 2
    np.testing.assert_array_equal(ours.optimum, expected.optimum)
    np.testing.assert_allclose(ours.eigenvalues, expected.eigenvalues, rtol=1e-10)
    with pytest.raises(ValueError, match=r"missing \['theta'\]"):
        fit.Identifiability.from_curvature(
            {k: v for k, v in result.outputs.items() if k != "theta"}, ours.labels
        )
    with pytest.raises(ValueError, match="`labels` must name the 2 coordinates, got 1"):
        fit.Identifiability.from_curvature(result.outputs, ["x"])
