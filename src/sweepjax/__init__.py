"""sweepjax: systematic parameter exploration of JAX models.

Put axes on the leaves of any pytree, wrap it in a `Space`, run a model over
it with an executor, and read the `Result` as a table, a labelled array or a
store on disk.
"""

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

__all__ = [
    "AbstractAxis",
    "AbstractExecution",
    "AbstractSink",
    "Config",
    "DataAxis",
    "DistributedExecution",
    "EffectiveAxis",
    "ExecutionError",
    "GridAxis",
    "LogGridAxis",
    "MemorySink",
    "NumPyroAxis",
    "ParallelExecution",
    "Result",
    "SequentialExecution",
    "Space",
    "StoreBusyError",
    "StoreInfo",
    "SweepInterrupted",
    "UniformAxis",
    "UnusedAxisWarning",
    "ZarrSink",
    "open_result",
    "store_info",
]
