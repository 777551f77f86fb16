"""Regimes per point: fixed point, limit cycle, chaos, multistable.

What a point does is read off what was observed of it over a window after
settling: its temporal standard deviation (a fixed point does not move), its
largest Lyapunov exponent when one was computed (a positive one is chaos),
and, across initial-condition replicates, whether they agree (two states
reached from two starts: multistable). The thresholds are arguments: a
noisy run never has a zero std, and a finite run's exponent is never
exactly zero.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: The regimes by code: ``REGIMES[code]``.
REGIMES = ("fixed point", "limit cycle", "chaos", "multistable")
FIXED_POINT, LIMIT_CYCLE, CHAOS, MULTISTABLE = range(4)


def classify_regimes(
    std: Any,
    lyapunov: Any = None,
    *,
    fixed_tol: float = 1e-4,
    chaos_tol: float = 1e-2,
) -> np.ndarray:
    """The regime code of each point (int8, an index of :data:`REGIMES`).

    Args:
        std: the temporal standard deviation over the observation window,
            one number per point (reduce nodes and states first, e.g. their
            maximum: ``observed["std"].max(-1)``).
        lyapunov: optional, the largest Lyapunov exponent per point (same
            shape); without it nothing is called chaos.
        fixed_tol: a point whose ``std`` is at most this is a fixed point
            (raise it above the noise's std for noisy runs).
        chaos_tol: a moving point whose exponent exceeds this is chaotic
            (a limit cycle's is 0 up to the estimate's error).

    An xarray ``std`` gives a DataArray of codes on its dimensions.

    >>> classify_regimes([0.0, 0.3, 0.3], lyapunov=[-0.1, 0.0, 0.9])
    array([0, 1, 2], dtype=int8)
    """
    like = std
    std = np.asarray(std, dtype=float)
    _check_tol("fixed_tol", fixed_tol)
    _check_tol("chaos_tol", chaos_tol)
    codes = np.where(std <= fixed_tol, FIXED_POINT, LIMIT_CYCLE)
    if lyapunov is not None:
        lyapunov = np.asarray(lyapunov, dtype=float)
        if lyapunov.shape != std.shape:
            raise ValueError(
                f"lyapunov must have the shape of std {std.shape} (one exponent "
                f"per point), got {lyapunov.shape}."
            )
        codes = np.where((codes == LIMIT_CYCLE) & (lyapunov > chaos_tol), CHAOS, codes)
    return _like(like, codes.astype(np.int8))


def combine_replicates(
    codes: Any, summary: Any = None, *, axis: int | str = -1, spread_tol: float = 1e-2
) -> np.ndarray:
    """One regime per point from its replicates along ``axis`` (a dimension
    name for xarray ``codes``, which gives a DataArray): their common
    code, or ``MULTISTABLE`` where the codes disagree or where ``summary``
    (a number per replicate that tells attractors apart, e.g. the mean or
    std of a state over the window) spreads by more than ``spread_tol``
    (two fixed points, two cycles).

    >>> codes = [[0, 0], [0, 1], [0, 0]]             # [point, replicate]
    >>> combine_replicates(codes, [[0.1, 0.1], [0.1, 0.5], [0.1, 0.9]])
    array([0, 3, 3], dtype=int8)
    """
    if isinstance(axis, str):
        if not hasattr(codes, "get_axis_num"):
            raise TypeError(
                f"axis may name a dimension ({axis!r}) only for xarray codes; "
                "pass an int axis for arrays."
            )
        like, axis = codes.isel({axis: 0}, drop=True), codes.get_axis_num(axis)
    else:
        like = None
    codes = np.asarray(codes)
    _check_tol("spread_tol", spread_tol)
    first = np.take(codes, [0], axis=axis)
    disagree = np.any(codes != first, axis=axis)
    if summary is not None:
        summary = np.asarray(summary, dtype=float)
        if summary.shape != codes.shape:
            raise ValueError(
                f"summary must have the shape of codes {codes.shape} (a number "
                f"per replicate), got {summary.shape}."
            )
        spread = np.ptp(summary, axis=axis)
        disagree = disagree | (spread > spread_tol)
    combined = np.where(disagree, MULTISTABLE, np.squeeze(first, axis))
    return _like(like, combined.astype(np.int8))


def regime_names(codes: Any) -> Any:
    """The codes as a pandas Categorical of :data:`REGIMES` names (for a
    DataFrame column; ``.codes`` gives them back).

    >>> list(regime_names([0, 3]))
    ['fixed point', 'multistable']
    """
    import pandas as pd

    codes = np.asarray(codes).ravel()
    return pd.Categorical.from_codes(codes, categories=list(REGIMES))


def _like(like: Any, codes: np.ndarray) -> Any:
    """``codes`` on the dimensions of an xarray ``like``, else as they are."""
    return like.copy(data=codes) if hasattr(like, "dims") else codes


def _check_tol(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {value!r}.")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}.")
