"""Graphs: who is connected to whom, how strongly, and with which delay."""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from sweepjax.network._checks import Allowed

#: Weights: any finite value. Delays: finite, >= 0 ms.
WEIGHTS = Allowed()
DELAYS = Allowed(minimum=0.0, unit="ms")


def _square_matrix(name: str, value: Any) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a numeric [n_nodes, n_nodes] array, got {value!r}."
        ) from None
    if array.ndim != 2 or array.shape[0] != array.shape[1] or array.shape[0] == 0:
        raise ValueError(
            f"{name} must be a square [n_nodes, n_nodes] matrix, got shape "
            f"{array.shape}."
        )
    return array


class AbstractGraph(abc.ABC):
    """Connection weights (and possibly delays) between ``n_nodes`` nodes.

    ``arrays()`` gives the leaves placed under ``config.graph``; ``weights[i, j]``
    is the weight of the connection from node j into node i. ``allowed()``
    says what each of those leaves may hold: the constructor checks the given
    arrays with it, and every solve checks the (possibly swept) config values
    with it again.
    """

    weights: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return self.weights.shape[0]

    @property
    def has_delays(self) -> bool:
        """Whether the graph carries conduction delays."""
        return False

    @abc.abstractmethod
    def arrays(self) -> dict[str, np.ndarray]:
        """``{name: array}`` of the graph's config leaves."""

    def allowed(self) -> dict[str, Allowed]:
        """``{name: rule}`` for the leaves of ``arrays()``: finite weights.

        >>> DenseGraph(np.eye(2)).allowed()["weights"].describe()
        'finite values'
        """
        return {"weights": WEIGHTS}


class DenseGraph(AbstractGraph):
    """A dense weight matrix ``[n_nodes, n_nodes]``; ``weights[i, j]``: j -> i.

    >>> graph = DenseGraph(np.ones((4, 4)) - np.eye(4))
    >>> graph.n_nodes
    4
    """

    def __init__(self, weights: Any):
        self.weights = WEIGHTS.check("weights", _square_matrix("weights", weights))

    def arrays(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights}

    def __repr__(self) -> str:
        return f"DenseGraph(n_nodes={self.n_nodes})"


class DenseDelayGraph(AbstractGraph):
    """Dense weights and conduction delays (ms), both ``[n_nodes, n_nodes]``.

    Delays become ``rint(delays / dt)`` steps. The history buffer is sized at
    ``prepare`` time from ``max_delay`` (default: the largest delay given); to
    sweep delays through the config beyond that, pass a larger ``max_delay``.
    A delay above the buffer raises an error when the solve runs, as do NaN,
    infinite or negative swept delays and non-finite swept weights.

    Delayed couplings visit only the connections that exist: the nonzero
    entries of ``weights`` (or every entry with ``all_edges=True``, for
    sweeping weights whose zero pattern changes). A swept weight matrix with
    a nonzero outside that pattern raises an error when the solve runs.

    >>> lengths = np.array([[0.0, 20.0], [20.0, 0.0]])        # mm
    >>> graph = DenseDelayGraph(np.eye(2)[::-1], lengths / 3.0)  # 3 mm/ms
    """

    def __init__(
        self,
        weights: Any,
        delays: Any,
        max_delay: float | None = None,
        all_edges: bool = False,
    ):
        self.weights = WEIGHTS.check("weights", _square_matrix("weights", weights))
        self.delays = _square_matrix("delays", delays)
        if self.delays.shape != self.weights.shape:
            raise ValueError(
                f"delays must have the shape of weights {self.weights.shape}, got "
                f"{self.delays.shape}."
            )
        DELAYS.check("delays", self.delays)
        largest = float(self.delays.max())
        if max_delay is None:
            max_delay = largest
        if not np.isfinite(max_delay) or max_delay < largest:
            raise ValueError(
                f"max_delay must be finite and >= the largest delay {largest} ms, "
                f"got {max_delay}."
            )
        self.max_delay = float(max_delay)
        self.all_edges = bool(all_edges)

    def edge_index(self) -> tuple[np.ndarray, np.ndarray]:
        """``(targets, sources)`` of the edges delayed couplings visit."""
        pattern = np.ones_like(self.weights) if self.all_edges else self.weights
        targets, sources = np.nonzero(pattern)
        return targets.astype(np.int32), sources.astype(np.int32)

    @property
    def has_delays(self) -> bool:
        return True

    def arrays(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights, "delays": self.delays}

    def allowed(self) -> dict[str, Allowed]:
        """Finite weights; finite delays >= 0 ms (the history buffer's bound,
        ``max_delay``, is checked where the delays are used)."""
        return {"weights": WEIGHTS, "delays": DELAYS}

    def __repr__(self) -> str:
        return f"DenseDelayGraph(n_nodes={self.n_nodes}, max_delay={self.max_delay})"
