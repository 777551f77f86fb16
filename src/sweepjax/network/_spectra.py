"""Power spectra at chosen frequencies: a periodogram that can be streamed.

The power of a signal at a few frequencies (an alpha peak at 8-12 Hz, the
band a model oscillates in) needs its discrete Fourier sums at those
frequencies only, and each sum is a running total over time, so the loop
can fold them block by block (:class:`Spectrum`) without keeping the
series. The result is scipy's one-sided periodogram (``scipy.signal.
periodogram`` with its defaults: constant detrend, boxcar window, density
scaling) evaluated at any frequency, on the grid ``k * fs / n`` or between
its points: ``P(f) = c |sum_t (x_t - mean(x)) exp(-2 pi i f t dt)|^2 dt / n``
with ``c = 2``, or 1 at 0 Hz and at the Nyquist frequency; units of ``x``
squared per Hz.

Phases are counted in integers (``2**-32`` of a turn per unit for float32
signals, ``2**-64`` for float64; they wrap), so the ten-millionth step's
phase is as exact as the first's.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


def check_frequencies(
    frequencies: Any, name: str, period_ms: float | None = None
) -> np.ndarray:
    """``frequencies`` (Hz) as a float64 vector, each in ``[0, Nyquist]`` of
    samples ``period_ms`` apart (``>= 0`` while the period is not known):
    a clear error otherwise."""
    try:
        freqs = np.asarray(frequencies, np.float64)
    except (TypeError, ValueError):
        freqs = None
    if freqs is None or freqs.ndim != 1 or not freqs.size:
        raise TypeError(
            f"{name} frequencies must be a non-empty list of Hz, got {frequencies!r}."
        )
    nyquist = np.inf if period_ms is None else 500.0 / period_ms
    bad = freqs[~((freqs >= 0) & (freqs <= nyquist))]
    if bad.size:
        where = (
            ""
            if period_ms is None
            else f" <= {nyquist:g} Hz (the Nyquist frequency of samples "
            f"{period_ms:g} ms apart)"
        )
        raise ValueError(f"{name} frequencies must be >= 0{where}, got {bad.tolist()}.")
    return freqs


def phase_steps(frequencies: np.ndarray, period_ms: float, bits: int) -> np.ndarray:
    """Each frequency's phase advance per sample, in ``2**-bits`` turns."""
    turns = frequencies * (period_ms / 1000.0)
    units = [round(float(t) * 2.0**bits) % 2**bits for t in turns]
    return np.array(units, dtype=f"uint{bits}")


def _waves(steps: np.ndarray, t: jax.Array, dtype: Any) -> tuple[jax.Array, jax.Array]:
    """``cos`` and ``sin`` of each frequency's phase at the sample indices
    ``t`` ``[rows]``: ``[rows, n_freqs]`` (``steps``: :func:`phase_steps`)."""
    bits = steps.dtype.itemsize * 8
    phase = t.astype(steps.dtype)[:, None] * jnp.asarray(steps)[None, :]  # wraps
    signed = jax.lax.bitcast_convert_type(phase, f"int{bits}")  # turns about 0
    angle = signed.astype(dtype) * jnp.asarray(2.0 * math.pi / 2.0**bits, dtype)
    return jnp.cos(angle), jnp.sin(angle)


def _scale(frequencies: np.ndarray, period_ms: float, dtype: Any) -> jax.Array:
    """The one-sided density factor ``c dt`` of each frequency (dt in s)."""
    edge = (frequencies == 0) | np.isclose(frequencies, 500.0 / period_ms)
    factor = np.where(edge, 1.0, 2.0) * period_ms / 1000.0
    return jnp.asarray(factor, dtype)


class Sums(NamedTuple):
    """The running Fourier sums of a signal, taken about ``ref`` (the first
    block's mean: it keeps the sums small, so removing the true mean at the
    end cancels few digits)."""

    ref: jax.Array  # [*shape]
    re: jax.Array  # [n_freqs, *shape]: sum of (x - ref) cos
    im: jax.Array  # [n_freqs, *shape]: sum of (x - ref) sin
    total: jax.Array  # [*shape]: sum of (x - ref)
    cos: jax.Array  # [n_freqs]: sum of cos
    sin: jax.Array  # [n_freqs]: sum of sin
    count: jax.Array  # samples folded (int32)


class Spectrum:
    """The periodogram of signals sampled every ``period_ms`` at
    ``frequencies`` (Hz), folded a block of samples at a time."""

    def __init__(self, frequencies: np.ndarray, period_ms: float):
        self.frequencies = frequencies
        self.period_ms = period_ms
        self._steps = {b: phase_steps(frequencies, period_ms, b) for b in (32, 64)}

    def init(self, x: jax.Array) -> Sums:
        n = len(self.frequencies)
        zero = jnp.zeros_like(x)
        waves = jnp.zeros((n, *x.shape), x.dtype)
        sums = jnp.zeros((n,), x.dtype)
        return Sums(zero, waves, waves, zero, sums, sums, jnp.zeros((), jnp.int32))

    def update(self, acc: Sums, xs: jax.Array) -> Sums:
        """Fold the samples ``xs`` ``[rows, *shape]``."""
        steps = self._steps[64 if xs.dtype == jnp.float64 else 32]
        cos, sin = _waves(steps, acc.count + jnp.arange(xs.shape[0]), xs.dtype)
        ref = jnp.where(acc.count == 0, xs.mean(0), acc.ref)
        d = xs - ref
        rows = d.reshape(d.shape[0], -1)
        fold = jax.lax.Precision.HIGHEST

        def wave(w):
            return jnp.matmul(w.T, rows, precision=fold).reshape(-1, *d.shape[1:])

        return Sums(
            ref,
            acc.re + wave(cos),
            acc.im + wave(sin),
            acc.total + d.sum(0),
            acc.cos + cos.sum(0),
            acc.sin + sin.sum(0),
            acc.count + xs.shape[0],
        )

    def finalize(self, acc: Sums) -> jax.Array:
        """The power ``[n_freqs, *shape]``."""
        n = acc.count.astype(acc.re.dtype)
        offset = acc.total / n  # mean(x) - ref
        expand = (slice(None),) + (None,) * acc.total.ndim
        re = acc.re - acc.cos[expand] * offset
        im = acc.im - acc.sin[expand] * offset
        scale = _scale(self.frequencies, self.period_ms, re.dtype)[expand]
        return scale * (re * re + im * im) / n


def power_spectrum(series: jax.Array, frequencies: Any, period_ms: float) -> jax.Array:
    """The one-sided periodogram of ``series`` ``[n_samples, ...]`` (samples
    ``period_ms`` apart) at ``frequencies`` (Hz): ``[n_freqs, ...]``, units
    of the series squared per Hz; ``scipy.signal.periodogram``'s numbers on
    its frequency grid.

    >>> t = jnp.arange(1000) * 1.0                      # 1 ms samples
    >>> x = jnp.sin(2 * jnp.pi * 0.010 * t)[:, None]    # 10 Hz
    >>> p = power_spectrum(x, [5.0, 10.0, 20.0], period_ms=1.0)
    >>> int(p[:, 0].argmax())
    1
    """
    if isinstance(period_ms, bool) or not isinstance(period_ms, int | float):
        raise TypeError(f"period_ms must be a number of ms, got {period_ms!r}.")
    if not period_ms > 0:
        raise ValueError(f"period_ms must be > 0 ms, got {period_ms}.")
    series = jnp.asarray(series)
    if series.ndim < 1 or not series.shape[0]:
        raise ValueError(
            f"series must be [n_samples, ...] with samples, got shape {series.shape}."
        )
    if not jnp.issubdtype(series.dtype, jnp.floating):
        series = series.astype(jnp.result_type(float))
    freqs = check_frequencies(frequencies, "power_spectrum", float(period_ms))
    spectrum = Spectrum(freqs, float(period_ms))

    @jax.jit  # one compilation, not one per operation when called eagerly
    def fold(series: jax.Array) -> jax.Array:
        return spectrum.finalize(spectrum.update(spectrum.init(series[0]), series))

    return fold(series)
