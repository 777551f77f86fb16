"""Neural mass models with The Virtual Brain's equations and default parameters.

Every model here reproduces the ``dfun`` of the same-named model in
``tvb.simulator.models`` (local coupling omitted) with TVB's default parameter
values; the tests cross-check them against tvb-library in float64. Time is in
milliseconds, as in TVB.
"""

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


class Generic2dOscillator(AbstractDynamics):
    """TVB's generic two-dimensional oscillator (Sanz-Leon et al. 2015).

    ``dV/dt = d*tau*(alpha*W - f*V^3 + e*V^2 + g*V + gamma*I + gamma*c)``,
    ``dW/dt = d*(a + b*V + c_*V^2 - beta*W) / tau`` where ``c_`` is the
    parameter ``c`` and ``c`` in the first line the coupling input ``"c"``
    (one component, into V). Default initial state ``V = W = 0``.
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


class SupHopf(AbstractDynamics):
    """Stuart-Landau oscillator: normal form of a supercritical Hopf bifurcation.

    ``dx/dt = (a - x^2 - y^2)*x - omega*y + c[0]``,
    ``dy/dt = (a - x^2 - y^2)*y + omega*x + c[1]``; ``a < 0`` is a damped focus,
    ``a > 0`` a limit cycle of radius ``sqrt(a)``. The coupling input ``"c"``
    has two components (into x and into y), e.g.
    ``LinearCoupling(incoming_states=("x", "y"), G=0.1)``. Default initial
    state ``x = y = 0.1``.
    """

    state_names = ("x", "y")
    default_parameters = {"a": -0.5, "omega": 1.0}
    default_initial_state = {"x": 0.1, "y": 0.1}
    coupling_inputs = {"c": 2}

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


class JansenRit(AbstractDynamics):
    """Jansen-Rit cortical column (Jansen & Rit 1995), six state variables.

    ``S(v) = 2*nu_max / (1 + exp(r*(v0 - v)))``;
    ``y0' = y3``, ``y1' = y4``, ``y2' = y5``,
    ``y3' = A*a*S(y1 - y2) - 2*a*y3 - a^2*y0``,
    ``y4' = A*a*(mu + a_2*J*S(a_1*J*y0) + c) - 2*a*y4 - a^2*y1``,
    ``y5' = B*b*a_4*J*S(a_3*J*y0) - 2*b*y5 - b^2*y2``, with ``c`` the coupling
    input ``"c"`` (one component). Default initial state: all zeros.
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


class Kuramoto(AbstractDynamics):
    """Kuramoto phase oscillator: ``dtheta/dt = omega + c``.

    Pair it with :class:`KuramotoCoupling` so that ``c`` is the mean sine of
    phase differences. Default initial state ``theta = 0``.
    """

    state_names = ("theta",)
    default_parameters = {"omega": 1.0}
    default_initial_state = {"theta": 0.0}
    coupling_inputs = {"c": 1}

    def derivative(
        self,
        t: jax.Array,
        state: jax.Array,
        coupling: Mapping[str, jax.Array],
        params: Config,
    ) -> jax.Array:
        return jnp.broadcast_to(params.omega + coupling["c"][0], state.shape)
