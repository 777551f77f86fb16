"""The network package's public names stay put (layering: tests/test_layering.py)."""

from __future__ import annotations

import sweepjax.network

PUBLIC = """
AbstractCoupling AbstractDynamics AbstractFixedStepSolver AbstractGraph
AbstractMonitor AbstractNoise AbstractSolver AdditiveNoise Connectome
AbstractDelayGraph DelayedLinearCoupling DenseDelayGraph SparseDelayGraph SparseGraph
DenseGraph Diffrax Euler Generic2dOscillator Heun JansenRit Kuramoto
KuramotoCoupling LinearCoupling Network RK4 Raw ReducedWongWang Solution SubSample
SupHopf TemporalAverage available_connectomes
load_connectome make_config prepare
AbstractObserver Covariance FC Mean Std Synchrony
EmpiricalData available_datasets load_dataset
MontbrioPazoRoxin ReducedWongWangExcInh CoombesByrne Linear WilsonCowan
Epileptor LarterBreakspear
BOLD BalloonWindkessel FCD bold Average
HRFBold first_order_volterra Power PeakFrequency power_spectrum
fc fc_correlation fcd fcd_distance ks_distance sliding_fc to_samples upper_triangle
fcd_wasserstein wasserstein_distance
ScalingCoupling HyperbolicTangentCoupling SigmoidalCoupling SigmoidalJansenRitCoupling
PreSigmoidalCoupling DifferenceCoupling MultiplicativeNoise
AbstractStimulus PulseTrain Sinusoid DataStimulus
leaf Plan
Lorenz Rossler Lyapunov LyapunovSpectrum
RunState Continuation random_starts replicates
classify_regimes combine_replicates regime_names
DenseLengthGraph EdgeLinearCoupling Constant Ramp Step
null_model random_graph random_weights
""".split()


def test_public_names():
    assert sorted(sweepjax.network.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(sweepjax.network, name).__module__.startswith("sweepjax.network")
