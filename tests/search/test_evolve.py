"""evolve: CMA-ES over a Space's axes, scan and generation loop, history."""

import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sweepjax import (
    DataAxis,
    GridAxis,
    LogGridAxis,
    ParallelExecution,
    SearchResult,
    Space,
    UniformAxis,
    evolve,
)
from sweepjax.search import EvosaxStrategy

# A tiny linear network: dx = (-x + W x) dt + dW, W symmetric over 4 nodes,
# its 6 weights the searched parameters. Its FC (the stationary correlation)
# is exact: the covariance is (I - W)^-1 / 2.
TRUE = np.array([0.30, 0.10, 0.25, 0.05, 0.20, 0.15])
ROWS, COLS = np.triu_indices(4, 1)


def fc(state):
    w = jnp.stack([state[f"w{k}"] for k in range(6)])
    m = jnp.zeros((4, 4)).at[ROWS, COLS].set(w)
    cov = jnp.linalg.inv(jnp.eye(4) - m - m.T)
    sd = jnp.sqrt(jnp.diag(cov))
    return cov / sd[:, None] / sd[None, :]


TARGET = fc({f"w{k}": v for k, v in enumerate(TRUE)})


def model(state):
    return {"fc": fc(state), "loss": jnp.sum((fc(state) - TARGET) ** 2)}


SPACE = Space({f"w{k}": GridAxis(0.0, 0.4, 2) for k in range(6)})


@pytest.fixture(scope="module")
def recovered():
    return evolve(
        model,
        SPACE,
        objective="loss",
        population_size=16,
        n_generations=120,
        sigma=0.3,
        seed=1,
    )


def test_cma_es_recovers_six_weights_of_a_tiny_network(recovered):
    best = recovered.best(1)[0]
    assert np.max(np.abs(best - TRUE) / TRUE) < 1e-2
    assert recovered.values.shape == (120, 16, 6)
    assert recovered.outputs["fc"].shape == (120, 16, 4, 4)


def test_the_history_reads_as_a_dataframe(recovered):
    df = recovered.to_dataframe()
    assert len(df) == 120 * 16
    assert {"w0", "w5", "generation", "member", "fitness", "loss"} <= set(df.columns)
    assert df["generation"].max() == 119
    np.testing.assert_array_equal(df["fitness"], df["loss"])
    row = df.iloc[np.argmin(df["fitness"])]
    np.testing.assert_allclose([row[f"w{k}"] for k in range(6)], recovered.best(1)[0])


def quadratic(state):
    return (state["x"] - 1.0) ** 2 + jnp.log10(state["k"]) ** 2


SMALL = Space({"x": UniformAxis(-2.0, 2.0, 2), "k": LogGridAxis(1e-2, 1e2, 2)})


def test_the_scan_and_the_generation_loop_give_the_same_search():
    """One compiled lax.scan, or a sweep per generation through an executor
    (here a factory, on two devices): the same candidates and fitness (one
    key schedule)."""
    seen = []

    def factory(model, space):
        seen.append(len(space))
        return ParallelExecution(model, space, n_vmap=3, n_pmap=2, progress=False)

    kw = dict(population_size=6, n_generations=2, seed=3)
    scanned = evolve(quadratic, SMALL, scan=True, **kw)
    looped = evolve(quadratic, SMALL, executor=factory, **kw)
    assert seen == [6, 6]
    np.testing.assert_allclose(scanned.values, looped.values, rtol=1e-6)
    np.testing.assert_allclose(scanned.fitness, looped.fitness, rtol=1e-5)
    # the scan split over 2 devices, 2 points a call (padded to 8): the same
    # to a few float32 roundings (another batching, another program)
    split = evolve(quadratic, SMALL, scan=True, n_vmap=2, n_pmap=2, **kw)
    np.testing.assert_allclose(split.values, looped.values, rtol=1e-5)
    np.testing.assert_allclose(split.fitness, looped.fitness, rtol=1e-5)
    # the log axis is searched in log space: generation 0 spreads over decades
    k = scanned.values[0, :, list(scanned.names).index("k")]
    assert k.min() > 0 and k.max() / k.min() > 10


def test_the_search_stays_inside_the_bounds(recovered):
    assert recovered.values.min() >= 0.0 and recovered.values.max() <= 0.4


def test_a_space_without_range_axes_is_refused():
    with pytest.raises(TypeError, match="searched axis 'x' is a DataAxis"):
        evolve(quadratic, Space({"x": DataAxis([1.0, 2.0]), "k": 1.0}))
    with pytest.raises(ValueError, match=r"shape=\(2,\).*one axis per scalar"):
        evolve(quadratic, Space({"x": GridAxis(0.0, 1.0, 2, shape=(2,)), "k": 1.0}))
    with pytest.raises(ValueError, match="'NoSuchES'` is not an evosax algorithm"):
        evolve(quadratic, SMALL, strategy="NoSuchES")
    with pytest.raises(ValueError, match=r"`scan=True` .* no `store`"):
        evolve(quadratic, SMALL, scan=True, store="somewhere")
    with pytest.raises(ValueError, match="`resume=True` needs the `store`"):
        evolve(quadratic, SMALL, resume=True)


def test_without_evosax_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "evosax", None)
    with pytest.raises(ImportError, match=r'pip install "sweepjax\[search\]"'):
        evolve(quadratic, SMALL)


def test_a_search_result_repr_names_the_best(recovered):
    assert isinstance(recovered, SearchResult)
    assert "generations=120" in repr(recovered)
    assert jax.tree.structure(recovered.best_parameters).num_leaves == 6


def test_a_strategy_computes_evosax_defaults_in_one_program():
    # evosax's CMA-ES computes its defaults in eager jnp ops, each its own
    # compiled program (a fresh search compiled 50: a second of its start);
    # the strategy computes them in one. Sizes no other test uses, so its
    # programs are new here without clearing the process's caches: the old
    # way compiled 20 programs for them, this one 2
    compiled = []

    def count(event, seconds, **_):
        if event.endswith("backend_compile_duration"):
            compiled.append(seconds)

    jax.monitoring.register_event_duration_secs_listener(count)
    try:
        strategy = EvosaxStrategy("CMA_ES", population_size=13, n_dims=11, sigma=0.3)
    finally:
        jax.monitoring.unregister_event_duration_listener(count)
    assert len(compiled) <= 5, len(compiled)
    assert float(strategy._params.std_init) == pytest.approx(0.3)
    assert strategy._params.weights.shape == (13,)
