"""Stuart-Landau oscillator: normal form of a supercritical Hopf bifurcation."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from sweepjax._config import Config
from sweepjax.network._dynamics import AbstractDynamics


class SupHopf(AbstractDynamics):
    """Stuart-Landau oscillator: normal form of a supercritical Hopf bifurcation.

    ``dx/dt = (a - x^2 - y^2)*x - omega*y + c[0]``,
    ``dy/dt = (a - x^2 - y^2)*y + omega*x + c[1]``; ``a < 0`` is a damped focus,
    ``a > 0`` a limit cycle of radius ``sqrt(a)``. The coupling input ``"c"``
    has two components (into x and into y), e.g.
    ``LinearCoupling(incoming_states=("x", "y"), G=0.1)``. Default initial
    state ``x = y = 0.1``.

    >>> SupHopf.state_names, SupHopf.default_parameters
    (('x', 'y'), {'a': -0.5, 'omega': 1.0})
    """

    state_names = ("x", "y")
    default_parameters = {"a": -0.5, "omega": 1.0}
    default_initial_state = {"x": 0.1, "y": 0.1}
    coupling_inputs = {"c": 2}
    coupling_variables = ("x", "y")

    def derivative(
        self,
        t: jax.Array,
        state: jax.Array,
        coupling: Mapping[str, jax.Array],
        params: Config,
    ) -> jax.Array:
        x, y = state[0], state[1]
        c = coupling["c"]
        r = params.a - x**2 - y**2
        dx = r * x - params.omega * y + c[0]
        dy = r * y + params.omega * x + c[1]
        return jnp.stack([dx, dy])
