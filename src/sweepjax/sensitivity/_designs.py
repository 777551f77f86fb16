"""Quasi-random designs over the axes of a state, as Spaces.

A design draws points in the unit cube ``[0, 1)^d`` (one coordinate per
dimension of the state: an ungrouped axis, or the axes of one group, which
share their coordinate as they share a position in a zip or product space)
and maps each coordinate through its axis's range and scale:

- `GridAxis`, `UniformAxis`: uniform on ``[low, high]`` (their `n` is unused:
  the design says how many points there are);
- `LogGridAxis`: log-uniform on ``[low, high]``;
- `NumPyroAxis`: its distribution's inverse CDF (``distribution.icdf``).

Other axes (`DataAxis`, custom ones) say no range and raise `TypeError`.

Decision: a design IS a `Space` (a subclass): its mapped values become one
`DataAxis` per axis in a ``"zip"`` space, so every executor, store, resume,
``space[i]`` and slice treats it like any other Space, and a store records
the design's values (resuming another seed is refused). The design is
therefore materialised on the host, `[N, d]` floats, after a memory check
(`max_bytes`), in 64-byte-aligned arrays that JAX on a CPU shares instead
of copying (a `SaltelliSpace` maps each factor at its `A` and `B` columns
and lays the values out once; its unit points are made when asked for); a
lazy design (Sobol' point i made alone, which
``scipy.stats.qmc.Sobol.fast_forward`` allows) would need every executor to
call the design per chunk instead of indexing tables. ``Space(state,
mode="sobol")`` is not offered: `Space` sits below this package and does not
import SciPy.

Seeds: the SciPy engine gets ``seed=`` the integer whose 32-bit words are
``jax.random.key_data(key)``, as SALib's samplers pass theirs (so
``jax.random.key(42)`` makes the points of SALib's ``seed=42``; SciPy's newer
``rng=42`` gives another stream).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._axes import (
    AbstractAxis,
    DataAxis,
    GridAxis,
    LogGridAxis,
    NumPyroAxis,
    UniformAxis,
)
from sweepjax._dimensions import group_axes, is_axis, leaf_names
from sweepjax._optional import require
from sweepjax._space import Space
from sweepjax._tree import check_positive_int, is_key_array

__all__ = [
    "DesignSpace",
    "aligned_empty",
    "design_seed",
    "scipy_stats",
    "unit_to_axis",
]

_MODES = ("sobol", "halton", "latin_hypercube")
#: Default ceiling on a design's host memory (its unit points and values).
MAX_BYTES = 2**31


def scipy_stats() -> Any:
    """``scipy.stats``, imported when a design or an interval is made (SciPy
    is heavy, and optional: the ``sensitivity`` extra)."""
    return require("scipy.stats", "sensitivity", "sweepjax.sensitivity's designs")


def design_seed(key: Any) -> int:
    """The integer a design seeds SciPy with: the words of `key`'s data.

    >>> design_seed(jax.random.key(42)), design_seed(None)
    (42, 0)
    """
    if key is None:
        return 0
    if not is_key_array(key, raw=True):
        raise TypeError(
            f"`key` must be a JAX PRNG key, got {type(key).__name__}: {key!r}. "
            "Pass key=jax.random.key(0)."
        )
    data = key if not is_key_array(key) else jax.random.key_data(key)
    seed = 0
    for word in np.asarray(data, dtype=np.uint32).ravel().tolist():
        seed = (seed << 32) | int(word)
    return seed


def unit_to_axis(name: str, axis: AbstractAxis, u: np.ndarray) -> np.ndarray:
    """Axis `axis` (at leaf `name`)'s values at unit coordinates `u` `[n]`:
    `[n, *value_shape]` in JAX's float dtype. Raises `TypeError` for an axis
    with no range and `ValueError` for values that are not finite."""
    dtype = np.dtype(jax.dtypes.canonicalize_dtype(np.float64))
    shape: tuple[int, ...] = ()
    if isinstance(axis, GridAxis | UniformAxis):
        values = np.multiply(u, axis.high - axis.low, out=aligned_empty(len(u)))
        values += axis.low  # in place: one pass less
        shape = axis.shape or ()
    elif isinstance(axis, LogGridAxis):
        lo, hi = math.log(axis.low), math.log(axis.high)
        values = np.exp(lo + u * (hi - lo))
        shape = axis.shape or ()
    elif isinstance(axis, NumPyroAxis):
        dist = axis.distribution
        if dist.batch_shape or dist.event_shape:
            raise ValueError(
                f"The design axis `{name}` needs a scalar distribution (batch "
                f"and event shape ()), got {type(dist).__name__} of batch shape "
                f"{dist.batch_shape}; use sample_shape for array leaves."
            )
        # one compiled program: eager icdf ops would each compile
        values = np.asarray(jax.jit(dist.icdf)(jnp.asarray(u)), dtype=np.float64)
        shape = tuple(axis.sample_shape)
    else:
        raise TypeError(
            f"The design axis `{name}` is a {type(axis).__name__}, which says no "
            "range: use GridAxis or UniformAxis (uniform on [low, high]), "
            "LogGridAxis (log-uniform) or NumPyroAxis (a distribution)."
        )
    if values.dtype != dtype:  # cast into an aligned array too (`as_table`)
        cast = aligned_empty(values.shape, dtype)
        cast[...] = values
        values = cast
    if not np.isfinite(values).all():
        bad = u[~np.isfinite(values)][:3]
        raise ValueError(
            f"The design axis `{name}` ({axis!r}) maps unit coordinates {bad} to "
            "values that are not finite (an unbounded distribution at 0 or 1): "
            "use a bounded distribution or a range axis for this design."
        )
    return np.broadcast_to(values.reshape((-1,) + (1,) * len(shape)), (len(u), *shape))


def aligned_empty(shape: tuple[int, ...] | int, dtype: Any = np.float64) -> np.ndarray:
    """An uninitialised C-contiguous array at a 64-byte boundary: JAX on a
    CPU takes such an array without a copy (`as_table`)."""
    dtype = np.dtype(dtype)
    size = math.prod(shape if isinstance(shape, tuple) else (shape,))
    buf = np.empty(size * dtype.itemsize + 64, np.uint8)
    start = -buf.ctypes.data % 64
    return buf[start : start + size * dtype.itemsize].view(dtype).reshape(shape)


def as_table(values: np.ndarray) -> jax.Array:
    """`values` as a JAX array, sharing their memory where JAX can (a CPU,
    a contiguous array at a 64-byte boundary): the design made them and
    never writes to them again."""
    return jax.device_put(values, may_alias=True)


def qmc_points(mode: str, d: int, n: int, seed: int, scramble: bool) -> np.ndarray:
    """`n` points of SciPy's `mode` sequence in ``[0, 1)^d``, `[n, d]`."""
    qmc = scipy_stats().qmc
    if mode == "sobol":
        engine = qmc.Sobol(d, scramble=scramble, seed=seed)
    elif mode == "halton":
        engine = qmc.Halton(d, scramble=scramble, seed=seed)
    else:
        engine = qmc.LatinHypercube(d, seed=seed)
    return engine.random(n)


class DesignSpace(Space):
    """A quasi-random design over the axes of `state`: a zip `Space` of `n`
    points whose axis values follow a Sobol', Halton or Latin-hypercube
    sequence, each axis through its range and scale (see the module doc).

    Args:
        state: a pytree whose leaves may be axes (ranges, not values).
        n: number of points (Sobol' balance needs a power of 2).
        mode: ``"sobol"`` (scrambled, default), ``"halton"`` or
            ``"latin_hypercube"``.
        key: seeds the sequence (``design_seed(key)``); None means seed 0.
        scramble: Owen scrambling for Sobol' and Halton (default True).
        max_bytes: refuse a design whose host arrays would exceed this.

    >>> design = DesignSpace({"a": GridAxis(0.0, 2.0, 2), "b": 1.0}, n=4)
    >>> len(design), design.unit.shape, design.factors
    (4, (4, 1), ('a',))
    """

    def __init__(
        self,
        state: Any,
        n: int,
        mode: str = "sobol",
        key: jax.Array | None = None,
        scramble: bool = True,
        max_bytes: int = MAX_BYTES,
    ):
        if mode not in _MODES:
            raise ValueError(f"`mode` must be one of {_MODES}, got mode={mode!r}.")
        n = check_positive_int("n", n)
        seed = design_seed(key)
        self._build(
            state,
            key,
            max_bytes,
            lambda d: n,
            lambda d: qmc_points(mode, d, n, seed, scramble),
        )

    def _build(
        self,
        state: Any,
        key: Any,
        max_bytes: int,
        count: Callable[[int], int],
        make_unit: Callable[[int], np.ndarray],
    ) -> None:
        """Replace each axis of `state` by a DataAxis of its values at the
        points ``make_unit(d)`` (here the unit points, ``count(d)`` rows of
        `d` columns, `d` the number of dimensions; a subclass may make
        others and override `_axis_values` and `_make_unit`), and become
        that Space."""
        flat, treedef = jax.tree_util.tree_flatten_with_path(state, is_leaf=is_axis)
        names = leaf_names(flat, "`state`")
        slots = [i for i, (_, leaf) in enumerate(flat) if is_axis(leaf)]
        if not slots:
            raise ValueError(
                "`state` contains no axis: a design needs at least one leaf that "
                "says a range, such as UniformAxis(0.0, 1.0, 2)."
            )
        axes = [flat[i][1] for i in slots]
        axis_names = [names[i] for i in slots]
        with warnings.catch_warnings():  # the axes' own sizes are unused here
            warnings.simplefilter("ignore", UserWarning)
            effective, axis_to_eff = group_axes(axis_names, axes)
        d = len(effective)
        per_point = 8 * d + sum(
            8 * math.prod(getattr(a, "shape", None) or getattr(a, "sample_shape", ()))
            for a in axes
        )
        n_points = count(d)
        need = 2 * n_points * per_point  # the unit points, the values, a copy
        if need > max_bytes:
            raise ValueError(
                f"A design of {n_points:,} points over {d} dimensions needs "
                f"{need:,} bytes on the host, more than max_bytes={max_bytes:,}. "
                "Use fewer points, or pass a larger max_bytes if memory allows."
            )
        points = np.asarray(make_unit(d), dtype=np.float64)
        leaves = [leaf for _, leaf in flat]
        for k, (slot, axis) in enumerate(zip(slots, axes, strict=True)):
            values = self._axis_values(axis_names[k], axis, points, axis_to_eff[k])
            table = as_table(values)
            leaves[slot] = DataAxis(table, group=axis.group, wrap=axis.wrap)
        self._points, self._n_points = points, n_points
        self._unit: np.ndarray | None = None
        self._factors = tuple(e.name for e in effective)
        self._design_axes = dict(zip(axis_names, axes, strict=True))
        super().__init__(treedef.unflatten(leaves), mode="zip", key=key)

    def _axis_values(
        self, name: str, axis: AbstractAxis, points: np.ndarray, column: int
    ) -> np.ndarray:
        """Axis `axis`'s values at the design's points (``make_unit``'s
        array; `column` is the axis's factor)."""
        return unit_to_axis(name, axis, points[:, column])

    def _make_unit(self) -> np.ndarray:
        """The unit points `[N, n_factors]` from ``make_unit``'s array."""
        return self._points

    def _with_index(self, index: range) -> Space:
        new = super()._with_index(index)
        new.__class__ = type(self)  # a slice of a design is a design
        return new

    @property
    def unit(self) -> np.ndarray:
        """This space's points in the unit cube, `[N, n_factors]` (a slice
        keeps the rows of its points)."""
        if self._unit is None:  # made when first asked (the sweep needs none)
            self._unit = self._make_unit()
        r = self.index_range
        return self._unit[r.start : r.stop if r.stop >= 0 else None : r.step]

    @property
    def factors(self) -> tuple[str, ...]:
        """The design's factors, one per unit-cube column: each ungrouped
        axis's name, or a group's label."""
        return self._factors

    @property
    def design_axes(self) -> dict[str, AbstractAxis]:
        """The axes the design was made from (ranges), by leaf name."""
        return dict(self._design_axes)

    @property
    def is_whole(self) -> bool:
        """True unless this design is a slice of one."""
        return self.index_range == range(self._n_points)
