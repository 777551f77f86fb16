"""Functional connectivity of simulated trajectories."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from sweepjax.network import functional_connectivity


def test_functional_connectivity_matches_numpy():
    ys = jax.random.normal(jax.random.key(0), (200, 2, 5))
    fc = functional_connectivity(ys, state=1)
    np.testing.assert_allclose(fc, np.corrcoef(np.asarray(ys[:, 1, :]).T), atol=1e-5)
    np.testing.assert_allclose(
        functional_connectivity(ys[:, 0]), fc_of(ys[:, 0]), atol=1e-5
    )
    batched = jax.vmap(functional_connectivity)(ys[None].repeat(2, 0))
    assert batched.shape == (2, 5, 5)


def fc_of(x):
    return np.corrcoef(np.asarray(x).T)


def test_functional_connectivity_rejects_bad_shape():
    with pytest.raises(ValueError, match=r"ys must be .*got shape \(3,\)"):
        functional_connectivity(np.ones(3))
