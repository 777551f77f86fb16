"""TVB's generic two-dimensional oscillator (Sanz-Leon et al. 2015)."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from sweepjax._config import Config
from sweepjax.network._dynamics import AbstractDynamics


class Generic2dOscillator(AbstractDynamics):
    """TVB's generic two-dimensional oscillator (Sanz-Leon et al. 2015).

    ``dV/dt = d*tau*(alpha*W - f*V^3 + e*V^2 + g*V + gamma*I + gamma*c)``,
    ``dW/dt = d*(a + b*V + c_*V^2 - beta*W) / tau`` where ``c_`` is the
    parameter ``c`` and ``c`` in the first line the coupling input ``"c"``
    (one component, into V). Default initial state ``V = W = 0``.

    >>> Generic2dOscillator.state_names
    ('V', 'W')
    """

    state_names = ("V", "W")
    default_parameters = {
        "tau": 1.0,
        "I": 0.0,
        "a": -2.0,
        "b": -10.0,
        "c": 0.0,
        "d": 0.02,
        "e": 3.0,
        "f": 1.0,
        "g": 0.0,
        "alpha": 1.0,
        "beta": 1.0,
        "gamma": 1.0,
    }
    default_initial_state = {"V": 0.0, "W": 0.0}
    coupling_inputs = {"c": 1}
    coupling_variables = ("V",)

    def derivative(
        self,
        t: jax.Array,
        state: jax.Array,
        coupling: Mapping[str, jax.Array],
        params: Config,
    ) -> jax.Array:
        p = params
        V, W = state[0], state[1]
        c0 = coupling["c"][0]
        dV = (
            p.d
            * p.tau
            * (
                p.alpha * W
                - p.f * V**3
                + p.e * V**2
                + p.g * V
                + p.gamma * p.I
                + p.gamma * c0
            )
        )
        dW = p.d * (p.a + p.b * V + p.c * V**2 - p.beta * W) / p.tau
        return jnp.stack([dV, dW])
