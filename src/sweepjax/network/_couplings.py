"""The Virtual Brain's coupling functions, instantaneous or through delays.

Each class is the same-named coupling of ``tvb.simulator.coupling`` written
as ``post(sum_j W[i, j] * pre(x_j), x_i)`` (see :class:`AbstractCoupling`),
with TVB's parameter names and defaults; ``LinearCoupling`` and
``KuramotoCoupling`` keep sweepjax's ``G`` (TVB's ``a``, see each). Every
coupling takes ``delayed=True`` to act through the graph's conduction
delays, as every TVB coupling does. The tests cross-check each against
tvb-library's simulator.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from sweepjax._config import Config
from sweepjax.network._component import leaf
from sweepjax.network._coupling import AbstractCoupling
from sweepjax.network._dynamics import as_state_names


class _AbstractLinearCoupling(AbstractCoupling):
    """``c_i = G * sum_j W[i, j] x_j + b``, instantaneous or delayed."""

    G: Any = leaf(1.0)
    b: Any = leaf(0.0)

    def pre(self, params: Config, x: jax.Array) -> jax.Array:
        return x

    def post(self, params: Config, summed: jax.Array, x: jax.Array) -> jax.Array:
        return params.G * summed + params.b


class LinearCoupling(_AbstractLinearCoupling):
    """Linear coupling ``c_i = G * sum_j W[i, j] x_j + b``.

    TVB's ``coupling.Linear`` with its ``a`` named ``G`` (TVB's default
    ``a = 1/256``; ours ``G = 1``). A ``G`` of shape ``[n_components,
    n_incoming]`` maps the incoming states to several components.

    >>> coupling = LinearCoupling(incoming_states="S", G=0.5)
    """


class DelayedLinearCoupling(_AbstractLinearCoupling):
    """:class:`LinearCoupling` through conduction delays (``delayed=True``).

    ``c_i(t) = G * sum_j W[i, j] * x_j(t - D[i, j]*dt) + b`` with
    ``D = rint(delays / dt)`` steps; states before ``t0`` equal the initial
    state.

    >>> coupling = DelayedLinearCoupling(incoming_states="S", G=0.5)
    """

    delayed: bool = eqx.field(default=True, init=False)


class ScalingCoupling(AbstractCoupling):
    """TVB's ``coupling.Scaling``: ``c_i = a * sum_j W[i, j] x_j``.

    >>> coupling = ScalingCoupling("S", a=0.1)
    """

    a: Any = leaf(0.00390625)

    def pre(self, params: Config, x: jax.Array) -> jax.Array:
        return x

    def post(self, params: Config, summed: jax.Array, x: jax.Array) -> jax.Array:
        return params.a * summed


class HyperbolicTangentCoupling(AbstractCoupling):
    """TVB's ``coupling.HyperbolicTangent``:
    ``c_i = sum_j W[i, j] * a * (1 + tanh((b * x_j - midpoint) / sigma))``.

    >>> coupling = HyperbolicTangentCoupling("V", a=0.5, midpoint=0.1)
    """

    a: Any = leaf(1.0)
    b: Any = leaf(1.0)
    midpoint: Any = leaf(0.0)
    sigma: Any = leaf(1.0)

    def pre(self, params: Config, x: jax.Array) -> jax.Array:
        p = params
        return p.a * (1.0 + jnp.tanh((p.b * x - p.midpoint) / p.sigma))

    def post(self, params: Config, summed: jax.Array, x: jax.Array) -> jax.Array:
        return summed


class SigmoidalCoupling(AbstractCoupling):
    """TVB's ``coupling.Sigmoidal``, a sigmoid of the summed input:
    ``c_i = cmin + (cmax - cmin) / (1 + exp(-a * (g_i - midpoint) / sigma))``
    with ``g_i = sum_j W[i, j] x_j``.

    >>> coupling = SigmoidalCoupling("x", a=2.0, sigma=1.0)
    """

    cmin: Any = leaf(-1.0)
    cmax: Any = leaf(1.0)
    midpoint: Any = leaf(0.0)
    a: Any = leaf(1.0)
    sigma: Any = leaf(230.0)

    def pre(self, params: Config, x: jax.Array) -> jax.Array:
        return x

    def post(self, params: Config, summed: jax.Array, x: jax.Array) -> jax.Array:
        p = params
        rise = 1.0 + jnp.exp(-p.a * ((summed - p.midpoint) / p.sigma))
        return p.cmin + (p.cmax - p.cmin) / rise


class SigmoidalJansenRitCoupling(AbstractCoupling):
    """TVB's ``coupling.SigmoidalJansenRit``: reads two states ``(u, v)``
    (JansenRit's ``("y1", "y2")``) and gives one component,
    ``c_i = a * sum_j W[i, j] * S(u_j - v_j)`` with
    ``S(z) = cmin + (cmax - cmin) / (1 + exp(r * (midpoint - z)))``.

    >>> coupling = SigmoidalJansenRitCoupling(a=10.0)
    """

    incoming_states: tuple[str, ...] = eqx.field(
        default=("y1", "y2"), converter=as_state_names
    )
    cmin: Any = leaf(0.0)
    cmax: Any = leaf(2.0 * 0.0025)
    midpoint: Any = leaf(6.0)
    r: Any = leaf(0.56)
    a: Any = leaf(1.0)

    def __check_init__(self) -> None:
        if len(self.incoming_states) != 2:
            raise ValueError(
                "SigmoidalJansenRitCoupling reads two states (u, v) and sends "
                f"S(u - v); got incoming_states={self.incoming_states!r}."
            )

    def pre(self, params: Config, x: jax.Array) -> jax.Array:
        p = params
        rise = 1.0 + jnp.exp(p.r * (p.midpoint - (x[0:1] - x[1:2])))
        return p.cmin + (p.cmax - p.cmin) / rise

    def post(self, params: Config, summed: jax.Array, x: jax.Array) -> jax.Array:
        return params.a * summed


def _is_static(coupling: PreSigmoidalCoupling) -> bool:
    return not coupling.dynamic


class PreSigmoidalCoupling(AbstractCoupling):
    """TVB's ``coupling.PreSigmoidal``: each node sends
    ``A_j = H * (Q + tanh(G * (P * x_j - theta_j)))``.

    With a static threshold (``dynamic=False``) ``theta`` is the parameter
    and ``c_i = sum_j W[i, j] A_j`` for every incoming state. With a dynamic
    one (``dynamic=True``, TVB's default) the coupling reads two states
    ``(x, theta)`` and gives two components: ``c_0 = sum_j W[i, j] A_j`` and
    ``c_1 = A_i``, the node's own output (with ``globalT=True`` the mean of
    ``A`` over the nodes); ``theta`` is then a state, not a config leaf.

    Where TVB 2.10 differs, on purpose: it multiplies each node's *own*
    output by a sum of weights instead of summing its inputs (static branch:
    ``c_i = A_i * sum_j W[i, j]``; dynamic: ``c_0[j] = A_j * sum_i W[i, j]``),
    and its dynamic ``c_1`` reads states its sparse history never stores
    (without self-connections it is the constant ``H * Q``); we take these
    to be bugs and sum the afferents like every other coupling (the tests
    compare with TVB's class corrected in the sum only). Its ``globalT``
    threshold is node 0's; ours keeps each node's threshold and averages
    ``c_1``, as TVB's ``globalT`` does.

    >>> coupling = PreSigmoidalCoupling(("x", "theta"))
    """

    H: Any = leaf(0.5)
    Q: Any = leaf(1.0)
    G: Any = leaf(60.0)
    P: Any = leaf(1.0)
    theta: Any = leaf(0.5, when=_is_static)
    dynamic: bool = eqx.field(default=True, converter=bool)
    globalT: bool = eqx.field(default=False, converter=bool)

    def __check_init__(self) -> None:
        if self.dynamic and len(self.incoming_states) != 2:
            raise ValueError(
                "PreSigmoidalCoupling(dynamic=True) reads two states (x, theta); "
                f"got incoming_states={self.incoming_states!r}. Pass "
                "dynamic=False for a fixed threshold."
            )

    def pre(self, params: Config, x: jax.Array) -> jax.Array:
        p = params
        if self.dynamic:
            return p.H * (p.Q + jnp.tanh(p.G * (p.P * x[0:1] - x[1:2])))
        return p.H * (p.Q + jnp.tanh(p.G * (p.P * x - p.theta)))

    def post(self, params: Config, summed: jax.Array, x: jax.Array) -> jax.Array:
        if not self.dynamic:
            return summed
        own = self.pre(params, x)
        if self.globalT:
            own = jnp.broadcast_to(jnp.mean(own, axis=-1, keepdims=True), own.shape)
        return jnp.concatenate([summed, own])


class DifferenceCoupling(AbstractCoupling):
    """TVB's ``coupling.Difference``: ``c_i = a * sum_j W[i, j] (x_j - x_i)``,
    diffusive coupling (``x_i`` the receiving node's current state).

    Each node sends ``(x_j, 1)``: the sum gives ``(W x)_i`` and the row sum
    ``sum_j W[i, j]``, so ``c_i = a * ((W x)_i - x_i * sum_j W[i, j])``.

    >>> coupling = DifferenceCoupling("x", a=0.2)
    """

    a: Any = leaf(0.1)

    def pre(self, params: Config, x: jax.Array) -> jax.Array:
        return jnp.concatenate([x, jnp.ones_like(x[:1])])

    def post(self, params: Config, summed: jax.Array, x: jax.Array) -> jax.Array:
        k = x.shape[0]
        return params.a * (summed[:k] - x * summed[k:])


class KuramotoCoupling(AbstractCoupling):
    """Kuramoto coupling ``c_i = G / n_nodes * sum_j W[i, j] sin(x_j - x_i)``.

    TVB's ``coupling.Kuramoto`` computes ``a * sum_j W[i, j] sin(x_j - x_i)``
    (its ``a / gx.shape[0]`` divides by the number of coupling variables,
    1, not by the nodes), so TVB's ``a`` is ``G / n_nodes``: pass
    ``G = a * n_nodes``. Delayed (``delayed=True``), ``x_j`` is the sender's
    phase ``delays[i, j]`` ago and ``x_i`` the receiver's current phase.
    Evaluated as ``cos(x_i) (W sin x)_i - sin(x_i) (W cos x)_i``: each node
    sends ``(sin x, cos x)``.

    >>> coupling = KuramotoCoupling(incoming_states="theta", G=2.0)
    """

    incoming_states: tuple[str, ...] = eqx.field(
        default="theta", converter=as_state_names
    )
    G: Any = leaf(1.0)

    def pre(self, params: Config, x: jax.Array) -> jax.Array:
        return jnp.concatenate([jnp.sin(x), jnp.cos(x)])

    def post(self, params: Config, summed: jax.Array, x: jax.Array) -> jax.Array:
        k = x.shape[0]
        total = jnp.cos(x) * summed[:k] - jnp.sin(x) * summed[k:]
        return params.G / x.shape[-1] * total


#: TVB's coupling functions, by class name (each is also ``delayed=True``).
COUPLINGS = {
    coupling.__name__: coupling
    for coupling in (
        LinearCoupling,
        ScalingCoupling,
        HyperbolicTangentCoupling,
        SigmoidalCoupling,
        SigmoidalJansenRitCoupling,
        PreSigmoidalCoupling,
        DifferenceCoupling,
        KuramotoCoupling,
    )
}
