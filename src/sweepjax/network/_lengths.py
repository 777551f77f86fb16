"""A graph of tract lengths and one conduction speed: ``delays = lengths / speed``.

A structural connectome measures tract lengths; the delays follow from one
conduction speed. With the speed a config leaf, sweeping it is one scalar
axis (not a ``DataAxis`` of delay matrices), and with the default linear
history interpolation a loss differentiates with respect to it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax import AbstractAxis, UniformAxis
from sweepjax._config import Config
from sweepjax.network._checks import Allowed
from sweepjax.network._component import leaf
from sweepjax.network._graph import (
    WEIGHTS,
    AbstractGraph,
    check_interpolation,
    dense_edges,
    square_matrix,
)

#: Tract lengths: finite, >= 0 mm. Speed: finite, >= 0 mm/ms (0 is refused
#: when the solve runs: it makes the delays infinite).
LENGTHS = Allowed(minimum=0.0, unit="mm")
SPEED = Allowed(minimum=0.0, unit="mm/ms")


class DenseLengthGraph(AbstractGraph):
    """Dense weights and tract lengths (mm), both ``[n_nodes, n_nodes]``,
    and one conduction ``speed`` (mm/ms = m/s): delays ``lengths / speed``.

    Config leaves ``graph.weights``, ``graph.lengths`` and ``graph.speed``:
    a sweep of ``speed`` gives every point its own delays, and the points of
    a batch still share one history buffer with ``interpolation="linear"``
    (the default here, so ``jax.grad`` reaches the speed; ``"nearest"``
    rounds the delays to whole steps, see :class:`DenseDelayGraph`).
    ``max_delay`` sizes the history buffer (default: the longest delay at
    ``speed``); pass ``max_delay >= lengths.max() / slowest`` to sweep or
    fit speeds down to ``slowest``. Delayed couplings visit the nonzero
    weights (every entry with ``all_edges=True``).

    >>> lengths = np.array([[0.0, 20.0], [20.0, 0.0]])             # mm
    >>> graph = DenseLengthGraph(np.eye(2)[::-1], lengths, speed=4.0, max_delay=10.0)
    >>> graph.delays[0, 1]
    np.float64(5.0)
    """

    has_delays: ClassVar[bool] = True
    lengths: np.ndarray = leaf(allowed=LENGTHS)
    speed: Any = leaf(allowed=SPEED)
    max_delay: float
    all_edges: bool
    interpolation: str

    def __init__(
        self,
        weights: Any,
        lengths: Any,
        speed: float,
        max_delay: float | None = None,
        all_edges: bool = False,
        interpolation: str = "linear",
    ):
        self.weights = WEIGHTS.check("weights", square_matrix("weights", weights))
        lengths = LENGTHS.check("lengths", square_matrix("lengths", lengths))
        if lengths.shape != self.weights.shape:
            raise ValueError(
                f"lengths must have the shape of weights {self.weights.shape}, got "
                f"{lengths.shape}."
            )
        self.lengths = lengths
        speed = np.asarray(speed, dtype=float)
        if speed.shape != () or not speed > 0 or not np.isfinite(speed):
            raise ValueError(
                f"speed must be one finite number > 0 (mm/ms), got {speed!r}."
            )
        self.speed = float(speed)
        largest = float(lengths.max()) / self.speed
        if max_delay is None:
            max_delay = largest
        if not np.isfinite(max_delay) or max_delay < largest:
            raise ValueError(
                f"max_delay must be finite and >= the longest delay "
                f"lengths.max() / speed = {largest:g} ms, got {max_delay}."
            )
        self.max_delay = float(max_delay)
        self.all_edges = bool(all_edges)
        self.interpolation = check_interpolation(interpolation)

    @property
    def n_nodes(self) -> int:
        return self.weights.shape[0]

    def propagate(self, leaves: Config, u: jax.Array) -> jax.Array:
        return u @ jnp.asarray(leaves.weights, u.dtype).T

    @property
    def delays(self) -> np.ndarray:
        """``lengths / speed`` (ms) at the given speed."""
        return self.lengths / self.speed

    def edge_index(self) -> tuple[np.ndarray, np.ndarray]:
        return dense_edges(self.weights, self.all_edges)

    def edge_weights(self, leaves: Config) -> jax.Array:
        targets, sources = self.edge_index()
        return jnp.asarray(leaves.weights)[targets, sources]

    def edge_delays(self, leaves: Config) -> jax.Array:
        targets, sources = self.edge_index()
        return jnp.asarray(leaves.lengths)[targets, sources] / leaves.speed

    def edge_errors(self, leaves: Config) -> list[tuple[jax.Array, str]]:
        weights = jnp.asarray(leaves.weights)
        targets, sources = self.edge_index()
        outside = np.ones(weights.shape, bool)
        outside[targets, sources] = False
        return [
            (
                jnp.any(jnp.where(outside, weights, 0.0) != 0.0),
                "config.graph.weights has a nonzero weight where the "
                "DenseLengthGraph given to the Network had none; build it with "
                "all_edges=True to sweep weights whose zero pattern changes.",
            ),
            (
                jnp.asarray(leaves.speed) <= 0,
                "config.graph.speed received a speed <= 0; allowed: a speed > 0 "
                "mm/ms (delays are lengths / speed).",
            ),
        ]


def _largest(value: Any, pick: str) -> float | None:
    """The largest (``pick="max"``) or smallest value an axis or array can
    take, None where it cannot be known before the Space is made."""
    if isinstance(value, UniformAxis):
        value = np.asarray(value.high if pick == "max" else value.low)
    elif isinstance(value, AbstractAxis):
        if value.uses_key:
            return None
        value = value.generate_values()
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    if not array.size or not np.all(np.isfinite(array)):
        return None
    return float(array.max() if pick == "max" else array.min())


@dataclasses.dataclass(frozen=True)
class LengthCheck:
    """Refuses speeds (``field="speed"``) or lengths (``field="lengths"``)
    whose delays the history buffer of a prepared solve cannot hold, when
    they are set on the config (an axis included)."""

    field: str
    lengths: float  # the longest tract of the graph
    speed: float  # its speed
    max_delay: float

    def __call__(self, value: Any) -> None:
        if self.field == "speed":
            slowest = _largest(value, "min")
            if slowest is None or slowest <= 0:
                return  # the solve's own checks name it
            longest, speed = self.lengths / slowest, slowest
        else:
            largest = _largest(value, "max")
            if largest is None:
                return
            longest, speed = largest / self.speed, self.speed
        if longest <= self.max_delay * (1 + 1e-12):
            return
        raise ValueError(
            f"config.graph.{self.field}: the delays set reach {longest:g} ms "
            f"(lengths / speed at speed {speed:g} mm/ms), beyond the history "
            f"buffer of this prepared solve (max_delay={self.max_delay:g} ms). "
            f"Build the DenseLengthGraph with max_delay >= {longest:g} and "
            "prepare again."
        )


def length_checks(graph: DenseLengthGraph) -> dict[str, LengthCheck]:
    """``{field: check}`` that ``prepare`` sets on ``config.graph``."""
    longest = float(graph.lengths.max())
    return {
        name: LengthCheck(name, longest, graph.speed, graph.max_delay)
        for name in ("speed", "lengths")
    }
