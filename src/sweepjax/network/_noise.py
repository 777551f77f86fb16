"""Noise: the stochastic forcing of a network."""

import abc
from typing import Any

import equinox as eqx
import jax
from equinox import AbstractVar

from sweepjax._config import Config
from sweepjax._tree import is_key_array
from sweepjax.network._checks import Allowed
from sweepjax.network._component import AbstractComponent, leaf
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


def _as_states(states: Any) -> tuple[str, ...] | None:
    return None if states is None else as_state_names(states, "states")


class AbstractNoise(AbstractComponent):
    """Stochastic forcing on some state variables (``states``; None = all).

    ``leaves()`` gives the leaves placed under ``config.noise`` (at least
    ``key``, the PRNG key that drives the increments) and what the numeric
    ones may hold, checked at construction and in every solve.
    ``diffusion(params, x)`` is the coefficient ``g``: a step's increment is
    ``dW = g * sqrt(dt) * z`` with ``z`` standard normal, ``g`` evaluated at
    the step's start (Ito, as The Virtual Brain).

    >>> noise = AdditiveNoise(sigma=1e-3, key=jax.random.key(0))
    >>> isinstance(noise, AbstractNoise), list(noise.leaves())
    (True, ['sigma', 'key'])
    """

    key: AbstractVar[jax.Array]
    states: AbstractVar[tuple[str, ...] | None]

    @abc.abstractmethod
    def diffusion(self, params: Config, x: jax.Array) -> jax.Array:
        """``g`` for the noisy states ``x`` ``[n_noise_states, n_nodes]``:
        anything broadcasting to ``x``."""


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

    sigma: Any = leaf(allowed=SIGMA)
    key: jax.Array = leaf(None, converter=_as_key)
    states: tuple[str, ...] | None = eqx.field(default=None, converter=_as_states)

    def diffusion(self, params: Config, x: jax.Array) -> jax.Array:
        return params.sigma


class MultiplicativeNoise(AbstractNoise):
    """Noise proportional to a linear function of the state:
    ``dW_k = sigma * (a * x + b) * sqrt(dt) * z[k]``, ``x`` the noisy states
    at the start of step ``k``.

    The Virtual Brain's ``noise.Multiplicative`` with its default
    ``b = equations.Linear(a, b)``: TVB's ``nsig`` is ``sigma**2 / 2``
    (TVB scales by ``sqrt(2 * nsig)``). ``sigma``, ``a`` and ``b`` are config
    leaves (``a`` and ``b`` finite); ``sigma`` may be per state and node as in
    :class:`AdditiveNoise`. ``key`` and ``states`` are keyword-only.

    >>> noise = MultiplicativeNoise(sigma=0.01, a=1.0, b=0.0, key=0)
    """

    sigma: Any = leaf(allowed=SIGMA)
    key: jax.Array = leaf(None, converter=_as_key, kw_only=True)
    a: Any = leaf(1.0, allowed=FINITE)
    b: Any = leaf(0.0, allowed=FINITE)
    states: tuple[str, ...] | None = eqx.field(
        default=None, converter=_as_states, kw_only=True
    )

    def diffusion(self, params: Config, x: jax.Array) -> jax.Array:
        return params.sigma * (params.a * x + params.b)
