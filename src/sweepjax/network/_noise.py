"""Noise: the stochastic forcing of a network."""

from __future__ import annotations

import abc
from typing import Any

import jax

from sweepjax._config import Config
from sweepjax._tree import is_key_array
from sweepjax.network._checks import Allowed
from sweepjax.network._dynamics import as_state_names

#: A noise amplitude: finite, >= 0.
SIGMA = Allowed(minimum=0.0)
#: Any number: finite.
FINITE = Allowed()


def _as_key(key: Any) -> jax.Array:
    if key is None:
        return jax.random.key(0)
    if isinstance(key, int) and not isinstance(key, bool):
        return jax.random.key(key)
    if is_key_array(key, raw=True):
        return key
    raise TypeError(
        "key must be a JAX PRNG key (jax.random.key(seed)), an int seed or None, "
        f"got {key!r}."
    )


class AbstractNoise(abc.ABC):
    """Stochastic forcing on some state variables (``states``; None = all).

    ``parameters()`` gives the leaves placed under ``config.noise`` (at least
    ``key``, the PRNG key that drives the increments); ``allowed()`` what the
    numeric ones may hold, checked at construction and in every solve.
    ``diffusion(params, x)`` is the coefficient ``g``: a step's increment is
    ``dW = g * sqrt(dt) * z`` with ``z`` standard normal, ``g`` evaluated at
    the step's start (Ito, as The Virtual Brain).
    """

    states: tuple[str, ...] | None

    @abc.abstractmethod
    def parameters(self) -> dict[str, Any]:
        """``{name: value}`` of the noise's config leaves."""

    @abc.abstractmethod
    def diffusion(self, params: Config, x: jax.Array) -> jax.Array:
        """``g`` for the noisy states ``x`` ``[n_noise_states, n_nodes]``:
        anything broadcasting to ``x``."""

    def allowed(self) -> dict[str, Allowed]:
        """``{name: rule}`` for the numeric leaves of ``parameters()``
        (none by default)."""
        return {}


class AdditiveNoise(AbstractNoise):
    """Additive white noise: ``dW_k = sigma * sqrt(dt) * z[k]`` each step.

    ``z = jax.random.normal(config.noise.key, (n_steps, n_noise_states,
    n_nodes))`` is drawn once per solve, or taken from
    ``config.noise_samples`` when that is set. ``sigma`` is a scalar
    or broadcasts to ``[n_noise_states, n_nodes]``, finite and >= 0 (checked
    here and, when swept, in the solve); ``states`` names the noisy state
    variables (all by default). The draw is the same whatever is
    recorded or observed of the run.

    >>> noise = AdditiveNoise(sigma=1e-3, key=jax.random.key(0))
    """

    def __init__(
        self,
        sigma: Any,
        key: Any = None,
        states: str | tuple[str, ...] | None = None,
    ):
        SIGMA.check("sigma", sigma)
        self.sigma = sigma
        self.key = _as_key(key)
        self.states = None if states is None else as_state_names(states, "states")

    def parameters(self) -> dict[str, Any]:
        return {"sigma": self.sigma, "key": self.key}

    def allowed(self) -> dict[str, Allowed]:
        """``sigma``: finite values >= 0."""
        return {"sigma": SIGMA}

    def diffusion(self, params: Config, x: jax.Array) -> jax.Array:
        return params.sigma

    def __repr__(self) -> str:
        return f"AdditiveNoise(sigma={self.sigma!r}, states={self.states!r})"


class MultiplicativeNoise(AdditiveNoise):
    """Noise proportional to a linear function of the state:
    ``dW_k = sigma * (a * x + b) * sqrt(dt) * z[k]``, ``x`` the noisy states
    at the start of step ``k``.

    The Virtual Brain's ``noise.Multiplicative`` with its default
    ``b = equations.Linear(a, b)``: TVB's ``nsig`` is ``sigma**2 / 2``
    (TVB scales by ``sqrt(2 * nsig)``). ``sigma``, ``a`` and ``b`` are config
    leaves; ``sigma`` may be per state and node as in :class:`AdditiveNoise`.

    >>> noise = MultiplicativeNoise(sigma=0.01, a=1.0, b=0.0, key=0)
    """

    def __init__(
        self,
        sigma: Any,
        a: Any = 1.0,
        b: Any = 0.0,
        key: Any = None,
        states: str | tuple[str, ...] | None = None,
    ):
        super().__init__(sigma, key, states)
        FINITE.check("a", a)
        FINITE.check("b", b)
        self.a, self.b = a, b

    def parameters(self) -> dict[str, Any]:
        return {**super().parameters(), "a": self.a, "b": self.b}

    def allowed(self) -> dict[str, Allowed]:
        """``sigma``: finite values >= 0; ``a``, ``b``: finite."""
        return {"sigma": SIGMA, "a": FINITE, "b": FINITE}

    def diffusion(self, params: Config, x: jax.Array) -> jax.Array:
        return params.sigma * (params.a * x + params.b)

    def __repr__(self) -> str:
        return (
            f"MultiplicativeNoise(sigma={self.sigma!r}, a={self.a!r}, b={self.b!r}, "
            f"states={self.states!r})"
        )
