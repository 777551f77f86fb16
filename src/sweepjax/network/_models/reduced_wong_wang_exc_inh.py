"""Reduced Wong-Wang model with excitatory and inhibitory pools (Deco et al. 2014)."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from sweepjax._config import Config
from sweepjax.network._dynamics import AbstractDynamics


class ReducedWongWangExcInh(AbstractDynamics):
    """Reduced Wong-Wang model with excitatory and inhibitory pools (Deco et al. 2014).

    Two synaptic gating variables per node, ``S_e`` (excitatory, NMDA) and
    ``S_i`` (inhibitory), with ``C = G*J_N*c`` the scaled coupling input ``"c"``
    (one component, the input from the other nodes' ``S_e``):

    - ``x_e = a_e*(w_p*J_N*S_e - J_i*S_i + W_e*I_o + C + I_ext) - b_e``,
    - ``x_i = a_i*(J_N*S_e - S_i + W_i*I_o + lamda*C) - b_i``,
    - ``H_e = x_e / (1 - exp(-d_e*x_e))``, ``H_i = x_i / (1 - exp(-d_i*x_i))``,
    - ``dS_e/dt = -S_e/tau_e + (1 - S_e)*gamma_e*H_e``,
    - ``dS_i/dt = -S_i/tau_i + gamma_i*H_i``.

    Time is in ms (hence ``gamma_e = 0.641/1000``, ``gamma_i = 1/1000``).
    ``H`` is 0/0 where its argument is exactly 0, as in TVB.

    The Virtual Brain's ``ReducedWongWangExcInh``: same equations, state order,
    parameter names and defaults; it couples ``S_e`` (TVB's ``cvar = [0]``),
    and ``c`` plays the role of TVB's ``coupling`` argument, so the coupling
    feeding ``"c"`` is TVB's coupling function, e.g.
    ``LinearCoupling(incoming_states="S_e", G=1.0)`` for TVB's
    ``coupling.Linear(a=1)``; the model's own ``G`` then scales it as in TVB.
    TVB's local coupling term is omitted. ``S_e`` and ``S_i`` are clamped to
    ``[0, 1]`` (``state_bounds``, as TVB). Default
    initial state ``S_e = 0.16``, ``S_i = 0.04``, close to the low-activity
    fixed point of an uncoupled node with default parameters.

    >>> dynamics = ReducedWongWangExcInh()
    >>> dynamics.state_names, dynamics.coupling_inputs
    (('S_e', 'S_i'), {'c': 1})
    >>> import jax.numpy as jnp
    >>> from sweepjax._config import Config
    >>> params = Config(dynamics.parameters)
    >>> state = jnp.array([[0.16475721], [0.03921845]])  # the fixed point
    >>> dS = dynamics.derivative(0.0, state, {"c": jnp.zeros((1, 1))}, params)
    >>> bool(jnp.all(jnp.abs(dS) < 1e-6))
    True
    """

    state_names = ("S_e", "S_i")
    default_parameters = {
        "a_e": 310.0,
        "b_e": 125.0,
        "d_e": 0.160,
        "gamma_e": 0.641 / 1000.0,
        "tau_e": 100.0,
        "w_p": 1.4,
        "J_N": 0.15,
        "W_e": 1.0,
        "a_i": 615.0,
        "b_i": 177.0,
        "d_i": 0.087,
        "gamma_i": 1.0 / 1000.0,
        "tau_i": 10.0,
        "J_i": 1.0,
        "W_i": 0.7,
        "I_o": 0.382,
        "I_ext": 0.0,
        "G": 2.0,
        "lamda": 0.0,
    }
    default_initial_state = {"S_e": 0.16, "S_i": 0.04}
    coupling_inputs = {"c": 1}
    coupling_variables = ("S_e",)
    state_bounds = {"S_e": (0.0, 1.0), "S_i": (0.0, 1.0)}

    def derivative(
        self,
        t: jax.Array,
        state: jax.Array,
        coupling: Mapping[str, jax.Array],
        params: Config,
    ) -> jax.Array:
        p = params
        S_e, S_i = state[0], state[1]
        C = p.G * p.J_N * coupling["c"][0]
        recurrent = p.J_N * S_e

        x_e = p.w_p * recurrent - p.J_i * S_i + p.W_e * p.I_o + C + p.I_ext
        x_e = p.a_e * x_e - p.b_e
        H_e = x_e / (1.0 - jnp.exp(-p.d_e * x_e))
        dS_e = -S_e / p.tau_e + (1.0 - S_e) * H_e * p.gamma_e

        x_i = recurrent - S_i + p.W_i * p.I_o + p.lamda * C
        x_i = p.a_i * x_i - p.b_i
        H_i = x_i / (1.0 - jnp.exp(-p.d_i * x_i))
        dS_i = -S_i / p.tau_i + H_i * p.gamma_i
        return jnp.stack([dS_e, dS_i])
