"""Reduced Wong-Wang model (Deco et al. 2013): one synaptic gating variable."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from sweepjax._config import Config
from sweepjax.network._dynamics import AbstractDynamics


class ReducedWongWang(AbstractDynamics):
    """Reduced Wong-Wang model (Deco et al. 2013): one synaptic gating variable.

    ``x = w*J_N*S + I_o + J_N*c``, ``H = (a*x - b) / (1 - exp(-d*(a*x - b)))``,
    ``dS/dt = -S/tau_s + (1 - S)*H*gamma``, where ``c`` is the coupling input
    ``"c"`` (one component). Default initial state: ``S = 0.1``.

    >>> dynamics = ReducedWongWang(w=0.9)
    >>> dynamics.state_names
    ('S',)
    """

    state_names = ("S",)
    default_parameters = {
        "a": 0.270,
        "b": 0.108,
        "d": 154.0,
        "gamma": 0.641,
        "tau_s": 100.0,
        "w": 0.6,
        "J_N": 0.2609,
        "I_o": 0.33,
    }
    default_initial_state = {"S": 0.1}
    coupling_inputs = {"c": 1}
    coupling_variables = ("S",)
    state_bounds = {"S": (0.0, 1.0)}

    def derivative(
        self,
        t: jax.Array,
        state: jax.Array,
        coupling: Mapping[str, jax.Array],
        params: Config,
    ) -> jax.Array:
        p = params
        S = state[0]
        x = p.w * p.J_N * S + p.I_o + p.J_N * coupling["c"][0]
        u = p.a * x - p.b
        H = u / (1.0 - jnp.exp(-p.d * u))
        dS = -S / p.tau_s + (1.0 - S) * H * p.gamma
        return dS[None]
