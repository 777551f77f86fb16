"""TVB's Larter-Breakspear model (Breakspear et al. 2003), three state variables."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from sweepjax._config import Config
from sweepjax.network._dynamics import AbstractDynamics


class LarterBreakspear(AbstractDynamics):
    """TVB's Larter-Breakspear model (Breakspear et al. 2003), three state variables.

    A Morris-Lecar-like excitatory population (mean membrane potential ``V``,
    fraction of open K channels ``W``) with an inhibitory population ``Z``.
    With ``c`` the coupling input ``"c"`` (one component, the input from the
    other nodes' ``V``) and ``sig(x) = 0.5*(1 + tanh(x))``:

    - ``m_Ca = sig((V - TCa)/d_Ca)``, ``m_Na = sig((V - TNa)/d_Na)``,
      ``m_K = sig((V - TK)/d_K)``;
    - ``QV = QV_max*sig((V - VT)/d_V)``, ``QZ = QZ_max*sig((Z - ZT)/d_Z)``;
    - ``dV/dt = t_scale*(-(gCa + (1 - C)*rNMDA*aee*QV + C*rNMDA*aee*c)*m_Ca*(V - VCa)
      - gK*W*(V - VK) - gL*(V - VL)
      - (gNa*m_Na + (1 - C)*aee*QV + C*aee*c)*(V - VNa) - aie*Z*QZ + ane*Iext)``;
    - ``dW/dt = t_scale*phi*(m_K - W)/tau_K``;
    - ``dZ/dt = t_scale*b*(ani*Iext + aei*V*QV)``.

    Time is in ms, as in TVB (the equations are non-dimensional).

    The Virtual Brain's ``LarterBreakspear``
    (``tvb.simulator.models.LarterBreakspear``): same equations (those of its
    ``dfun``: its docstring omits the factor 0.5 in ``QV`` and ``QZ``), state
    order, parameter names and defaults. It couples ``V`` (TVB's
    ``cvar = [0]``); ``"c"`` plays the role of TVB's ``coupling`` argument, so
    the coupling feeding it is TVB's coupling function, e.g.
    ``LinearCoupling(incoming_states="V", G=1.0)`` for TVB's
    ``coupling.Linear(a=1)``; the model's own ``C`` then scales it as in TVB.
    (The paper's mean firing rate of the neighbours, ``<QV>``, is what TVB's
    ``HyperbolicTangent`` coupling computes; a linear coupling of ``V`` is
    not the same.) TVB's local coupling term is omitted. TVB sets no state
    bounds (``state_variable_boundaries``). Default initial state ``V = -0.16``,
    ``W = 0.26``, ``Z = 0.1``, close to the (unstable, for default
    parameters) equilibrium of an uncoupled node.

    >>> dynamics = LarterBreakspear(d_V=0.6, Iext=0.165)
    >>> dynamics.state_names, dynamics.coupling_inputs
    (('V', 'W', 'Z'), {'c': 1})
    >>> import jax.numpy as jnp
    >>> from sweepjax._config import Config
    >>> params = Config(LarterBreakspear.default_parameters)
    >>> state = jnp.array([[-0.15737581], [0.25938412], [0.09925747]])
    >>> dy = dynamics.derivative(0.0, state, {"c": jnp.zeros((1, 1))}, params)
    >>> bool(jnp.all(jnp.abs(dy) < 1e-5))  # the equilibrium
    True
    """

    state_names = ("V", "W", "Z")
    default_parameters = {
        "gCa": 1.1,
        "gK": 2.0,
        "gL": 0.5,
        "phi": 0.7,
        "gNa": 6.7,
        "TK": 0.0,
        "TCa": -0.01,
        "TNa": 0.3,
        "VCa": 1.0,
        "VK": -0.7,
        "VL": -0.5,
        "VNa": 0.53,
        "d_K": 0.3,
        "tau_K": 1.0,
        "d_Na": 0.15,
        "d_Ca": 0.15,
        "aei": 2.0,
        "aie": 2.0,
        "b": 0.1,
        "C": 0.1,
        "ane": 1.0,
        "ani": 0.4,
        "aee": 0.4,
        "Iext": 0.3,
        "rNMDA": 0.25,
        "VT": 0.0,
        "d_V": 0.65,
        "ZT": 0.0,
        "d_Z": 0.7,
        "QV_max": 1.0,
        "QZ_max": 1.0,
        "t_scale": 1.0,
    }
    default_initial_state = {"V": -0.16, "W": 0.26, "Z": 0.1}
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
        V, W, Z = state[0], state[1], state[2]
        c = coupling["c"][0]

        def sig(x):
            return 0.5 * (1.0 + jnp.tanh(x))

        m_Ca = sig((V - p.TCa) / p.d_Ca)
        m_Na = sig((V - p.TNa) / p.d_Na)
        m_K = sig((V - p.TK) / p.d_K)
        QV = p.QV_max * sig((V - p.VT) / p.d_V)
        QZ = p.QZ_max * sig((Z - p.ZT) / p.d_Z)

        ca = p.gCa + (1.0 - p.C) * p.rNMDA * p.aee * QV + p.C * p.rNMDA * p.aee * c
        na = p.gNa * m_Na + (1.0 - p.C) * p.aee * QV + p.C * p.aee * c
        dV = p.t_scale * (
            -ca * m_Ca * (V - p.VCa)
            - p.gK * W * (V - p.VK)
            - p.gL * (V - p.VL)
            - na * (V - p.VNa)
            - p.aie * Z * QZ
            + p.ane * p.Iext
        )
        dW = p.t_scale * p.phi * (m_K - W) / p.tau_K
        dZ = p.t_scale * p.b * (p.ani * p.Iext + p.aei * V * QV)
        return jnp.stack([dV, dW, dZ])
