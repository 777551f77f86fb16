"""Wilson-Cowan model: excitatory and inhibitory population activity
(Wilson & Cowan 1972)."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from sweepjax._config import Config
from sweepjax.network._dynamics import AbstractDynamics


class WilsonCowan(AbstractDynamics):
    """Wilson-Cowan model: the activity of an excitatory (``E``) and an
    inhibitory (``I``) population (Wilson & Cowan 1972, Biophys. J. 12: 1-24).

    - ``x_e = alpha_e*(c_ee*E - c_ei*I + P - theta_e + c[0])``,
    - ``x_i = alpha_i*(c_ie*E - c_ii*I + Q - theta_i)``,
    - ``S(x; a, b, c_) = c_/(1 + exp(-a*(x - b)))``, minus ``S(0; a, b, c_)``
      when ``shift_sigmoid`` is nonzero (then ``S(0) = 0``),
    - ``dE/dt = (-E + (k_e - r_e*E)*S(x_e; a_e, b_e, c_e)) / tau_e``,
    - ``dI/dt = (-I + (k_i - r_i*I)*S(x_i; a_i, b_i, c_i)) / tau_i``,

    where the coupling input ``"c"`` has one component, the input from the
    other nodes' ``E`` into ``x_e``, e.g.
    ``LinearCoupling(incoming_states="E", G=0.1)``. Time is in ms.

    The Virtual Brain's ``WilsonCowan``: same equations, state order,
    parameter names and defaults (``shift_sigmoid`` is TVB's boolean as a
    float: ``1.0`` for True, ``0.0`` for False). TVB couples ``E`` and ``I``
    (``cvar = [0, 1]``) but its ``dfun`` reads only ``coupling[0]``, the
    coupling of ``E``, into ``x_e``; the coupling of ``I`` is computed and
    ignored. So ``c`` has one component and plays the role of TVB's
    ``coupling[0]``. TVB's local coupling terms are omitted. TVB has no state
    bounds (``state_variable_boundaries``). Default initial state
    ``E = I = 0.1`` (TVB's range for both is ``[0, 1]``; with default
    parameters and no input ``E = I = 0`` is the resting state).

    >>> dynamics = WilsonCowan()
    >>> dynamics.state_names, dynamics.coupling_inputs
    (('E', 'I'), {'c': 1})
    >>> import jax.numpy as jnp
    >>> from sweepjax._config import Config
    >>> params = Config(dynamics.parameters)
    >>> state = jnp.zeros((2, 1))  # rest: S(0) = 0 with shift_sigmoid
    >>> dx = dynamics.derivative(0.0, state, {"c": jnp.zeros((1, 1))}, params)
    >>> bool(jnp.allclose(dx, 0.0, atol=1e-6))
    True
    """

    state_names = ("E", "I")
    default_parameters = {
        "c_ee": 12.0,
        "c_ei": 4.0,
        "c_ie": 13.0,
        "c_ii": 11.0,
        "tau_e": 10.0,
        "tau_i": 10.0,
        "a_e": 1.2,
        "b_e": 2.8,
        "c_e": 1.0,
        "theta_e": 0.0,
        "a_i": 1.0,
        "b_i": 4.0,
        "theta_i": 0.0,
        "c_i": 1.0,
        "r_e": 1.0,
        "r_i": 1.0,
        "k_e": 1.0,
        "k_i": 1.0,
        "P": 0.0,
        "Q": 0.0,
        "alpha_e": 1.0,
        "alpha_i": 1.0,
        "shift_sigmoid": 1.0,
    }
    default_initial_state = {"E": 0.1, "I": 0.1}
    coupling_inputs = {"c": 1}
    coupling_variables = ("E", "I")

    def derivative(
        self,
        t: jax.Array,
        state: jax.Array,
        coupling: Mapping[str, jax.Array],
        params: Config,
    ) -> jax.Array:
        p = params
        E, I = state[0], state[1]  # noqa: E741
        shift = p.shift_sigmoid != 0.0

        def response(x, a, b, amplitude):
            s = 1.0 / (1.0 + jnp.exp(-a * (x - b)))
            s0 = 1.0 / (1.0 + jnp.exp(a * b))
            return amplitude * (s - jnp.where(shift, s0, 0.0))

        x_e = p.alpha_e * (p.c_ee * E - p.c_ei * I + p.P - p.theta_e + coupling["c"][0])
        x_i = p.alpha_i * (p.c_ie * E - p.c_ii * I + p.Q - p.theta_i)
        s_e = response(x_e, p.a_e, p.b_e, p.c_e)
        s_i = response(x_i, p.a_i, p.b_i, p.c_i)
        dE = (-E + (p.k_e - p.r_e * E) * s_e) / p.tau_e
        dI = (-I + (p.k_i - p.r_i * I) * s_i) / p.tau_i
        return jnp.stack([dE, dI])
