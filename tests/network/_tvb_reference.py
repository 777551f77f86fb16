"""Cross-check against tvb-library in float64; run as a script (JAX_ENABLE_X64=1).

Prints one line ``CHECK name max_relative_error`` per check (see
:func:`rel_error`) and ``NOTE`` lines that are not checks. Kept out of the
pytest process because it needs float64 JAX and imports the heavy TVB
simulator. Every check compares a deterministic Heun trajectory of both
simulators, ``N_STEPS`` steps of ``DT`` on ``N_NODES`` nodes:

- ``uncoupled-<Model>``, ``delayed-<Model>``: every model of ``MODELS`` with
  TVB's default parameters (but those of ``MODEL_TABLE``), uncoupled and
  coupled through conduction delays (TVB ``coupling.Linear(a)``, ours
  ``LinearCoupling(..., G=a, delayed=True)`` on the states TVB's ``dfun``
  reads: the first of its ``cvar``, as many as our ``coupling_inputs["c"]``
  has components).
- ``<Coupling>-delays``, ``<Coupling>-zero-delays``: every coupling of ours,
  with non-default parameters, against TVB's same-named one.
- ``stimulus-<Equation>``: TVB region stimuli (on TVB's ``stvar``) against ours.
- ``bounds-<Model>``: runs that sit on TVB's ``state_variable_boundaries``.
- ``noise-<kind>``: ``HeunStochastic`` fed the same standard normals as ours.
- ``bold-hrf-<kernel>``: TVB's ``Bold`` monitor fed our recorded state,
  against our ``HRFBold`` observer in the same run.

Our instantaneous couplings are re-evaluated at the Heun predictor while TVB
holds the coupling over the step, so every coupled run goes through our
delayed path (``delayed=True``), zero delays included. TVB keeps its history
and the weights it multiplies it with in float32, so the weights and initial
states fed to both are float32 numbers; the states TVB stores as it runs are
rounded to float32, which bounds the coupled checks' agreement (1e-11 to
3e-8 here, growing where a state moves fast; ``TVB_FLOAT64_HISTORY=1``
gives TVB a float64 history, for diagnosis, and every check then agrees to
1e-12 or better).

Compiling is most of the run time, so each model compiles once: its
network holds the Linear coupling of the model checks and, for some models,
the other couplings and a stimulus (:func:`_extras`); a run switches off (zero
strength: an exact 0) every coupling but the one checked and varies the
rest (weights, delays, parameters, amplitudes) through the config.
"""

from __future__ import annotations

import copy
import os
import sys
import time
import types
import warnings
import zlib

import jax
import jax.numpy as jnp
import numpy as np

warnings.filterwarnings("ignore")

from tvb.datatypes import connectivity, equations, patterns  # noqa: E402
from tvb.simulator import coupling as tvb_coupling  # noqa: E402
from tvb.simulator import integrators, models, monitors, noise, simulator  # noqa: E402
from tvb.simulator.descriptors import NDArray  # noqa: E402
from tvb.simulator.history import BaseHistory, DenseHistory, SparseHistory  # noqa: E402

from sweepjax import network as sn  # noqa: E402
from sweepjax.network._models import MODELS  # noqa: E402

DT = 0.1
N_STEPS = 300
N_NODES = 4
MAX_DELAY = 6.0  # ms, above every delay of graph_arrays

if os.environ.get("TVB_FLOAT64_HISTORY"):  # diagnosis: TVB without its float32
    for cls in (BaseHistory, DenseHistory, SparseHistory):
        for attr in vars(cls).values():
            if isinstance(attr, NDArray) and attr.dtype == "f":
                attr.dtype = np.float64

#: Per model: the coupling strength ``a`` of ``delayed-<Model>``, parameters
#: for every run and initial ranges replacing TVB's ``state_variable_range``
#: (from the wide ranges of these models the runs blow up at dt = 0.1).
MODEL_TABLE = {
    "ReducedWongWang": {"G": 0.4},
    "Generic2dOscillator": {"G": 0.2},
    "SupHopf": {"G": 0.2, "ranges": {"x": (-1.0, 1.0), "y": (-1.0, 1.0)}},
    "JansenRit": {
        "G": 0.002,
        "ranges": {"y1": (-5.0, 5.0), "y2": (-5.0, 5.0), "y4": (-5.0, 5.0)},
    },
    "Kuramoto": {"G": 0.3},
    "ReducedWongWangExcInh": {"G": 1.0},
    "MontbrioPazoRoxin": {"G": 0.3, "ranges": {"r": (0.1, 1.0), "V": (-2.0, 0.0)}},
    "WilsonCowan": {"G": 0.5},
    "Linear": {"G": 0.8, "ranges": {"x": (-1.0, 1.0)}},
    # near its focus: from TVB's range its fast spikes blow up at dt = 0.1
    "CoombesByrne": {
        "G": 0.1,
        "ranges": {
            "r": (0.8, 1.2),
            "V": (-2.5, -1.5),
            "g": (1.3, 1.7),
            "q": (-0.1, 0.1),
        },
    },
    # TVB's coupling gains are 0 by default: the coupled run needs them
    "Epileptor": {"G": 0.05, "params": {"Ks": 0.5, "Kvf": 0.4, "Kf": 0.3}},
    "LarterBreakspear": {"G": 0.3},
}

#: Config leaves that switch each coupling off (its output an exact 0).
OFF = {
    "LinearCoupling": {"G": 0.0, "b": 0.0},
    "ScalingCoupling": {"a": 0.0},
    "HyperbolicTangentCoupling": {"a": 0.0},
    "SigmoidalCoupling": {"cmin": 0.0, "cmax": 0.0},
    "SigmoidalJansenRitCoupling": {"a": 0.0},
    "PreSigmoidalCoupling": {"H": 0.0},
    "DifferenceCoupling": {"a": 0.0},
    "KuramotoCoupling": {"G": 0.0},
}


def _arrays(params):
    """TVB's parameters: each value an array."""
    return {k: np.array([v]) for k, v in params.items()}


def linear_a(a):
    """TVB's ``coupling.Linear(a)``."""
    return tvb_coupling.Linear(a=np.array([a]))


class PreSigmoidalAfferent(tvb_coupling.PreSigmoidal):
    """TVB 2.10's ``PreSigmoidal`` with its sum taken over the afferents.

    TVB sums ``W * A`` over the receiving axis (:func:`tvb_presigmoidal`):
    node ``i`` gets its own output ``A_i`` times its row sum (static) or
    column sum (dynamic ``c_0``). Here ``c_0[i] = sum_j W[i, j] * A(x_j(t -
    d[i, j]))``, every other expression TVB's; the dynamic ``c_1`` is TVB's
    own (``super().__call__``), right where every node has a self-connection.
    """

    def __call__(self, step, history, na=np.newaxis):
        g_ij = history.es_weights  # [to, 1, from, 1]
        _, x_j = history.query(step)  # [to, n_cvar, from, 1]
        if self.dynamic:
            arg = (self.P * x_j[:, 0] - x_j[:, 1, self.sliceT])[:, na]
        else:
            arg = self.P * x_j - self.theta[self.sliceT, na]
        A_j = self.H * (self.Q + np.tanh(self.G * arg))
        c_0 = (g_ij * A_j).sum(axis=2).transpose((1, 0, 2))  # [n_cvar, to, 1]
        if self.dynamic:
            return np.array([c_0[0], super().__call__(step, history)[1]])
        return c_0


def coupling_check(name, ours, tvb, model_params=None, self_loops=False):
    """A coupling check ``name``: our coupling and TVB's, the model's
    parameters for it and whether the nodes get self-connections."""
    return {
        "name": name,
        "ours": ours,
        "tvb": tvb,
        "model_params": model_params or {},
        "self_loops": self_loops,
    }


def _extras():
    """Per model: the couplings checked on its network (non-default
    parameters) and the stimulus on TVB's ``stvar`` with its runs."""
    ht = {"a": 0.3, "b": 0.7, "midpoint": 0.4, "sigma": 1.3}
    sig = {"cmin": -0.4, "cmax": 0.9, "midpoint": 0.2, "a": 1.7, "sigma": 2.5}
    jr = {"cmin": 0.001, "cmax": 0.012, "midpoint": 5.0, "r": 0.5, "a": 3.0}
    ps = {"H": 0.4, "Q": 0.8, "G": 3.0, "P": 1.2, "theta": 0.3}
    ps_dynamic = {k: v for k, v in ps.items() if k != "theta"}
    # pulse edges off the time grid t_k = k * dt, so both agree on each step
    pulse = {"onset": 2.03, "T": 4.97, "tau": 1.52, "amp": 0.8}
    return {
        "Generic2dOscillator": {
            "couplings": [
                coupling_check(
                    "Scaling",
                    sn.ScalingCoupling("V", a=0.25, delayed=True),
                    tvb_coupling.Scaling(a=np.array([0.25])),
                ),
                coupling_check(
                    "HyperbolicTangent",
                    sn.HyperbolicTangentCoupling("V", **ht, delayed=True),
                    tvb_coupling.HyperbolicTangent(**_arrays(ht)),
                ),
                coupling_check(
                    "Sigmoidal",
                    sn.SigmoidalCoupling("V", **sig, delayed=True),
                    tvb_coupling.Sigmoidal(**_arrays(sig)),
                ),
                coupling_check(
                    "PreSigmoidal-static",
                    sn.PreSigmoidalCoupling("V", **ps, dynamic=False, delayed=True),
                    PreSigmoidalAfferent(**_arrays(ps), dynamic=False),
                ),
                coupling_check(
                    "Difference",
                    sn.DifferenceCoupling("V", a=0.23, delayed=True),
                    tvb_coupling.Difference(a=np.array([0.23])),
                ),
            ]
        },
        "JansenRit": {
            "couplings": [
                coupling_check(
                    "SigmoidalJansenRit",
                    sn.SigmoidalJansenRitCoupling(("y1", "y2"), **jr, delayed=True),
                    tvb_coupling.SigmoidalJansenRit(**_arrays(jr)),
                )
            ]
        },
        "SupHopf": {
            "couplings": [
                coupling_check(
                    "PreSigmoidal-dynamic",
                    sn.PreSigmoidalCoupling(
                        ("x", "y"), **ps_dynamic, dynamic=True, delayed=True
                    ),
                    PreSigmoidalAfferent(**_arrays(ps_dynamic), dynamic=True),
                    model_params={"a": 0.3},
                    self_loops=True,  # TVB's c_1 needs them (tvb_presigmoidal)
                )
            ]
        },
        "Kuramoto": {
            "couplings": [
                # TVB's a multiplies sum_j W[i, j] sin(x_j - x_i), our G / n_nodes
                coupling_check(
                    "Kuramoto",
                    sn.KuramotoCoupling("theta", G=0.6 * N_NODES, delayed=True),
                    tvb_coupling.Kuramoto(a=np.array([0.6])),
                )
            ]
        },
        # S driven over 1 and below 0 by the strong sinusoid (dt * amp = 1.2);
        # with I_o = 45, S' ~ 3 (1 - S) / ms: rising from below, the Heun
        # predictor overshoots 1 while the step ends below it, so the run
        # also tests the clamp of the predictor (without it: 1.5e-2 off)
        "ReducedWongWang": {
            "stimulus": ("Sinusoid", {"amp": 0.05, "frequency": 0.07}),
            "bounded": {
                "stimulus": {"amp": 12.0, "frequency": 0.05},
                "params": {"I_o": 45.0},
            },
        },
        # r' = (Delta / pi + 2 r V) / tau: a step takes r below 0 once V < -5
        "MontbrioPazoRoxin": {
            "stimulus": ("PulseTrain", pulse),
            "bounded": {"params": {"eta": -100.0}},
        },
    }


def seeded(name):
    """A generator of its own for the checks called ``name``."""
    return np.random.default_rng([0, zlib.crc32(name.encode())])


def f32(x):
    """``x`` rounded to float32 numbers, as float64 (what TVB's history holds)."""
    return np.asarray(x, np.float32).astype(np.float64)


def rel_error(got, ref):
    """Max over state variables of ``max|got - ref| / max|ref|`` (over steps
    and nodes): the error relative to each state's scale, which stays
    meaningful where a state crosses zero."""
    assert got.shape == ref.shape, (got.shape, ref.shape)
    assert np.all(np.isfinite(ref)) and np.all(np.isfinite(got)), "not finite"
    scale = np.max(np.abs(ref), axis=(0, 2))
    error = np.max(np.abs(got - ref), axis=(0, 2))
    return float(np.max(error / np.maximum(scale, 1e-300)))


def report(name, got, ref):
    print(f"CHECK {name} {rel_error(got, ref):.3e}", flush=True)


def require(condition, message):
    if not condition:
        raise AssertionError(message)


def distinct(a, b, what, at_least=1e-4):
    """The runs ``a`` and ``b`` differ by more than ``at_least``, so a check
    of ``a`` at 1e-6 tests ``what``."""
    change = rel_error(a, b)
    require(change > at_least, f"{what} changes the run by only {change:.1e}")


def graph_arrays(rng, n=N_NODES):
    """float32 weights without self-connections, delays (ms) >= dt away from
    half steps, zero on the diagonal (self-connections have no delay)."""
    weights = f32(rng.uniform(0.2, 1.0, (n, n)))
    np.fill_diagonal(weights, 0.0)
    steps = rng.integers(1, round(MAX_DELAY / DT), (n, n))
    delays = DT * (steps + rng.uniform(-0.3, 0.3, (n, n)))
    np.fill_diagonal(delays, 0.0)
    return weights, f32(delays)


def initial_state(tvb_model, overrides, rng, n=N_NODES):
    ranges = {**tvb_model.state_variable_range, **overrides}
    return f32([rng.uniform(*ranges[s], n) for s in tvb_model.state_variables])


# -- the two simulators ---------------------------------------------------------


class FedNormals(np.random.RandomState):
    """A random stream whose ``normal`` returns the given draws in turn."""

    def __init__(self, z):
        super().__init__(0)
        self.z, self.k = z, 0

    def normal(self, loc=0.0, scale=1.0, size=None):
        draw = self.z[self.k]
        self.k += 1
        return draw.reshape(size)


def tvb_simulator(model, weights, delays, coupling, y0, noise_=None, stimulus=None):
    """TVB's configured Heun simulator from ``y0`` (``noise_``: a TVB noise,
    for ``HeunStochastic``; ``stimulus``: ``(equation, node weights)``)."""
    n = weights.shape[0]
    model.variables_of_interest = tuple(model.state_variables)
    conn = connectivity.Connectivity(
        weights=weights,
        tract_lengths=delays,
        speed=np.array([1.0]),
        region_labels=np.array([f"r{i}" for i in range(n)]),
        centres=np.zeros((n, 3)),
    )
    conn.configure()
    if noise_ is None:
        integrator = integrators.HeunDeterministic(dt=DT)
    else:
        integrator = integrators.HeunStochastic(dt=DT, noise=noise_)
    if stimulus is not None:
        equation, node_weights = stimulus
        stimulus = patterns.StimuliRegion(
            temporal=equation, connectivity=conn, weight=node_weights
        )
    horizon = int(np.rint(delays / DT).max()) + 1  # TVB's history length
    sim = simulator.Simulator(
        model=model,
        connectivity=conn,
        coupling=coupling,
        integrator=integrator,
        monitors=(monitors.Raw(),),
        stimulus=stimulus,
        simulation_length=(N_STEPS - 0.5) * DT,  # N_STEPS steps, no rounding doubt
        initial_conditions=np.broadcast_to(
            y0[None, :, :, None], (horizon, *y0.shape, 1)
        ).copy(),
    )
    return sim.configure()


def tvb_run(*args, **kwargs):
    """TVB's trajectory ``[N_STEPS, n_states, n_nodes]`` (arguments as
    :func:`tvb_simulator`)."""
    ((_, ys),) = tvb_simulator(*args, **kwargs).run()
    require(ys.shape[0] == N_STEPS, f"TVB ran {ys.shape[0]} steps")
    return ys[..., 0]


class Ours:
    """One compiled network; ``run(active, **leaves)`` solves it with every
    coupling but ``active`` off and config leaves replaced (dotted paths,
    e.g. ``{"graph.delays": zeros}``), without recompiling."""

    def __init__(self, dynamics, couplings, weights, delays, y0, **network_kw):
        # every edge in the delay line, so that runs may add self-connections
        graph = sn.DenseDelayGraph(weights, delays, max_delay=MAX_DELAY, all_edges=True)
        network = sn.Network(dynamics, couplings, graph, initial_state=y0, **network_kw)
        self.couplings = couplings
        self.solve, self.config = sn.prepare(
            network, sn.Heun(), 0.0, (N_STEPS - 0.5) * DT, DT
        )

    def run(self, active, **leaves):
        config = copy.deepcopy(self.config)
        off = {
            f"coupling.{name}.{k}": v
            for name, c in self.couplings.items()
            if name != active
            for k, v in OFF[type(c).__name__].items()
        }
        for path, value in {**off, **leaves}.items():
            *parents, last = path.split(".")
            node = config
            for part in parents:
                node = node[part]
            old = node[last]
            if old is not None:  # the same shape and dtype: no recompilation
                value = jnp.asarray(np.broadcast_to(value, old.shape), old.dtype)
            node[last] = value
        ys = np.asarray(self.solve(config).ys)
        require(ys.shape[0] == N_STEPS, f"sweepjax ran {ys.shape[0]} steps")
        return ys


# -- models, couplings, stimuli and bounds ----------------------------------------


def check_model(name, extras, rng):
    """The model checks of ``name``, then its coupling, stimulus and bound
    checks (``extras``), all on one compiled network."""
    cls, table = MODELS[name], MODEL_TABLE.get(name, {})
    tvb_cls = getattr(models, name)
    tvb_model = tvb_cls()
    tvb_model.configure()
    cvars = tuple(tvb_model.state_variables[i] for i in tvb_model.cvar)
    require(cvars == cls.coupling_variables, f"{name}: TVB's cvar are {cvars}")
    ((_, k),) = cls.coupling_inputs.items()
    a, params = table.get("G", 0.1), table.get("params", {})
    weights, delays = graph_arrays(rng)
    zero = np.zeros_like(weights)
    y0 = initial_state(tvb_model, table.get("ranges", {}), rng)
    couplings = {"link": sn.LinearCoupling(cvars[:k], G=a, delayed=True)}
    for i, check in enumerate(extras.get("couplings", [])):
        couplings[f"c{i}"] = check["ours"]
    stimulus = {}
    if "stimulus" in extras:
        equation, wave = extras["stimulus"]
        stvar = tuple(tvb_model.state_variables[i] for i in tvb_model.stvar)
        node_weights = f32([1.0, 0.0, 0.6, 1.7])  # node 1 not stimulated
        stimulus = {"s": getattr(sn, equation)(stvar, **wave, weights=node_weights)}
    ours = Ours(cls(**params), couplings, weights, delays, y0, stimulus=stimulus)
    off = {"stimulus.s.amp": 0.0} if stimulus else {}

    def tvb(coupling, weights=weights, delays=delays, model_params=None, wave=None):
        model = tvb_cls(**_arrays({**params, **(model_params or {})}))
        drive = None
        if wave is not None:
            drive = (getattr(equations, equation)(parameters=wave), node_weights)
        return tvb_run(model, weights, delays, coupling, y0, stimulus=drive)

    uncoupled = ours.run(None, **{"graph.weights": zero}, **off)
    report(f"uncoupled-{name}", uncoupled, tvb(linear_a(0.0), zero, zero))
    got = ours.run("link", **off)
    distinct(got, uncoupled, f"the coupling of {name}")
    report(f"delayed-{name}", got, tvb(linear_a(a)))

    for i, check in enumerate(extras.get("couplings", [])):
        w = weights + np.diag(f32(rng.uniform(0.2, 1.0, N_NODES))) * check["self_loops"]
        leaves = {"graph.weights": w, **off}
        leaves.update({f"dynamics.{k}": v for k, v in check["model_params"].items()})
        runs = {}
        for label, d in (("delays", delays), ("zero-delays", zero)):
            runs[label] = got = ours.run(f"c{i}", **leaves, **{"graph.delays": d})
            ref = tvb(check["tvb"], w, d, check["model_params"])
            report(f"{check['name']}-{label}", got, ref)
        distinct(runs["delays"], runs["zero-delays"], f"the delays of {check['name']}")
        none = ours.run(None, **{**leaves, "graph.weights": zero})
        distinct(runs["zero-delays"], none, f"the coupling {check['name']}")

    if stimulus:
        got = ours.run("link")
        distinct(got, ours.run("link", **off), f"the stimulus {equation}")
        report(f"stimulus-{equation}", got, tvb(linear_a(a), wave=wave))
        bounded = extras["bounded"]
        wave_b = bounded.get("stimulus", wave)
        leaves = {f"stimulus.s.{k}": v for k, v in wave_b.items()}
        leaves.update(
            {f"dynamics.{k}": v for k, v in bounded.get("params", {}).items()}
        )
        got = ours.run("link", **leaves)
        ref = tvb(linear_a(a), model_params=bounded.get("params"), wave=wave_b)
        hits = []
        for state, (low, high) in cls.state_bounds.items():
            i = tvb_model.state_variables.index(state)
            hits.append((state, low, int(np.sum(ref[:, i] == low))))
            if np.isfinite(high):
                hits.append((state, high, int(np.sum(ref[:, i] == high))))
        print(
            f"NOTE bounds-{name}: samples of TVB's run on its bounds: "
            + ", ".join(f"{state} = {bound:g}: {count}" for state, bound, count in hits)
        )
        require(all(count > 50 for *_, count in hits), f"bounds-{name} misses a bound")
        report(f"bounds-{name}", got, ref)


def tvb_presigmoidal(rng):
    """What TVB's own ``PreSigmoidal`` computes from a constant history,
    printed as NOTE lines (the checks use :class:`PreSigmoidalAfferent`):
    static, node i gets ``A_i * sum_j W[i, j]``; dynamic, ``c_0 = A_i * sum_j
    W[j, i]`` and, without self-connections, ``c_1 = H * Q`` (its sparse
    history leaves the delayed states of zero weights, the diagonal, at 0)."""
    H, G = 0.4, 3.0
    for dynamic, self_loops in ((False, False), (True, False), (True, True)):
        weights, delays = graph_arrays(rng)
        if self_loops:
            weights += np.diag(f32(rng.uniform(0.2, 1.0, N_NODES)))
        x = f32(rng.uniform(-1.0, 1.0, (2, N_NODES)))
        kw = {"H": np.array([H]), "G": np.array([G]), "dynamic": dynamic}
        coupling = tvb_coupling.PreSigmoidal(**kw)
        sim = tvb_simulator(models.SupHopf(), weights, delays, coupling, x)
        theirs = sim.coupling(1, sim.history)[..., 0]
        if dynamic:
            A = H * (1.0 + np.tanh(G * (x[0] - x[1])))
            facts = {
                "c_0 == A_i * column sum": (theirs[0], A * weights.sum(0)),
                "c_0 == afferent sum": (theirs[0], weights @ A),
                "c_1 == A_i": (theirs[1], A),
            }
        else:
            A = H * (1.0 + np.tanh(G * (x - 0.5)))
            facts = {
                "c == A_i * row sum": (theirs, A * weights.sum(1)),
                "c == afferent sum": (theirs, A @ weights.T),
            }
        said = ", ".join(
            f"{fact}: {np.allclose(a, b, rtol=1e-6)}" for fact, (a, b) in facts.items()
        )
        print(
            f"NOTE TVB PreSigmoidal(dynamic={dynamic}), self-connections "
            f"{self_loops}: {said}"
        )


# -- noise ------------------------------------------------------------------------


def check_noise(rng):
    """Additive and multiplicative noise on Generic2dOscillator coupled
    through delays, each with a per-state sigma ``[n_states, 1]`` (TVB's
    ``nsig`` per state) and with equal rows (TVB's scalar ``nsig``); both
    simulators get the same standard normals z (ours through
    ``config.noise_samples``, TVB's white noise ``sqrt(dt) * z``
    through its random stream)."""
    a, b = 0.6, 0.15
    cases = (
        ("additive", sn.AdditiveNoise, noise.Additive, {}, 0.05),
        (
            "multiplicative",
            lambda sigma: sn.MultiplicativeNoise(sigma, a=a, b=b),
            noise.Multiplicative,
            {"b": equations.Linear(parameters={"a": a, "b": b})},
            0.2,
        ),
    )
    tvb_model = models.Generic2dOscillator()
    for name, ours_noise, tvb_noise, kw, s in cases:
        per_state = f32([[s], [s / 5.0]])
        weights, delays = graph_arrays(rng)
        y0 = initial_state(tvb_model, {}, rng)
        z = rng.standard_normal((N_STEPS, 2, N_NODES))
        link = sn.LinearCoupling("V", G=0.2, delayed=True)
        ours = Ours(
            sn.Generic2dOscillator(),
            {"link": link},
            weights,
            delays,
            y0,
            noise=ours_noise(per_state),
        )
        ours.config.noise_samples = jnp.asarray(z)
        for label, sigma, nsig in (
            (f"noise-{name}", s, np.array([s**2 / 2.0])),  # TVB: g = sqrt(2 nsig)
            (f"noise-{name}-per-state", per_state, per_state[:, 0] ** 2 / 2.0),
        ):
            got = ours.run("link", **{"noise.sigma": sigma})
            feed = FedNormals(z[..., None])
            ref = tvb_run(
                models.Generic2dOscillator(),
                weights,
                delays,
                linear_a(0.2),
                y0,
                noise_=tvb_noise(nsig=nsig, random_stream=feed, **kw),
            )
            require(feed.k == N_STEPS, f"TVB drew {feed.k} normals")
            quiet = {"noise.sigma": sigma, "noise_samples": 0 * z}
            distinct(got, ours.run("link", **quiet), label)
            report(label, got, ref)


def check_hrf_bold(rng):
    """TVB's ``Bold`` monitor (its default first-order Volterra kernel, and
    its ``Gamma`` kernel passed to ours as a function) fed the recorded x
    of a noisy 3-node Hopf network, against our ``HRFBold`` observing the
    same run: 24 s at dt = 0.5 ms (the 20 s ring wraps), TR 500 ms, the
    first 1000 ms a transient (TVB samples it; ours does not)."""
    dt, t1, tr, transient, n = 0.5, 24_000.0, 500.0, 1000.0, 3
    network = sn.Network(
        sn.SupHopf(a=-0.1, omega=0.05),
        {"c": sn.LinearCoupling(("x", "y"), G=0.0)},
        sn.DenseGraph(np.zeros((n, n))),
        sn.AdditiveNoise(0.05, jax.random.key(int(rng.integers(2**31)))),
        initial_state=rng.uniform(-0.5, 0.5, (2, n)),
    )
    gamma = equations.Gamma()
    observe = {
        "bold-hrf-volterra": (sn.HRFBold("x", tr), monitors.Bold()),
        "bold-hrf-kernel": (
            sn.HRFBold("x", tr, kernel=lambda t: equations.Gamma().evaluate(t)),
            monitors.Bold(hrf_kernel=gamma),
        ),
    }
    record, config = sn.prepare(network, sn.Heun(), 0.0, t1, dt)
    solve, _ = sn.prepare(
        network,
        sn.Heun(),
        0.0,
        t1,
        dt,
        observe={name: ours for name, (ours, _) in observe.items()},
        transient=transient,
    )
    x = np.asarray(record(config).ys)[:, 0]
    got = solve(config).observed
    sim = types.SimpleNamespace(
        integrator=types.SimpleNamespace(dt=dt),
        model=types.SimpleNamespace(variables_of_interest=["x"], number_of_modes=1),
        number_of_nodes=n,
    )
    for name, (_, monitor) in observe.items():
        monitor.period = tr
        monitor.variables_of_interest = np.array([0])
        monitor.config_for_sim(sim)
        samples = [
            monitor.sample(step, x[step - 1][None, :, None])
            for step in range(1, len(x) + 1)
        ]
        ref = np.array([s[1][0, :, 0] for s in samples if s is not None])
        skip = round(transient / tr)
        require(len(ref) == skip + len(got[name]), f"{name}: {len(ref)} samples")
        report(name, got[name][:, None], ref[skip:, None])  # one state


def main():
    assert jnp.zeros(()).dtype == jnp.float64, "run with JAX_ENABLE_X64=1"
    start = time.perf_counter()
    extras = _extras()
    for name in MODELS:  # each its own draws: a new model changes no other check
        check_model(name, extras.get(name, {}), seeded(name))
    tvb_presigmoidal(seeded("PreSigmoidal"))
    check_noise(seeded("noise"))
    check_hrf_bold(seeded("bold"))
    print(f"NOTE checks took {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    jax.config.update("jax_enable_x64", True)
    sys.exit(main())
