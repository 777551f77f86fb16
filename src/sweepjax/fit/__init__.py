"""Fitting: the parameters a fit may change and the Optax optimizer that fits them.

Modules, bottom to top: `_parameters` (the base `Parameter` and its
metadata), `_parameters_transformed` (parameters kept inside a domain by a
transform), `_parameters_state` (marking, partitioning and listing the
parameters of a state), `_optimizer_steps` (the compiled update steps) and
`_optimizer` (`OptaxOptimizer`), with `_callbacks` (TVB-Optim's callbacks
and `EarlyStopping`) beside the steps. The parameter and optimizer names are
re-exported flat from `sweepjax`; the callbacks stay here
(``sweepjax.fit.StopLossCallback``), as in ``tvboptim.optim.callbacks``, and
so do `_identifiability` (curvature at the optima of a multi-start fit) and
`_profiles` (profile likelihood, a vmapped refit).
"""

from sweepjax.fit._callbacks import (
    AbstractCallback,
    DefaultPrintCallback,
    EarlyStopping,
    MultiCallback,
    PrintGlobalGradsCallback,
    PrintGradsCallback,
    PrintParameterCallback,
    SaveBestSeenCallback,
    SavingCallback,
    StopConvergenceCallback,
    StopLossCallback,
    StopTimeCallback,
    TimingCallback,
)
from sweepjax.fit._identifiability import (
    Identifiability,
    cluster_optima,
    curvature,
    identifiability,
    parameter_labels,
)
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
from sweepjax.fit._profiles import profile_likelihood

__all__ = [
    "AbstractCallback",
    "DefaultPrintCallback",
    "EarlyStopping",
    "Identifiability",
    "MultiCallback",
    "PrintGlobalGradsCallback",
    "PrintGradsCallback",
    "PrintParameterCallback",
    "SaveBestSeenCallback",
    "SavingCallback",
    "StopConvergenceCallback",
    "StopLossCallback",
    "StopTimeCallback",
    "TimingCallback",
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
    "cluster_optima",
    "collect_parameters",
    "curvature",
    "combine_state",
    "extract_values",
    "identifiability",
    "is_parameter",
    "mark_parameters",
    "parameter_labels",
    "partition_state",
    "profile_likelihood",
    "show_parameters",
]
