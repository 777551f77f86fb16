"""Search coordinates from a Space's axes: bounds, scales and the unit cube.

A search moves in ``[0, 1]^d``: coordinate ``i`` maps linearly onto axis
``i``'s ``[low, high]``, or onto ``[log low, log high]`` for a `LogGridAxis`,
so log axes are searched in log space and every strategy sees one scale.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._axes import DataAxis, GridAxis, LogGridAxis, UniformAxis
from sweepjax._space import Space

__all__ = ["SearchBounds"]

_RANGES = (GridAxis, LogGridAxis, UniformAxis)


class SearchBounds:
    """The searched leaves of a `Space`: one scalar range axis each.

    Attributes:
        names: the axes' key-path names, in flatten order (``[d]``).
        low, high: their bounds (NumPy ``[d]``).
        log: which are searched in log space (`LogGridAxis`).

    >>> axes = {"a": GridAxis(0.0, 2.0, 3), "k": LogGridAxis(1e-2, 1.0, 3)}
    >>> b = SearchBounds(Space(axes))
    >>> b.names, [round(float(v), 3) for v in b.decode(jnp.array([0.5, 0.5]))]
    (('a', 'k'), [1.0, 0.1])
    """

    def __init__(self, space: Space):
        if not isinstance(space, Space):
            raise TypeError(
                f"`space` must be a sweepjax.Space, got {type(space).__name__}: "
                "Space(state) with a GridAxis/UniformAxis/LogGridAxis per "
                "searched leaf."
            )
        for name, axis in space.axes.items():
            if not isinstance(axis, _RANGES):
                raise TypeError(
                    f"searched axis {name!r} is a {type(axis).__name__}; a search "
                    "needs bounds: use GridAxis, UniformAxis or LogGridAxis (its "
                    "low/high are the bounds, its n is ignored)."
                )
            if axis.shape is not None:
                raise ValueError(
                    f"searched axis {name!r} has shape={axis.shape}; a search moves "
                    "scalar leaves: give one axis per scalar (shape=None)."
                )
        self.space = space
        axes = list(space.axes.values())
        self.names = tuple(space.axes)
        self.low = np.array([float(a.low) for a in axes])
        self.high = np.array([float(a.high) for a in axes])
        self.log = np.array([isinstance(a, LogGridAxis) for a in axes])
        self._wraps = [a.wrap for a in axes]
        self._lo = np.where(self.log, np.log(np.where(self.log, self.low, 1)), self.low)
        self._hi = np.where(
            self.log, np.log(np.where(self.log, self.high, 1)), self.high
        )

    @property
    def n_dims(self) -> int:
        return len(self.names)

    def decode(self, unit: Any) -> jax.Array:
        """Unit-cube coordinates ``[..., d]`` to parameter values (clipped)."""
        u = jnp.clip(unit, 0.0, 1.0)
        x = self._lo + u * (self._hi - self._lo)
        return jnp.where(self.log, jnp.exp(x), x).astype(jnp.asarray(unit).dtype)

    def encode(self, values: Any) -> jax.Array:
        """Parameter values ``[..., d]`` to unit-cube coordinates."""
        values = jnp.asarray(values)
        x = jnp.where(self.log, jnp.log(jnp.abs(values)), values)
        return ((x - self._lo) / (self._hi - self._lo)).astype(values.dtype)

    def state(self, values: Any, fixed: list | None = None) -> Any:
        """The state at one point's values ``[d]`` (traceable): the space's
        fixed leaves (or `fixed`, their traced copies), each searched leaf set
        (through its axis's ``wrap``)."""
        it = iter((w or _identity)(values[..., i]) for i, w in enumerate(self._wraps))
        fixed = self.space.fixed_leaves() if fixed is None else fixed
        leaves = [next(it) if x is None else x for x in fixed]
        return self.space.treedef.unflatten(leaves)

    def candidates(self, values: Any, wrap: Any = None) -> Space:
        """A Space over the rows of `values` ``[n, d]``: a `DataAxis` at each
        searched leaf, zipped; what an executor runs for one generation."""
        values = np.asarray(values)
        it = iter(
            DataAxis(values[:, i], wrap=wrap or w) for i, w in enumerate(self._wraps)
        )
        leaves = [next(it) if x is None else x for x in self.space.fixed_leaves()]
        return Space(self.space.treedef.unflatten(leaves), mode="zip")

    def table(self, values: Any) -> dict[str, np.ndarray]:
        """Columns of values ``[n, d]`` by axis name."""
        values = np.asarray(values)
        return {name: values[:, i] for i, name in enumerate(self.names)}


def _identity(x: Any) -> Any:
    return x
