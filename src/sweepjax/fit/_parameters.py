"""Parameters: the leaves of a state that a fit may change.

Put a `Parameter` where a model takes a number or an array; the model uses it
like an array (``p * 2``, ``jnp.exp(p)``, ``f"{p:.3f}"``), and `OptaxOptimizer`
differentiates its raw value. The subclasses (`sweepjax.fit._parameters_transformed`)
keep a parameter inside a domain by optimizing an unconstrained raw value that
a transform maps into it.

Each parameter holds two values:

- ``.value``: the raw, unconstrained leaf the optimizer steps (a JAX array);
- ``.constrained_value``: what the model sees, ``forward(value)``.

Constructors take the *constrained* start: ``SigmoidBoundedParameter(0.3,
low=0.05, high=1.0)`` stores ``value = logit((0.3 - 0.05) / 0.95)`` and gives
back 0.3.

Parameters are JAX pytrees flattened as TVB-Optim flattens them: the raw
``.value`` is the only leaf, and everything else (bounds, transforms, the scale
of a `RescaledParameter`, the mask and frozen entries of a `MaskedParameter`)
is auxiliary data, compared by value. A parameter made under a trace whose
scale, mask or frozen entries are traced carries those as extra (never
trained) leaves instead, since a tracer cannot be metadata.

Start values are checked on the host: a concrete start outside the domain
raises `ValueError` naming the value and the domain. The check is *skipped*
when the start is a tracer (a parameter made inside ``jax.jit``/``jax.vmap``,
or by a sweep's ``wrap=``); there the inverse transform clamps the start just
inside the domain, so the raw value stays finite. A `Space` applies an axis's
``wrap=`` to the whole concrete table once before a sweep, so a sweep's starts
are still checked.
"""

from __future__ import annotations

import hashlib
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import GetAttrKey, register_pytree_with_keys_class

__all__ = ["Parameter", "is_parameter"]


def is_traced(x: Any) -> bool:
    """True for a JAX tracer (a value inside ``jit``/``vmap``/``grad``)."""
    return isinstance(x, jax.core.Tracer)


def host_or_jnp(x: Any) -> Any:
    """NumPy for host arrays, ``jax.numpy`` otherwise: the built-in inverse
    transforms run on the host for a concrete start (no compilation)."""
    return np if isinstance(x, np.ndarray | np.generic) else jnp


def as_inexact(value: Any) -> jax.Array:
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


def concrete(owner: str, name: str, x: Any, dtype: Any) -> float | np.ndarray:
    """A hyperparameter (a bound) as a NumPy scalar or read-only array in
    `dtype` (so it prints as given: ``0.05``, not float32's
    ``0.05000000074505806``); it goes into pytree metadata, so it must be
    concrete."""
    if is_traced(x) or any(is_traced(leaf) for leaf in jax.tree.leaves(x)):
        raise TypeError(
            f"{owner}: `{name}` must be a concrete number or array, got a traced "
            f"value ({x!r}); bounds are fixed metadata, only the start `value` "
            "(and a scale or mask) may be traced."
        )
    arr = np.array(x, dtype=dtype)
    if arr.ndim == 0 and dtype != np.bool_:
        return arr[()]
    arr.setflags(write=False)
    return arr


def fmt(x: Any) -> str:
    """Short text of an array for reprs and tables, as TVB-Optim prints a
    value (``5.0``, ``[0. 1. 2.]``); a tracer by its type. Floats print in
    their shortest form for their dtype; long arrays are summarised."""
    if x is None:
        return "None"
    if is_traced(x):
        return f"traced {x.dtype}{list(x.shape)}"
    arr = np.asarray(x)
    if arr.ndim == 0:
        return str(arr[()])
    text = np.array2string(arr, threshold=8, edgeitems=2, max_line_width=80)
    return " ".join(text.split())


class Meta:
    """A hashable, value-compared holder for one piece of a parameter's pytree
    metadata (a float, an array, a callable). An array is compared by dtype,
    shape and bytes (computed once, when first needed: JAX hashes a treedef
    at every compiled call)."""

    __slots__ = ("_key", "item")

    def __init__(self, item: Any):
        self.item = item
        self._key = None

    @property
    def key(self) -> Any:
        if self._key is None:
            item = self.item
            if isinstance(item, np.ndarray | jax.Array):
                arr = np.asarray(item)
                self._key = (arr.shape, arr.dtype.str, arr.tobytes())
            else:
                self._key = (item,)
        return self._key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Meta):
            return NotImplemented
        return self.item is other.item or self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        # stable across processes: a Space's description prints its treedef
        item = self.item
        if isinstance(item, np.ndarray | jax.Array):
            digest = hashlib.sha1(self.key[2]).hexdigest()[:12]
            return f"array{list(item.shape)}:{np.dtype(item.dtype)}:{digest}"
        name = getattr(item, "__qualname__", None)
        if callable(item) and name is not None:
            return f"{getattr(item, '__module__', '?')}.{name}"
        return repr(item)


class ChildSlot:
    """Marks, in a parameter's auxiliary data, a field carried as a leaf
    because it is traced (a tracer cannot be metadata)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ChildSlot)

    def __hash__(self) -> int:
        return hash(ChildSlot)

    def __repr__(self) -> str:
        return "<leaf>"


CHILD = ChildSlot()


def _operand(x: Any) -> Any:
    return x.constrained_value if is_parameter(x) else x


@register_pytree_with_keys_class
class Parameter:
    """A value a fit may change: an array leaf marked as trainable.

    ``Parameter(value)`` holds ``value`` as a floating JAX array (integers
    become the default float dtype, so it can be differentiated, and print as
    floats). For the base class the raw ``.value`` and the
    ``.constrained_value`` coincide.

    A parameter behaves like its constrained value in JAX code: the Python
    operators return JAX arrays, ``jnp`` functions accept it (``__jax_array__``),
    NumPy converts it (``__array__``), and f-strings format it.

    >>> p = Parameter(1.5)
    >>> p * 2, jnp.exp(p) > 4, f"{p:.2f}"
    (Array(3., dtype=float32), Array(True, dtype=bool), '1.50')
    >>> jax.grad(lambda q: q**2)(p).value  # a pytree: the gradient per leaf
    Array(3., dtype=float32)
    >>> Parameter(5)
    Parameter(5.0)

    A subclass lists its other fields in ``_meta`` (pytree metadata, in
    TVB-Optim's order) and, of those, the arrays that may be traced in
    ``_arrays``; it must be registered with
    ``jax.tree_util.register_pytree_with_keys_class`` (registration is not
    inherited).
    """

    _meta: tuple[str, ...] = ()
    _arrays: tuple[str, ...] = ()
    __array_priority__ = 100  # NumPy defers `ndarray + param` to __radd__

    def __init__(self, value: Any) -> None:
        self.value = as_inexact(value)

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
            value = jnp.broadcast_to(self.value, shape)
            arrays = {}
            for name in self._arrays:
                x = getattr(self, name)
                xp = host_or_jnp(x)
                arrays[name] = xp.broadcast_to(x, shape)
        except ValueError:
            raise ValueError(
                f"{type(self).__name__}: cannot broadcast shape {self.shape} to "
                f"{shape}."
            ) from None
        self.value = value
        for name, x in arrays.items():
            setattr(self, name, x)

    @property
    def dtype(self) -> Any:
        return self.value.dtype

    @property
    def ndim(self) -> int:
        return self.value.ndim

    @property
    def size(self) -> int:
        return self.value.size

    def traced_fields(self) -> bool:
        """Whether a non-trainable array (a scale, a mask) is a tracer."""
        return any(is_traced(getattr(self, name)) for name in self._arrays)

    # ----- text ----------------------------------------------------------
    def _repr_extra(self) -> str:
        """``", name=value"`` of the hyperparameters shown in the repr."""
        return "".join(f", {n}={fmt(getattr(self, n))}" for n in self._meta)

    def __repr__(self) -> str:
        name = type(self).__name__
        if self._is_half():
            names, children, _ = self._flatten()
            parts = ", ".join(f"{n}={fmt(c)}" for n, c in zip(names, children))
            return f"{name}({parts})"
        return f"{name}({fmt(self.constrained_value)}{self._repr_extra()})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        x = self.constrained_value
        if is_traced(x):
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
    def _flatten(self) -> tuple[list[str], list[Any], tuple | None]:
        """``(names, children, aux)``: the raw value, then each traced field
        of ``_meta``; `aux` holds the other fields in ``_meta`` order (None for
        a type without any, as TVB-Optim's `Parameter`)."""
        names, children, aux = ["value"], [self.value], []
        cache = self.__dict__.setdefault("_metas", {})
        # a node rebuilt by tree_unflatten keeps its layout (its fields may
        # hold anything then: None, booleans of a filter spec, arrays)
        leaf_fields = self.__dict__.get("_leaf_fields")
        for name in self._meta:
            item = getattr(self, name)
            if name in leaf_fields if leaf_fields is not None else is_traced(item):
                names.append(name)
                children.append(item)
                aux.append(CHILD)
                continue
            meta = cache.get(name)
            if meta is None or meta.item is not item:
                meta = cache[name] = Meta(item)
            aux.append(meta)
        return names, children, (tuple(aux) if self._meta else None)

    def tree_flatten_with_keys(self):
        names, children, aux = self._flatten()
        return [(GetAttrKey(n), c) for n, c in zip(names, children)], aux

    def tree_flatten(self):
        _, children, aux = self._flatten()
        return children, aux

    @classmethod
    def tree_unflatten(cls, aux, children):
        obj = object.__new__(cls)
        children = iter(children)
        obj.value = next(children)
        metas, leaf_fields = {}, []
        for name, meta in zip(cls._meta, aux or (), strict=True):
            if isinstance(meta, ChildSlot):
                setattr(obj, name, next(children))
                leaf_fields.append(name)
            else:
                setattr(obj, name, meta.item)
                metas[name] = meta
        obj.__dict__.update(_metas=metas, _leaf_fields=tuple(leaf_fields))
        return obj

    def _is_half(self) -> bool:
        """Whether this node is half of `partition_state` or a filter spec
        (None or booleans where its leaves are)."""
        _, children, _ = self._flatten()
        return any(c is None or isinstance(c, bool) for c in children)

    def _trainable_spec(self) -> Parameter:
        """This parameter's node with True at ``value``, False elsewhere."""
        names, _, aux = self._flatten()
        return type(self).tree_unflatten(aux, [n == "value" for n in names])


def is_parameter(x: Any) -> bool:
    """True for a `Parameter` (of any subclass).

    >>> is_parameter(Parameter(1.0)), is_parameter(1.0)
    (True, False)
    """
    return isinstance(x, Parameter)


def trainable_spec(p: Parameter) -> Parameter:
    """`p`'s node with True at its raw ``value``, False at its other leaves
    (an ``equinox.partition`` filter spec)."""
    return p._trainable_spec()
