"""Which parameters matter: quasi-random designs and global sensitivity.

Designs are Spaces (`DesignSpace`, `SaltelliSpace`, `MorrisSpace`), so they
run through every executor and store; the estimators (`sobol_indices`,
`morris_indices`, `dgsm`) read a `Result` or a store block by block, for
every element of an array output at once; `plot_*` draw them (Matplotlib,
imported when drawing). SciPy makes the sequences; SALib
is the reference the tests compare with, never imported here.
"""

from sweepjax.sensitivity._designs import DesignSpace, design_seed
from sweepjax.sensitivity._dgsm import dgsm, with_gradients
from sweepjax.sensitivity._morris import (
    MorrisSpace,
    morris_arrays,
    morris_indices,
    morris_trajectories,
)
from sweepjax.sensitivity._plots import (
    plot_convergence,
    plot_indices,
    plot_indices_along,
)
from sweepjax.sensitivity._saltelli import SaltelliSpace, saltelli_rows
from sweepjax.sensitivity._sobol import sobol_arrays, sobol_indices

__all__ = [
    "DesignSpace",
    "MorrisSpace",
    "SaltelliSpace",
    "design_seed",
    "dgsm",
    "morris_arrays",
    "morris_indices",
    "morris_trajectories",
    "plot_convergence",
    "plot_indices",
    "plot_indices_along",
    "saltelli_rows",
    "sobol_arrays",
    "sobol_indices",
    "with_gradients",
]
