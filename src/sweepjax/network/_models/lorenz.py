"""Lorenz system: the classic chaotic flow, for checks of chaos measures."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from sweepjax._config import Config
from sweepjax.network._dynamics import AbstractDynamics


class Lorenz(AbstractDynamics):
    """The Lorenz (1963) system, coupled into ``x``.

    ``dx/dt = sigma*(y - x) + c[0]``, ``dy/dt = x*(rho - z) - y``,
    ``dz/dt = x*y - beta*z``. At the classic ``sigma = 10``, ``rho = 28``,
    ``beta = 8/3`` (the defaults) the flow is chaotic, with Lyapunov
    exponents about ``(0.906, 0, -14.57)`` per unit time (their sum is
    ``-(sigma + 1 + beta)``). Time is in the model's own unit, not ms: a
    solve's ``dt`` is in that unit, and so are the exponents' rates. Not a
    TVB model (not in ``MODELS``); TVB-Optim's ``Lorenz`` has the same
    equations, state order and initial state ``x = y = z = 1``.

    >>> Lorenz().state_names
    ('x', 'y', 'z')
    """

    state_names = ("x", "y", "z")
    default_parameters = {"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0}
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
        dx = params.sigma * (y - x) + coupling["c"][0]
        dy = x * (params.rho - z) - y
        dz = x * y - params.beta * z
        return jnp.stack([dx, dy, dz])
