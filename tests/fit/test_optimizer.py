"""OptaxOptimizer: fits converge, eager and traced runs agree, bad input fails."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import sweepjax.fit._optimizer as optimizer_module
from sweepjax import (
    DataAxis,
    GridAxis,
    LogPositiveParameter,
    MaskedParameter,
    OptaxOptimizer,
    ParallelExecution,
    Parameter,
    SigmoidBoundedParameter,
    Space,
)

X = jnp.asarray(np.random.default_rng(0).normal(size=(20, 3)), jnp.float32)
W_TRUE = jnp.array([1.5, -2.0, 0.5])


def least_squares(state):
    return jnp.mean((X @ state["w"] + state["b"] - state["y"]) ** 2)


def quadratic(state):
    """Minimum at x = target, a = 0.8 (inside a's bounds), s = 2."""
    x, a, s = state["x"], state["a"], state["s"]
    return jnp.sum((x - state["target"]) ** 2) + (a - 0.8) ** 2 + (s - 2.0) ** 2


def quadratic_state(x0=0.0, target=3.0):
    return {
        "x": Parameter(jnp.full(2, x0)),
        "a": SigmoidBoundedParameter(0.3, low=0.0, high=1.0),
        "s": LogPositiveParameter(0.5),
        "target": jnp.asarray(target, jnp.float32),
    }


ADAM = OptaxOptimizer(quadratic, optax.adam(0.1))


def quadratic_with_aux(state):
    value = quadratic(state)
    return value, {"double": 2 * value, "x": state["x"] * 1.0}


WITH_AUX = OptaxOptimizer(quadratic_with_aux, optax.adam(0.1), has_aux=True)


def assert_trees_close(a, b, rtol=1e-5, atol=1e-6):
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    assert jax.tree.structure(a) == jax.tree.structure(b) and len(la) == len(lb)
    for x, y in zip(la, lb, strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


# ----- fits converge ---------------------------------------------------------


def test_least_squares_recovers_the_weights_and_keeps_frozen_entries():
    w_true = W_TRUE.at[1].set(0.0)  # the masked-out entry is right at its start
    state = {
        "w": MaskedParameter(jnp.zeros(3), mask=[True, False, True]),
        "b": Parameter(0.0),
        "y": X @ w_true + 0.7,
    }
    opt = OptaxOptimizer(least_squares, optax.sgd(0.4))
    final, history = opt.run(state, max_steps=60, progress=False)
    np.testing.assert_allclose(final["w"].constrained_value, w_true, atol=1e-4)
    np.testing.assert_array_equal(history["parameters"]["w"][:, 1], 0.0)
    np.testing.assert_allclose(final["b"].value, 0.7, atol=1e-4)
    assert history["loss"][-1] < 1e-7 < history["loss"][0]
    assert final["y"] is state["y"]  # the static part is handed back as it was


def test_the_optimizer_gets_value_grad_and_value_fn_as_line_searches_need():
    """optax.lbfgs and other line searches take these extra arguments."""
    seen = []

    def update(updates, opt_state, params, *, value, grad, value_fn, **extra):
        seen.append(True)
        assert grad is updates
        ratio = value_fn(params) / value  # 1 when value_fn gives the loss value
        return jax.tree.map(lambda g: -0.1 * ratio * g, updates), opt_state

    transform = optax.GradientTransformationExtraArgs(lambda p: (), update)
    state = quadratic_state()
    final, _ = OptaxOptimizer(quadratic, transform).run(
        state, max_steps=1, progress=False
    )
    assert seen == [True]
    np.testing.assert_allclose(final["x"].value, [0.6, 0.6], rtol=1e-6)


def test_adam_reaches_the_minimum_through_the_transforms():
    final, history = ADAM.run(quadratic_state(), max_steps=200, progress=False)
    np.testing.assert_allclose(final["x"].constrained_value, [3.0, 3.0], atol=1e-3)
    np.testing.assert_allclose(final["a"].constrained_value, 0.8, atol=1e-3)
    np.testing.assert_allclose(final["s"].constrained_value, 2.0, atol=1e-3)
    assert isinstance(final["a"], SigmoidBoundedParameter)
    assert history["loss"].shape == (200,) and history["loss"][-1] < 1e-6
    # the history holds constrained values, the first being the start
    np.testing.assert_allclose(history["parameters"]["a"][0], 0.3, rtol=1e-6)
    assert history["parameters"]["a"].shape == (200,)
    assert history["parameters"]["x"].shape == (200, 2)
    assert history["parameters"]["target"] is None
    assert np.all((history["parameters"]["a"] > 0) & (history["parameters"]["a"] < 1))


# ----- eager and traced runs agree -----------------------------------------


def test_eager_and_jit_give_the_same_state_history_and_aux():
    state = quadratic_state()
    run = dict(max_steps=10, record_every=3)  # records steps 0, 3, 6, 9
    eager = WITH_AUX.run(state, progress=False, **run)
    traced = jax.jit(lambda s: WITH_AUX.run(s, **run))(state)
    assert_trees_close(eager, traced)
    np.testing.assert_array_equal(eager[1]["step"], [0, 3, 6, 9])
    assert eager[1]["loss"].shape == (4,) and eager[1]["aux"]["x"].shape == (4, 2)
    np.testing.assert_allclose(eager[1]["aux"]["double"], 2 * eager[1]["loss"])


def test_a_loss_closing_over_a_tracer_runs_traced_too():
    state = quadratic_state(target=0.0)  # concrete: only the loss sees `t`

    def fit(t):
        opt = OptaxOptimizer(lambda s: quadratic({**s, "target": t}), ADAM.optimizer)
        return opt.run(state, max_steps=4, record_every=2)

    traced = jax.jit(fit)(jnp.float32(3.0))
    eager = ADAM.run(quadratic_state(), max_steps=4, record_every=2, progress=False)
    assert_trees_close(eager[1], traced[1])
    np.testing.assert_allclose(traced[0]["x"].value, eager[0]["x"].value, rtol=1e-5)


def test_vmap_over_starts_gives_each_start_its_own_eager_fit():
    starts = jnp.array([-2.0, 0.0, 1.0, 5.0])
    fit = jax.vmap(lambda x0: ADAM.run(quadratic_state(x0), max_steps=10))
    finals, histories = fit(starts)
    assert histories["loss"].shape == (4, 10)
    for i, x0 in enumerate(starts):
        eager = ADAM.run(quadratic_state(x0), max_steps=10, progress=False)
        one = jax.tree.map(lambda leaf: leaf[i], (finals, histories))
        assert_trees_close(eager, one)


def test_every_point_of_a_sweep_runs_its_own_fit():
    """Axes wrapped as parameters give each point its own start; inside
    ParallelExecution the fit is one lax.scan per point."""
    targets = jnp.array([1.0, 2.0, 4.0])
    state = {
        **quadratic_state(),
        "x": GridAxis(-2.0, 2.0, 2, shape=(2,), wrap=Parameter),
        "target": DataAxis(targets),
    }
    space = Space(state, mode="product")

    def model(state):
        final, history = ADAM.run(state, max_steps=10)
        return {"x": final["x"].constrained_value, "loss": history["loss"][-1]}

    result = ParallelExecution(model, space, n_vmap=6, progress=False).run()
    for i in range(len(space)):
        x0, target = space.parameters(i)["x"], space.parameters(i)["target"]
        final, history = ADAM.run(
            quadratic_state(x0, target), max_steps=10, progress=False
        )
        np.testing.assert_allclose(result[i]["x"], final["x"].value, rtol=1e-5)
        np.testing.assert_allclose(result[i]["loss"], history["loss"][-1], rtol=1e-5)
    # a start outside a parameter's domain is refused when the space is made
    bounded = functools.partial(SigmoidBoundedParameter, low=0.0, high=1.0)
    with pytest.raises(ValueError, match=r"must lie in \[low, high\] = \[0.0, 1.0\]"):
        Space({"a": GridAxis(0.5, 1.5, 3, wrap=bounded)})


def test_a_mask_computed_per_point_fits_as_a_concrete_one():
    """`MaskedParameter(w, w != 0)` under vmap (a traced mask) fits as the
    same parameter made eagerly."""
    opt = OptaxOptimizer(least_squares, optax.sgd(0.4))
    y = X @ W_TRUE + 0.7
    starts = jnp.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])

    def fit(w0):
        state = {"w": MaskedParameter(w0, w0 != 0), "b": Parameter(0.0), "y": y}
        return opt.run(state, max_steps=5)[0]["w"].constrained_value

    fitted = jax.vmap(fit)(starts)
    for w0, w in zip(starts, fitted, strict=True):
        state = {"w": MaskedParameter(w0, w0 != 0), "b": Parameter(0.0), "y": y}
        eager, _ = opt.run(state, max_steps=5, progress=False)
        np.testing.assert_allclose(w, eager["w"].constrained_value, rtol=1e-5)
        assert np.all(np.asarray(w)[np.asarray(w0) == 0] == 0)


def test_forward_mode_matches_reverse_mode():
    state = quadratic_state()
    rev = ADAM.run(state, max_steps=10, progress=False)
    fwd = ADAM.run(state, max_steps=10, mode="fwd", progress=False)
    assert_trees_close(rev, fwd)


# ----- aux, callbacks, chunks ----------------------------------------------


def test_the_callback_sees_every_step_and_may_stop_the_fit():
    calls = []

    def callback(step, params, static, history, aux, loss_value, grads):
        calls.append((step, float(loss_value)))
        history.setdefault("mine", []).append(step)
        assert jax.tree.structure(grads) == jax.tree.structure(params)
        return step == 4, params, static

    opt = OptaxOptimizer(quadratic, ADAM.optimizer, callback=callback)
    final, history = opt.run(quadratic_state(), max_steps=10, progress=False)
    assert [step for step, _ in calls] == [0, 1, 2, 3, 4]  # stopped after step 4
    np.testing.assert_allclose([v for _, v in calls], history["loss"], rtol=1e-6)
    assert history["mine"] == [0, 1, 2, 3, 4]
    # the final state is that of five steps
    five, _ = ADAM.run(quadratic_state(), max_steps=5, progress=False)
    assert_trees_close(final, five)


def test_chunks_call_back_once_per_chunk_and_record_as_without():
    steps = []
    # ADAM's loss and optimizer: its compiled steps are reused
    opt = OptaxOptimizer(
        quadratic, ADAM.optimizer, callback=lambda i, *_: steps.append(i)
    )  # returning None continues
    run = dict(max_steps=10, record_every=2, progress=False)
    final, history = opt.run(quadratic_state(), chunk_size=4, **run)
    assert steps == [3, 7, 9]
    plain = ADAM.run(quadratic_state(), **run)
    assert_trees_close((final, history), plain)


def test_every_chunk_size_gives_the_same_steps():
    """A chunk is one compiled scan, recording every step inside it."""
    plain = ADAM.run(quadratic_state(), max_steps=6, progress=False)
    for chunk_size in (3, 6):
        chunked = ADAM.run(
            quadratic_state(), max_steps=6, chunk_size=chunk_size, progress=False
        )
        assert_trees_close(chunked, plain)


def test_a_chunk_is_one_call_of_one_program(monkeypatch):
    calls = []
    compiled = optimizer_module.compiled_chunk

    def counting(*args):
        calls.append(args[4])  # the chunk's layout: (head, groups, tail)
        return compiled(*args)

    monkeypatch.setattr(optimizer_module, "compiled_chunk", counting)
    ADAM.run(quadratic_state(), max_steps=10, chunk_size=4, progress=False)
    assert calls == [(0, 4, 0), (0, 4, 0), (0, 2, 0)]  # every step recorded


def test_a_chunk_is_compiled_once_whatever_max_steps():
    """The program is one chunk's: more steps trace nothing new."""
    traces = []

    def loss(state):
        traces.append(1)  # runs at trace time only
        return quadratic(state)

    opt = OptaxOptimizer(loss, ADAM.optimizer)

    def new_traces(max_steps):
        before = len(traces)
        opt.run(quadratic_state(), max_steps=max_steps, chunk_size=4, progress=False)
        return len(traces) - before

    new_traces(8)  # compiles the chunk
    assert new_traces(8) == new_traces(40) > 0  # the checks before a run trace


def test_an_update_that_needs_numbers_runs_eagerly():
    """A Python line search inside `update` gets concrete values from
    `value_fn` (TVB-Optim runs its updates eagerly too)."""

    def update(grads, state, params, *, value, grad, value_fn, **extra):
        step = 1.0
        while step > 1e-3:  # backtrack until the loss decreases
            trial = jax.tree.map(lambda p, g: p - step * g, params, grads)
            if float(value_fn(trial)) < float(value):
                break
            step /= 2
        return jax.tree.map(lambda g: -step * g, grads), state

    line_search = optax.GradientTransformationExtraArgs(lambda p: (), update)
    state = {"x": Parameter(jnp.array([0.0, 1.0])), "target": jnp.array([3.0, -1.0])}
    final, history = OptaxOptimizer(quadratic_target, line_search).run(
        state, max_steps=2, progress=False
    )
    # the step halves once (1 overshoots to the mirror point), then is exact
    np.testing.assert_allclose(final["x"].value, [3.0, -1.0])
    np.testing.assert_allclose(history["loss"], [13.0, 0.0], atol=1e-6)


def quadratic_target(state):
    return jnp.sum((state["x"] - state["target"]) ** 2)


def nan_past_two(state):
    """Finite until x passes 2, NaN beyond (with a finite gradient)."""
    x = state["x"].constrained_value
    return jnp.sum((x - 3.0) ** 2) + jnp.where(jnp.any(x > 2.0), jnp.nan, 0.0)


def nan_update_at(k):
    """SGD(0.25) whose update at step `k` is NaN."""

    def update(grads, count, params=None):
        scale = jnp.where(count == k, jnp.nan, -0.25)
        return jax.tree.map(lambda g: scale * g, grads), count + 1

    return optax.GradientTransformation(lambda p: jnp.asarray(0), update)


@pytest.mark.parametrize("chunk_size", [None, 4])
def test_a_nan_loss_stops_an_eager_fit_at_the_last_finite_parameters(chunk_size):
    state = {"x": Parameter(jnp.array([0.0]))}
    run = dict(max_steps=6, chunk_size=chunk_size, progress=False)
    # x: 0 -> 1.5 -> 2.25, where the loss is NaN
    opt = OptaxOptimizer(nan_past_two, optax.sgd(0.25))
    with pytest.warns(
        RuntimeWarning,
        match=r"at step 2 the loss is NaN \(or inf\) at finite parameters.*state "
        r"returned holds the parameters of step 1, the last with a finite loss",
    ):
        final, history = opt.run(state, **run)
    np.testing.assert_allclose(final["x"].value, [1.5])
    np.testing.assert_array_equal(history["step"], [0, 1, 2])
    assert np.isnan(history["loss"][-1]) and np.isfinite(history["loss"][:2]).all()
    # a NaN update: the parameters of step 2 are NaN, those of step 1 kept
    opt = OptaxOptimizer(quadratic_target, nan_update_at(1))
    state = {"x": Parameter(jnp.array([0.0])), "target": jnp.array([3.0])}
    with pytest.warns(RuntimeWarning, match=r"at step 2 the parameters became NaN"):
        final, history = opt.run(state, **run)
    np.testing.assert_allclose(final["x"].value, [1.5])
    assert np.isnan(history["parameters"]["x"][-1]).all()
    # with a callback every chunk is looked at: none is called back after
    seen = []
    opt = OptaxOptimizer(nan_past_two, optax.sgd(0.25), lambda i, *_: seen.append(i))
    with pytest.warns(RuntimeWarning, match=r"at step 2 the loss is NaN"):
        opt.run({"x": Parameter(jnp.array([0.0]))}, **run)
    assert seen == ([0, 1] if chunk_size is None else [])


def test_a_nan_at_the_start_keeps_the_start():
    state = {"x": Parameter(jnp.array([2.5]))}
    with pytest.warns(RuntimeWarning, match=r"holds the start \(nothing was fitted\)"):
        final, history = OptaxOptimizer(nan_past_two, optax.sgd(0.25)).run(
            state, max_steps=3, progress=False
        )
    np.testing.assert_array_equal(final["x"].value, [2.5])
    np.testing.assert_array_equal(history["step"], [0])


def test_an_eager_run_shows_a_progress_bar(capsys):
    ADAM.run(quadratic_state(), max_steps=3)
    err = capsys.readouterr().err
    assert "fit" in err and "3/3" in err and "loss=" in err


def test_a_callback_under_a_trace_is_refused():
    opt = OptaxOptimizer(quadratic, optax.adam(0.1), callback=lambda *a: None)
    with pytest.raises(ValueError, match=r"a callback cannot run under a trace"):
        jax.jit(lambda s: opt.run(s, max_steps=2))(quadratic_state())


# ----- bad input -------------------------------------------------------------


@pytest.mark.parametrize(
    "loss, state, kwargs, error, match",
    [
        (
            lambda s: s["x"] * 2.0,
            quadratic_state(),
            {},
            ValueError,
            r"`loss` must return a real floating scalar, got ShapeDtypeStruct of "
            r"shape \(2,\)",
        ),
        (
            lambda s: (quadratic(s), 1.0),
            quadratic_state(),
            {},
            ValueError,
            r"got tuple\. If it returns \(value, aux\), pass has_aux=True",
        ),
        (
            quadratic,
            {"x": jnp.zeros(2), "a": 0.3, "s": 1.0, "target": 3.0},
            {},
            ValueError,
            r"`state` holds no Parameter, so there is nothing to fit \(state=\{.*"
            r"A likely cause: .* a Space axis without wrap=",
        ),
        (
            quadratic,
            quadratic_state(),
            {"max_steps": 0},
            ValueError,
            r"`max_steps` must be a positive int, got max_steps=0",
        ),
        (
            quadratic,
            quadratic_state(),
            {"max_steps": 2.5},
            TypeError,
            r"`max_steps` must be a positive int, got float: 2\.5",
        ),
        (
            quadratic,
            quadratic_state(),
            {"record_every": 0},
            ValueError,
            r"`record_every` must be a positive int, got record_every=0",
        ),
        (
            quadratic,
            quadratic_state(),
            {"chunk_size": 0},
            ValueError,
            r"chunk_size must be >= 1, got chunk_size=0",
        ),
        (
            quadratic,
            quadratic_state(),
            {"chunk_size": 2.0},
            TypeError,
            r"`chunk_size` must be an int or None, got float: 2\.0",
        ),
        (
            quadratic,
            quadratic_state(),
            {"mode": "bwd"},
            ValueError,
            r"`mode` must be 'rev' or 'fwd', got mode='bwd'",
        ),
    ],
)
def test_bad_input_names_the_argument_and_the_value(loss, state, kwargs, error, match):
    opt = OptaxOptimizer(loss, optax.sgd(0.1))
    with pytest.raises(error, match=match):
        opt.run(state, **{"max_steps": 2, "progress": False, **kwargs})


def test_bad_constructor_arguments_and_a_missing_aux():
    with pytest.raises(TypeError, match=r"`loss` must be callable, got int: 3"):
        OptaxOptimizer(3, optax.sgd(0.1))
    with pytest.raises(TypeError, match=r"`optimizer` must be an optax\.Gradient"):
        OptaxOptimizer(quadratic, "adam")
    with pytest.raises(TypeError, match=r"`callback` must be callable or None"):
        OptaxOptimizer(quadratic, optax.sgd(0.1), callback=1)
    opt = OptaxOptimizer(quadratic, optax.sgd(0.1), has_aux=True)
    with pytest.raises(TypeError, match=r"has_aux=True `loss` must return \(value"):
        opt.run(quadratic_state(), max_steps=1, progress=False)
