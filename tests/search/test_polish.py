"""Gradient polish from a search's best candidates, all starts in one sweep."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from sweepjax import GridAxis, Space, evolve, polish


def loss(state):
    return (state["a"] - 0.7) ** 2 + 10 * (state["b"] - state["a"] ** 2) ** 2


def test_polish_refines_the_best_candidates_by_gradient():
    space = Space({"a": GridAxis(0.0, 1.0, 2), "b": GridAxis(0.0, 1.0, 2), "c": 2.0})
    found = evolve(loss, space, strategy="SNES", population_size=6, n_generations=3)
    fits = polish(loss, found, optax.adam(0.02), n_starts=3, max_steps=300)
    assert len(fits) == 3
    np.testing.assert_allclose(fits.outputs["a"], 0.7, atol=2e-2)
    assert (fits.outputs["loss"] < fits.outputs["start_loss"]).all()
    starts = found.best(3)
    assert np.all(
        fits.outputs["start_loss"]
        == pytest.approx(
            [float(loss({"a": a, "b": b})) for b, a in starts[:, ::-1]], rel=1e-5
        )
    )
    with pytest.raises(TypeError, match="must be the SearchResult"):
        polish(loss, {"a": 1.0}, optax.adam(0.1))
    assert jnp.isfinite(fits.outputs["loss"]).all()
