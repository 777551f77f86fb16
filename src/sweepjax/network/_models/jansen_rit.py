"""Jansen-Rit cortical column (Jansen & Rit 1995), six state variables."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from sweepjax._config import Config
from sweepjax.network._dynamics import AbstractDynamics


class JansenRit(AbstractDynamics):
    """Jansen-Rit cortical column (Jansen & Rit 1995), six state variables.

    ``S(v) = 2*nu_max / (1 + exp(r*(v0 - v)))``;
    ``y0' = y3``, ``y1' = y4``, ``y2' = y5``,
    ``y3' = A*a*S(y1 - y2) - 2*a*y3 - a^2*y0``,
    ``y4' = A*a*(mu + a_2*J*S(a_1*J*y0) + c) - 2*a*y4 - a^2*y1``,
    ``y5' = B*b*a_4*J*S(a_3*J*y0) - 2*b*y5 - b^2*y2``, with ``c`` the coupling
    input ``"c"`` (one component). Default initial state: all zeros.

    >>> JansenRit.state_names
    ('y0', 'y1', 'y2', 'y3', 'y4', 'y5')
    """

    state_names = ("y0", "y1", "y2", "y3", "y4", "y5")
    default_parameters = {
        "A": 3.25,
        "B": 22.0,
        "a": 0.1,
        "b": 0.05,
        "v0": 5.52,
        "nu_max": 0.0025,
        "r": 0.56,
        "J": 135.0,
        "a_1": 1.0,
        "a_2": 0.8,
        "a_3": 0.25,
        "a_4": 0.25,
        "mu": 0.22,
    }
    default_initial_state = dict.fromkeys(state_names, 0.0)
    coupling_inputs = {"c": 1}
    coupling_variables = ("y1", "y2")

    def derivative(
        self,
        t: jax.Array,
        state: jax.Array,
        coupling: Mapping[str, jax.Array],
        params: Config,
    ) -> jax.Array:
        p = params
        y0, y1, y2, y3, y4, y5 = (state[i] for i in range(6))

        def sigmoid(v):
            return 2.0 * p.nu_max / (1.0 + jnp.exp(p.r * (p.v0 - v)))

        dy3 = p.A * p.a * sigmoid(y1 - y2) - 2.0 * p.a * y3 - p.a**2 * y0
        drive = p.mu + p.a_2 * p.J * sigmoid(p.a_1 * p.J * y0) + coupling["c"][0]
        dy4 = p.A * p.a * drive - 2.0 * p.a * y4 - p.a**2 * y1
        dy5 = (
            p.B * p.b * (p.a_4 * p.J * sigmoid(p.a_3 * p.J * y0))
            - 2.0 * p.b * y5
            - p.b**2 * y2
        )
        return jnp.stack([y3, y4, y5, dy3, dy4, dy5])
