"""Coombes-Byrne model: next-generation neural mass of theta neurons with
synaptic conductance dynamics (Coombes & Byrne 2019)."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._config import Config
from sweepjax.network._dynamics import AbstractDynamics


class CoombesByrne(AbstractDynamics):
    """Coombes-Byrne model: firing rate ``r``, membrane potential ``V``,
    synaptic conductance ``g`` and its derivative ``q`` of an infinite
    population of quadratic integrate-and-fire (theta) neurons (Coombes &
    Byrne 2019, Next generation neural mass models).

    - ``dr/dt = Delta/pi + 2*V*r - g*r``,
    - ``dV/dt = V^2 - pi^2*r^2 + eta + (v_syn - V)*g + c[0]``,
    - ``dg/dt = alpha*q``,
    - ``dq/dt = alpha*(k*pi*r - g - 2*q)``,

    where the coupling input ``"c"`` has one component, the input from the
    other nodes' ``r`` into ``V``, e.g.
    ``LinearCoupling(incoming_states="r", G=0.1)``. Time is in ms.

    The Virtual Brain's ``CoombesByrne`` (in ``infinite_theta.py``): same
    equations as its ``dfun``, state order, parameter names and defaults.
    The ``dr/dt`` term is ``- g*r`` as in TVB's code (TVB's docstring and
    the paper write ``- g*r^2``). TVB declares all four states coupled
    (``cvar = [0, 1, 2, 3]``) but its ``dfun`` reads only ``coupling[0]``, the
    coupling of ``r``, into ``dV/dt``; the others are computed and ignored. So
    ``c`` has one component and plays the role of TVB's ``coupling[0]``.
    TVB's local coupling term is omitted (TVB's ``dfun`` ignores it too).
    ``r`` is clamped to ``[0, inf)`` (``state_bounds``, as TVB). Default
    initial state ``r = 1``, ``V = -2``, ``g = 1.5``, ``q = 0`` (inside
    TVB's ranges ``r`` in ``[0, 6]``, ``V`` in ``[-10, 10]``, ``g`` in
    ``[1, 2]``, ``q`` in ``[-0.5, 0.7]``).

    >>> dynamics = CoombesByrne(eta=10.0)
    >>> dynamics.state_names, dynamics.coupling_inputs
    (('r', 'V', 'g', 'q'), {'c': 1})
    >>> import jax.numpy as jnp
    >>> from sweepjax._config import Config
    >>> params = Config(dynamics.parameters)
    >>> state = jnp.array([[0.0], [0.0], [0.0], [0.0]])
    >>> dx = dynamics.derivative(0.0, state, {"c": jnp.zeros((1, 1))}, params)
    >>> [round(float(v), 4) for v in dx[:, 0]]  # Delta/pi, eta, 0, 0
    [0.1592, 10.0, 0.0, 0.0]
    """

    state_names = ("r", "V", "g", "q")
    default_parameters = {
        "Delta": 0.5,
        "alpha": 0.95,
        "v_syn": -10.0,
        "k": 1.0,
        "eta": 20.0,
    }
    default_initial_state = {"r": 1.0, "V": -2.0, "g": 1.5, "q": 0.0}
    coupling_inputs = {"c": 1}
    coupling_variables = ("r", "V", "g", "q")
    state_bounds = {"r": (0.0, np.inf)}

    def derivative(
        self,
        t: jax.Array,
        state: jax.Array,
        coupling: Mapping[str, jax.Array],
        params: Config,
    ) -> jax.Array:
        p = params
        r, V, g, q = state[0], state[1], state[2], state[3]
        dr = p.Delta / jnp.pi + 2.0 * V * r - g * r
        dV = V**2 - (jnp.pi * r) ** 2 + p.eta + (p.v_syn - V) * g + coupling["c"][0]
        dg = p.alpha * q
        dq = p.alpha * (p.k * jnp.pi * r - g - 2.0 * q)
        return jnp.stack([dr, dV, dg, dq])
