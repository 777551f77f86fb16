"""Observables of a series: FC, FCD and power spectra, of one state over
every observed step (running co-moments or Fourier sums) or of another
observer's series at its period (``FC(BOLD("S", tr_ms=720.0))``), computed
from that series at the end, never from the raw steps."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax.network._metrics import fc, fcd
from sweepjax.network._moments import CoMoments
from sweepjax.network._observer import AbstractObserver, Timing, one_state
from sweepjax.network._spectra import Spectrum, check_frequencies, power_spectrum


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


class AbstractOfSeries(AbstractObserver):
    """An observable computed at the end from what its ``source`` observer
    accumulates (a series, or running co-moments)."""

    source: AbstractObserver

    @property
    def states(self):
        return self.source.states

    @property
    def warms(self):
        return self.source.warms

    def init(self, x):
        return self.source.init(x)

    def update(self, acc, x, count):
        return self.source.update(acc, x, count)

    def update_block(self, acc, xs, count):
        return self.source.update_block(acc, xs, count)

    def warm(self, acc, x):
        return self.source.warm(acc, x)


class FC(AbstractOfSeries):
    """Functional connectivity: the Pearson correlation over time between
    the nodes, ``[n_nodes, n_nodes]``; a node that never varies has 0 in its
    row and column (:func:`fc`'s convention), so a silent region does not
    turn a sweep's score into NaN.

    ``FC("S")`` correlates one state variable over every observed step
    (running co-moments); ``FC(BOLD("S", tr_ms=2000.0))`` correlates the
    series of another observer, at its period (:func:`fc`).

    >>> observe = {"fc": FC("S"), "bold_fc": FC(BOLD("S", tr_ms=2000.0))}
    """

    #: Whether ``source`` is another observer's series (else co-moments).
    of_series: bool

    def __init__(self, of: str | AbstractObserver):
        self.of_series = isinstance(of, AbstractObserver)
        if self.of_series:
            self.source = _series_of("FC", of)
        else:
            self.source = CoMoments(one_state("FC", of))

    def bind(self, dt, n_steps):
        return FC(self.source.bind(dt, n_steps)) if self.of_series else self

    def finalize(self, acc, count):
        if self.of_series:
            return fc(self.source.finalize(acc, count))
        scale = jnp.sqrt(jnp.diagonal(acc.m2))
        outer = jnp.outer(scale, scale)
        return jnp.where(outer > 0, acc.m2 / jnp.where(outer > 0, outer, 1), 0)

    def __repr__(self) -> str:
        return f"FC({self.source if self.of_series else self.states!r})"


class FCD(AbstractOfSeries):
    """Functional connectivity dynamics of another observer's series
    (:func:`fcd`): the correlation between the FCs of sliding windows of
    ``window`` samples every ``step`` samples, ``[n_windows, n_windows]``.

    >>> observe = {"fcd": FCD(BOLD("S", tr_ms=2000.0), window=30, step=5)}
    """

    window: int
    step: int

    def __init__(self, of: AbstractObserver, window: int, step: int):
        if not isinstance(of, AbstractObserver):
            raise TypeError(
                "FCD needs an observer that makes a series, e.g. "
                f"FCD(BOLD('S', tr_ms=2000.0), window=30, step=5), got of={of!r}."
            )
        self.source = _series_of("FCD", of)
        self.window = window
        self.step = step

    def bind(self, dt, n_steps):
        return FCD(self.source.bind(dt, n_steps), self.window, self.step)

    def finalize(self, acc, count):
        return fcd(self.source.finalize(acc, count), self.window, self.step)

    def __repr__(self) -> str:
        return f"FCD({self.source!r}, window={self.window}, step={self.step})"


class _StateSpectrum(AbstractObserver):
    """The running Fourier sums of states at every observed step
    (:class:`Spectrum`)."""

    states: Any
    frequencies: np.ndarray
    name: str
    timing: Timing | None
    _spectrum: Spectrum | None

    def __init__(
        self,
        states: Any,
        frequencies: np.ndarray,
        name: str,
        timing: Timing | None = None,
    ):
        self.states = states
        self.frequencies = frequencies
        self.name = name
        self.timing = timing
        self._spectrum = None
        if timing is not None:
            check_frequencies(frequencies, name, timing.dt)
            self._spectrum = Spectrum(frequencies, timing.dt)

    def bind(self, dt, n_steps):
        return _StateSpectrum(
            self.states, self.frequencies, self.name, Timing(dt, n_steps)
        )

    def init(self, x):
        return self._spectrum.init(x)

    def update(self, acc, x, count):
        return self._spectrum.update(acc, x[None])

    def update_block(self, acc, xs, count):
        return self._spectrum.update(acc, xs)

    def warm(self, acc, x):
        return acc

    def finalize(self, acc, count):
        return self._spectrum.finalize(acc)


class AbstractPower(AbstractOfSeries):
    """A spectrum of states or of a series; :class:`Power` and
    :class:`PeakFrequency` say what ``finalize`` makes of it."""

    frequencies: np.ndarray
    of_series: bool

    def __init__(self, of: str | tuple[str, ...] | AbstractObserver, frequencies: Any):
        name = type(self).__name__
        self.frequencies = check_frequencies(frequencies, name)
        self.of_series = isinstance(of, AbstractObserver)
        if isinstance(of, _StateSpectrum):  # from bind: the states' sums, bound
            self.of_series, self.source = False, of
        elif self.of_series:
            self.source = _series_of(name, of)
        else:
            self.source = _StateSpectrum(of, self.frequencies, name)

    def bind(self, dt, n_steps):
        if not self.of_series:
            return type(self)(self.source.bind(dt, n_steps), self.frequencies)
        source = self.source.bind(dt, n_steps)
        check_frequencies(self.frequencies, type(self).__name__, source.period_ms)
        return type(self)(source, self.frequencies)

    def _power(self, acc: Any, count: jax.Array) -> jax.Array:
        if self.of_series:
            series = self.source.finalize(acc, count)
            return power_spectrum(series, self.frequencies, self.source.period_ms)
        return self.source.finalize(acc, count)

    def __repr__(self) -> str:
        of = self.source if self.of_series else repr(self.states)
        return f"{type(self).__name__}({of}, frequencies={self.frequencies.tolist()})"


class Power(AbstractPower):
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

    def finalize(self, acc, count):
        return self._power(acc, count)


class PeakFrequency(AbstractPower):
    """The frequency (Hz) of largest power among ``frequencies``, per node
    (:class:`Power`, the same arguments): where a node's spectrum peaks on
    the grid you choose, e.g. ``numpy.arange(0.5, 60.0, 0.5)``.

    >>> observe = {"peak": PeakFrequency("x", frequencies=np.arange(1.0, 40.0))}
    """

    def finalize(self, acc, count):
        power = self._power(acc, count)
        return jnp.asarray(self.frequencies, power.dtype)[jnp.argmax(power, axis=0)]
