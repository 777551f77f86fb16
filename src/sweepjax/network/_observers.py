"""Observers: what a run saves, computed inside the integration loop, and
the observation plan that ``prepare`` hands a solver.

An observer folds every state after the transient into a small accumulator
(running moments, co-moments, ...), so a sweep that asks only for
summaries never holds a trajectory: memory is that of the accumulators,
whatever the length of the run. ``prepare(..., observe={"fc": FC("S")},
transient=1000.0)`` runs them; ``solution.observed["fc"]`` is the result.
The loop (:mod:`._loops`) hands them a block of consecutive states at a time
(``update_block``; at most about ``_loops.BLOCK_NUMBERS`` numbers), or, for
those that fold one step at a time in a forward run, each step's state.

Where each piece sits:

- :mod:`._observer`: the interface (:class:`AbstractObserver`) and the
  checks of durations in ms (``check_ms``, ``steps_of``);
- :mod:`._moments`: running moments (:class:`Mean`, :class:`Std`,
  :class:`Covariance`, :class:`Synchrony`);
- :mod:`._monitors`: the recorded series (:class:`Raw`, :class:`SubSample`,
  :class:`TemporalAverage`), ``monitor=``'s too;
- :mod:`._series`: series at their own period (:class:`Average`,
  :class:`BOLD`, :class:`HRFBold`);
- :mod:`._of_series`: observables of a series (:class:`FC`, :class:`FCD`,
  :class:`Power`, :class:`PeakFrequency`), computed from their source's
  series at the end, never from the raw steps: ``FC(BOLD("x", tr_ms=720.0))``;
- here: :class:`Observation` and :func:`check_observation`, the plan.
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
