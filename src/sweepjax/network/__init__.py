"""Whole-brain network simulation: the models that sweepjax sweeps.

A :class:`Network` joins node dynamics, named couplings, a graph and noise;
:func:`prepare` compiles it into one jitted ``solve_fn`` and a config whose
leaves (coupling strengths, noise level and key, weights, delays, parameters,
initial state) can carry sweep axes::

    network = Network(
        dynamics=ReducedWongWang(),
        coupling={"instant": LinearCoupling(incoming_states="S", G=0.5)},
        graph=load_connectome("76").graph(),
        noise=AdditiveNoise(sigma=1e-3),
    )
    solve_fn, config = prepare(network, Heun(), t0=0.0, t1=1000.0, dt=0.1)
    ys = solve_fn(config).ys        # [n_steps, n_states, n_nodes]
"""

from sweepjax.network._bold import BalloonWindkessel, bold, first_order_volterra
from sweepjax.network._component import leaf
from sweepjax.network._connectome import (
    Connectome,
    available_connectomes,
    load_connectome,
)
from sweepjax.network._continuation import Continuation
from sweepjax.network._coupling import AbstractCoupling
from sweepjax.network._couplings import (
    DelayedLinearCoupling,
    DifferenceCoupling,
    HyperbolicTangentCoupling,
    KuramotoCoupling,
    LinearCoupling,
    PreSigmoidalCoupling,
    ScalingCoupling,
    SigmoidalCoupling,
    SigmoidalJansenRitCoupling,
)
from sweepjax.network._datasets import EmpiricalData, available_datasets, load_dataset
from sweepjax.network._diffrax import Diffrax
from sweepjax.network._dynamics import AbstractDynamics
from sweepjax.network._edge_coupling import EdgeLinearCoupling
from sweepjax.network._graph import (
    AbstractDelayGraph,
    AbstractGraph,
    DenseDelayGraph,
    DenseGraph,
    SparseDelayGraph,
    SparseGraph,
)
from sweepjax.network._layout import make_config
from sweepjax.network._lengths import DenseLengthGraph
from sweepjax.network._lyapunov import Lyapunov, LyapunovSpectrum
from sweepjax.network._metrics import (
    fc,
    fc_correlation,
    fcd,
    fcd_distance,
    ks_distance,
    sliding_fc,
    to_samples,
    upper_triangle,
)
from sweepjax.network._models import (
    CoombesByrne,
    Epileptor,
    Generic2dOscillator,
    JansenRit,
    Kuramoto,
    LarterBreakspear,
    Linear,
    Lorenz,
    MontbrioPazoRoxin,
    ReducedWongWang,
    ReducedWongWangExcInh,
    Rossler,
    SupHopf,
    WilsonCowan,
)
from sweepjax.network._monitors import AbstractMonitor, Raw, SubSample, TemporalAverage
from sweepjax.network._network import Network
from sweepjax.network._noise import AbstractNoise, AdditiveNoise, MultiplicativeNoise
from sweepjax.network._observers import (
    BOLD,
    FC,
    FCD,
    AbstractObserver,
    Average,
    Covariance,
    HRFBold,
    Mean,
    PeakFrequency,
    Power,
    Std,
    Synchrony,
)
from sweepjax.network._prepare import prepare
from sweepjax.network._random_graphs import null_model, random_graph, random_weights
from sweepjax.network._regimes import (
    classify_regimes,
    combine_replicates,
    regime_names,
)
from sweepjax.network._replicates import random_starts, replicates
from sweepjax.network._resume import RunState
from sweepjax.network._solution import Plan, Solution
from sweepjax.network._solvers import (
    RK4,
    AbstractFixedStepSolver,
    AbstractSolver,
    Euler,
    Heun,
)
from sweepjax.network._spectra import power_spectrum
from sweepjax.network._stimulus import (
    AbstractStimulus,
    Constant,
    DataStimulus,
    PulseTrain,
    Ramp,
    Sinusoid,
    Step,
)
from sweepjax.network._wasserstein import fcd_wasserstein, wasserstein_distance

__all__ = [
    "AbstractCoupling",
    "AbstractDelayGraph",
    "AbstractDynamics",
    "AbstractFixedStepSolver",
    "AbstractGraph",
    "AbstractMonitor",
    "AbstractNoise",
    "AbstractObserver",
    "AbstractSolver",
    "AbstractStimulus",
    "AdditiveNoise",
    "Average",
    "BOLD",
    "BalloonWindkessel",
    "Connectome",
    "Continuation",
    "Constant",
    "CoombesByrne",
    "Covariance",
    "DataStimulus",
    "DelayedLinearCoupling",
    "DenseDelayGraph",
    "DenseGraph",
    "DenseLengthGraph",
    "DifferenceCoupling",
    "Diffrax",
    "EdgeLinearCoupling",
    "EmpiricalData",
    "Epileptor",
    "Euler",
    "FC",
    "FCD",
    "Generic2dOscillator",
    "Heun",
    "HRFBold",
    "HyperbolicTangentCoupling",
    "JansenRit",
    "Kuramoto",
    "KuramotoCoupling",
    "LarterBreakspear",
    "Linear",
    "LinearCoupling",
    "Lorenz",
    "Lyapunov",
    "LyapunovSpectrum",
    "Mean",
    "MontbrioPazoRoxin",
    "MultiplicativeNoise",
    "Network",
    "PeakFrequency",
    "Power",
    "PreSigmoidalCoupling",
    "PulseTrain",
    "Ramp",
    "RK4",
    "Raw",
    "RunState",
    "ReducedWongWang",
    "ReducedWongWangExcInh",
    "Rossler",
    "ScalingCoupling",
    "SigmoidalCoupling",
    "SigmoidalJansenRitCoupling",
    "Sinusoid",
    "Plan",
    "Solution",
    "SparseDelayGraph",
    "SparseGraph",
    "Step",
    "Std",
    "SubSample",
    "SupHopf",
    "Synchrony",
    "TemporalAverage",
    "WilsonCowan",
    "available_connectomes",
    "available_datasets",
    "bold",
    "classify_regimes",
    "combine_replicates",
    "fc",
    "fc_correlation",
    "fcd",
    "fcd_distance",
    "fcd_wasserstein",
    "first_order_volterra",
    "ks_distance",
    "leaf",
    "load_connectome",
    "load_dataset",
    "make_config",
    "power_spectrum",
    "prepare",
    "random_starts",
    "regime_names",
    "replicates",
    "null_model",
    "random_graph",
    "random_weights",
    "sliding_fc",
    "to_samples",
    "upper_triangle",
    "wasserstein_distance",
]
