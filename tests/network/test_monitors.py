"""Monitors: subsampling and temporal averages of the raw trajectory."""

from __future__ import annotations

import copy

import jax
import numpy as np
import pytest
from network_helpers import rww_network

from sweepjax import DataAxis, GridAxis, ParallelExecution, Space
from sweepjax.network import (
    Average,
    Heun,
    Mean,
    Raw,
    SubSample,
    TemporalAverage,
    prepare,
)


@pytest.fixture(scope="module")
def raw():
    """The default (raw) solution and its config, compiled once per module."""
    solve_fn, config = prepare(rww_network(n=3, G=0.8, sigma=None), Heun(), 0, 6.0, 0.1)
    return solve_fn(config), config


def test_subsample_keeps_every_kth_state(raw):
    sol, config = raw
    solve_fn, _ = prepare(
        rww_network(n=3, G=0.8, sigma=None), Heun(), 0, 6.0, 0.1, monitor=SubSample(4)
    )
    sub = solve_fn(config)
    np.testing.assert_allclose(sub.ys, sol.ys[3::4], rtol=1e-6)
    np.testing.assert_allclose(sub.ts, sol.ts[3::4], rtol=1e-6)


def test_temporal_average_is_block_mean(raw):
    sol, config = raw
    network = rww_network(n=3, G=0.8, sigma=None)
    solve_fn, _ = prepare(network, Heun(), 0, 6.0, 0.1, monitor=TemporalAverage(5))
    avg = solve_fn(config)
    blocks = np.asarray(sol.ys).reshape(12, 5, 1, 3)
    np.testing.assert_allclose(avg.ys, blocks.mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(
        avg.ts, np.asarray(sol.ts).reshape(12, 5).mean(axis=1), rtol=1e-6
    )


def test_raw_is_default(raw):
    sol, config = raw
    solve_fn, _ = prepare(
        rww_network(n=3, G=0.8, sigma=None), Heun(), 0, 6.0, 0.1, monitor=Raw()
    )
    np.testing.assert_array_equal(solve_fn(config).ys, sol.ys)


def test_long_run_memory_is_per_record():
    network = rww_network(n=2, sigma=1e-3)
    solve_fn, config = prepare(
        network, Heun(), 0.0, 1000.0, 0.1, monitor=TemporalAverage(1000)
    )
    sol = solve_fn(config)
    assert sol.ys.shape == (10, 1, 2)
    assert np.all(np.isfinite(sol.ys))


@pytest.mark.parametrize(
    ("every", "error", "match"),
    [
        (0, ValueError, "`every` must be a positive int, got every=0"),
        (2.0, TypeError, "`every` must be a positive int, got float"),
    ],
)
@pytest.mark.parametrize("monitor", [SubSample, TemporalAverage])
def test_bad_every(monitor, every, error, match):
    with pytest.raises(error, match=match):
        monitor(every)


def test_every_accepts_numpy_ints_and_reprs():
    assert SubSample(np.int64(4)).every == 4
    assert repr(TemporalAverage(3)) == "TemporalAverage(every=3)"
    assert repr(Raw()) == "Raw()"


@pytest.mark.parametrize("monitor", [SubSample(5), TemporalAverage(5)], ids=repr)
def test_monitors_under_parallel_execution_on_two_devices(monitor):
    network = rww_network(n=3, sigma=1e-2)
    solve_fn, config = prepare(network, Heun(), 0.0, 2.0, 0.1, monitor=monitor)
    state = copy.deepcopy(config)
    state.coupling.instant.G = GridAxis(0.2, 0.8, 2)
    state.noise.key = DataAxis(jax.random.split(jax.random.key(0), 2))
    space = Space(state, mode="product")
    result = ParallelExecution(
        lambda cfg: solve_fn(cfg).ys, space, n_vmap=1, n_pmap=2, progress=False
    ).run()
    for i in range(len(space)):
        np.testing.assert_allclose(
            np.asarray(result[i]), solve_fn(space[i]).ys, rtol=1e-5, atol=1e-7
        )


K = 4


@pytest.fixture(scope="module")
def noisy():
    """A noisy 3-node RWW run, recorded whole, and its config."""
    network = rww_network(n=3, sigma=1e-2)
    solve_fn, config = prepare(network, Heun(), 0.0, 2.0, 0.1)
    return network, config, np.asarray(solve_fn(config).ys)


def test_what_is_recorded_or_observed_never_changes_the_noise(noisy):
    """One noise scheme: every recorded series and observer sees the raw
    run's trajectory, bit for bit, in one solve or in separate ones."""
    network, config, raw = noisy
    observe = {
        "raw": Raw(),
        "sub": SubSample(K),
        "avg": TemporalAverage(K),
        "mean": Mean("S"),
        "series": Average("S", period_ms=K * 0.1),
    }
    solve_fn, _ = prepare(network, Heun(), 0.0, 2.0, 0.1, observe=observe)
    observed = solve_fn(config).observed
    blocks = raw.reshape(-1, K, 1, 3)
    np.testing.assert_array_equal(observed["raw"], raw)
    np.testing.assert_array_equal(observed["sub"], raw[K - 1 :: K])
    np.testing.assert_allclose(observed["avg"], blocks.mean(1), rtol=1e-6)
    np.testing.assert_allclose(observed["mean"], raw[:, 0].mean(0), rtol=1e-6)
    np.testing.assert_allclose(observed["series"], blocks[:, :, 0].mean(1), rtol=1e-6)
    for monitor, expected in [(SubSample(1), raw), (SubSample(K), raw[K - 1 :: K])]:
        sub_fn, _ = prepare(network, Heun(), 0.0, 2.0, 0.1, monitor=monitor)
        np.testing.assert_array_equal(sub_fn(config).ys, expected)
    avg_fn, _ = prepare(network, Heun(), 0.0, 2.0, 0.1, monitor=TemporalAverage(K))
    np.testing.assert_allclose(avg_fn(config).ys, blocks.mean(1), rtol=1e-6)


def test_monitor_is_observe_of_the_same_series(noisy):
    network, config, _ = noisy
    mon_fn, _ = prepare(network, Heun(), 0.0, 2.0, 0.1, monitor=TemporalAverage(K))
    obs_fn, _ = prepare(
        network, Heun(), 0.0, 2.0, 0.1, observe={"avg": TemporalAverage(K)}
    )
    solution = mon_fn(config)
    assert solution.observed == {}
    np.testing.assert_array_equal(solution.ys, obs_fn(config).observed["avg"])


def test_an_observed_series_needs_whole_blocks(noisy):
    network, _, _ = noisy
    with pytest.raises(ValueError, match=r"observes 15 steps, not a multiple of"):
        prepare(
            network, Heun(), 0.0, 2.0, 0.1, observe={"s": SubSample(K)}, transient=0.5
        )
