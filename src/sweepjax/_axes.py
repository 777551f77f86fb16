"""Axes: the leaves a user places in a pytree to say "vary this".

Their arguments are checked at construction and their values after generation
(see `sweepjax._axis_checks`).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._axis_checks import (
    check_bounds,
    check_conversion,
    check_distinct,
    check_finite,
    check_group,
    check_n,
    check_resolution,
    check_shape,
    check_wrap,
    describe_wrap,
    float_dtype,
)
from sweepjax._tree import is_key_array

__all__ = [
    "AbstractAxis",
    "GridAxis",
    "LogGridAxis",
    "UniformAxis",
    "DataAxis",
    "NumPyroAxis",
    "PROGRAMMED_AXES",
]


def _broadcast_samples(samples: jax.Array, shape: tuple[int, ...] | None):
    """[n] samples -> [n, *shape], each sample repeated over `shape`."""
    if shape is None:
        return samples
    n = samples.shape[0]
    return jnp.broadcast_to(samples.reshape((n,) + (1,) * len(shape)), (n, *shape))


class AbstractAxis(abc.ABC):
    """One varying leaf of a state pytree.

    An axis knows how many values it takes (`size`) and how to produce them
    (`generate_values`, an array whose leading dimension is `size`). Axes that
    share a hashable `group` label are zipped into one effective axis by
    `Space`. With ``wrap=f`` the state receives ``f(value)`` instead of the
    value, e.g. a trainable ``SigmoidBoundedParameter`` started at each
    point's value; ``f`` must also accept the whole table (a leading axis of
    values), on which the Space calls it once to validate every value before
    anything runs. Subclass it with those two members to add a new sampling scheme::

        class ChoiceAxis(AbstractAxis):
            def __init__(self, options, group=None):
                self.options, self.group = list(options), group
            @property
            def size(self):
                return len(self.options)
            def generate_values(self, key=None):
                return jnp.asarray(self.options)

    >>> axis = GridAxis(0.0, 1.0, 3)
    >>> isinstance(axis, AbstractAxis), axis.size
    (True, 3)
    """

    group: Hashable = None
    #: None, or a callable applied to each value when it is put into a state
    #: (``space[i]``, iteration, executors); tables, DataFrames and stores
    #: keep the raw values.
    wrap: Callable[[Any], Any] | None = None
    #: False for axes whose values never depend on the key; a Space whose axes
    #: are all deterministic skips drawing keys (JAX's PRNG costs a compile).
    uses_key: bool = True

    @property
    @abc.abstractmethod
    def size(self) -> int:
        """Number of values this axis takes."""

    @abc.abstractmethod
    def generate_values(self, key: jax.Array | None = None) -> jax.Array:
        """All values of the axis, `[size, *value_shape]`."""

    def values_spec(self, key: jax.Array | None = None) -> jax.ShapeDtypeStruct | None:
        """Shape and dtype of ``generate_values(key)``, found without computing
        it: a Space checks with it that the table fits before making it.

        The default traces `generate_values` abstractly (`jax.eval_shape`) and
        gives None when it cannot be traced (then only `size` is checked).
        Override it when the shape is known more cheaply.
        """
        try:
            spec = jax.eval_shape(self.generate_values, key)
        except jax.errors.JAXTypeError:
            return None
        return spec if isinstance(spec, jax.ShapeDtypeStruct) else None

    def check_values(self, values: Any, name: str | None = None) -> None:
        """Raise `ValueError` if `values` (this axis's generated table, `[size,
        ...]`) holds NaN or inf; `name` is the axis's leaf path, for the message.

        A Space calls it on every axis after generating the values. Values that
        are not finite in the dtype they are made in are a precision or
        parameter problem (``LogGridAxis(1e-50, 1e-40, 3)`` in float32, a
        distribution that overflows), not a point anyone means to sweep.
        `DataAxis` overrides it: explicit data passes as given.
        """
        check_finite(self, values, name, self._values_fix)

    #: The end of a `check_values` message: what, besides x64, fixes the values.
    _values_fix = "change what its generate_values computes"

    # Axes must be pytree *leaves*: never register them, and keep them hashable
    # by identity so two equal-looking axes in one state stay distinct.
    def _repr_fields(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        fields = {k: repr(v) for k, v in self._repr_fields().items()}
        if self.group is not None:
            fields["group"] = repr(self.group)
        if self.wrap is not None:
            fields["wrap"] = describe_wrap(self.wrap)
        inner = ", ".join(f"{k}={v}" for k, v in fields.items())
        return f"{type(self).__name__}({inner})"


class _RangeAxis(AbstractAxis):
    """`n` values between `low` and `high`; with `shape`, each value is a
    constant array of that shape. Subclasses say how the `n` points fall."""

    _log_scale = False
    #: `jax.random.uniform` computes `high - low`; a grid never does.
    _needs_span = False
    #: Grids promise distinct points; random draws may repeat.
    _distinct = False
    _values_fix = "change the bounds"

    def __init__(
        self,
        low: float,
        high: float,
        n: int,
        shape: tuple[int, ...] | None = None,
        group: Hashable = None,
        wrap: Callable[[Any], Any] | None = None,
    ):
        name = type(self).__name__
        self.low, self.high = check_bounds(
            low, high, name, positive=self._log_scale, span=self._needs_span
        )
        self.n = check_n(n, name)
        self.shape = check_shape(shape, name)
        self.group = check_group(group)
        self.wrap = check_wrap(wrap, name)

    @property
    def size(self) -> int:
        return self.n

    @staticmethod
    @abc.abstractmethod
    def _points(low: Any, high: Any, n: int, key: jax.Array | None) -> jax.Array:
        """The `n` scalar points between `low` and `high`, `[n]` (`low` and
        `high` may be traced: `range_tables` makes them in one program)."""

    def generate_values(self, key: jax.Array | None = None) -> jax.Array:
        return _broadcast_samples(
            self._points(self.low, self.high, self.n, key), self.shape
        )

    def values_spec(self, key: jax.Array | None = None) -> jax.ShapeDtypeStruct:
        return jax.ShapeDtypeStruct((self.n, *(self.shape or ())), float_dtype())

    def check_values(self, values: Any, name: str | None = None) -> None:
        """NaN/inf raise (as for every axis); a grid's points must also be
        distinct, which they are not when the dtype cannot resolve them."""
        super().check_values(values, name)
        if self._distinct:
            check_distinct(self, values, name)

    def _repr_fields(self):
        fields = {"low": self.low, "high": self.high, "n": self.n}
        if self.shape is not None:
            fields["shape"] = self.shape
        return fields


class GridAxis(_RangeAxis):
    """`n` evenly spaced values from `low` to `high` inclusive (`jnp.linspace`).

    With `shape`, each value is a constant array of that shape.

    >>> GridAxis(0.0, 1.0, 5).generate_values()
    Array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float32)
    """

    uses_key = False
    _distinct = True
    _values_fix = "use wider bounds or fewer points"

    @staticmethod
    def _points(low, high, n, key):
        return jnp.linspace(low, high, n)


class LogGridAxis(_RangeAxis):
    """`n` log-spaced values from `low` to `high` (`jnp.geomspace`; both > 0).

    >>> LogGridAxis(1e-3, 1e-1, 3).generate_values()
    Array([0.001, 0.01 , 0.1  ], dtype=float32)
    """

    _log_scale = True
    uses_key = False
    _distinct = True
    _values_fix = "use wider bounds or fewer points"

    @staticmethod
    def _points(low, high, n, key):
        return jnp.geomspace(low, high, n)


class UniformAxis(_RangeAxis):
    """`n` uniform random draws in `[low, high)`; the same key gives the same draws.

    >>> UniformAxis(0.0, 1.0, 3).generate_values(jax.random.key(1)).shape
    (3,)
    """

    _needs_span = True

    @staticmethod
    def _points(low, high, n, key):
        key = jax.random.key(0) if key is None else key
        return jax.random.uniform(key, (n,), minval=low, maxval=high)


class DataAxis(AbstractAxis):
    """Explicit values: the leading dimension of `values` is the axis.

    Accepts lists, NumPy or JAX arrays of any trailing shape (a stack of
    matrices, say) and typed PRNG key arrays (`jax.random.split(key, n)`).

    NaN and inf in the data are kept as given (a model may read NaN as
    "missing" or inf as "unbounded"), but a finite value that becomes inf when
    converted to JAX's dtype (``1e39`` in float32) raises `ValueError`.

    >>> DataAxis([0.1, 0.5, 0.9]).size
    3
    """

    def __init__(
        self,
        values: Any,
        group: Hashable = None,
        wrap: Callable[[Any], Any] | None = None,
    ):
        if isinstance(values, AbstractAxis):
            raise TypeError("DataAxis: `values` must be data, got an axis.")
        if isinstance(values, jax.Array):
            array = values if is_key_array(values) else jnp.asarray(values)
        else:
            source = _as_numpy(values)
            with np.errstate(over="ignore"):  # reported below, with the fix
                # A host-side conversion: jnp.asarray would compile a cast.
                array = jax.device_put(source)
            check_conversion(source, array)
            check_resolution(source, array)
        if array.ndim == 0:
            raise ValueError(
                f"DataAxis: `values` needs a leading axis dimension, got a scalar "
                f"{values!r}; wrap it in a list."
            )
        if array.shape[0] == 0:
            raise ValueError(
                f"DataAxis: `values` is empty (shape {tuple(array.shape)}); give "
                "at least one value."
            )
        self.values = array
        self.group = check_group(group)
        self.wrap = check_wrap(wrap, "DataAxis")

    uses_key = False

    @property
    def size(self) -> int:
        return int(self.values.shape[0])

    def generate_values(self, key: jax.Array | None = None) -> jax.Array:
        return self.values

    def values_spec(self, key: jax.Array | None = None) -> jax.ShapeDtypeStruct:
        return jax.ShapeDtypeStruct(self.values.shape, self.values.dtype)

    def check_values(self, values: Any, name: str | None = None) -> None:
        """Nothing to check: explicit data passes as given, NaN and inf
        included (a conversion that made them raised at construction)."""

    def _repr_fields(self):
        return {
            "size": self.size,
            "value_shape": tuple(self.values.shape[1:]),
            "dtype": str(self.values.dtype),
        }


def _as_numpy(values: Any) -> np.ndarray:
    """`values` as a NumPy array of numbers, or `TypeError` naming `values`."""
    try:
        source = np.asarray(values)
        if source.dtype == object or source.dtype.kind in "USV":
            source = np.asarray(jnp.asarray(values))  # e.g. a list of JAX arrays
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"DataAxis: `values` must be array-like (list, NumPy or JAX "
            f"array, or a PRNG key array), got {type(values).__name__}: {err}"
        ) from None
    return source


class NumPyroAxis(AbstractAxis):
    """`n` draws from a NumPyro distribution.

    Each draw has `sample_shape`; with `broadcast_mode=True` a single scalar
    draw per point is repeated over `sample_shape` instead.

    >>> import numpyro.distributions as dist
    >>> NumPyroAxis(dist.Normal(0.0, 1.0), n=4, sample_shape=(2,)).size
    4
    """

    def __init__(
        self,
        distribution: Any,
        n: int,
        sample_shape: Sequence[int] | None = None,
        broadcast_mode: bool = False,
        group: Hashable = None,
        wrap: Callable[[Any], Any] | None = None,
    ):
        from numpyro.distributions import Distribution

        if not isinstance(distribution, Distribution):
            raise TypeError(
                "NumPyroAxis: `distribution` must be a numpyro.distributions."
                f"Distribution, got {distribution!r}."
            )
        self.distribution = distribution
        self.n = check_n(n, "NumPyroAxis")
        self.sample_shape = check_shape(sample_shape, "NumPyroAxis", "sample_shape")
        self.sample_shape = self.sample_shape or ()
        self.broadcast_mode = bool(broadcast_mode)
        self.group = check_group(group)
        self.wrap = check_wrap(wrap, "NumPyroAxis")

    _values_fix = "change the distribution's parameters"

    @property
    def size(self) -> int:
        return self.n

    def generate_values(self, key: jax.Array | None = None) -> jax.Array:
        key = jax.random.key(0) if key is None else key
        if self.broadcast_mode:
            draws = self.distribution.sample(key, (self.n,))
            return _broadcast_samples(draws, self.sample_shape or None)
        return self.distribution.sample(key, (self.n, *self.sample_shape))

    def _repr_fields(self):
        fields = {"distribution": type(self.distribution).__name__, "n": self.n}
        if self.sample_shape:
            fields["sample_shape"] = self.sample_shape
            fields["broadcast_mode"] = self.broadcast_mode
        return fields


#: The axes `sweepjax._tables.range_tables` makes together: their values
#: depend on nothing but their type, bounds, size, shape and key (a subclass
#: is made on its own).
PROGRAMMED_AXES = (GridAxis, LogGridAxis, UniformAxis)
