"""Linear model: one damped state variable driven by the coupling."""

from __future__ import annotations

from collections.abc import Mapping

import jax

from sweepjax._config import Config
from sweepjax.network._dynamics import AbstractDynamics


class Linear(AbstractDynamics):
    """Linear model: one damped state variable driven by the coupling.

    ``dx/dt = gamma*x + c[0]``, where the coupling input ``"c"`` has one
    component, the input from the other nodes' ``x``, e.g.
    ``LinearCoupling(incoming_states="x", G=0.1)``. A node relaxes at rate
    ``-gamma`` (``gamma < 0``); a network is stable while ``-gamma`` exceeds
    the largest eigenvalue of ``G*W``. Time is in ms.

    The Virtual Brain's ``Linear``: same equation, state, parameter name and
    default; it couples ``x`` (TVB's ``cvar = [0]``), and ``c`` plays the role
    of TVB's ``coupling`` argument. TVB's local coupling term is omitted. TVB
    has no state bounds (``state_variable_boundaries``). Default initial
    state ``x = 0.1`` (TVB's range is ``[-1, 1]``).

    >>> dynamics = Linear(gamma=-2.0)
    >>> dynamics.state_names, dynamics.coupling_inputs
    (('x',), {'c': 1})
    >>> import jax.numpy as jnp
    >>> from sweepjax._config import Config
    >>> params = Config(dynamics.parameters)
    >>> state = jnp.array([[0.5]])
    >>> dx = dynamics.derivative(0.0, state, {"c": jnp.array([[0.25]])}, params)
    >>> float(dx[0, 0])  # -2*0.5 + 0.25
    -0.75
    """

    state_names = ("x",)
    default_parameters = {"gamma": -10.0}
    default_initial_state = {"x": 0.1}
    coupling_inputs = {"c": 1}
    coupling_variables = ("x",)

    def derivative(
        self,
        t: jax.Array,
        state: jax.Array,
        coupling: Mapping[str, jax.Array],
        params: Config,
    ) -> jax.Array:
        dx = params.gamma * state[0] + coupling["c"][0]
        return dx[None]
