"""Graphs: who is connected to whom, how strongly, and with which delay.

Dense graphs keep ``[n_nodes, n_nodes]`` matrices as config leaves; sparse
graphs keep only the edges, ``[n_edges]`` leaves, for large networks whose
matrices would not fit or would be mostly zeros. Both give couplings the same
three things: instantaneous sums (``propagate``) and, for delays, an edge
list sorted by target (``edge_index``, ``edge_weights``, ``edge_delays``).
"""

import abc
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from equinox import AbstractVar

from sweepjax._config import Config
from sweepjax.network._checks import Allowed
from sweepjax.network._component import AbstractComponent, leaf

#: Weights: any finite value. Delays: finite, >= 0 ms.
WEIGHTS = Allowed()
DELAYS = Allowed(minimum=0.0, unit="ms")


def _float_array(name: str, value: Any, expected: str) -> np.ndarray:
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a numeric {expected} array, got {value!r}."
        ) from None


def _square_matrix(name: str, value: Any) -> np.ndarray:
    array = _float_array(name, value, "[n_nodes, n_nodes]")
    if array.ndim != 2 or array.shape[0] != array.shape[1] or array.shape[0] == 0:
        raise ValueError(
            f"{name} must be a square [n_nodes, n_nodes] matrix, got shape "
            f"{array.shape}."
        )
    return array


def square_matrix(name: str, value: Any) -> np.ndarray:
    """``value`` as a float ``[n_nodes, n_nodes]`` matrix: ``TypeError`` (not
    numbers) or ``ValueError`` (not square) naming ``name``."""
    return _square_matrix(name, value)


def _weights_and_delays(weights: Any, delays: Any) -> tuple[np.ndarray, np.ndarray]:
    """Checked dense ``[n_nodes, n_nodes]`` weights and delays of one shape."""
    weights = WEIGHTS.check("weights", _square_matrix("weights", weights))
    delays = _square_matrix("delays", delays)
    if delays.shape != weights.shape:
        raise ValueError(
            f"delays must have the shape of weights {weights.shape}, got "
            f"{delays.shape}."
        )
    return weights, delays


def _edge_vector(name: str, value: Any, n_edges: int) -> np.ndarray:
    array = _float_array(name, value, "[n_edges]")
    if array.shape != (n_edges,):
        raise ValueError(
            f"{name} must have one value per edge, shape ({n_edges},), got shape "
            f"{array.shape}."
        )
    return array


def _edge_list(
    targets: Any, sources: Any, n_nodes: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Checked ``(targets, sources, order, n_nodes)``: ``order`` sorts the
    given edges by target then source."""
    if isinstance(n_nodes, bool) or not isinstance(n_nodes, int | np.integer):
        raise TypeError(f"n_nodes must be an int, got {n_nodes!r}.")
    if n_nodes < 1:
        raise ValueError(f"n_nodes must be >= 1, got {n_nodes}.")
    ends = []
    for name, value in (("targets", targets), ("sources", sources)):
        array = np.asarray(value)
        if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
            raise TypeError(
                f"{name} must be a 1-d integer array of node indices, got {value!r}."
            )
        if array.size and (array.min() < 0 or array.max() >= n_nodes):
            raise ValueError(
                f"{name} must hold node indices in [0, {n_nodes}), got values in "
                f"[{array.min()}, {array.max()}]."
            )
        ends.append(array.astype(np.int32))
    targets, sources = ends
    if targets.shape != sources.shape:
        raise ValueError(
            f"targets and sources must have the same length, got {targets.size} "
            f"and {sources.size}."
        )
    order = np.lexsort((sources, targets))
    targets, sources = targets[order], sources[order]
    repeated = (np.diff(targets) == 0) & (np.diff(sources) == 0)
    if repeated.any():
        e = int(np.argmax(repeated))
        raise ValueError(
            f"the edge {sources[e]} -> {targets[e]} is given twice; give each "
            "connection once."
        )
    return targets, sources, order, int(n_nodes)


def _segment_sum(u: jax.Array, targets: np.ndarray, n_nodes: int) -> jax.Array:
    """``[..., n_edges] -> [..., n_nodes]``: sum each edge into its target."""
    moved = jnp.moveaxis(u, -1, 0)
    summed = jax.ops.segment_sum(moved, targets, n_nodes, indices_are_sorted=True)
    return jnp.moveaxis(summed, 0, -1)


class AbstractGraph(AbstractComponent):
    """Connection weights (and possibly delays) between ``n_nodes`` nodes.

    ``leaves()`` gives the leaves placed under ``config.graph`` and what each
    of them may hold: the constructor checks the given arrays with it, and
    every solve checks the (possibly swept) config values with it again.
    The weight of the connection from node j into node i is ``W[i, j]``
    (The Virtual Brain's convention).

    Solves read the graph from the config leaves ``leaves`` (``config.graph``)
    through ``propagate`` and, for delayed couplings, through the edge list
    ``edge_index()`` and ``edge_weights``.

    >>> DenseGraph(np.eye(2)).leaves()["weights"].allowed.describe()
    'finite values'
    """

    #: Whether the graph carries conduction delays.
    has_delays: ClassVar[bool] = False
    n_nodes: AbstractVar[int]
    weights: np.ndarray = leaf(allowed=WEIGHTS)

    @abc.abstractmethod
    def edge_index(self) -> tuple[np.ndarray, np.ndarray]:
        """``(targets, sources)``, int32 ``[n_edges]``: the connections edge-wise
        computations visit, sorted by target then source."""

    @abc.abstractmethod
    def edge_weights(self, leaves: Config) -> jax.Array:
        """``[n_edges]``: the weight of each edge of ``edge_index()``."""

    @abc.abstractmethod
    def edge_errors(self, leaves: Config) -> list[tuple[jax.Array, str]]:
        """``[(bad, message)]``: what the solve refuses in the graph's config
        ``leaves`` beyond the leaves' rules."""

    @abc.abstractmethod
    def propagate(self, leaves: Config, u: jax.Array) -> jax.Array:
        """``sum_j W[i, j] * u[:, j]`` of signals ``u`` ``[n_signals, n_nodes]``."""


def dense_edges(weights: np.ndarray, all_edges: bool = False) -> tuple:
    """``(targets, sources)``, int32, of a dense graph's nonzero weights (of
    every pair with ``all_edges``), sorted by target then source."""
    targets, sources = np.nonzero(np.ones_like(weights) if all_edges else weights)
    return targets.astype(np.int32), sources.astype(np.int32)


def check_interpolation(value: Any) -> str:
    """``interpolation`` of a delay graph: ``"nearest"`` (the default) reads
    the history ``rint(delay / dt)`` steps back; ``"linear"`` interpolates
    between the two steps around ``delay / dt``, so a delay (or a speed)
    has a gradient."""
    if value not in ("nearest", "linear"):
        raise ValueError(
            f"interpolation must be 'nearest' or 'linear', got {value!r}; pass "
            "'linear' to differentiate with respect to delays or speed."
        )
    return value


class AbstractDelayGraph(AbstractGraph):
    """A graph with conduction delays (ms), ``rint(delay / dt)`` steps, or
    with ``interpolation="linear"`` a linear interpolation of the history.

    The history buffer is sized at ``prepare`` time from ``max_delay``
    (default: the largest delay given); to sweep delays beyond it, pass a
    larger ``max_delay`` (``Connectome.graph(speed, max_delay=...)`` too).
    Delays above the buffer set on a prepared config (a sweep's axis
    included) are refused when set, before anything compiles; NaN, infinite
    or negative swept delays raise an error when the solve runs.

    >>> graph = DenseDelayGraph(np.ones((2, 2)) - np.eye(2), np.full((2, 2), 4.0))
    >>> isinstance(graph, AbstractDelayGraph), graph.max_delay
    (True, 4.0)
    """

    has_delays: ClassVar[bool] = True
    delays: np.ndarray = leaf(allowed=DELAYS)
    max_delay: float
    #: How delayed couplings read the history (:func:`check_interpolation`).
    interpolation: str

    def _checked_max_delay(self, max_delay: float | None) -> float:
        """``max_delay`` (default: the largest delay), checked against the
        delays, which are checked first."""
        DELAYS.check("delays", self.delays)
        largest = float(self.delays.max()) if self.delays.size else 0.0
        if max_delay is None:
            max_delay = largest
        if not np.isfinite(max_delay) or max_delay < largest:
            raise ValueError(
                f"max_delay must be finite and >= the largest delay {largest} ms, "
                f"got {max_delay}."
            )
        return float(max_delay)

    @abc.abstractmethod
    def edge_delays(self, leaves: Config) -> jax.Array:
        """``[n_edges]``: the delay (ms) of each edge of ``edge_index()``."""


class _AbstractDense(AbstractGraph):
    """Dense ``[n_nodes, n_nodes]`` weights: instantaneous sums are products."""

    @property
    def n_nodes(self) -> int:
        return self.weights.shape[0]

    def propagate(self, leaves: Config, u: jax.Array) -> jax.Array:
        return u @ jnp.asarray(leaves.weights, u.dtype).T


class _AbstractEdgeList(AbstractGraph):
    """``[n_edges]`` weights on edges sorted by target: sums are segment sums."""

    targets: np.ndarray
    sources: np.ndarray
    n_nodes: int

    def _set_edges(
        self, targets: Any, sources: Any, weights: Any, n_nodes: Any
    ) -> np.ndarray:
        """Checks and sorts the edges and their weights (at construction);
        returns the order that sorted them (for other per-edge values)."""
        self.targets, self.sources, order, self.n_nodes = _edge_list(
            targets, sources, n_nodes
        )
        weights = _edge_vector("weights", weights, self.targets.size)
        self.weights = WEIGHTS.check("weights", weights[order])
        return order

    def edge_index(self) -> tuple[np.ndarray, np.ndarray]:
        return self.targets, self.sources

    def edge_weights(self, leaves: Config) -> jax.Array:
        return jnp.asarray(leaves.weights)

    def edge_errors(self, leaves: Config) -> list[tuple[jax.Array, str]]:
        return []  # every weight sits on an edge

    def propagate(self, leaves: Config, u: jax.Array) -> jax.Array:
        weights = jnp.asarray(leaves.weights, u.dtype)
        return _segment_sum(u[:, self.sources] * weights, self.targets, self.n_nodes)


class DenseGraph(_AbstractDense):
    """A dense weight matrix ``[n_nodes, n_nodes]``; ``weights[i, j]``: j -> i.

    >>> graph = DenseGraph(np.ones((4, 4)) - np.eye(4))
    >>> graph.n_nodes
    4
    """

    def __init__(self, weights: Any):
        self.weights = WEIGHTS.check("weights", _square_matrix("weights", weights))

    def edge_index(self) -> tuple[np.ndarray, np.ndarray]:
        return dense_edges(self.weights)

    def edge_weights(self, leaves: Config) -> jax.Array:
        targets, sources = self.edge_index()
        return jnp.asarray(leaves.weights)[targets, sources]

    def edge_errors(self, leaves: Config) -> list[tuple[jax.Array, str]]:
        return []  # instantaneous sums use the whole matrix


class DenseDelayGraph(_AbstractDense, AbstractDelayGraph):
    """Dense weights and conduction delays (ms), both ``[n_nodes, n_nodes]``.

    Delayed couplings visit only the connections that exist: the nonzero
    entries of ``weights`` (or every entry with ``all_edges=True``, for
    sweeping weights whose zero pattern changes). A swept weight matrix with
    a nonzero outside that pattern raises an error when the solve runs.
    See :class:`AbstractDelayGraph` for ``max_delay``.

    >>> lengths = np.array([[0.0, 20.0], [20.0, 0.0]])        # mm
    >>> graph = DenseDelayGraph(np.eye(2)[::-1], lengths / 3.0)  # 3 mm/ms
    """

    all_edges: bool

    def __init__(
        self,
        weights: Any,
        delays: Any,
        max_delay: float | None = None,
        all_edges: bool = False,
        interpolation: str = "nearest",
    ):
        self.weights, self.delays = _weights_and_delays(weights, delays)
        self.max_delay = self._checked_max_delay(max_delay)
        self.all_edges = bool(all_edges)
        self.interpolation = check_interpolation(interpolation)

    def edge_index(self) -> tuple[np.ndarray, np.ndarray]:
        return dense_edges(self.weights, self.all_edges)

    def edge_weights(self, leaves: Config) -> jax.Array:
        targets, sources = self.edge_index()
        return jnp.asarray(leaves.weights)[targets, sources]

    def edge_errors(self, leaves: Config) -> list[tuple[jax.Array, str]]:
        # The edge list is fixed at prepare time: a swept weight outside it
        # would be silently dropped, so it is an error when the solve runs.
        weights = jnp.asarray(leaves.weights)
        targets, sources = self.edge_index()
        outside = np.ones(weights.shape, bool)
        outside[targets, sources] = False
        message = (
            "config.graph.weights has a nonzero weight where the DenseDelayGraph "
            "given to the Network had none; build it with all_edges=True to sweep "
            "weights whose zero pattern changes."
        )
        return [(jnp.any(jnp.where(outside, weights, 0.0) != 0.0), message)]

    def edge_delays(self, leaves: Config) -> jax.Array:
        targets, sources = self.edge_index()
        return jnp.asarray(leaves.delays)[targets, sources]


class SparseGraph(_AbstractEdgeList):
    """Weights as an edge list: ``weights[e]`` from ``sources[e]`` into
    ``targets[e]``; the config leaf ``graph.weights`` is ``[n_edges]``.

    For large or sparse networks: memory and work grow with the edges, not
    with ``n_nodes**2``. Same semantics as :class:`DenseGraph` on
    ``to_dense()``. Edges are kept sorted by target then source (the order of
    the ``weights`` leaf).

    >>> graph = SparseGraph.from_dense(np.array([[0.0, 2.0], [0.5, 0.0]]))
    >>> graph.weights, graph.n_nodes
    (array([2. , 0.5]), 2)
    """

    def __init__(self, targets: Any, sources: Any, weights: Any, n_nodes: int):
        self._set_edges(targets, sources, weights, n_nodes)

    @classmethod
    def from_dense(cls, weights: Any) -> "SparseGraph":
        """The nonzero entries of a dense ``[n_nodes, n_nodes]`` matrix."""
        weights = _square_matrix("weights", weights)
        targets, sources = np.nonzero(weights)
        return cls(targets, sources, weights[targets, sources], weights.shape[0])

    def to_dense(self) -> np.ndarray:
        """The weights as a dense ``[n_nodes, n_nodes]`` matrix."""
        dense = np.zeros((self.n_nodes, self.n_nodes))
        dense[self.targets, self.sources] = self.weights
        return dense


class SparseDelayGraph(_AbstractEdgeList, AbstractDelayGraph):
    """An edge list with weights and conduction delays (ms), both
    ``[n_edges]`` config leaves; the sparse :class:`DenseDelayGraph`.

    See :class:`SparseGraph` for the edge list and :class:`AbstractDelayGraph`
    for ``max_delay``.

    >>> graph = SparseDelayGraph([0, 1], [1, 0], [1.0, 0.5], [2.0, 4.0], n_nodes=2)
    >>> graph.max_delay
    4.0
    """

    def __init__(
        self,
        targets: Any,
        sources: Any,
        weights: Any,
        delays: Any,
        n_nodes: int,
        max_delay: float | None = None,
        interpolation: str = "nearest",
    ):
        order = self._set_edges(targets, sources, weights, n_nodes)
        self.delays = _edge_vector("delays", delays, self.targets.size)[order]
        self.max_delay = self._checked_max_delay(max_delay)
        self.interpolation = check_interpolation(interpolation)

    @classmethod
    def from_dense(
        cls,
        weights: Any,
        delays: Any,
        max_delay: float | None = None,
        interpolation: str = "nearest",
    ) -> "SparseDelayGraph":
        """The nonzero weights of a dense matrix and their delays."""
        weights, delays = _weights_and_delays(weights, delays)
        targets, sources = np.nonzero(weights)
        return cls(
            targets,
            sources,
            weights[targets, sources],
            delays[targets, sources],
            weights.shape[0],
            max_delay,
            interpolation,
        )

    def edge_delays(self, leaves: Config) -> jax.Array:
        return jnp.asarray(leaves.delays)

    def to_dense(self) -> tuple[np.ndarray, np.ndarray]:
        """``(weights, delays)`` as dense ``[n_nodes, n_nodes]`` matrices."""
        weights = np.zeros((self.n_nodes, self.n_nodes))
        delays = np.zeros((self.n_nodes, self.n_nodes))
        weights[self.targets, self.sources] = self.weights
        delays[self.targets, self.sources] = self.delays
        return weights, delays
