"""Search beyond grids: evolution strategies (evosax), NSGA-II, adaptive
refinement of a 2-D sweep and gradient polish, each generation one batch
through an executor. evosax and pymoo are imported only when a search
needs them (``pip install "sweepjax[search]"``)."""

from sweepjax.search._bounds import SearchBounds
from sweepjax.search._driver import generation_path
from sweepjax.search._evolve import evolve, nsga2
from sweepjax.search._history import SearchResult
from sweepjax.search._nsga2 import NSGA2, hypervolume_2d
from sweepjax.search._polish import polish
from sweepjax.search._refine import boundary_points, refine
from sweepjax.search._strategies import EvosaxStrategy

__all__ = [
    "NSGA2",
    "EvosaxStrategy",
    "SearchBounds",
    "SearchResult",
    "boundary_points",
    "evolve",
    "generation_path",
    "hypervolume_2d",
    "nsga2",
    "polish",
    "refine",
]
