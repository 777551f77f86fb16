"""Axes: the leaves a user places in a pytree to say "vary this"."""

from __future__ import annotations

import abc
import math
from collections.abc import Hashable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._tree import check_positive_int, is_key_array

__all__ = [
    "AbstractAxis",
    "GridAxis",
    "LogGridAxis",
    "UniformAxis",
    "DataAxis",
    "NumPyroAxis",
]


def _check_group(group: Any) -> Hashable:
    try:
        hash(group)
    except TypeError:
        raise TypeError(
            f"`group` must be hashable (a string, int or tuple), got {group!r} "
            f"of type {type(group).__name__}."
        ) from None
    return group


def _check_n(n: Any, cls: str) -> int:
    try:
        return check_positive_int("n", n)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{cls}: {err}") from None


def _check_bounds(low: Any, high: Any, cls: str, *, positive: bool = False):
    for name, v in (("low", low), ("high", high)):
        if not isinstance(v, int | float | np.number) or isinstance(v, bool):
            raise TypeError(f"{cls}: `{name}` must be a real number, got {v!r}.")
        if not math.isfinite(v):
            raise ValueError(f"{cls}: `{name}` must be finite, got {name}={v}.")
        if positive and v <= 0:
            raise ValueError(
                f"{cls}: `{name}` must be > 0 on a log scale, got {name}={v}."
            )
    if low >= high:
        raise ValueError(
            f"{cls}: `low` must be smaller than `high`, got low={low}, high={high}."
        )
    return float(low), float(high)


def _check_shape(shape: Any, cls: str, arg: str = "shape") -> tuple[int, ...] | None:
    if shape is None:
        return None
    if isinstance(shape, int | np.integer):
        shape = (shape,)
    try:
        if isinstance(shape, str) or not all(
            isinstance(s, int | np.integer) for s in shape
        ):
            raise TypeError
        shape = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(
            f"{cls}: `{arg}` must be a tuple of ints or None, got {shape!r}."
        ) from None
    if any(s < 0 for s in shape):
        raise ValueError(f"{cls}: `{arg}` must not be negative, got {shape}.")
    return shape


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
    `Space`. Subclass it with those two members to add a new sampling scheme::

        class ChoiceAxis(AbstractAxis):
            def __init__(self, options, group=None):
                self.options, self.group = list(options), group
            @property
            def size(self):
                return len(self.options)
            def generate_values(self, key=None):
                return jnp.asarray(self.options)
    """

    group: Hashable = None
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

    # Axes must be pytree *leaves*: never register them, and keep them hashable
    # by identity so two equal-looking axes in one state stay distinct.
    def _repr_fields(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        fields = dict(self._repr_fields())
        if self.group is not None:
            fields["group"] = self.group
        inner = ", ".join(f"{k}={v!r}" for k, v in fields.items())
        return f"{type(self).__name__}({inner})"


class _RangeAxis(AbstractAxis):
    """`n` values between `low` and `high`; with `shape`, each value is a
    constant array of that shape. Subclasses say how the `n` points fall."""

    _log_scale = False

    def __init__(
        self,
        low: float,
        high: float,
        n: int,
        shape: tuple[int, ...] | None = None,
        group: Hashable = None,
    ):
        name = type(self).__name__
        self.low, self.high = _check_bounds(low, high, name, positive=self._log_scale)
        self.n = _check_n(n, name)
        self.shape = _check_shape(shape, name)
        self.group = _check_group(group)

    @property
    def size(self) -> int:
        return self.n

    @abc.abstractmethod
    def _points(self, key: jax.Array | None) -> jax.Array:
        """The `n` scalar points, `[n]`."""

    def generate_values(self, key: jax.Array | None = None) -> jax.Array:
        return _broadcast_samples(self._points(key), self.shape)

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

    def _points(self, key: jax.Array | None) -> jax.Array:
        return jnp.linspace(self.low, self.high, self.n)


class LogGridAxis(_RangeAxis):
    """`n` log-spaced values from `low` to `high` (`jnp.geomspace`; both > 0).

    >>> LogGridAxis(1e-3, 1e-1, 3).generate_values()
    Array([0.001, 0.01 , 0.1  ], dtype=float32)
    """

    _log_scale = True
    uses_key = False

    def _points(self, key: jax.Array | None) -> jax.Array:
        return jnp.geomspace(self.low, self.high, self.n)


class UniformAxis(_RangeAxis):
    """`n` uniform random draws in `[low, high)`; the same key gives the same draws.

    >>> UniformAxis(0.0, 1.0, 3).generate_values(jax.random.key(1)).shape
    (3,)
    """

    def _points(self, key: jax.Array | None) -> jax.Array:
        key = jax.random.key(0) if key is None else key
        return jax.random.uniform(key, (self.n,), minval=self.low, maxval=self.high)


class DataAxis(AbstractAxis):
    """Explicit values: the leading dimension of `values` is the axis.

    Accepts lists, NumPy or JAX arrays of any trailing shape (a stack of
    matrices, say) and typed PRNG key arrays (`jax.random.split(key, n)`).

    >>> DataAxis([0.1, 0.5, 0.9]).size
    3
    """

    def __init__(self, values: Any, group: Hashable = None):
        if isinstance(values, AbstractAxis):
            raise TypeError("DataAxis: `values` must be data, got an axis.")
        if is_key_array(values):
            array = values
        else:
            try:
                array = jnp.asarray(values)
            except (TypeError, ValueError) as err:
                raise TypeError(
                    f"DataAxis: `values` must be array-like (list, NumPy or JAX "
                    f"array, or a PRNG key array), got {type(values).__name__}: "
                    f"{err}"
                ) from None
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
        self.group = _check_group(group)

    uses_key = False

    @property
    def size(self) -> int:
        return int(self.values.shape[0])

    def generate_values(self, key: jax.Array | None = None) -> jax.Array:
        return self.values

    def _repr_fields(self):
        return {
            "size": self.size,
            "value_shape": tuple(self.values.shape[1:]),
            "dtype": str(self.values.dtype),
        }


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
    ):
        from numpyro.distributions import Distribution

        if not isinstance(distribution, Distribution):
            raise TypeError(
                "NumPyroAxis: `distribution` must be a numpyro.distributions."
                f"Distribution, got {distribution!r}."
            )
        self.distribution = distribution
        self.n = _check_n(n, "NumPyroAxis")
        self.sample_shape = _check_shape(sample_shape, "NumPyroAxis", "sample_shape")
        self.sample_shape = self.sample_shape or ()
        self.broadcast_mode = bool(broadcast_mode)
        self.group = _check_group(group)

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
