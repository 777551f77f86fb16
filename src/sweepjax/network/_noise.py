"""Noise: the stochastic forcing of a network."""

from __future__ import annotations

import abc
from typing import Any

import jax

from sweepjax._tree import is_key_array
from sweepjax.network._checks import Allowed
from sweepjax.network._dynamics import as_state_names

#: A noise amplitude: finite, >= 0.
SIGMA = Allowed(minimum=0.0)


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
    """

    states: tuple[str, ...] | None

    @abc.abstractmethod
    def parameters(self) -> dict[str, Any]:
        """``{name: value}`` of the noise's config leaves."""

    def allowed(self) -> dict[str, Allowed]:
        """``{name: rule}`` for the numeric leaves of ``parameters()``
        (none by default)."""
        return {}


class AdditiveNoise(AbstractNoise):
    """Additive white noise: ``dW_k = sigma * sqrt(dt) * z[k]`` each step.

    ``z = jax.random.normal(config.noise.key, (n_steps, n_noise_states,
    n_nodes))`` is drawn once per solve, or taken from
    ``config._internal.noise_samples`` when that is set. ``sigma`` is a scalar
    or broadcasts to ``[n_noise_states, n_nodes]``, finite and >= 0 (checked
    here and, when swept, in the solve); ``states`` names the noisy state
    variables (all by default). With a decimating monitor the draw is made
    per recorded block instead (see :class:`SubSample`).

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

    def __repr__(self) -> str:
        return f"AdditiveNoise(sigma={self.sigma!r}, states={self.states!r})"
