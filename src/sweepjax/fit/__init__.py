"""Fitting: the parameters a fit may change and the Optax optimizer that fits them.

Modules, bottom to top: `_parameters` (the base `Parameter` and its
metadata), `_parameters_transformed` (parameters kept inside a domain by a
transform), `_parameters_state` (marking, partitioning and listing the
parameters of a state), `_optimizer_steps` (the compiled update steps) and
`_optimizer` (`OptaxOptimizer`). The names here are re-exported flat from
`sweepjax`.
"""

from sweepjax.fit._optimizer import OptaxOptimizer
from sweepjax.fit._parameters import Parameter, is_parameter
from sweepjax.fit._parameters_state import (
    collect_parameters,
    combine_state,
    extract_values,
    mark_parameters,
    partition_state,
    show_parameters,
)
from sweepjax.fit._parameters_transformed import (
    BoundedParameter,
    LogNegativeParameter,
    LogPositiveParameter,
    MaskedParameter,
    NormalizedParameter,
    RescaledParameter,
    SigmoidBoundedParameter,
    TransformedParameter,
)

__all__ = [
    "BoundedParameter",
    "LogNegativeParameter",
    "LogPositiveParameter",
    "MaskedParameter",
    "NormalizedParameter",
    "OptaxOptimizer",
    "Parameter",
    "RescaledParameter",
    "SigmoidBoundedParameter",
    "TransformedParameter",
    "collect_parameters",
    "combine_state",
    "extract_values",
    "is_parameter",
    "mark_parameters",
    "partition_state",
    "show_parameters",
]
