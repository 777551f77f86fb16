"""Neural mass models with The Virtual Brain's equations and default parameters.

Every model reproduces the ``dfun`` of the same-named model in
``tvb.simulator.models`` (local coupling omitted) with TVB's default parameter
values and state order; the tests cross-check them against tvb-library in
float64. Time is in milliseconds, as in TVB.

A new model is one file in this package (a subclass of
:class:`AbstractDynamics`) and one line in :data:`MODELS`; the package
exports and the tests (every model through every solver and executor) read
the registry.
"""

from sweepjax.network._models.coombes_byrne import CoombesByrne
from sweepjax.network._models.epileptor import Epileptor
from sweepjax.network._models.generic_2d_oscillator import Generic2dOscillator
from sweepjax.network._models.jansen_rit import JansenRit
from sweepjax.network._models.kuramoto import Kuramoto
from sweepjax.network._models.larter_breakspear import LarterBreakspear
from sweepjax.network._models.linear import Linear
from sweepjax.network._models.lorenz import Lorenz
from sweepjax.network._models.montbrio_pazo_roxin import MontbrioPazoRoxin
from sweepjax.network._models.reduced_wong_wang import ReducedWongWang
from sweepjax.network._models.reduced_wong_wang_exc_inh import ReducedWongWangExcInh
from sweepjax.network._models.rossler import Rossler
from sweepjax.network._models.sup_hopf import SupHopf
from sweepjax.network._models.wilson_cowan import WilsonCowan

#: Every model, by class name.
MODELS = {
    model.__name__: model
    for model in (
        ReducedWongWang,
        Generic2dOscillator,
        SupHopf,
        JansenRit,
        Kuramoto,
        ReducedWongWangExcInh,
        MontbrioPazoRoxin,
        WilsonCowan,
        Linear,
        CoombesByrne,
        Epileptor,
        LarterBreakspear,
    )
}

#: Textbook flows with published Lyapunov exponents, to check the
#: estimators (not TVB models: not in ``MODELS`` and its TVB cross-checks).
REFERENCE_FLOWS = {model.__name__: model for model in (Lorenz, Rossler)}

__all__ = ["MODELS", "REFERENCE_FLOWS", *MODELS, *REFERENCE_FLOWS]
