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

from typing import Any, NamedTuple

from sweepjax.network._moments import Covariance, Mean, Std, Synchrony
from sweepjax.network._monitors import AbstractMonitor, Raw, SubSample, TemporalAverage
from sweepjax.network._network import Network
from sweepjax.network._observer import AbstractObserver, check_ms, steps_of
from sweepjax.network._of_series import FC, FCD, PeakFrequency, Power
from sweepjax.network._series import BOLD, Average, HRFBold

__all__ = [
    "BOLD",
    "FC",
    "FCD",
    "AbstractMonitor",
    "AbstractObserver",
    "Average",
    "Covariance",
    "HRFBold",
    "Mean",
    "Observation",
    "PeakFrequency",
    "Power",
    "Raw",
    "Std",
    "SubSample",
    "Synchrony",
    "TemporalAverage",
    "check_observation",
]


class Observation(NamedTuple):
    """What a solve saves: ``observers`` by output name (bound to the run's
    step and observed steps), and the transient's length in steps."""

    observers: dict[str, AbstractObserver]
    n_transient: int = 0


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
                f"Covariance, FC, Synchrony, Raw, SubSample, ...), got {observer!r}."
            )
    transient = check_ms("transient", transient, zero=True)
    n_transient = steps_of("transient", transient, dt)
    if n_transient >= n_steps:
        raise ValueError(
            f"transient must be shorter than the run ({n_steps} steps of "
            f"dt={dt} ms), got transient={transient} ms."
        )
    n_observed = n_steps - n_transient
    bound = {name: observer.bind(dt, n_observed) for name, observer in observe.items()}
    for observer in bound.values():
        observer.index(network)  # unknown state names fail here, not in the solve
    return Observation(bound, n_transient)
