"""Components are Equinox Modules with one leaf protocol (``leaves()``), and
one walk lays out the config and its checks (network/_layout.py)."""

from __future__ import annotations

import dataclasses
import re

import equinox as eqx
import jax
import numpy as np
import pytest

from sweepjax.network import (
    BOLD,
    FC,
    FCD,
    RK4,
    AbstractDynamics,
    AbstractObserver,
    AbstractSolver,
    AdditiveNoise,
    Average,
    Covariance,
    DataStimulus,
    DelayedLinearCoupling,
    DenseDelayGraph,
    DenseGraph,
    Euler,
    Heun,
    HRFBold,
    KuramotoCoupling,
    LinearCoupling,
    Mean,
    MultiplicativeNoise,
    Network,
    PeakFrequency,
    Power,
    PreSigmoidalCoupling,
    PulseTrain,
    ReducedWongWang,
    SigmoidalJansenRitCoupling,
    Sinusoid,
    SparseDelayGraph,
    SparseGraph,
    Std,
    SubSample,
    Synchrony,
    TemporalAverage,
    make_config,
)
from sweepjax.network._checks import dotted
from sweepjax.network._component import AbstractComponent
from sweepjax.network._couplings import COUPLINGS
from sweepjax.network._layout import leaf_rules
from sweepjax.network._monitors import AbstractMonitor, Raw
from sweepjax.network._observer import Timing

#: One builder of each kind of component, each called twice by the tests.
BUILDERS = {
    **{
        name: (lambda cls=cls: cls(("y1", "y2")))
        for name, cls in COUPLINGS.items()
        if name != "KuramotoCoupling"
    },
    "KuramotoCoupling": lambda: KuramotoCoupling(G=2.0, delayed=True),
    "DelayedLinearCoupling": lambda: DelayedLinearCoupling("S", G=0.5),
    "AdditiveNoise": lambda: AdditiveNoise(0.1, 3, states="S"),
    "MultiplicativeNoise": lambda: MultiplicativeNoise(0.1, a=2.0, key=1),
    "PulseTrain": lambda: PulseTrain("S", T=20.0),
    "Sinusoid": lambda: Sinusoid("S", amp=0.5, weights=np.ones(3)),
    "DataStimulus": lambda: DataStimulus("S", np.zeros(10)),
    "DenseGraph": lambda: DenseGraph(np.eye(3)),
    "DenseDelayGraph": lambda: DenseDelayGraph(np.eye(2), np.ones((2, 2))),
    "SparseGraph": lambda: SparseGraph([0], [1], [0.5], n_nodes=2),
    "SparseDelayGraph": lambda: SparseDelayGraph([0], [1], [0.5], [2.0], n_nodes=2),
    "ReducedWongWang": lambda: ReducedWongWang(w=0.9),
}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_components_are_immutable(name):
    component = BUILDERS[name]()
    field = dataclasses.fields(component)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign"):
        setattr(component, field, None)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_components_are_equal_by_value(name):
    first, second = BUILDERS[name](), BUILDERS[name]()
    assert first is not second and first == second
    name, (value, _) = next(iter(first.leaves().items()))
    if isinstance(first, AbstractDynamics):
        changed = eqx.tree_at(lambda c: c.parameters[name], first, value + 1.0)
    else:
        changed = eqx.tree_at(lambda c: getattr(c, name), first, value + 1.0)
    assert not changed == first


@pytest.mark.parametrize("name", list(BUILDERS))
def test_repr_is_equinox_s_and_shows_the_values(name):
    component = BUILDERS[name]()
    assert type(component).__repr__ is eqx.Module.__repr__
    assert repr(component).startswith(type(component).__name__ + "(")


def test_repr_prints_arrays_short_and_values_given():
    assert repr(DenseGraph(np.eye(76))) == "DenseGraph(weights=f64[76,76](numpy))"
    assert repr(LinearCoupling("S", G=0.5)) == (
        "LinearCoupling(incoming_states=('S',), G=0.5)"
    )
    network = Network(ReducedWongWang(), None, DenseGraph(np.eye(2)))
    assert type(network).__repr__ is eqx.Module.__repr__
    assert "graph=DenseGraph(weights=f64[2,2](numpy))" in repr(network)


@pytest.mark.parametrize(
    "build, error, message",
    [
        (
            lambda: AdditiveNoise(-0.1),
            ValueError,
            "sigma must hold finite values >= 0, got a negative value (minimum -0.1).",
        ),
        (
            lambda: MultiplicativeNoise(0.1, a=np.inf),
            ValueError,
            "a must hold finite values, got inf.",
        ),
        (
            lambda: AdditiveNoise(0.1, key="seed"),
            TypeError,
            "key must be a JAX PRNG key (jax.random.key(seed)), an int seed or "
            "None, got 'seed'.",
        ),
        (
            lambda: PulseTrain("x", T=-1.0),
            ValueError,
            "T must hold finite values >= 0, got a negative value (minimum -1).",
        ),
        (
            lambda: DataStimulus("x", [0.0, np.nan]),
            ValueError,
            "data must hold finite values, got NaN.",
        ),
        (
            lambda: Sinusoid(3),
            TypeError,
            "states must be a state name or a non-empty sequence of state names, "
            "got 3.",
        ),
        (
            lambda: DenseGraph([[np.nan]]),
            ValueError,
            "weights must hold finite values, got NaN.",
        ),
        (
            lambda: DenseDelayGraph(np.eye(2), -np.ones((2, 2))),
            ValueError,
            "delays must hold finite values >= 0 ms, got a negative value "
            "(minimum -1).",
        ),
        (
            lambda: LinearCoupling("S", target=3),
            TypeError,
            "target must be a coupling input name, got 3.",
        ),
        (
            lambda: KuramotoCoupling(incoming_states=[]),
            TypeError,
            "incoming_states must be a state name or a non-empty sequence of state "
            "names, got [].",
        ),
        (
            lambda: SigmoidalJansenRitCoupling(("y1",)),
            ValueError,
            "SigmoidalJansenRitCoupling reads two states (u, v) and sends "
            "S(u - v); got incoming_states=('y1',).",
        ),
        (
            lambda: ReducedWongWang(x=1.0),
            ValueError,
            "ReducedWongWang got unknown parameter(s) ['x']; its parameters are "
            "['I_o', 'J_N', 'a', 'b', 'd', 'gamma', 'tau_s', 'w'].",
        ),
    ],
    ids=lambda value: "" if callable(value) or isinstance(value, str) else None,
)
def test_an_invalid_value_raises_the_same_error(build, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        build()


NETWORK = Network(
    ReducedWongWang(w=0.9),
    {
        "lin": LinearCoupling("S", G=0.5),
        "pre": PreSigmoidalCoupling("S", dynamic=False),
        "late": DelayedLinearCoupling("S"),
    },
    DenseDelayGraph(np.eye(2)[::-1], np.ones((2, 2))),
    MultiplicativeNoise(0.1, a=2.0, key=0),
    stimulus={"pulses": PulseTrain("S"), "rec": DataStimulus("S", np.zeros(10))},
)


def test_the_config_layout_is_unchanged():
    """Stores fingerprint the dotted paths, in order: the ones before the
    components became Modules."""
    flat = jax.tree_util.tree_flatten_with_path(
        make_config(NETWORK), is_leaf=lambda x: x is None
    )[0]
    dynamics = ["a", "b", "d", "gamma", "tau_s", "w", "J_N", "I_o"]
    assert [dotted(path) for path, _ in flat] == [
        *(f"dynamics.{name}" for name in dynamics),
        *("coupling.lin.G", "coupling.lin.b"),
        *(f"coupling.pre.{name}" for name in ("H", "Q", "G", "P", "theta")),
        *("coupling.late.G", "coupling.late.b", "graph.weights", "graph.delays"),
        *("noise.sigma", "noise.key", "noise.a", "noise.b"),
        *(f"stimulus.pulses.{name}" for name in ("onset", "T", "tau", "amp")),
        *("stimulus.pulses.weights", "stimulus.rec.data", "stimulus.rec.weights"),
        *("initial_state", "noise_samples", "start"),
    ]


def test_the_checks_come_from_the_same_walk_as_the_config():
    """Every rule names a leaf of the config, and it is the rule its
    component's field declares."""
    config = make_config(NETWORK)
    rules = leaf_rules(NETWORK)
    for path, rule in rules.items():
        *parts, name = path.split(".")
        node = config
        for part in parts:
            node = node[part]
        assert name in node, path
    assert rules["stimulus.pulses.T"] is PulseTrain("S").leaves()["T"].allowed
    assert rules["graph.delays"].describe() == "finite values >= 0 ms"
    assert "noise.key" not in rules and "coupling.lin.G" not in rules


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("sweepjax.network"):
            found += [sub, *_subclasses(sub)]
    return found


COMPONENT_CLASSES = [
    *_subclasses(AbstractComponent),
    Network,
    *_subclasses(AbstractSolver),
    *_subclasses(AbstractObserver),
]


@pytest.mark.parametrize("cls", COMPONENT_CLASSES, ids=lambda cls: cls.__name__)
def test_every_class_is_abstract_or_final(cls):
    """Equinox's rule: a class that others extend is abstract (and named so)."""
    if _subclasses(cls):
        assert cls.__name__.lstrip("_").startswith("Abstract"), cls


@pytest.mark.parametrize("cls", COMPONENT_CLASSES, ids=lambda cls: cls.__name__)
def test_only_abstract_methods_are_overridden(cls):
    """Equinox's rule: no method replaces a parent's implementation, so no
    call ever has to skip a parent to reach a grandparent's."""
    for name, member in vars(cls).items():
        if name.startswith("__") or not callable(member):
            continue
        for base in cls.__mro__[1:]:
            inherited = vars(base).get(name)
            if inherited is not None:
                assert getattr(inherited, "__isabstractmethod__", False), (
                    f"{cls.__name__}.{name} overrides {base.__name__}'s"
                )
                break


def test_a_long_list_prints_as_a_short_array():
    stimulus = DataStimulus("S", [0.0] * 1000, weights=[1.0, 0.5])
    assert repr(stimulus) == (
        "DataStimulus(states=('S',), data=f64[1000](numpy), weights=f64[2](numpy))"
    )
    coupling = LinearCoupling("S", G=[[0.5], [0.0]])
    assert "G=f64[2,1](numpy)" in repr(coupling)


#: Solvers and observers: two builds of each are equal, and the second
#: builder differs in one value. The repr is the string stores fingerprint
#: (``solve_settings``), kept as it was before they became Modules.
MODULES = {
    "Euler": (Euler, lambda: Euler(checkpoint=False), "Euler()"),
    "Heun": (Heun, lambda: Heun(False), "Heun()"),
    "RK4": (lambda: RK4(False), RK4, "RK4(checkpoint=False)"),
    "Mean": (lambda: Mean("S"), lambda: Mean("x"), "Mean('S')"),
    "Std": (lambda: Std("S"), lambda: Std("S", ddof=1), "Std('S', ddof=0)"),
    "Covariance": (
        lambda: Covariance("S", ddof=1),
        lambda: Covariance("S"),
        "Covariance('S', ddof=1)",
    ),
    "Synchrony": (
        lambda: Synchrony(("x", "y")),
        lambda: Synchrony("x"),
        "Synchrony(('x', 'y'))",
    ),
    "Average": (
        lambda: Average("S", period_ms=1.0),
        lambda: Average("S", period_ms=2.0),
        "Average('S', period_ms=1.0)",
    ),
    "BOLD": (
        lambda: BOLD("S", tr_ms=720.0),
        lambda: BOLD("S", tr_ms=700.0),
        "BOLD('S', tr_ms=720.0)",
    ),
    "HRFBold": (
        lambda: HRFBold("S", tr_ms=2000.0),
        lambda: HRFBold("S", tr_ms=2000.0, hrf_length_ms=10_000.0),
        "HRFBold('S', tr_ms=2000.0)",
    ),
    "FC": (lambda: FC("S"), lambda: FC("x"), "FC('S')"),
    "FC_of_BOLD": (
        lambda: FC(BOLD("S", tr_ms=720.0)),
        lambda: FC(BOLD("S", tr_ms=360.0)),
        "FC(BOLD('S', tr_ms=720.0))",
    ),
    "FCD": (
        lambda: FCD(BOLD("S", tr_ms=720.0), window=30, step=5),
        lambda: FCD(BOLD("S", tr_ms=720.0), window=30, step=4),
        "FCD(BOLD('S', tr_ms=720.0), window=30, step=5)",
    ),
    "Power": (
        lambda: Power("x", frequencies=[8.0, 10.0]),
        lambda: Power("x", frequencies=[8.0, 11.0]),
        "Power('x', frequencies=[8.0, 10.0])",
    ),
    "PeakFrequency": (
        lambda: PeakFrequency(BOLD("S", tr_ms=720.0), frequencies=[0.1]),
        lambda: PeakFrequency(BOLD("S", tr_ms=720.0), frequencies=[0.2]),
        "PeakFrequency(BOLD('S', tr_ms=720.0), frequencies=[0.1])",
    ),
    "Raw": (Raw, lambda: SubSample(1), "Raw()"),
    "SubSample": (lambda: SubSample(10), lambda: SubSample(5), "SubSample(every=10)"),
    "TemporalAverage": (
        lambda: TemporalAverage(2),
        lambda: TemporalAverage(3),
        "TemporalAverage(every=2)",
    ),
}


@pytest.mark.parametrize("name", list(MODULES))
def test_solvers_and_observers_are_immutable(name):
    module = MODULES[name][0]()
    assert isinstance(module, eqx.Module)
    fields = [f.name for f in dataclasses.fields(module)] or ["every"]
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign"):
        setattr(module, fields[0], None)


@pytest.mark.parametrize("name", list(MODULES))
def test_solvers_and_observers_are_equal_by_value(name):
    build, build_other, _ = MODULES[name]
    first, second = build(), build()
    assert first is not second and first == second
    assert not build_other() == first


@pytest.mark.parametrize("name", list(MODULES))
def test_solver_and_observer_reprs_are_the_fingerprinted_strings(name):
    """``solve_settings`` records these reprs and stores compare them."""
    module = MODULES[name][0]()
    assert repr(module) == MODULES[name][2]
    if isinstance(module, AbstractMonitor):  # Equinox's repr gives the same
        assert type(module).__repr__ is eqx.Module.__repr__


@pytest.mark.parametrize(
    "observer",
    [
        Average("S", period_ms=1.0),
        BOLD("S", tr_ms=1.0),
        HRFBold("S", tr_ms=4.0),
        FC(BOLD("S", tr_ms=1.0)),
        Power("x", frequencies=[100.0]),
    ],
    ids=repr,
)
def test_bind_returns_a_new_observer_and_leaves_the_original(observer):
    bound = observer.bind(0.5, 16)
    assert bound is not observer and not bound == observer
    assert getattr(observer, "source", observer).timing is None
    assert getattr(bound, "source", bound).timing == Timing(0.5, 16)
