"""Parameters: the leaves of a state that a fit may change.

Put a `Parameter` where a model takes a number or an array; the model uses it
like an array (``p * 2``, ``jnp.exp(p)``, ``f"{p:.3f}"``), and `OptaxOptimizer`
differentiates its raw value. The subclasses keep a parameter inside a domain
by optimizing an unconstrained raw value that a transform maps into it.

Each parameter holds two values:

- ``.value``: the raw, unconstrained leaf the optimizer steps (a JAX array);
- ``.constrained_value``: what the model sees, ``forward(value)``.

Constructors take the *constrained* start: ``SigmoidBoundedParameter(0.3,
low=0.05, high=1.0)`` stores ``value = logit((0.3 - 0.05) / 0.95)`` and gives
back 0.3.

Parameters are JAX pytrees. Only ``.value`` is ever trained: the other arrays a
parameter holds (the scale of a `RescaledParameter`, the frozen entries of a
`MaskedParameter`) are pytree children so that they may be traced, but
`partition_state` puts them on the static side. Bounds, masks and transforms
are pytree metadata and must be concrete.

Start values are checked on the host: a concrete start outside the domain
raises `ValueError` naming the value and the domain. The check is *skipped*
when the start is a tracer (a parameter made inside ``jax.jit``/``jax.vmap``,
or by a sweep's ``wrap=``); there the inverse transform clamps the start just
inside the domain, so the raw value stays finite. A `Space` applies an axis's
``wrap=`` to the whole concrete table once before a sweep, so a sweep's starts
are still checked.
"""

from __future__ import annotations

import warnings
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import GetAttrKey, register_pytree_with_keys_class

from sweepjax._tree import path_name

__all__ = [
    "BoundedParameter",
    "LogNegativeParameter",
    "LogPositiveParameter",
    "MaskedParameter",
    "NormalizedParameter",
    "Parameter",
    "RescaledParameter",
    "SigmoidBoundedParameter",
    "TransformedParameter",
    "collect_parameters",
    "combine_state",
    "extract_values",
    "is_parameter",
    "mark_parameters",
    "partition_state",
    "show_parameters",
]

#: How far inside ``(0, 1)`` a sigmoid start at a bound is placed.
_SIGMOID_EPS = 1e-7


def _is_traced(x: Any) -> bool:
    return isinstance(x, jax.core.Tracer)


def _xp(x: Any) -> Any:
    """NumPy for host arrays, ``jax.numpy`` otherwise: the built-in inverse
    transforms run on the host for a concrete start (no compilation)."""
    return np if isinstance(x, np.ndarray | np.generic) else jnp


def _as_inexact(value: Any) -> jax.Array:
    """`value` as a JAX array of a floating (or complex) dtype, not weakly
    typed: integers and booleans become the default float dtype."""
    if is_parameter(value):
        value = value.constrained_value
    if not isinstance(value, jax.Array):  # host data: convert without compiling
        arr = np.asarray(value)
        if arr.dtype.kind not in "fc":
            arr = arr.astype(jnp.result_type(float))
        return jnp.asarray(arr, dtype=jax.dtypes.canonicalize_dtype(arr.dtype))
    dtype = value.dtype
    if not jnp.issubdtype(dtype, jnp.inexact):
        dtype = jnp.result_type(float)
    if dtype == value.dtype and not value.weak_type:
        return value
    return jax.lax.convert_element_type(value, dtype)


def _concrete(owner: str, name: str, x: Any, dtype: Any) -> float | np.ndarray:
    """A hyperparameter (bound, mask) as a Python float or a read-only NumPy
    array in `dtype`; it goes into pytree metadata, so it must be concrete."""
    if _is_traced(x) or any(_is_traced(leaf) for leaf in jax.tree.leaves(x)):
        raise TypeError(
            f"{owner}: `{name}` must be a concrete number or array, got a traced "
            f"value ({x!r}); bounds and masks are fixed metadata, only the start "
            "`value` may be traced."
        )
    arr = np.array(x, dtype=dtype)
    if arr.ndim == 0 and dtype != np.bool_:
        return arr.item()
    arr.setflags(write=False)
    return arr


def _fmt(x: Any) -> str:
    """Short text of an array for reprs and tables (a tracer by its type)."""
    if x is None:
        return "None"
    if _is_traced(x):
        return f"traced {x.dtype}{list(x.shape)}"
    arr = np.asarray(x)
    if arr.ndim == 0:
        return f"{arr.item():.6g}" if arr.dtype.kind == "f" else str(arr.item())
    text = np.array2string(
        arr, precision=6, threshold=8, edgeitems=2, separator=", ", max_line_width=80
    )
    return " ".join(text.split())


def _first_bad(owner: str, value: Any, bad: np.ndarray, domain: str) -> ValueError:
    """The error for a start outside `domain`, naming the first bad entry."""
    bad = np.asarray(bad)
    arr = np.broadcast_to(np.asarray(value), bad.shape)
    if arr.ndim == 0:
        got = f"value={_fmt(arr)}"
    else:
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = ", ".join(map(str, index))
        got = (
            f"{int(bad.sum())} of {bad.size} entries outside, first "
            f"value[{where}]={_fmt(arr[index])}"
        )
    return ValueError(f"{owner}: the start `value` must lie in {domain}, got {got}.")


class _Meta:
    """A hashable, value-compared holder for one piece of a parameter's pytree
    metadata (a float, a NumPy array, a callable)."""

    __slots__ = ("item", "key")

    def __init__(self, item: Any):
        self.item = item
        if isinstance(item, np.ndarray):
            self.key = (item.shape, item.dtype.str, item.tobytes())
        else:
            self.key = item

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Meta) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


def _operand(x: Any) -> Any:
    return x.constrained_value if is_parameter(x) else x


@register_pytree_with_keys_class
class Parameter:
    """A value a fit may change: an array leaf marked as trainable.

    ``Parameter(value)`` holds ``value`` as a floating JAX array (integers
    become the default float dtype, so it can be differentiated). For the base
    class the raw ``.value`` and the ``.constrained_value`` coincide.

    A parameter behaves like its constrained value in JAX code: the Python
    operators return JAX arrays, ``jnp`` functions accept it (``__jax_array__``),
    NumPy converts it (``__array__``), and f-strings format it.

    >>> p = Parameter(1.5)
    >>> p * 2, jnp.exp(p) > 4, f"{p:.2f}"
    (Array(3., dtype=float32), Array(True, dtype=bool), '1.50')
    >>> jax.grad(lambda q: q**2)(p).value  # a pytree: the gradient per leaf
    Array(3., dtype=float32)
    >>> Parameter(2)
    Parameter(2)

    A subclass lists its array children in ``_children`` (``value`` first: the
    only trainable one) and its metadata in ``_static``, and must be registered
    with ``jax.tree_util.register_pytree_with_keys_class`` (registration is
    not inherited).
    """

    _children: tuple[str, ...] = ("value",)
    _static: tuple[str, ...] = ()
    __array_priority__ = 100  # NumPy defers `ndarray + param` to __radd__

    def __init__(self, value: Any) -> None:
        self.value = _as_inexact(value)

    # ----- the two values ------------------------------------------------
    @property
    def constrained_value(self) -> jax.Array:
        """The value the model uses (here the raw value itself)."""
        return self.value

    def __jax_array__(self) -> jax.Array:
        return self.constrained_value

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.constrained_value, dtype=dtype)

    def __float__(self) -> float:
        return float(self.constrained_value)

    # ----- array attributes ----------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)

    @shape.setter
    def shape(self, shape: tuple[int, ...]) -> None:
        """Broadcast the parameter to `shape` (a global value made local)."""
        shape = tuple(shape)
        if shape == self.shape:
            return
        try:
            for name in self._children:
                child = getattr(self, name)
                if child is not None:
                    setattr(self, name, jnp.broadcast_to(child, shape))
            self._broadcast_static(shape)
        except ValueError:
            raise ValueError(
                f"{type(self).__name__}: cannot broadcast shape {self.shape} to "
                f"{shape}."
            ) from None

    def _broadcast_static(self, shape: tuple[int, ...]) -> None:
        """Broadcast array metadata along with the children (none here)."""

    @property
    def dtype(self) -> Any:
        return self.value.dtype

    @property
    def ndim(self) -> int:
        return self.value.ndim

    @property
    def size(self) -> int:
        return self.value.size

    # ----- text ----------------------------------------------------------
    def _repr_extra(self) -> str:
        """``", name=value"`` of the hyperparameters shown in the repr."""
        return "".join(f", {n}={_fmt(getattr(self, n))}" for n in self._static)

    def __repr__(self) -> str:
        name = type(self).__name__
        if any(
            c is None or isinstance(c, bool)
            for c in (getattr(self, n, None) for n in self._children)
        ):
            # half of partition_state, or a mark_parameters filter spec
            parts = ", ".join(f"{n}={_fmt(getattr(self, n))}" for n in self._children)
            return f"{name}({parts})"
        return f"{name}({_fmt(self.constrained_value)}{self._repr_extra()})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        x = self.constrained_value
        if _is_traced(x):
            return format(repr(self), spec)
        arr = np.asarray(x)
        if arr.size == 1:
            return format(arr.item(), spec)
        if not spec:
            return np.array2string(arr, separator=", ")
        return np.array2string(
            arr, separator=", ", formatter={"all": lambda v: format(v, spec)}
        )

    # ----- operators (all on the constrained value) ----------------------
    def __add__(self, other):
        return self.constrained_value + _operand(other)

    def __radd__(self, other):
        return _operand(other) + self.constrained_value

    def __sub__(self, other):
        return self.constrained_value - _operand(other)

    def __rsub__(self, other):
        return _operand(other) - self.constrained_value

    def __mul__(self, other):
        return self.constrained_value * _operand(other)

    def __rmul__(self, other):
        return _operand(other) * self.constrained_value

    def __truediv__(self, other):
        return self.constrained_value / _operand(other)

    def __rtruediv__(self, other):
        return _operand(other) / self.constrained_value

    def __floordiv__(self, other):
        return self.constrained_value // _operand(other)

    def __rfloordiv__(self, other):
        return _operand(other) // self.constrained_value

    def __mod__(self, other):
        return self.constrained_value % _operand(other)

    def __rmod__(self, other):
        return _operand(other) % self.constrained_value

    def __pow__(self, other):
        return self.constrained_value ** _operand(other)

    def __rpow__(self, other):
        return _operand(other) ** self.constrained_value

    def __matmul__(self, other):
        return self.constrained_value @ _operand(other)

    def __rmatmul__(self, other):
        return _operand(other) @ self.constrained_value

    def __neg__(self):
        return -self.constrained_value

    def __pos__(self):
        return +self.constrained_value

    def __abs__(self):
        return jnp.abs(self.constrained_value)

    def __eq__(self, other):  # type: ignore[override]
        return self.constrained_value == _operand(other)

    def __ne__(self, other):  # type: ignore[override]
        return self.constrained_value != _operand(other)

    def __lt__(self, other):
        return self.constrained_value < _operand(other)

    def __le__(self, other):
        return self.constrained_value <= _operand(other)

    def __gt__(self, other):
        return self.constrained_value > _operand(other)

    def __ge__(self, other):
        return self.constrained_value >= _operand(other)

    def __getitem__(self, key):
        return self.constrained_value[key]

    __hash__ = None  # type: ignore[assignment]  # == is elementwise

    # ----- pytree --------------------------------------------------------
    def tree_flatten_with_keys(self):
        children = tuple((GetAttrKey(n), getattr(self, n)) for n in self._children)
        return children, tuple(_Meta(getattr(self, n)) for n in self._static)

    def tree_flatten(self):
        children = tuple(getattr(self, n) for n in self._children)
        return children, tuple(_Meta(getattr(self, n)) for n in self._static)

    @classmethod
    def tree_unflatten(cls, aux, children):
        obj = object.__new__(cls)
        for name, child in zip(cls._children, children, strict=True):
            setattr(obj, name, child)
        for name, meta in zip(cls._static, aux, strict=True):
            setattr(obj, name, meta.item)
        return obj

    def _trainable_spec(self) -> Parameter:
        """This parameter's node with True at ``value``, False elsewhere."""
        flags = [name == "value" for name in self._children]
        _, aux = self.tree_flatten()
        return type(self).tree_unflatten(aux, flags)


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

    _static = ("_forward", "_inverse")

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
        start = _as_inexact(value)
        if _is_traced(start):
            self.value = jax.lax.convert_element_type(self.inverse(start), start.dtype)
            return
        host = np.asarray(start)
        self._check_start(host)
        raw = np.asarray(self.inverse(host))
        if not np.all(np.isfinite(raw)):
            raise ValueError(
                f"{type(self).__name__}: the inverse transform of the start is not "
                f"finite: value={_fmt(host)} gives raw value {_fmt(raw)}."
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
        return f", raw={_fmt(self.value)}"


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
    SigmoidBoundedParameter(0.3, low=0.05, high=1)
    >>> p.value
    Array(-1.02961..., dtype=float32)
    """

    _static = ("low", "high")

    def __init__(self, value: Any, low: Any, high: Any) -> None:
        value = _as_inexact(value)
        dtype = value.dtype
        owner = type(self).__name__
        self.low = _concrete(owner, "low", low, dtype)
        self.high = _concrete(owner, "high", high, dtype)
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
            domain = f"[low, high] = [{_fmt(self.low)}, {_fmt(self.high)}]"
            raise _first_bad(type(self).__name__, start, bad, domain)

    def forward(self, raw):
        out = self.low + (self.high - self.low) * jax.nn.sigmoid(raw)
        return jnp.clip(out, self.low, self.high)  # rounding never leaves it

    def inverse(self, constrained):
        xp = _xp(constrained)
        u = (constrained - self.low) / (self.high - self.low)
        u = xp.clip(u, _SIGMOID_EPS, 1 - _SIGMOID_EPS)
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

    _static = ("lower",)

    def __init__(self, value: Any, lower: Any = 0.0) -> None:
        value = _as_inexact(value)
        self.lower = _concrete(type(self).__name__, "lower", lower, value.dtype)
        self._init_value(value)

    def _check_start(self, start):
        bad = np.asarray(start <= self.lower)
        if bad.any():
            domain = f"(lower, inf) = ({_fmt(self.lower)}, inf)"
            raise _first_bad(type(self).__name__, start, bad, domain)

    def forward(self, raw):
        return self.lower + jnp.exp(raw)

    def inverse(self, constrained):
        xp = _xp(constrained)
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

    _static = ("upper",)

    def __init__(self, value: Any, upper: Any = 0.0) -> None:
        value = _as_inexact(value)
        self.upper = _concrete(type(self).__name__, "upper", upper, value.dtype)
        self._init_value(value)

    def _check_start(self, start):
        bad = np.asarray(start >= self.upper)
        if bad.any():
            domain = f"(-inf, upper) = (-inf, {_fmt(self.upper)})"
            raise _first_bad(type(self).__name__, start, bad, domain)

    def forward(self, raw):
        return self.upper - jnp.exp(raw)

    def inverse(self, constrained):
        xp = _xp(constrained)
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
    ``scale`` (non-zero, broadcasting against the value) is an array child, not
    metadata, so it may be traced; it is never trained.

    >>> g = RescaledParameter(0.15, scale=0.15)
    >>> g.value, g.constrained_value
    (Array(1., dtype=float32), Array(0.15, dtype=float32))
    """

    _children = ("value", "scale")
    _static = ()

    def __init__(self, value: Any, scale: Any) -> None:
        self.scale = _as_inexact(scale)
        if not _is_traced(self.scale) and np.any(np.asarray(self.scale) == 0):
            raise ValueError(
                f"{type(self).__name__}: `scale` must be non-zero, got "
                f"scale={_fmt(self.scale)}."
            )
        self._init_value(value)

    def forward(self, raw):
        return raw * self.scale

    def inverse(self, constrained):
        return constrained / _xp(constrained).asarray(self.scale)

    def _repr_extra(self) -> str:
        return f", scale={_fmt(self.scale)}"


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
        self.scale = _as_inexact(value)
        self.value = jnp.ones_like(self.scale)


@register_pytree_with_keys_class
class MaskedParameter(TransformedParameter):
    """An array parameter of which only the entries where ``mask`` is True are
    trained; the others stay at their start.

    ``constrained = where(mask, value, frozen)``: the frozen entries are an
    (untrained) array child, the raw value is zero there and gets no gradient.
    ``mask`` is concrete boolean metadata of the value's shape.

    >>> p = MaskedParameter(jnp.array([1.0, 2.0, 3.0]), mask=[True, False, True])
    >>> p
    MaskedParameter([1., 2., 3.], mask=[ True, False, True])
    >>> jax.grad(lambda q: jnp.sum(q * q))(p).value
    Array([2., 0., 6.], dtype=float32)
    """

    _children = ("value", "frozen")
    _static = ("mask",)

    def __init__(self, value: Any, mask: Any) -> None:
        start = _as_inexact(value)
        owner = type(self).__name__
        self.mask = _concrete(owner, "mask", mask, np.bool_)
        if self.mask.shape != start.shape:
            raise ValueError(
                f"{owner}: `mask` must have the value's shape {tuple(start.shape)}, "
                f"got shape {self.mask.shape}."
            )
        xp = jnp if _is_traced(start) else np
        self.frozen = jnp.asarray(xp.where(self.mask, xp.zeros_like(start), start))
        self._init_value(start)

    def _broadcast_static(self, shape):
        self.mask = _concrete(
            type(self).__name__, "mask", np.broadcast_to(self.mask, shape), np.bool_
        )

    def forward(self, raw):
        return jnp.where(self.mask, raw, self.frozen)

    def inverse(self, constrained):
        xp = _xp(constrained)
        return xp.where(self.mask, constrained, xp.zeros_like(constrained))

    def _repr_extra(self) -> str:
        return Parameter._repr_extra(self)


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

    _static = ("low", "high")

    def __init__(self, value: Any, low: Any, high: Any) -> None:
        super().__init__(value)
        owner = type(self).__name__
        self.low = _concrete(owner, "low", low, self.value.dtype)
        self.high = _concrete(owner, "high", high, self.value.dtype)
        if not np.all(np.less(self.low, self.high)):
            raise ValueError(
                f"{owner}: `low` must be smaller than `high` (in "
                f"{np.dtype(self.value.dtype)}), got low={low}, high={high}."
            )
        if not _is_traced(self.value):
            arr = np.asarray(self.value)
            outside = (arr < self.low) | (arr > self.high)
            if np.any(outside):
                warnings.warn(
                    f"{owner}: the start value={_fmt(arr)} lies outside [low, high] "
                    f"= [{_fmt(self.low)}, {_fmt(self.high)}]; it is clipped and gets "
                    "no gradient there, so a fit will not move it.",
                    UserWarning,
                    stacklevel=2,
                )

    @property
    def constrained_value(self) -> jax.Array:
        return jnp.clip(self.value, self.low, self.high)

    def _repr_extra(self) -> str:
        extra = super()._repr_extra()
        if not _is_traced(self.value) and np.any(
            np.asarray(self.value) != np.asarray(self.constrained_value)
        ):
            extra += f", raw={_fmt(self.value)}"
        return extra


# ----- state helpers -----------------------------------------------------


def is_parameter(x: Any) -> bool:
    """True for a `Parameter` (of any subclass)."""
    return isinstance(x, Parameter)


def extract_values(tree: Any) -> Any:
    """`tree` with every `Parameter` replaced by its constrained value (a JAX
    array): what a model that does not know parameters expects.

    >>> extract_values({"a": SigmoidBoundedParameter(0.5, 0.0, 1.0), "b": 2})
    {'a': Array(0.5, dtype=float32), 'b': 2}
    """
    return jax.tree.map(
        lambda x: x.constrained_value if is_parameter(x) else x,
        tree,
        is_leaf=is_parameter,
    )


def mark_parameters(state: Any) -> Any:
    """The trainable leaves of `state` as a tree of booleans (an
    ``equinox.partition`` filter spec): True at each parameter's raw
    ``.value``, False everywhere else, including a parameter's other children
    (a scale, frozen entries).

    >>> mark_parameters({"a": Parameter(1.0), "b": 2.0})
    {'a': Parameter(value=True), 'b': False}
    """
    return jax.tree.map(
        lambda x: x._trainable_spec() if is_parameter(x) else False,
        state,
        is_leaf=is_parameter,
    )


def partition_state(state: Any) -> tuple[Any, Any]:
    """Split `state` into ``(params, static)``, two trees of its structure
    with None where the other has the leaf: `params` holds the parameters' raw
    values (what an optimizer updates), `static` everything else.
    `combine_state` puts them back together.

    >>> params, static = partition_state({"a": Parameter(1.0), "b": 2.0})
    >>> jax.tree.leaves(params), jax.tree.leaves(static)
    ([Array(1., dtype=float32)], [2.0])
    """
    return eqx.partition(state, mark_parameters(state))


def combine_state(params: Any, static: Any) -> Any:
    """The state `partition_state` split into `params` and `static`."""
    return eqx.combine(params, static)


def collect_parameters(state: Any, flat: bool = False) -> Any:
    """The parameters of `state`.

    By default (as TVB-Optim) `state` with every parameter replaced by its
    constrained value, like `extract_values`. With ``flat=True`` a dict
    ``{path: Parameter}`` in leaf order, named like a space's columns
    (``coupling.G``, ``weights[0]``).

    >>> state = {"coupling": {"G": Parameter(0.5)}, "dt": 0.1}
    >>> collect_parameters(state)
    {'coupling': {'G': Array(0.5, dtype=float32)}, 'dt': 0.1}
    >>> collect_parameters(state, flat=True)
    {'coupling.G': Parameter(0.5)}
    """
    if not flat:
        return extract_values(state)
    flat_leaves = jax.tree_util.tree_flatten_with_path(state, is_leaf=is_parameter)[0]
    return {path_name(path): x for path, x in flat_leaves if is_parameter(x)}


def show_parameters(state: Any) -> None:
    """Print a table of the parameters of `state`: path, type, constrained
    value and raw value.

    >>> show_parameters({"G": SigmoidBoundedParameter(0.5, 0.0, 1.0), "dt": 0.1})
    path  type                     value  raw
    G     SigmoidBoundedParameter  0.5    0
    """
    rows = [("path", "type", "value", "raw")]
    for name, p in collect_parameters(state, flat=True).items():
        rows.append((name, type(p).__name__, _fmt(p.constrained_value), _fmt(p.value)))
    if len(rows) == 1:
        print("(no parameters)")
        return None
    widths = [max(len(row[k]) for row in rows) for k in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)] + [row[3]]
        print("  ".join(cells).rstrip())
    return None
