"""Rossler system: a chaotic flow with one slow positive exponent."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from sweepjax._config import Config
from sweepjax.network._dynamics import AbstractDynamics


class Rossler(AbstractDynamics):
    """The Rossler (1976) system, coupled into ``x``.

    ``dx/dt = -y - z + c[0]``, ``dy/dt = x + a*y``,
    ``dz/dt = b + z*(x - c)``. At ``a = b = 0.2``, ``c = 5.7`` (the
    defaults) the flow is chaotic, with largest Lyapunov exponent about
    0.0714 per unit time. Time is in the model's own unit, not ms (as for
    :class:`Lorenz`). Not a TVB model (not in ``MODELS``).

    >>> Rossler().default_parameters["c"]
    5.7
    """

    state_names = ("x", "y", "z")
    default_parameters = {"a": 0.2, "b": 0.2, "c": 5.7}
    default_initial_state = {"x": 1.0, "y": 1.0, "z": 1.0}
    coupling_inputs = {"c": 1}
    coupling_variables = ("x",)

    def derivative(
        self,
        t: jax.Array,
        state: jax.Array,
        coupling: Mapping[str, jax.Array],
        params: Config,
    ) -> jax.Array:
        x, y, z = state[0], state[1], state[2]
        dx = -y - z + coupling["c"][0]
        dy = x + params.a * y
        dz = params.b + z * (x - params.c)
        return jnp.stack([dx, dy, dz])
