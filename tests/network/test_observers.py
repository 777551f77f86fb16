"""Observers inside the loop equal the same summaries of a stored trajectory,
under vmap and every executor, and a solve that observes holds no trajectory."""

from __future__ import annotations

import copy
import warnings

import diffrax
import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.signal
from registry import EXECUTORS

from sweepjax import DataAxis, GridAxis, Space
from sweepjax.network import (
    BOLD,
    FC,
    FCD,
    AdditiveNoise,
    Average,
    Covariance,
    DelayedLinearCoupling,
    DenseDelayGraph,
    Diffrax,
    Heun,
    HRFBold,
    Kuramoto,
    KuramotoCoupling,
    Mean,
    Network,
    PeakFrequency,
    Power,
    Std,
    SubSample,
    SupHopf,
    Synchrony,
    bold,
    first_order_volterra,
    power_spectrum,
    prepare,
)
from sweepjax.network._metrics import fc, fcd
from sweepjax.network._observer import Timing
from sweepjax.network._observers import AbstractObserver

DT, T1, TRANSIENT = 0.1, 30.0, 5.0
N_TRANSIENT = round(TRANSIENT / DT)


def hopf(n: int = 4, noise: bool = True) -> Network:
    rng = np.random.default_rng(1)
    weights = rng.uniform(0.0, 1.0, (n, n))
    np.fill_diagonal(weights, 0.0)
    return Network(
        SupHopf(a=-0.2, omega=0.6),
        {"c": DelayedLinearCoupling(("x", "y"), G=0.3)},
        DenseDelayGraph(weights, rng.uniform(0.0, 1.5, (n, n))),
        AdditiveNoise(0.05, jax.random.key(3)) if noise else None,
        initial_state=0.3,
    )


OBSERVE = {
    "mean": Mean("x"),
    "mean_xy": Mean(("x", "y")),
    "std": Std("y"),
    "std1": Std(("x", "y"), ddof=1),
    "cov": Covariance("x"),
    "cov1": Covariance("x", ddof=1),
    "fc": FC("x"),
    "sync": Synchrony(("x", "y")),
    # 250 observed steps of 0.1 ms: scipy's periodogram grid is 40 Hz apart
    "power": Power("x", [0.0, 40.0, 80.0, 120.0, 2000.0, 5000.0]),
    "power_xy": Power(("x", "y"), [80.0, 120.0]),
    "peak": PeakFrequency("y", np.arange(0.0, 1000.0, 40.0)),
    # TVB's BOLD monitor on a short ring: 3 means of 4 ms (40 steps), TR 50 steps
    "hrf": HRFBold("x", tr_ms=5.0, hrf_length_ms=12.0),
}
FS = 1000.0 / DT  # Hz


def hrf_bold(x: np.ndarray, transient: int, every: int, interim: int, n_stock: int):
    """TVB's Bold monitor by its definition: at each TR (``every`` steps of
    observed time) the mean of period ``M - 1 - j`` (``interim`` steps each,
    counted from the run's start) weighs by the kernel at ``(j - 1)`` periods,
    the newest by its last value; ``(sum - 1) k1 V0`` (Volterra)."""
    t = np.arange(n_stock) * 4e-3  # s
    kernel = first_order_volterra(t)
    weight = np.r_[kernel[-1], kernel[:-1]]  # by age j = 0, 1, ...
    samples = []
    for count in range(every, len(x) - transient + 1, every):
        done = (transient + count) // interim  # periods complete
        means = [x[k * interim : (k + 1) * interim].mean(0) for k in range(done)]
        ages = range(min(done, n_stock))
        total = sum(weight[j] * means[done - 1 - j] for j in ages)
        samples.append((total - 1.0) * 5.6 * 0.02)
    return np.array(samples)


def post_hoc(ys: np.ndarray) -> dict:
    """The same summaries from the trajectory ``[n_steps, 2, n]`` by numpy."""
    kept = ys[N_TRANSIENT:]
    x, y = kept[:, 0], kept[:, 1]
    order = np.abs(np.exp(1j * np.arctan2(y, x)).mean(1))
    freqs, power = scipy.signal.periodogram(kept, fs=FS, axis=0)

    def at(hz):
        return power[np.searchsorted(freqs, hz)]

    return {
        "mean": x.mean(0),
        "mean_xy": kept.mean(0),
        "std": y.std(0),
        "std1": kept.std(0, ddof=1),
        "cov": np.cov(x.T, ddof=0),
        "cov1": np.cov(x.T, ddof=1),
        "fc": np.corrcoef(x.T),
        "sync": {"order": order.mean(), "metastability": order.std()},
        "power": at([0.0, 40.0, 80.0, 120.0, 2000.0, 5000.0])[:, 0],
        "power_xy": at([80.0, 120.0]),
        "peak": freqs[np.argmax(at(np.arange(0.0, 1000.0, 40.0))[:, 1], axis=0)],
        "hrf": hrf_bold(ys[:, 0], N_TRANSIENT, every=50, interim=40, n_stock=3),
    }


def assert_close(got, want, rtol=1e-9, atol=1e-12):
    jax.tree.map(
        lambda g, w: np.testing.assert_allclose(g, w, rtol=rtol, atol=atol), got, want
    )


@pytest.fixture(scope="module")
def recorded():
    """``(config, ys)``: the stored float64 trajectory of ``hopf()`` over T1."""
    with jax.enable_x64(True):
        record, config = prepare(hopf(), Heun(), 0.0, T1, DT)
        return config, np.asarray(record(config).ys)


@pytest.fixture(scope="module")
def observing():
    """``(solve, config)`` of ``hopf()`` observed by OBSERVE, in float64."""
    with jax.enable_x64(True):
        return prepare(
            hopf(), Heun(), 0.0, T1, DT, observe=OBSERVE, transient=TRANSIENT
        )


def test_observers_equal_the_summaries_of_the_stored_trajectory(
    x64, recorded, observing
):
    config, ys = recorded
    observe, _ = observing
    solution = observe(config)
    assert solution.ys.shape == (0, 2, 4) and solution.ts.shape == (0,)
    assert_close(solution.observed, post_hoc(ys))


def test_power_between_the_periodogram_frequencies_is_the_fourier_sum(x64):
    rng = np.random.default_rng(2)
    n, period = 301, 2.0  # odd length; samples 2 ms apart
    x = 5.0 + rng.standard_normal((n, 3))
    freqs = np.array([3.3, 17.77, 101.0, 249.9])
    t = np.arange(n) * period / 1000.0
    sums = np.einsum(
        "tn,tf->fn", x - x.mean(0), np.exp(-2j * np.pi * t[:, None] * freqs)
    )
    want = 2.0 * np.abs(sums) ** 2 * (period / 1000.0) / n
    np.testing.assert_allclose(power_spectrum(x, freqs, period), want, rtol=1e-10)
    grid, density = scipy.signal.periodogram(x, fs=1000.0 / period, axis=0)
    np.testing.assert_allclose(
        power_spectrum(x, grid[1:], period), density[1:], rtol=1e-10
    )


def test_power_in_float32_keeps_the_phase_of_late_steps():
    # 10^6 samples: a phase counted in float32 would be off by whole radians
    n, period, hz = 1_000_000, 0.1, 40.0
    t = np.arange(n) * period / 1000.0
    x = np.sin(2 * np.pi * hz * t).astype(np.float32)[:, None]
    got = np.asarray(power_spectrum(x, [hz], period))
    want = 0.5 * (n * period / 1000.0)  # a unit sine's power at its frequency
    np.testing.assert_allclose(got[0, 0], want, rtol=1e-3)


def test_hrf_bold_errors_name_the_argument():
    args = (hopf(), Heun(), 0.0, T1, DT)
    with pytest.raises(ValueError, match="at least one TR"):
        prepare(*args, observe={"b": HRFBold("x", tr_ms=100.0)})
    with pytest.raises(ValueError, match="4 ms stock period must be a whole"):
        prepare(hopf(), Heun(), 0.0, T1, 0.3, observe={"b": HRFBold("x", 3.0)})
    with pytest.raises(ValueError, match="one finite number per time.*got shape"):
        bad = HRFBold("x", 5.0, kernel=lambda t: t[:2])
        prepare(*args, observe={"b": bad})
    with pytest.raises(TypeError, match="kernel must be 'volterra' or a function"):
        HRFBold("x", 5.0, kernel="gamma")
    with pytest.raises(ValueError, match="hrf_length_ms must be > 0"):
        HRFBold("x", 5.0, hrf_length_ms=0.0)
    assert repr(FC(HRFBold("x", 5.0))) == "FC(HRFBold('x', tr_ms=5.0))"


def test_power_errors_name_the_argument():
    args = (hopf(), Heun(), 0.0, T1, DT)
    with pytest.raises(ValueError, match=r"<= 5000 Hz.*got \[6000.0\]"):
        prepare(*args, observe={"p": Power("x", [10.0, 6000.0])})
    with pytest.raises(ValueError, match=r"<= 50 Hz.*samples 10 ms apart"):
        prepare(*args, observe={"p": Power(Average("x", 10.0), [60.0])})
    with pytest.raises(ValueError, match=r">= 0.*got \[-1.0\]"):
        Power("x", [-1.0, 2.0])
    with pytest.raises(TypeError, match="non-empty list of Hz"):
        Power("x", [])
    with pytest.raises(TypeError, match=r"makes a series.*Mean\('x'\)"):
        Power(Mean("x"), [1.0])
    with pytest.raises(ValueError, match="period_ms must be > 0"):
        power_spectrum(np.ones((4, 2)), [1.0], 0.0)
    assert repr(Power("x", [1, 2])) == "Power('x', frequencies=[1.0, 2.0])"


def test_phase_synchrony_of_kuramoto_oscillators(x64):
    n = 5
    network = Network(
        Kuramoto(omega=np.linspace(0.8, 1.2, n)),
        {"c": KuramotoCoupling("theta", G=0.2)},
        DenseDelayGraph(np.ones((n, n)) - np.eye(n), np.full((n, n), 0.5)),
    )
    record, config = prepare(network, Heun(), 0.0, 20.0, DT)
    observe, _ = prepare(
        network, Heun(), 0.0, 20.0, DT, observe={"s": Synchrony("theta")}
    )
    theta = np.asarray(record(config).ys)[:, 0]
    order = np.abs(np.exp(1j * theta).mean(1))
    got = observe(config).observed["s"]
    assert_close(got, {"order": order.mean(), "metastability": order.std()})


def sweep_space(config):
    space = copy.deepcopy(config)
    space.coupling.c.G = GridAxis(0.0, 0.6, 3)
    keys = jax.random.split(jax.random.key(5), 2)
    if "key" in space.noise:
        space.noise.key = DataAxis(keys)
    else:
        space.initial_state = DataAxis(jnp.array([0.2, 0.4]))
    return Space(space, mode="product")


def batched(space):
    """Every point of ``space`` and the ``in_axes`` of ``jax.vmap``: the swept
    leaves batched, the others shared (as an executor passes them)."""
    batch = space.gather(np.arange(len(space)))
    axes = jax.tree.map(
        lambda b, one: 0 if np.ndim(b) > np.ndim(one) else None, batch, space[0]
    )
    return batch, axes


def vmapped(fn, space):
    """``jax.vmap(fn)`` over every point of ``space``, compiled as one program
    (eagerly, each of its ~150 operations compiles on its own)."""
    batch, axes = batched(space)
    return jax.jit(jax.vmap(fn, in_axes=(axes,)))(batch)


def test_batched_observers_equal_point_by_point(x64, observing):
    solve, config = observing
    space = sweep_space(config)
    batch = vmapped(lambda c: solve(c).observed, space)
    for i in range(len(space)):
        one = solve(space[i]).observed
        assert_close(jax.tree.map(lambda b, i=i: b[i], batch), one, rtol=1e-12)


@pytest.fixture(scope="module")
def observed_sweep():
    """``(model, space, want)``: an observing solve, its sweep, and the
    observations of every point by ``vmap`` (shared by every executor)."""
    solve, config = prepare(
        hopf(), Heun(), 0.0, T1, DT, observe=OBSERVE, transient=TRANSIENT
    )
    space = sweep_space(config)

    def model(c):
        return solve(c).observed

    return model, space, vmapped(model, space)


@pytest.mark.parametrize(
    "executor", ["sequential", "parallel", "parallel_2dev", "distributed"]
)
def test_every_executor_gives_the_same_observations(observed_sweep, executor, request):
    model, space, want = observed_sweep
    client = (
        request.getfixturevalue("dask_client") if executor == "distributed" else None
    )
    got = EXECUTORS[executor](model, space, client).run().outputs
    assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_an_observing_solve_holds_no_trajectory():
    # deterministic: a noisy solve holds one block of normals (at most about
    # BLOCK_NUMBERS, which can span the whole run of a small network)
    n_steps, n_transient = 1000, 200
    solve, config = prepare(
        hopf(noise=False),
        Heun(),
        0.0,
        n_steps * DT,
        DT,
        observe={"fc": FC("x"), "std": Std("x")},
        transient=n_transient * DT,
    )
    batch, axes = batched(sweep_space(config))
    jaxpr = jax.make_jaxpr(jax.vmap(solve, in_axes=(axes,)))(batch)
    shapes = set()

    def walk(jaxpr):
        for eqn in jaxpr.eqns:
            for var in eqn.outvars:
                shapes.add(tuple(getattr(var.aval, "shape", ())))
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                walk(sub)

    walk(jaxpr.jaxpr)
    too_long = [s for s in shapes if any(d >= n_steps - n_transient for d in s)]
    assert not too_long, too_long


def test_welford_std_stays_accurate_in_float32():
    # a large offset: sums of squares in float32 would lose every digit
    rng = np.random.default_rng(0)
    xs = (1e4 + rng.standard_normal((20_000, 3))).astype(np.float32)
    observer = Std("x")

    def fold(acc, item):
        k, x = item
        return observer.update(acc, x, k), None

    counts = jnp.arange(1, len(xs) + 1, dtype=jnp.float32)
    acc, _ = jax.lax.scan(fold, observer.init(jnp.asarray(xs[0])), (counts, xs))
    got = observer.finalize(acc, counts[-1])
    np.testing.assert_allclose(got, xs.astype(np.float64).std(0), rtol=2e-3)


def test_bad_observation_arguments_are_named():
    network = hopf()
    args = (network, Heun(), 0.0, T1, DT)
    with pytest.raises(TypeError, match="observe must be a non-empty dict"):
        prepare(*args, observe=[Mean("x")])
    with pytest.raises(TypeError, match=r"observe\['m'\] must map a str"):
        prepare(*args, observe={"m": np.mean})
    with pytest.raises(ValueError, match="unknown state variable.*'S'"):
        prepare(*args, observe={"m": Mean("S")})
    with pytest.raises(ValueError, match="whole number of steps"):
        prepare(*args, observe={"m": Mean("x")}, transient=0.05)
    with pytest.raises(ValueError, match="shorter than the run"):
        prepare(*args, observe={"m": Mean("x")}, transient=T1)
    with pytest.raises(ValueError, match="transient=5.0 ms applies to observers"):
        prepare(*args, transient=5.0)
    with pytest.raises(ValueError, match="not both"):
        prepare(*args, monitor=SubSample(10), observe={"m": Mean("x")})
    with pytest.raises(ValueError, match="Diffrax does not run observers"):
        prepare(network, Diffrax(diffrax.Heun()), 0.0, T1, DT, observe={"m": Mean("x")})
    with pytest.raises(TypeError, match="one state variable by name"):
        FC(("x", "y"))
    with pytest.raises(ValueError, match="an \\(x, y\\) pair"):
        Synchrony(("x", "y", "x"))


def test_observers_are_abstract_observers():
    assert all(isinstance(o, AbstractObserver) for o in OBSERVE.values())
    assert repr(Std("x", ddof=1)) == "Std('x', ddof=1)"


def test_bold_and_its_fc_and_fcd_equal_the_post_hoc_functions(x64):
    network = hopf(5)
    t1, tr, transient = 410.0, 10.0, 10.0  # 40 samples after the transient

    def rates(x):
        return 4.0 * (x + 1.0)

    source = BOLD("x", tr_ms=tr, transform=rates)
    observe = {
        "bold": source,
        "fc": FC(source),
        "fcd": FCD(source, window=10, step=3),
        "power": Power(source, [0.0, 2.5, 10.0, 50.0]),
    }
    record, config = prepare(network, Heun(), 0.0, t1, DT)
    solve, _ = prepare(
        network, Heun(), 0.0, t1, DT, observe=observe, transient=transient
    )
    x = np.asarray(record(config).ys)[:, 0]
    # the hemodynamics run through the transient; its one sample is dropped
    series = bold(rates(x), DT, tr)[1:]
    got = solve(config).observed
    assert got["bold"].shape == (40, 5)
    assert_close(got["bold"], series)
    assert_close(got["fc"], fc(series))
    grid, density = scipy.signal.periodogram(series, fs=1000.0 / tr, axis=0)
    assert_close(got["power"], density[[0, 1, 4, 20]])
    # over 10 samples 10 ms apart the BOLD curves are nearly straight lines,
    # whose correlations amplify round-off: a looser tolerance for the FCD
    assert_close(got["fcd"], fcd(series, 10, 3), rtol=1e-5, atol=1e-8)


def test_bold_observer_errors_name_the_argument():
    args = (hopf(), Heun(), 0.0, T1, DT)
    with pytest.raises(
        ValueError, match="tr_ms must be a whole number of steps.*got 0.25 ms"
    ):
        prepare(*args, observe={"b": BOLD("x", tr_ms=0.25)})
    with pytest.raises(ValueError, match="at least one TR"):
        prepare(*args, observe={"b": BOLD("x", tr_ms=100.0)})
    with pytest.raises(ValueError, match="tr_ms must be > 0"):
        BOLD("x", tr_ms=0.0)
    with pytest.raises(TypeError, match="FCD needs an observer that makes a series"):
        FCD("x", window=3, step=1)
    assert repr(FC(BOLD("x", 10.0))) == "FC(BOLD('x', tr_ms=10.0))"


def test_fc_of_a_node_that_never_moves_is_zero_as_in_fc(x64):
    network = hopf(3, noise=False)
    solve, config = prepare(
        network,
        Heun(),
        0.0,
        10.0,
        DT,
        observe={"fc": FC("x"), "bold": FC(BOLD("x", 1.0))},
    )
    config.initial_state = jnp.array([[0.3, 0.0, 0.2], [0.1, 0.0, 0.2]])
    config.graph.weights = jnp.array([[0, 0, 1.0], [0, 0, 0], [1.0, 0, 0]])
    observed = solve(config).observed
    for got in observed.values():
        np.testing.assert_array_equal(got[1], 0.0)  # node 1 stays at the origin
        np.testing.assert_array_equal(got[:, 1], 0.0)
        assert np.isfinite(got).all()


def test_average_series_and_its_fc_equal_block_means_of_the_trajectory(x64, recorded):
    config, ys = recorded
    observe = {
        "x": Average("x", period_ms=1.0),
        "xy": Average(("x", "y"), period_ms=2.0),
        "fc": FC(Average("x", period_ms=1.0)),
        "fcd": FCD(Average("x", period_ms=1.0), window=8, step=4),
    }
    solve, _ = prepare(hopf(), Heun(), 0.0, T1, DT, observe=observe, transient=5.0)
    kept = ys[N_TRANSIENT:]  # 250 steps
    x_1ms = kept[:, 0].reshape(25, 10, 4).mean(1)
    xy_2ms = kept[:240].reshape(12, 20, 2, 4).mean(1)  # 10 steps left out
    got = solve(config).observed
    assert_close(got["x"], x_1ms)
    assert_close(got["xy"], xy_2ms)
    assert_close(got["fc"], fc(x_1ms))
    assert_close(got["fcd"], fcd(x_1ms, 8, 4), rtol=1e-7, atol=1e-9)
    with pytest.raises(TypeError, match="one state's series"):
        FC(Average(("x", "y"), 1.0))


def test_degenerate_statistics_warn_at_prepare_naming_the_observer():
    bold = BOLD("x", tr_ms=1.0)
    observe = {
        "bold_fc": FC(bold),
        "fcd": FCD(bold, window=2, step=1),
        "long_fcd": FCD(bold, window=3, step=1),
        "fc": FC("x"),
    }
    with pytest.warns(UserWarning) as record:  # 2 observed ms: 2 BOLD samples
        prepare(hopf(2), Heun(), 0.0, 3.0, 0.1, observe=observe, transient=1.0)
    messages = [str(w.message) for w in record]
    assert messages == [
        "observe['bold_fc'] = FC(BOLD('x', tr_ms=1.0)) correlates 2 samples (2 ms) "
        "of observed time; a correlation needs at least 3 samples (3 ms after the "
        "transient), and a stable FC minutes of them. Lengthen the run (t1) or "
        "shorten the transient.",
        "observe['fcd'] = FCD(BOLD('x', tr_ms=1.0), window=2, step=1) correlates "
        "windows of 2 samples; each window's FC needs at least 3 (window >= 3; "
        "to_samples(60_000.0, dt=tr_ms) gives 60 s windows). Lengthen the run "
        "(t1) or shorten the transient.",
        "observe['long_fcd'] = FCD(BOLD('x', tr_ms=1.0), window=3, step=1) has 0 "
        "window(s) of 3 samples in 2 samples (2 ms) of observed time; it needs at "
        "least 2, i.e. 4 samples (4 ms) after the transient. Lengthen the run (t1) "
        "or shorten the transient.",
    ]
    with pytest.warns(UserWarning, match=r"observe\['fc'\] = FC\('x'\) correlates 2"):
        prepare(hopf(2), Heun(), 0.0, 0.3, 0.1, observe={"fc": FC("x")}, transient=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        observe = {"fc": FC(bold), "fcd": FCD(bold, window=3, step=1)}
        prepare(hopf(2), Heun(), 0.0, 5.0, 0.1, observe=observe, transient=1.0)


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: Average("x", period_ms=np.inf), "period_ms"),
        (lambda: HRFBold("x", tr_ms=np.inf), "tr_ms"),
        (lambda: BOLD("x", tr_ms=np.inf), "tr_ms"),
        (
            lambda: prepare(
                hopf(), Heun(), 0.0, T1, DT, observe={"m": Mean("x")}, transient=np.inf
            ),
            "transient",
        ),
    ],
    ids=["Average", "HRFBold", "BOLD", "transient"],
)
def test_an_infinite_duration_is_a_value_error_naming_it(make, name):
    with pytest.raises(ValueError, match=f"{name} must be .* finite, got {name}=inf"):
        make()


@pytest.mark.parametrize(
    "observer",
    [Average("x", 1.0), BOLD("x", tr_ms=1.0), HRFBold("x", tr_ms=4.0)],
    ids=repr,
)
def test_bind_makes_a_new_observer_and_changes_none(observer):
    bound = observer.bind(0.1, 80)
    assert bound is not observer and type(bound) is type(observer)
    assert (observer.timing, observer.n_samples) == (None, 0)  # unchanged
    assert bound.timing == Timing(0.1, 80)
    assert bound.n_samples == round(8.0 / observer.period_ms)
    of = FC(observer).bind(0.1, 80)
    assert of.source.timing == Timing(0.1, 80) and FC(observer).source is observer


def test_observers_of_one_source_fold_it_once():
    # FC and FCD of one BOLD step its hemodynamics once per step, not twice
    network = hopf(2)
    source = BOLD("x", tr_ms=5.0)

    def logs(observe):
        solve, config = prepare(network, Heun(), 0.0, T1, DT, observe=observe)
        return str(jax.make_jaxpr(solve)(config)).count("= log ")

    alone = logs({"fc": FC(source)})
    assert alone > 0
    assert logs({"fc": FC(source), "fcd": FCD(source, 3, 1), "bold": source}) == alone
    assert logs({"fc": FC(source), "other": FC(BOLD("x", tr_ms=2.5))}) == 2 * alone


def _scans(jaxpr) -> list[tuple[int, int]]:
    """``(length, stacked outputs)`` of every scan in ``jaxpr``, nested too."""
    found = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "scan":
            stacked = len(eqn.outvars) - eqn.params["num_carry"]
            found.append((eqn.params["length"], stacked))
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            found += _scans(sub)
    return found


def test_step_observers_fold_inside_the_loop_of_steps():
    # a forward run folds BOLD (warmed in the transient) in the loops that
    # take the steps: one scan for the transient, one for the observed
    # steps, neither stacking states for a second loop of observer updates
    # (their numbers: test_bold_and_its_fc_and_fcd_equal_the_post_hoc_functions)
    source = BOLD("x", tr_ms=5.0)
    observe = {"fc": FC(source), "bold": source}
    solve, config = prepare(
        hopf(2), Heun(), 0.0, T1, DT, observe=observe, transient=TRANSIENT
    )
    scans = _scans(jax.make_jaxpr(solve)(config).jaxpr)
    n_observed = round(T1 / DT) - N_TRANSIENT
    assert [scan for scan in scans if scan[0] == n_observed] == [(n_observed, 0)]
    assert [scan for scan in scans if scan[0] == N_TRANSIENT] == [(N_TRANSIENT, 0)]
