"""Montbrio-Pazo-Roxin model: the exact mean field of quadratic integrate-and-fire
neurons (Montbrio, Pazo & Roxin 2015)."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._config import Config
from sweepjax.network._dynamics import AbstractDynamics


class MontbrioPazoRoxin(AbstractDynamics):
    """Montbrio-Pazo-Roxin model: mean firing rate ``r`` and membrane potential
    ``V`` of an infinite population of quadratic integrate-and-fire neurons
    (Montbrio, Pazo & Roxin 2015, Phys. Rev. X 5, 021028).

    - ``dr/dt = (Delta/(pi*tau) + 2*V*r) / tau``,
    - ``dV/dt = (V^2 - pi^2*tau^2*r^2 + eta + J*tau*r + I
      + cr*c[0] + cv*c[1]) / tau``,

    where the coupling input ``"c"`` has two components: the input from the
    other nodes' ``r`` (``c[0]``, weighted by ``cr``) and from their ``V``
    (``c[1]``, weighted by ``cv``), e.g.
    ``LinearCoupling(incoming_states=("r", "V"), G=0.5)``. Time is in ms.

    The Virtual Brain's ``MontbrioPazoRoxin``: same equations, state order,
    parameter names and defaults; it couples ``r`` and ``V`` (TVB's
    ``cvar = [0, 1]``), and ``c`` plays the role of TVB's ``coupling``
    argument. TVB's local coupling term is omitted, and so is TVB's ``Gamma``
    parameter, which its ``dfun`` never reads (nor does TVB's
    ``parameter_names`` list it). ``r`` is clamped to ``[0, inf)``
    (``state_bounds``, TVB's ``state_variable_boundaries``). Default initial state
    ``r = 0.1``, ``V = -1.9``, close to the low-activity focus of an uncoupled
    node with default parameters (``r = 0.081``, ``V = -1.96``).

    >>> dynamics = MontbrioPazoRoxin(eta=-4.6, cv=0.5)
    >>> dynamics.state_names, dynamics.coupling_inputs
    (('r', 'V'), {'c': 2})
    >>> import jax.numpy as jnp
    >>> from sweepjax._config import Config
    >>> params = Config(dynamics.parameters)
    >>> state = jnp.array([[1.0], [-0.5]])  # dr/dt = 1/pi - 1
    >>> dx = dynamics.derivative(0.0, state, {"c": jnp.zeros((2, 1))}, params)
    >>> round(float(dx[0, 0]), 4)
    -0.6817
    """

    state_names = ("r", "V")
    default_parameters = {
        "tau": 1.0,
        "I": 0.0,
        "Delta": 1.0,
        "J": 15.0,
        "eta": -5.0,
        "cr": 1.0,
        "cv": 0.0,
    }
    default_initial_state = {"r": 0.1, "V": -1.9}
    coupling_inputs = {"c": 2}
    coupling_variables = ("r", "V")
    state_bounds = {"r": (0.0, np.inf)}

    def derivative(
        self,
        t: jax.Array,
        state: jax.Array,
        coupling: Mapping[str, jax.Array],
        params: Config,
    ) -> jax.Array:
        p = params
        r, V = state[0], state[1]
        c = coupling["c"]
        dr = (p.Delta / (jnp.pi * p.tau) + 2.0 * V * r) / p.tau
        dV = (
            V**2
            - (jnp.pi * p.tau * r) ** 2
            + p.eta
            + p.J * p.tau * r
            + p.I
            + p.cr * c[0]
            + p.cv * c[1]
        ) / p.tau
        return jnp.stack([dr, dV])
