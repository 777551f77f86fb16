"""The seed's execution and noise-seed examples, run on sweepjax end to end.

Reference numbers: SEMANTICS.md ("Network") and the seed's printed tables.
"""

from __future__ import annotations

import copy

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest

from sweepjax import (
    DataAxis,
    GridAxis,
    NumPyroAxis,
    ParallelExecution,
    SequentialExecution,
    Space,
)
from sweepjax.network import (
    AdditiveNoise,
    DenseGraph,
    Heun,
    LinearCoupling,
    Network,
    ReducedWongWang,
    prepare,
)

N_NODES = 8


@pytest.fixture(scope="module")
def prepared():
    network = Network(
        dynamics=ReducedWongWang(),
        coupling={"instant": LinearCoupling(incoming_states="S", G=0.5)},
        graph=DenseGraph(jnp.ones((N_NODES, N_NODES)) - jnp.eye(N_NODES)),
        noise=AdditiveNoise(sigma=1e-3, key=jax.random.key(0)),
    )
    return prepare(network, Heun(), t0=0.0, t1=5.0, dt=0.1)


def observer(solve_fn):
    def observe(cfg):
        ys = solve_fn(cfg).ys
        return {"mean_S": ys.mean(), "std_S": ys.std()}

    return observe


def test_sequential_G_sweep_matches_reference_table(prepared):
    solve_fn, base_cfg = prepared
    assert solve_fn(base_cfg).ys.shape == (50, 1, N_NODES)
    state = copy.deepcopy(base_cfg)
    state.coupling.instant.G = GridAxis(0.1, 1.0, 8)
    df = SequentialExecution(observer(solve_fn), Space(state, mode="product"))
    df = df.run().to_dataframe()
    assert list(df.columns) == ["coupling.instant.G", "mean_S", "std_S"]
    expected = np.array(
        [
            [0.100000, 0.101733, 0.001502],
            [0.228571, 0.105092, 0.003031],
            [0.357143, 0.110537, 0.006222],
            [0.485714, 0.118753, 0.011529],
            [0.614286, 0.130028, 0.019266],
            [0.742857, 0.144003, 0.029189],
            [0.871429, 0.160107, 0.040861],
            [1.000000, 0.177952, 0.054001],
        ]
    )
    np.testing.assert_allclose(df.to_numpy(dtype=float), expected, atol=1.5e-6)


def test_parallel_G_sigma_sweep_equals_sequential(prepared):
    solve_fn, base_cfg = prepared
    state = copy.deepcopy(base_cfg)
    state.coupling.instant.G = GridAxis(0.1, 1.0, 8)
    state.noise.sigma = GridAxis(1e-4, 5e-3, 4)
    space = Space(state, mode="product")
    assert len(space) == 32
    par = ParallelExecution(observer(solve_fn), space, n_vmap=8, n_pmap=1).run()
    assert len(par) == 32
    seq = SequentialExecution(observer(solve_fn), space).run().to_dataframe()
    df = par.to_dataframe()
    assert list(df.columns) == ["coupling.instant.G", "noise.sigma", "mean_S", "std_S"]
    np.testing.assert_allclose(
        df.to_numpy(dtype=float), seq.to_numpy(dtype=float), rtol=1e-5, atol=1e-7
    )
    ds = par.to_xarray()
    assert ds["mean_S"].dims == ("coupling.instant.G", "noise.sigma")


def test_mixed_numpyro_and_data_axes_match_reference_table(prepared):
    solve_fn, base_cfg = prepared
    state = copy.deepcopy(base_cfg)
    state.coupling.instant.G = NumPyroAxis(dist.Beta(2.0, 5.0), n=4)
    state.noise.sigma = DataAxis(jnp.array([1e-4, 5e-4, 1e-3]))
    space = Space(state, mode="product", key=jax.random.key(0))
    assert len(space) == 12
    df = SequentialExecution(observer(solve_fn), space).run().to_dataframe()
    expected = np.array(
        [
            [0.681876, 0.0001, 0.136815, 0.024235],
            [0.681876, 0.0005, 0.136931, 0.024231],
            [0.681876, 0.0010, 0.137077, 0.024240],
            [0.138849, 0.0001, 0.102423, 0.001367],
            [0.138849, 0.0005, 0.102488, 0.001468],
            [0.138849, 0.0010, 0.102571, 0.001803],
            [0.532662, 0.0001, 0.122302, 0.014069],
            [0.532662, 0.0005, 0.122400, 0.014060],
            [0.532662, 0.0010, 0.122522, 0.014074],
            [0.422139, 0.0001, 0.114119, 0.008583],
            [0.422139, 0.0005, 0.114204, 0.008576],
            [0.422139, 0.0010, 0.114311, 0.008609],
        ]
    )
    np.testing.assert_allclose(df.to_numpy(dtype=float), expected, atol=1.5e-6)


@pytest.mark.parametrize("n_pmap", [1, 2])
def test_noise_seed_scan_one_compilation(prepared, n_pmap):
    solve_fn, base_cfg = prepared
    state = copy.deepcopy(base_cfg)
    state.coupling.instant.G = GridAxis(0.3, 1.5, 8)
    state.noise.key = DataAxis(jax.random.split(jax.random.key(0), 8))
    space = Space(state, mode="product")
    traces = []

    def observation(cfg):
        traces.append(1)
        return solve_fn(cfg).ys.mean()

    result = ParallelExecution(
        observation, space, n_vmap=8 // n_pmap, n_pmap=n_pmap
    ).run()
    assert len(result) == 64 and len(traces) == 1
    values = np.asarray(result.to_dataframe().iloc[:, -1], dtype=float).reshape(8, 8)
    assert len(np.unique(values[0])) == 8  # replicates differ
    assert np.all(np.diff(values.mean(axis=1)) > 0)  # mean S grows with G
    # point (G index 2, key 5) equals a direct solve with that key and G
    cfg = copy.deepcopy(base_cfg)
    cfg.coupling.instant.G = jnp.linspace(0.3, 1.5, 8)[2]
    cfg.noise.key = jax.random.split(jax.random.key(0), 8)[5]
    np.testing.assert_allclose(values[2, 5], float(solve_fn(cfg).ys.mean()), rtol=1e-5)
