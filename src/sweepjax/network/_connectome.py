"""Structural connectomes shipped by the ``tvb-data`` package."""

from __future__ import annotations

import bz2
import dataclasses
import importlib.resources
import io
import zipfile
from pathlib import Path

import numpy as np

from sweepjax.network._graph import (
    AbstractGraph,
    DenseDelayGraph,
    DenseGraph,
    SparseDelayGraph,
    SparseGraph,
)

#: ``Connectome.graph(sparse=None)`` keeps only the connections from this many
#: regions on, or when at most this fraction of the connections exist.
SPARSE_NODES = 1000
SPARSE_DENSITY = 0.05


def _connectivity_dir() -> Path:
    return Path(str(importlib.resources.files("tvb_data") / "connectivity"))


def available_connectomes() -> list[str]:
    """Names accepted by :func:`load_connectome`, e.g. ``["192", "66", ...]``.

    >>> "76" in available_connectomes()
    True
    """
    names = []
    for path in sorted(_connectivity_dir().glob("*.zip")):
        stem = path.stem
        names.append(stem.removeprefix("connectivity_"))
    return names


@dataclasses.dataclass(frozen=True)
class Connectome:
    """A structural connectome: ``n`` regions.

    Attributes:
        name: the name it was loaded by.
        weights: ``[n, n]`` structural weights; ``weights[i, j]`` is j -> i
            (The Virtual Brain's convention).
        tract_lengths: ``[n, n]`` in mm.
        region_labels: ``n`` region names.
        centres: ``[n, 3]`` region centres (mm).

    >>> toy = Connectome(
    ...     name="toy",
    ...     weights=np.array([[0.0, 1.0], [2.0, 0.0]]),
    ...     tract_lengths=np.full((2, 2), 30.0),
    ...     region_labels=("left", "right"),
    ...     centres=np.zeros((2, 3)),
    ... )
    >>> toy.n_regions
    2
    """

    name: str
    weights: np.ndarray
    tract_lengths: np.ndarray
    region_labels: tuple[str, ...]
    centres: np.ndarray

    @property
    def n_regions(self) -> int:
        """Number of regions."""
        return self.weights.shape[0]

    def graph(
        self,
        speed: float | None = None,
        normalize: str | None = "max",
        self_connections: bool = False,
        sparse: bool | None = None,
        max_delay: float | None = None,
    ) -> AbstractGraph:
        """A graph of this connectome.

        The weights are scaled as ``normalize`` says, never silently:
        connectome files come in arbitrary units (fibre counts, densities),
        so a coupling strength ``G`` means something only relative to a
        stated scale. Self-connections are dropped unless asked for: the
        diagonal of a tractography matrix counts fibres inside a region, not
        a path by which a region drives itself (several tvb-data atlases put
        their largest entry there, which would otherwise set the scale).

        Args:
            speed: conduction speed in mm/ms; None gives a graph without
                delays, a number one with ``delays = tract_lengths / speed``.
            normalize: ``"max"`` (default) divides the weights by the largest
                weight kept, so the strongest connection is 1; None keeps
                them as loaded.
            self_connections: keep the diagonal (False: set it to 0, before
                normalising).
            sparse: keep only the connections (:class:`SparseGraph`,
                :class:`SparseDelayGraph`) or the full matrices
                (:class:`DenseGraph`, :class:`DenseDelayGraph`); None picks
                sparse for 1,000 or more regions or when at most 5% of the
                connections exist (``SPARSE_NODES``, ``SPARSE_DENSITY``).
            max_delay: the longest delay (ms) the history buffer holds
                (default: the largest delay of this connectome at
                ``speed``); give a larger one to sweep longer delays, e.g.
                slower speeds. Only with ``speed``.

        >>> graph = load_connectome("76").graph(speed=3.0)
        >>> graph   # arrays print as dtype and shape
        DenseDelayGraph(
          weights=f64[76,76](numpy),
          delays=f64[76,76](numpy),
          max_delay=51.16...,
          interpolation='nearest',
          all_edges=False
        )
        >>> float(graph.weights.max()), float(graph.weights.diagonal().max())
        (1.0, 0.0)
        >>> load_connectome("76").graph(speed=3.0, max_delay=200.0).max_delay
        200.0
        """
        if normalize not in ("max", None):
            raise ValueError(
                f'normalize must be "max" (divide by the largest weight) or None '
                f"(keep the weights as loaded), got {normalize!r}."
            )
        weights = np.array(self.weights, dtype=float)
        if not self_connections:
            np.fill_diagonal(weights, 0.0)
        if normalize == "max":
            weights = weights / weights.max()
        if sparse is None:
            density = np.count_nonzero(weights) / weights.size
            sparse = self.n_regions >= SPARSE_NODES or density <= SPARSE_DENSITY
        if speed is None:
            if max_delay is not None:
                raise ValueError(
                    f"max_delay={max_delay} sizes a delay buffer, and a graph "
                    "without speed has no delays; pass speed=... too, or drop "
                    "max_delay."
                )
            return SparseGraph.from_dense(weights) if sparse else DenseGraph(weights)
        if not speed > 0:
            raise ValueError(f"speed must be > 0 mm/ms, got {speed}.")
        delays = self.tract_lengths / speed
        if sparse:
            return SparseDelayGraph.from_dense(weights, delays, max_delay)
        return DenseDelayGraph(weights, delays, max_delay=max_delay)


def _read_member(archive: zipfile.ZipFile, stem: str) -> str | None:
    for info in archive.infolist():
        base = info.filename.rsplit("/", 1)[-1]
        if base == f"{stem}.txt":
            return archive.read(info).decode()
        if base == f"{stem}.txt.bz2":
            return bz2.decompress(archive.read(info)).decode()
    return None


def load_connectome(name: str | int) -> Connectome:
    """Load a connectome shipped by ``tvb-data`` by its number of regions.

    Args:
        name: ``"76"``, ``76``, ``"connectivity_76"``, ``"68"``, ... (see
            :func:`available_connectomes`).

    >>> connectome = load_connectome("76")
    >>> connectome.weights.shape, connectome.region_labels[0]
    ((76, 76), 'rA1')
    """
    key = str(name).removeprefix("connectivity_").removesuffix(".zip")
    available = available_connectomes()
    if key not in available:
        raise ValueError(f"unknown connectome {name!r}; tvb-data ships {available}.")
    stem = key if key == "paupau" else f"connectivity_{key}"
    with zipfile.ZipFile(_connectivity_dir() / f"{stem}.zip") as archive:
        texts = {
            s: _read_member(archive, s) for s in ("weights", "tract_lengths", "centres")
        }
    weights = np.loadtxt(io.StringIO(texts["weights"]))
    lengths = np.loadtxt(io.StringIO(texts["tract_lengths"]))
    rows = [line.split() for line in texts["centres"].splitlines() if line.strip()]
    labels = tuple(row[0] for row in rows)
    centres = np.array([[float(v) for v in row[1:4]] for row in rows])
    return Connectome(key, weights, lengths, labels, centres)
