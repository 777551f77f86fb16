"""Kuramoto phase oscillator: ``dtheta/dt = omega + c``."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from sweepjax._config import Config
from sweepjax.network._dynamics import AbstractDynamics


class Kuramoto(AbstractDynamics):
    """Kuramoto phase oscillator: ``dtheta/dt = omega + c``.

    Pair it with :class:`KuramotoCoupling` so that ``c`` is the mean sine of
    phase differences. Default initial state ``theta = 0``.

    >>> Kuramoto.state_names, Kuramoto.default_parameters
    (('theta',), {'omega': 1.0})
    """

    state_names = ("theta",)
    default_parameters = {"omega": 1.0}
    default_initial_state = {"theta": 0.0}
    coupling_inputs = {"c": 1}
    coupling_variables = ("theta",)

    def derivative(
        self,
        t: jax.Array,
        state: jax.Array,
        coupling: Mapping[str, jax.Array],
        params: Config,
    ) -> jax.Array:
        return jnp.broadcast_to(params.omega + coupling["c"][0], state.shape)
