"""TVB's six-variable Epileptor (Jirsa et al. 2014)."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from sweepjax._config import Config
from sweepjax.network._dynamics import AbstractDynamics


class Epileptor(AbstractDynamics):
    """TVB's six-variable Epileptor (Jirsa et al. 2014).

    Two fast populations (``x1, y1`` and ``x2, y2``), the slow permittivity
    variable ``z`` and a low-pass filter ``g`` of ``x1``. With ``c1, c2`` the
    two components of the coupling input ``"c"`` (the input from the other
    nodes' ``x1`` and ``x2``):

    - ``f1 = -a*x1^2 + b*x1`` if ``x1 < 0``, else
      ``slope - x2 + 0.6*(z - 4)^2``;
    - ``dx1/dt = tt*(y1 - z + Iext + Kvf*c1 + f1*x1)``;
    - ``dy1/dt = tt*(c - d*x1^2 - y1)``;
    - ``h = 4*(x1 - x0) - 0.1*z^7*[z < 0]`` when ``modification`` is 0, else
      ``h = x0 + 3 / (1 + exp(-(x1 + 0.5)/0.1))``;
    - ``dz/dt = tt*r*(h - z + Ks*c1)``;
    - ``dx2/dt = tt*(-y2 + x2 - x2^3 + Iext2 + bb*g - 0.3*(z - 3.5) + Kf*c2)``;
    - ``f2 = 0`` if ``x2 < -0.25``, else ``aa*(x2 + 0.25)``;
    - ``dy2/dt = tt*(-y2 + f2)/tau``;
    - ``dg/dt = tt*(-0.01*(g - 0.1*x1))``.

    Time is in ms. ``modification`` is a number used as a flag (TVB's boolean):
    nonzero selects the nonlinear influence of ``x1`` on ``z`` (Proix et al.
    2014); per node, it selects per node.

    The Virtual Brain's ``Epileptor`` (``tvb.simulator.models.Epileptor``):
    same equations (those of its ``dfun``; its docstring's formulas are out of
    date), state order, parameter names and defaults, except TVB's ``s``,
    which its equations never read (they use the constant 4) and which is
    therefore left out. It couples ``x1`` and ``x2`` (TVB's ``cvar = [0, 3]``);
    ``"c"`` plays the role of TVB's ``coupling`` argument, so the coupling
    feeding it is TVB's coupling function, e.g.
    ``LinearCoupling(incoming_states=("x1", "x2"), G=1.0)`` for TVB's
    ``coupling.Linear(a=1)``; ``Kvf``, ``Ks`` and ``Kf`` (all 0 by default)
    then scale it as in TVB. TVB's local coupling term is omitted. TVB sets no
    state bounds (``state_variable_boundaries``). Default initial state: the
    uncoupled equilibrium for default parameters, rounded (``x1 = x2 =
    -0.75``, ``y1 = -1.82``, ``z = 3.4``, ``y2 = 0``, ``g = -0.075``).

    >>> dynamics = Epileptor(x0=-2.2)
    >>> dynamics.state_names, dynamics.coupling_inputs
    (('x1', 'y1', 'z', 'x2', 'y2', 'g'), {'c': 2})
    >>> import jax.numpy as jnp
    >>> from sweepjax._config import Config
    >>> params = Config(Epileptor.default_parameters)
    >>> state = dynamics.initial_state(1)
    >>> dy = dynamics.derivative(0.0, state, {"c": jnp.zeros((2, 1))}, params)
    >>> bool(jnp.all(jnp.abs(dy) < 0.02))  # near rest
    True
    """

    state_names = ("x1", "y1", "z", "x2", "y2", "g")
    default_parameters = {
        "a": 1.0,
        "b": 3.0,
        "c": 1.0,
        "d": 5.0,
        "r": 0.00035,
        "x0": -1.6,
        "Iext": 3.1,
        "slope": 0.0,
        "Iext2": 0.45,
        "tau": 10.0,
        "aa": 6.0,
        "bb": 2.0,
        "Kvf": 0.0,
        "Kf": 0.0,
        "Ks": 0.0,
        "tt": 1.0,
        "modification": 0.0,
    }
    default_initial_state = {
        "x1": -0.75,
        "y1": -1.82,
        "z": 3.4,
        "x2": -0.75,
        "y2": 0.0,
        "g": -0.075,
    }
    coupling_inputs = {"c": 2}
    coupling_variables = ("x1", "x2")

    def derivative(
        self,
        t: jax.Array,
        state: jax.Array,
        coupling: Mapping[str, jax.Array],
        params: Config,
    ) -> jax.Array:
        p = params
        x1, y1, z, x2, y2, g = (state[i] for i in range(6))
        c1, c2 = coupling["c"][0], coupling["c"][1]

        # Population 1 (fast).
        f1 = jnp.where(
            x1 < 0.0, -p.a * x1**2 + p.b * x1, p.slope - x2 + 0.6 * (z - 4.0) ** 2
        )
        dx1 = p.tt * (y1 - z + p.Iext + p.Kvf * c1 + f1 * x1)
        dy1 = p.tt * (p.c - p.d * x1**2 - y1)

        # Slow permittivity variable.
        h_linear = 4.0 * (x1 - p.x0) + jnp.where(z < 0.0, -0.1 * z**7, 0.0)
        h_sigmoid = p.x0 + 3.0 * jax.nn.sigmoid((x1 + 0.5) / 0.1)
        h = jnp.where(p.modification != 0.0, h_sigmoid, h_linear)
        dz = p.tt * (p.r * (h - z + p.Ks * c1))

        # Population 2 (spike-wave events).
        dx2 = p.tt * (
            -y2 + x2 - x2**3 + p.Iext2 + p.bb * g - 0.3 * (z - 3.5) + p.Kf * c2
        )
        f2 = jnp.where(x2 < -0.25, 0.0, p.aa * (x2 + 0.25))
        dy2 = p.tt * ((-y2 + f2) / p.tau)

        # Low-pass filter of x1.
        dg = p.tt * (-0.01 * (g - 0.1 * x1))
        return jnp.stack([dx1, dy1, dz, dx2, dy2, dg])
