"""Warnings for statistics a run is too short to estimate.

A correlation of two samples is +1 or -1 whatever the dynamics, and an FCD
of one window is a 1 x 1 matrix: the numbers come back, finite and
meaningless. The sample counts are fixed when ``prepare`` binds the
observers, so the run's length is judged there, before anything is compiled.
"""

from __future__ import annotations

import warnings

from sweepjax.network._observers import FC, FCD, AbstractObserver, Observation

#: Fewer samples than this make a degenerate correlation.
MIN_SAMPLES = 3


def _span(samples: int, period_ms: float) -> str:
    return f"{samples} samples ({samples * period_ms:g} ms)"


def _problem(observer: AbstractObserver, n_observed: int, dt: float) -> str | None:
    """What is degenerate about ``observer`` (bound) over ``n_observed``
    steps of ``dt``, or None."""
    if isinstance(observer, FC):
        if observer.of_series:
            n, period = observer.source.n_samples, observer.source.period_ms
        else:
            n, period = n_observed, dt
        if n >= MIN_SAMPLES:
            return None
        return (
            f"correlates {_span(n, period)} of observed time; a correlation needs "
            f"at least {MIN_SAMPLES} samples ({MIN_SAMPLES * period:g} ms after "
            "the transient), and a stable FC minutes of them"
        )
    if isinstance(observer, FCD):
        n, period = observer.source.n_samples, observer.source.period_ms
        window, step = observer.window, observer.step
        if window < MIN_SAMPLES:
            return (
                f"correlates windows of {window} samples; each window's FC needs "
                f"at least {MIN_SAMPLES} (window >= {MIN_SAMPLES}; "
                "to_samples(60_000.0, dt=tr_ms) gives 60 s windows)"
            )
        n_windows = (n - window) // step + 1 if n >= window else 0
        if n_windows >= 2:
            return None
        needed = window + step
        return (
            f"has {n_windows} window(s) of {window} samples in {_span(n, period)} "
            f"of observed time; it needs at least 2, i.e. {_span(needed, period)} "
            "after the transient"
        )
    return None


def warn_degenerate(observation: Observation | None, dt: float, n_steps: int) -> None:
    """One warning per observer (``FC``, ``FCD``) whose statistic a run of
    ``n_steps`` steps of ``dt`` is too short to estimate, naming it, its
    samples and the observed time it needs."""
    if observation is None:
        return
    n_observed = n_steps - observation.n_transient
    for name, observer in observation.observers.items():
        problem = _problem(observer, n_observed, dt)
        if problem is not None:
            warnings.warn(
                f"observe[{name!r}] = {observer!r} {problem}. Lengthen the run "
                "(t1) or shorten the transient.",
                UserWarning,
                stacklevel=3,
            )
