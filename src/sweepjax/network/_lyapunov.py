"""Lyapunov exponents as observers: the largest, or the first ``k``, of
every point of a sweep, computed in the integration loop.

They are the one kind of observer that sees the step rather than the
states: the loop carries their perturbation vectors beside the trajectory
and moves them with each step (:mod:`._tangents`: Benettin's method, QR
re-orthonormalisation every ``renormalize_ms``). ``prepare(...,
observe={"lyap": Lyapunov()}, transient=...)`` runs them like any other
observer, so they vmap over a sweep and mix with the others.
"""

from __future__ import annotations

import abc
import math

import jax
import numpy as np

from sweepjax.network._observer import AbstractFoldless, Timing, check_ms, steps_of
from sweepjax.network._tangents import Follow, Perturbed, exponents

METHODS = ("jvp", "difference")


class AbstractTangentObserver(AbstractFoldless):
    """An observer of the linearised step, not of the states.

    The loop (:func:`._loops.observe_loop`) carries the :class:`Perturbed`
    vectors that :meth:`follow` describes beside its trajectory and hands
    the final ones to :meth:`result`; it never folds states into it
    (``init``/``update``/``finalize`` are trivial). It follows every state
    (``states`` is None).
    """

    @property
    def states(self) -> None:
        return None

    @abc.abstractmethod
    def follow(self) -> Follow:
        """How the loop moves this observer's vectors (once bound)."""

    @abc.abstractmethod
    def result(self, perturbed: Perturbed) -> jax.Array:
        """The summary of the batch, with a leading ``size`` axis."""


class AbstractLyapunov(AbstractTangentObserver):
    """What :class:`Lyapunov` and :class:`LyapunovSpectrum` share: the
    checks of their arguments and the renormalisation interval."""

    n_exponents: int
    renormalize_ms: float | None
    method: str
    eps: float
    timing: Timing | None

    def __init__(self, n_exponents, renormalize_ms, method, eps, timing) -> None:
        if isinstance(n_exponents, bool) or not isinstance(n_exponents, int):
            raise TypeError(
                f"n_exponents must be an int >= 1, got {n_exponents!r}; e.g. "
                "LyapunovSpectrum(3)."
            )
        if n_exponents < 1:
            raise ValueError(
                f"n_exponents must be >= 1, got n_exponents={n_exponents}."
            )
        if method not in METHODS:
            raise ValueError(
                f"method must be one of {METHODS}, got method={method!r}; "
                "'difference' for a step that cannot be differentiated."
            )
        self.n_exponents = n_exponents
        self.renormalize_ms = (
            None
            if renormalize_ms is None
            else check_ms("renormalize_ms", renormalize_ms)
        )
        self.method = method
        if isinstance(eps, bool) or not isinstance(eps, int | float | np.number):
            raise TypeError(f"eps must be a number, got {eps!r}; e.g. eps=1e-8.")
        if not (math.isfinite(eps) and eps > 0):
            raise ValueError(
                f"eps must be a finite separation > 0, got eps={eps}; e.g. 1e-8 "
                "in float64, 1e-3 in float32."
            )
        self.eps = float(eps)
        self.timing = timing

    def follow(self) -> Follow:
        if self.timing is None:
            raise ValueError(f"{self!r} is not bound to a run: prepare binds it.")
        dt, n_steps = self.timing
        every = 1
        if self.renormalize_ms is not None:
            every = steps_of("renormalize_ms", self.renormalize_ms, dt)
        if every > n_steps:
            raise ValueError(
                f"renormalize_ms={self.renormalize_ms} is longer than the observed "
                f"time, {n_steps * dt:g}; shorten it (or the transient)."
            )
        return Follow(self.n_exponents, every, self.method, self.eps)

    def _rates(self, perturbed: Perturbed) -> jax.Array:
        return exponents(perturbed, self.follow().every, self.timing.dt)

    def _arguments(self) -> str:
        return (
            f"renormalize_ms={self.renormalize_ms}, method={self.method!r}, "
            f"eps={self.eps})"
        )


class LyapunovSpectrum(AbstractLyapunov):
    """The ``n_exponents`` largest Lyapunov exponents ``[n_exponents]``,
    largest first, per unit of the model's time (1/ms for the neural
    models), over the observed steps.

    ``n_exponents`` perturbations of the whole state (every state variable
    of every node, and with delays the history ring buffer too: the
    exponents of the discretised delay system) are moved with the step
    and re-orthonormalised by QR every ``renormalize_ms`` (every step by
    default); the transient aligns them and is not counted, so give one
    (``prepare(..., transient=...)``). The rate is the mean of ``log
    |R_ii|`` over the observed renormalisations; steps after the last one
    are not counted.

    Args:
        n_exponents: how many (at most the state's dimension).
        renormalize_ms: time between renormalisations (a whole number of
            steps); None: every step.
        method: ``"jvp"`` (the tangent of the step by ``jax.jvp``:
            exact, the step must be differentiable) or ``"difference"``
            (a second trajectory per exponent, ``eps`` away, re-seeded at
            each renormalisation: for steps that cannot be differentiated;
            choose ``eps`` well above the round-off of the state, e.g.
            ``1e-8`` in float64, ``1e-3`` in float32).
        eps: the separation of ``"difference"``.

    With noise the perturbed and the reference trajectory take the same
    normals: the exponents of the random dynamical system (one noise
    realisation, frozen), not of the noiseless flow; negative ones mean
    trajectories synchronise under common noise.

    >>> observe = {"spectrum": LyapunovSpectrum(3, renormalize_ms=0.1)}
    """

    def __init__(
        self,
        n_exponents: int,
        renormalize_ms: float | None = None,
        method: str = "jvp",
        eps: float = 1e-8,
        *,
        timing: Timing | None = None,
    ):
        super().__init__(n_exponents, renormalize_ms, method, eps, timing)

    def bind(self, dt: float, n_steps: int) -> LyapunovSpectrum:
        bound = LyapunovSpectrum(
            self.n_exponents,
            self.renormalize_ms,
            self.method,
            self.eps,
            timing=Timing(dt, n_steps),
        )
        bound.follow()  # a bad renormalize_ms fails at prepare
        return bound

    def result(self, perturbed: Perturbed) -> jax.Array:
        return self._rates(perturbed)

    def __repr__(self) -> str:
        return f"LyapunovSpectrum({self.n_exponents}, {self._arguments()}"


class Lyapunov(AbstractLyapunov):
    """The largest Lyapunov exponent, a scalar per point (per unit of the
    model's time): one perturbation renormalised by its norm (``"jvp"``:
    the tangent; ``"difference"``: the classic two-trajectory estimate).
    Arguments as :class:`LyapunovSpectrum`'s.

    >>> observe = {"lyap": Lyapunov(renormalize_ms=1.0)}
    """

    def __init__(
        self,
        renormalize_ms: float | None = None,
        method: str = "jvp",
        eps: float = 1e-8,
        *,
        timing: Timing | None = None,
    ):
        super().__init__(1, renormalize_ms, method, eps, timing)

    def bind(self, dt: float, n_steps: int) -> Lyapunov:
        bound = Lyapunov(
            self.renormalize_ms, self.method, self.eps, timing=Timing(dt, n_steps)
        )
        bound.follow()  # a bad renormalize_ms fails at prepare
        return bound

    def result(self, perturbed: Perturbed) -> jax.Array:
        return self._rates(perturbed)[:, 0]

    def __repr__(self) -> str:
        return f"Lyapunov({self._arguments()}"
