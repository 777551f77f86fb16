"""sweepjax: systematic parameter exploration of JAX models.

Put axes on the leaves of any pytree, wrap it in a `Space`, run a model over
it with an executor, and read the `Result` as a table, a labelled array or a
store on disk.
"""

from importlib import metadata as _metadata

from sweepjax._axes import (
    AbstractAxis,
    DataAxis,
    GridAxis,
    LogGridAxis,
    NumPyroAxis,
    UniformAxis,
)
from sweepjax._config import Config
from sweepjax._result import Result
from sweepjax._sink import AbstractSink, MemorySink
from sweepjax._space import EffectiveAxis, Space
from sweepjax._store import (
    StoreBusyError,
    StoreInfo,
    ZarrSink,
    open_result,
    store_info,
)
from sweepjax.execution import (
    AbstractExecution,
    DistributedExecution,
    ExecutionError,
    ParallelExecution,
    SequentialExecution,
    SweepInterrupted,
    UnusedAxisWarning,
)
from sweepjax.fit import (
    BoundedParameter,
    LogNegativeParameter,
    LogPositiveParameter,
    MaskedParameter,
    NormalizedParameter,
    OptaxOptimizer,
    Parameter,
    RescaledParameter,
    SigmoidBoundedParameter,
    TransformedParameter,
    collect_parameters,
    combine_state,
    extract_values,
    is_parameter,
    mark_parameters,
    partition_state,
    show_parameters,
)
from sweepjax.search import SearchResult, evolve, nsga2, polish, refine
from sweepjax.sensitivity import (
    DesignSpace,
    MorrisSpace,
    SaltelliSpace,
    dgsm,
    morris_indices,
    sobol_indices,
    with_gradients,
)

try:
    __version__ = _metadata.version("sweepjax")
except _metadata.PackageNotFoundError:  # run from a source tree, not installed
    __version__ = "0.2.0"

__all__ = [
    "AbstractAxis",
    "AbstractExecution",
    "AbstractSink",
    "BoundedParameter",
    "Config",
    "DataAxis",
    "DesignSpace",
    "DistributedExecution",
    "EffectiveAxis",
    "ExecutionError",
    "GridAxis",
    "LogGridAxis",
    "LogNegativeParameter",
    "LogPositiveParameter",
    "MaskedParameter",
    "MemorySink",
    "MorrisSpace",
    "NormalizedParameter",
    "NumPyroAxis",
    "OptaxOptimizer",
    "ParallelExecution",
    "Parameter",
    "RescaledParameter",
    "Result",
    "SaltelliSpace",
    "SequentialExecution",
    "SigmoidBoundedParameter",
    "Space",
    "StoreBusyError",
    "StoreInfo",
    "SweepInterrupted",
    "TransformedParameter",
    "UniformAxis",
    "UnusedAxisWarning",
    "SearchResult",
    "ZarrSink",
    "collect_parameters",
    "combine_state",
    "dgsm",
    "evolve",
    "extract_values",
    "is_parameter",
    "mark_parameters",
    "morris_indices",
    "nsga2",
    "open_result",
    "partition_state",
    "polish",
    "refine",
    "show_parameters",
    "sobol_indices",
    "store_info",
    "with_gradients",
]
