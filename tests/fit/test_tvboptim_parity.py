"""Side by side with TVB-Optim 0.4.0 (a dev dependency): what its users rely
on gives the same answer here, and each deliberate difference is pinned."""

import types

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import tvboptim.execution as tvb_execution
import tvboptim.types.parameter as tvb
import tvboptim.types.spaces as tvb_spaces
from tvboptim.optim.optax import OptaxOptimizer as TvbOptimizer

import sweepjax as sj
from sweepjax.fit._parameters import Meta


def quadratic(state):
    return jnp.sum((state["x"] - state["target"]) ** 2)


def quadratic_state(p=sj.Parameter):
    return {"x": p(jnp.array([0.0, 1.0])), "target": jnp.array([3.0, -1.0])}


def tree_close(a, b, rtol=1e-6, atol=1e-6):
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb, strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


# ----- results -----------------------------------------------------------------


def model(state):
    return {"y": state["a"] * 2.0 + state["b"], "z": jnp.stack([state["a"]] * 2)}


def test_results_is_the_list_of_outputs_as_in_tvb_optim():
    axes = {"a": (0.0, 1.0, 3), "b": (-1.0, 1.0, 2)}
    theirs_space = tvb_spaces.Space(
        {k: tvb_spaces.GridAxis(*v) for k, v in axes.items()}, mode="product"
    )
    theirs = tvb_execution.SequentialExecution(model, theirs_space).run().results
    space = sj.Space({k: sj.GridAxis(*v) for k, v in axes.items()}, mode="product")
    # the same for every executor: `results` is built from `result[i]`
    ours = sj.SequentialExecution(model, space, progress=False).run().results
    assert isinstance(ours, list) and len(ours) == len(theirs) == 6
    for mine, their in zip(ours, theirs, strict=True):
        assert mine.keys() == their.keys()
        tree_close(mine, their)


# ----- parameters --------------------------------------------------------------


def test_reprs_print_the_float_value_as_tvb_optim():
    pairs = [
        ("Parameter", (5.0,)),
        ("Parameter", (1.5,)),
        ("Parameter", (jnp.array([0.0, 1.0, 2.0]),)),
        ("SigmoidBoundedParameter", (0.5, 0.0, 1.0)),
        ("LogPositiveParameter", (2.0, 0.0)),
        ("LogNegativeParameter", (-2.0, 0.0)),
        ("BoundedParameter", (0.5, 0.0, 1.0)),
    ]
    for name, args in pairs:
        assert repr(getattr(sj, name)(*args)) == repr(getattr(tvb, name)(*args))
    # an integer start: TVB-Optim keeps (and prints) an int; here it is a
    # float, so that it can be differentiated, and prints as one
    assert repr(sj.Parameter(5)) == repr(tvb.Parameter(5.0)) == "Parameter(5.0)"
    assert repr(tvb.Parameter(5)) == "Parameter(5)"


def _aux_items(aux):
    """Auxiliary data as a list of plain values (our `Meta` holders opened,
    TVB-Optim's per-instance closures of the built-in types dropped)."""
    if aux is None:
        return []
    items = aux if isinstance(aux, tuple) else (aux,)
    return [x.item if isinstance(x, Meta) else x for x in items]


def _same_items(ours, theirs):
    assert len(ours) == len(theirs), (ours, theirs)
    for a, b in zip(ours, theirs, strict=True):
        if isinstance(b, types.FunctionType):
            assert a is b
        else:
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize(
    "name, args",
    [
        ("Parameter", (1.5,)),
        ("Parameter", (jnp.array([1.0, 2.0]),)),
        ("NormalizedParameter", (jnp.array([2.0, 4.0]),)),
        ("BoundedParameter", (0.5, 0.0, 1.0)),
        ("SigmoidBoundedParameter", (0.25, 0.0, 1.0)),
        ("LogPositiveParameter", (2.0, 0.5)),
        ("LogNegativeParameter", (-2.0, 1.0)),
        ("MaskedParameter", (jnp.array([1.0, 2.0]), jnp.array([True, False]))),
        ("TransformedParameter", (2.0, jnp.exp, jnp.log)),
    ],
)
def test_flatten_gives_tvb_optims_leaves_and_aux_data(name, args):
    ours, theirs = getattr(sj, name)(*args), getattr(tvb, name)(*args)
    (mine, my_def), (their, their_def) = (
        jax.tree.flatten(ours),
        jax.tree.flatten(theirs),
    )
    assert len(mine) == len(their) == 1  # only the raw value is a leaf
    np.testing.assert_allclose(mine[0], their[0], rtol=1e-6)
    assert mine[0].dtype == their[0].dtype
    assert (my_def.num_leaves, my_def.num_nodes) == (
        their_def.num_leaves,
        their_def.num_nodes,
    )
    (my_type, my_aux), (their_type, their_aux) = (
        my_def.node_data(),
        their_def.node_data(),
    )
    assert my_type.__name__ == their_type.__name__
    their_items = _aux_items(their_aux)
    if name != "TransformedParameter":  # built-in types: no per-instance closures
        their_items = [x for x in their_items if not isinstance(x, types.FunctionType)]
    _same_items(_aux_items(my_aux), their_items)
    # where TVB-Optim's array metadata breaks equality of structures, ours holds
    twin = getattr(sj, name)(*args)
    assert jax.tree.structure(twin) == my_def
    tree_close(
        jax.tree.map(lambda a, b: a + b, ours, twin),
        jax.tree.map(lambda x: 2 * x, ours),
    )


def test_a_masked_parameter_is_built_under_a_trace_as_in_tvb_optim():
    w = jnp.array([[0.0, 0.5], [2.0, 0.0]])

    def use(make, grad):
        def f(w):
            p = make(w, w != 0)  # the mask is traced
            g = grad(lambda q: jnp.sum(q.constrained_value**2))(p)
            return p.constrained_value, g.value

        return jax.jit(f)(w)

    # a traced mask is a (boolean) leaf here: differentiate with
    # eqx.filter_grad, or through partition_state as OptaxOptimizer does
    ours = use(sj.MaskedParameter, eqx.filter_grad)
    tree_close(ours, use(tvb.MaskedParameter, jax.grad))
    np.testing.assert_array_equal(ours[1], [[0.0, 1.0], [4.0, 0.0]])
    # a swept matrix: one mask per point, under vmap
    ws = jnp.stack([w, 2 * w])
    values = jax.vmap(lambda w: sj.MaskedParameter(w, w != 0).constrained_value)(ws)
    np.testing.assert_array_equal(values, ws)
    # and it can leave the trace (TVB-Optim's would leak its traced mask)
    made = jax.jit(lambda w: sj.MaskedParameter(w, w != 0))(w)
    np.testing.assert_array_equal(made.mask, w != 0)


# ----- the optimizer -----------------------------------------------------------


def _losses(store):
    """A callback (both packages' protocol) that keeps (step, loss)."""

    def callback(step, params, static, history, aux, loss_value, grads):
        store.append((int(step), float(loss_value)))
        return False, params, static

    return callback


@pytest.mark.parametrize("chunk_size", [None, 3])
def test_chunks_give_tvb_optims_steps_and_callbacks(chunk_size):
    mine, theirs = [], []
    ours = sj.OptaxOptimizer(quadratic, optax.adam(0.1), callback=_losses(mine))
    final, history = ours.run(
        quadratic_state(), max_steps=7, chunk_size=chunk_size, progress=False
    )
    other = TvbOptimizer(quadratic, optax.adam(0.1), callback=_losses(theirs))
    their_final, _ = other.run(
        quadratic_state(tvb.Parameter), max_steps=7, chunk_size=chunk_size
    )
    assert [s for s, _ in mine] == [s for s, _ in theirs]
    np.testing.assert_allclose([v for _, v in mine], [v for _, v in theirs], rtol=1e-5)
    tree_close(final["x"].value, their_final["x"].value, rtol=1e-5)


def test_a_value_fn_is_evaluated_eagerly_in_a_custom_update():
    """A backtracking line search in Python: `value_fn` gives numbers."""

    def update(grads, state, params, *, value, grad, value_fn, **extra):
        step = 1.0
        while True:
            trial = jax.tree.map(lambda p, g: p - step * g, params, grads)
            if float(value_fn(trial)) < float(value) or step < 1e-3:
                break
            step /= 2
        return jax.tree.map(lambda g: -step * g, grads), state

    line_search = optax.GradientTransformationExtraArgs(lambda p: (), update)
    final, history = sj.OptaxOptimizer(quadratic, line_search).run(
        quadratic_state(), max_steps=3, chunk_size=2, progress=False
    )
    their, _ = TvbOptimizer(quadratic, line_search).run(
        quadratic_state(tvb.Parameter), max_steps=3
    )
    tree_close(final["x"].value, their["x"].value)
    assert history["loss"].shape == (3,) and history["loss"][-1] < history["loss"][0]


def test_deliberate_differences_no_parameter_and_a_nan_loss():
    """TVB-Optim returns a state without parameters untouched and fits on
    into NaN; here the first is an error naming wrap= and the second a
    warning that keeps the last finite parameters."""
    plain = {"x": jnp.array(1.0), "target": jnp.array(3.0)}
    assert TvbOptimizer(quadratic, optax.sgd(0.1)).run(plain, max_steps=2)[1] == {}
    with pytest.raises(ValueError, match=r"axis without wrap="):
        sj.OptaxOptimizer(quadratic, optax.sgd(0.1)).run(plain, progress=False)

    def loss(state):  # NaN once x passes 2
        x = state["x"].constrained_value
        return jnp.sum((x - 3.0) ** 2) + jnp.where(jnp.any(x > 2.0), jnp.nan, 0.0)

    start = {"x": sj.Parameter(jnp.array([0.0]))}
    their, _ = TvbOptimizer(loss, optax.sgd(0.25)).run(
        {"x": tvb.Parameter(jnp.array([0.0]))}, max_steps=4
    )
    assert np.isnan(loss(their))  # past x = 2, its loss NaN (its gradient is not)
    with pytest.warns(RuntimeWarning, match=r"at step 2 the loss is NaN"):
        final, history = sj.OptaxOptimizer(loss, optax.sgd(0.25)).run(
            start, max_steps=4, progress=False
        )
    np.testing.assert_allclose(final["x"].value, [1.5])  # step 1's: 0 -> 1.5 -> 2.25
    np.testing.assert_array_equal(history["step"], [0, 1, 2])
