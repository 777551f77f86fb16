"""Executors: run a model over every point of a Space, through one run template."""

from sweepjax.execution._base import (
    AbstractExecution,
    ExecutionError,
    SweepInterrupted,
)
from sweepjax.execution._dependencies import UnusedAxisWarning
from sweepjax.execution._distributed import DistributedExecution
from sweepjax.execution._parallel import ParallelExecution
from sweepjax.execution._sequential import SequentialExecution

__all__ = [
    "AbstractExecution",
    "DistributedExecution",
    "ExecutionError",
    "ParallelExecution",
    "SequentialExecution",
    "SweepInterrupted",
    "UnusedAxisWarning",
]
