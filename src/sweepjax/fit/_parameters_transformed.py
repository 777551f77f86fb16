"""The constrained parameter types: a raw value optimized in an unconstrained
space and mapped into a domain (a box, a half-line, a scale, a mask), with
TVB-Optim's names and constructors (the constrained start)."""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import register_pytree_with_keys_class

from sweepjax.fit._parameters import (
    Parameter,
    as_inexact,
    concrete,
    fmt,
    host_or_jnp,
    is_traced,
)

__all__ = [
    "BoundedParameter",
    "LogNegativeParameter",
    "LogPositiveParameter",
    "MaskedParameter",
    "NormalizedParameter",
    "RescaledParameter",
    "SigmoidBoundedParameter",
    "TransformedParameter",
]

#: How far inside ``(0, 1)`` a sigmoid start at a bound is placed.
SIGMOID_EPS = 1e-7


def _first_bad(owner: str, value: Any, bad: np.ndarray, domain: str) -> ValueError:
    """The error for a start outside `domain`, naming the first bad entry."""
    bad = np.asarray(bad)
    arr = np.broadcast_to(np.asarray(value), bad.shape)
    if arr.ndim == 0:
        got = f"value={fmt(arr)}"
    else:
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = ", ".join(map(str, index))
        got = (
            f"{int(bad.sum())} of {bad.size} entries outside, first "
            f"value[{where}]={fmt(arr[index])}"
        )
    return ValueError(f"{owner}: the start `value` must lie in {domain}, got {got}.")


@register_pytree_with_keys_class
class TransformedParameter(Parameter):
    """A parameter optimized in an unconstrained space:
    ``constrained_value = forward(value)``, built from a constrained start
    through ``value = inverse(start)``.

    ``TransformedParameter(start, forward_transform, inverse_transform)`` takes
    the two maps as callables (kept as pytree metadata, so pass the same
    function objects to parameters that should share a structure). Subclasses
    override `forward` and `inverse` instead; a concrete start reaches
    `inverse` as a NumPy array (the built-in ones then compute on the host),
    a traced one as a tracer.

    >>> p = TransformedParameter(2.0, jnp.exp, jnp.log)
    >>> p.value, p.constrained_value
    (Array(0.6931472, dtype=float32), Array(2., dtype=float32))

    A concrete start whose raw value is not finite (``log`` of a negative
    number here) raises `ValueError`.
    """

    _meta = ("_forward", "_inverse")

    def __init__(
        self, value: Any, forward_transform: Any = None, inverse_transform: Any = None
    ) -> None:
        for name, f in (
            ("forward_transform", forward_transform),
            ("inverse_transform", inverse_transform),
        ):
            if not callable(f):
                raise TypeError(
                    f"TransformedParameter: `{name}` must be callable, got "
                    f"{type(f).__name__}: {f!r}."
                )
        self._forward = forward_transform
        self._inverse = inverse_transform
        self._init_value(value)

    def _init_value(self, value: Any) -> None:
        """Check a concrete start and store its raw pre-image, both on the
        host; a traced start is transformed as it is, unchecked."""
        start = as_inexact(value)
        if is_traced(start) or self.traced_fields():
            self.value = jax.lax.convert_element_type(self.inverse(start), start.dtype)
            return
        host = np.asarray(start)
        self._check_start(host)
        raw = np.asarray(self.inverse(host))
        if not np.all(np.isfinite(raw)):
            raise ValueError(
                f"{type(self).__name__}: the inverse transform of the start is not "
                f"finite: value={fmt(host)} gives raw value {fmt(raw)}."
            )
        self.value = jnp.asarray(raw.astype(start.dtype))

    def _check_start(self, start: np.ndarray) -> None:
        """Raise `ValueError` for a concrete start outside the domain."""

    def forward(self, raw: Any) -> jax.Array:
        """Unconstrained raw value -> constrained value."""
        return self._forward(raw)

    def inverse(self, constrained: Any) -> jax.Array:
        """Constrained value -> unconstrained raw value."""
        return self._inverse(constrained)

    @property
    def forward_transform(self):
        return self.forward

    @property
    def inverse_transform(self):
        return self.inverse

    @property
    def constrained_value(self) -> jax.Array:
        return self.forward(self.value)

    def _repr_extra(self) -> str:
        return f", raw={fmt(self.value)}"


@register_pytree_with_keys_class
class SigmoidBoundedParameter(TransformedParameter):
    """A parameter in ``[low, high]``, smoothly:
    ``constrained = low + (high - low) * sigmoid(value)``.

    The start must lie in ``[low, high]`` (a start outside raises
    `ValueError`); a start *at* a bound is moved ``1e-7 * (high - low)``
    inside, where the sigmoid is saturated and gradients are tiny. ``low`` and
    ``high`` are floats or arrays broadcasting against the value, compared in
    the value's dtype.

    >>> p = SigmoidBoundedParameter(0.3, low=0.05, high=1.0)
    >>> p
    SigmoidBoundedParameter(0.3, low=0.05, high=1.0)
    >>> p.value
    Array(-1.02961..., dtype=float32)
    """

    _meta = ("low", "high")

    def __init__(self, value: Any, low: Any, high: Any) -> None:
        value = as_inexact(value)
        dtype = value.dtype
        owner = type(self).__name__
        self.low = concrete(owner, "low", low, dtype)
        self.high = concrete(owner, "high", high, dtype)
        if not (np.all(np.isfinite(self.low)) and np.all(np.isfinite(self.high))):
            raise ValueError(
                f"{owner}: `low` and `high` must be finite, got low={low}, high={high}."
            )
        if not np.all(np.less(self.low, self.high)):
            raise ValueError(
                f"{owner}: `low` must be smaller than `high` (in {np.dtype(dtype)}), "
                f"got low={low}, high={high}."
            )
        self._init_value(value)

    def _check_start(self, start):
        bad = np.asarray((start < self.low) | (start > self.high))
        if bad.any():
            domain = f"[low, high] = [{fmt(self.low)}, {fmt(self.high)}]"
            raise _first_bad(type(self).__name__, start, bad, domain)

    def forward(self, raw):
        out = self.low + (self.high - self.low) * jax.nn.sigmoid(raw)
        return jnp.clip(out, self.low, self.high)  # rounding never leaves it

    def inverse(self, constrained):
        xp = host_or_jnp(constrained)
        u = (constrained - self.low) / (self.high - self.low)
        u = xp.clip(u, SIGMOID_EPS, 1 - SIGMOID_EPS)
        return xp.log(u) - xp.log1p(-u)

    def _repr_extra(self) -> str:
        return Parameter._repr_extra(self)


@register_pytree_with_keys_class
class LogPositiveParameter(TransformedParameter):
    """A parameter above ``lower`` (default 0):
    ``constrained = lower + exp(value)``.

    The start must be > ``lower``, else `ValueError`.

    >>> LogPositiveParameter(2.0).value
    Array(0.6931472, dtype=float32)
    """

    _meta = ("lower",)

    def __init__(self, value: Any, lower: Any = 0.0) -> None:
        value = as_inexact(value)
        self.lower = concrete(type(self).__name__, "lower", lower, value.dtype)
        self._init_value(value)

    def _check_start(self, start):
        bad = np.asarray(start <= self.lower)
        if bad.any():
            domain = f"(lower, inf) = ({fmt(self.lower)}, inf)"
            raise _first_bad(type(self).__name__, start, bad, domain)

    def forward(self, raw):
        return self.lower + jnp.exp(raw)

    def inverse(self, constrained):
        xp = host_or_jnp(constrained)
        tiny = xp.finfo(xp.result_type(constrained)).tiny
        return xp.log(xp.maximum(constrained - self.lower, tiny))

    def _repr_extra(self) -> str:
        return Parameter._repr_extra(self)


@register_pytree_with_keys_class
class LogNegativeParameter(TransformedParameter):
    """A parameter below ``upper`` (default 0):
    ``constrained = upper - exp(value)``.

    The start must be < ``upper``, else `ValueError`.

    >>> LogNegativeParameter(-2.0).constrained_value
    Array(-2., dtype=float32)
    """

    _meta = ("upper",)

    def __init__(self, value: Any, upper: Any = 0.0) -> None:
        value = as_inexact(value)
        self.upper = concrete(type(self).__name__, "upper", upper, value.dtype)
        self._init_value(value)

    def _check_start(self, start):
        bad = np.asarray(start >= self.upper)
        if bad.any():
            domain = f"(-inf, upper) = (-inf, {fmt(self.upper)})"
            raise _first_bad(type(self).__name__, start, bad, domain)

    def forward(self, raw):
        return self.upper - jnp.exp(raw)

    def inverse(self, constrained):
        xp = host_or_jnp(constrained)
        tiny = xp.finfo(xp.result_type(constrained)).tiny
        return xp.log(xp.maximum(self.upper - constrained, tiny))

    def _repr_extra(self) -> str:
        return Parameter._repr_extra(self)


@register_pytree_with_keys_class
class RescaledParameter(TransformedParameter):
    """A parameter optimized in units of ``scale``:
    ``value = start / scale``, ``constrained = value * scale``.

    Optimizers such as Adam move every raw value by about the learning rate per
    step; rescaling puts parameters of different magnitudes on one footing.
    ``scale`` (non-zero, broadcasting against the value) is never trained: it
    is pytree metadata, or a leaf when it is traced (a scale made under
    ``jax.jit``/``jax.vmap``).

    >>> g = RescaledParameter(0.15, scale=0.15)
    >>> g.value, g.constrained_value
    (Array(1., dtype=float32), Array(0.15, dtype=float32))
    """

    _meta = ("scale",)
    _arrays = ("scale",)

    def __init__(self, value: Any, scale: Any) -> None:
        self.scale = as_inexact(scale)
        if not is_traced(self.scale) and np.any(np.asarray(self.scale) == 0):
            raise ValueError(
                f"{type(self).__name__}: `scale` must be non-zero, got "
                f"scale={fmt(self.scale)}."
            )
        self._init_value(value)

    def forward(self, raw):
        return raw * self.scale

    def inverse(self, constrained):
        return constrained / host_or_jnp(constrained).asarray(self.scale)

    def _repr_extra(self) -> str:
        return f", scale={fmt(self.scale)}"


@register_pytree_with_keys_class
class NormalizedParameter(RescaledParameter):
    """A `RescaledParameter` scaled by its own start: its raw value starts at
    ones and ``constrained = scale * value``.

    A zero entry of the start has scale zero, so it stays zero (use
    `RescaledParameter` with an explicit scale for a value that starts near
    zero or must change sign).

    >>> p = NormalizedParameter(jnp.array([2.0, 4.0]))
    >>> p.value, p.constrained_value
    (Array([1., 1.], dtype=float32), Array([2., 4.], dtype=float32))
    """

    def __init__(self, value: Any) -> None:
        self.scale = as_inexact(value)
        self.value = jnp.ones_like(self.scale)


@register_pytree_with_keys_class
class MaskedParameter(TransformedParameter):
    """An array parameter of which only the entries where ``mask`` is True are
    trained; the others stay at their start.

    ``constrained = where(mask, value, frozen)``: the raw value is zero at the
    frozen entries and gets no gradient there. ``mask`` (booleans of the
    value's shape) and ``frozen`` are never trained: pytree metadata, or
    leaves when traced, so a mask computed under ``jax.jit``/``jax.vmap``
    (``MaskedParameter(w, w != 0)`` on a swept matrix) works.

    >>> p = MaskedParameter(jnp.array([1.0, 2.0, 3.0]), mask=[True, False, True])
    >>> p
    MaskedParameter([1. 2. 3.], mask=[ True False True])
    >>> jax.grad(lambda q: jnp.sum(q * q))(p).value
    Array([2., 0., 6.], dtype=float32)
    """

    _meta = ("mask", "frozen")
    _arrays = ("mask", "frozen")

    def __init__(self, value: Any, mask: Any) -> None:
        start = as_inexact(value)
        owner = type(self).__name__
        if is_traced(mask):
            self.mask = jnp.asarray(mask, dtype=bool)
        else:
            self.mask = concrete(owner, "mask", mask, np.bool_)
        if tuple(self.mask.shape) != tuple(start.shape):
            raise ValueError(
                f"{owner}: `mask` must have the value's shape {tuple(start.shape)}, "
                f"got shape {tuple(self.mask.shape)}."
            )
        xp = jnp if is_traced(start) or is_traced(self.mask) else np
        self.frozen = jnp.asarray(xp.where(self.mask, xp.zeros_like(start), start))
        self._init_value(start)

    @property
    def frozen_values(self) -> jax.Array:
        """The frozen entries (zero where trained), TVB-Optim's name."""
        return self.frozen

    def forward(self, raw):
        return jnp.where(self.mask, raw, self.frozen)

    def inverse(self, constrained):
        xp = host_or_jnp(constrained)
        return xp.where(self.mask, constrained, xp.zeros_like(constrained))

    def _repr_extra(self) -> str:
        return f", mask={fmt(self.mask)}"


@register_pytree_with_keys_class
class BoundedParameter(Parameter):
    """A parameter clipped to ``[low, high]`` when used:
    ``constrained = clip(value, low, high)``.

    The raw value is the start itself and may leave the bounds during a fit;
    outside them the gradient is zero, so a start outside ``[low, high]`` is
    accepted (it is clipped, as in TVB-Optim) with a `UserWarning`: it would
    never move. Prefer `SigmoidBoundedParameter` for smooth bounds.

    >>> BoundedParameter(0.5, low=0.0, high=1.0) + 0.75
    Array(1.25, dtype=float32)
    """

    _meta = ("low", "high")

    def __init__(self, value: Any, low: Any, high: Any) -> None:
        super().__init__(value)
        owner = type(self).__name__
        self.low = concrete(owner, "low", low, self.value.dtype)
        self.high = concrete(owner, "high", high, self.value.dtype)
        if not np.all(np.less(self.low, self.high)):
            raise ValueError(
                f"{owner}: `low` must be smaller than `high` (in "
                f"{np.dtype(self.value.dtype)}), got low={low}, high={high}."
            )
        if not is_traced(self.value):
            arr = np.asarray(self.value)
            outside = (arr < self.low) | (arr > self.high)
            if np.any(outside):
                warnings.warn(
                    f"{owner}: the start value={fmt(arr)} lies outside [low, high] "
                    f"= [{fmt(self.low)}, {fmt(self.high)}]; it is clipped and gets "
                    "no gradient there, so a fit will not move it.",
                    UserWarning,
                    stacklevel=2,
                )

    @property
    def constrained_value(self) -> jax.Array:
        return jnp.clip(self.value, self.low, self.high)

    def _repr_extra(self) -> str:
        extra = super()._repr_extra()
        if not is_traced(self.value) and np.any(
            np.asarray(self.value) != np.asarray(self.constrained_value)
        ):
            extra += f", raw={fmt(self.value)}"
        return extra
