"""Executors: run a model over every point of a Space."""

from sweepjax.execution._base import ExecutionError
from sweepjax.execution._distributed import DistributedExecution
from sweepjax.execution._parallel import ParallelExecution
from sweepjax.execution._sequential import SequentialExecution
from sweepjax.execution._sink import AbstractSink, MemorySink

__all__ = [
    "AbstractSink",
    "DistributedExecution",
    "ExecutionError",
    "MemorySink",
    "ParallelExecution",
    "SequentialExecution",
]
