"""The one-point-at-a-time contenders of ``regimes.py``: TVB-Optim 0.4.0's
``adiabatic_scan`` and ``lyapunov`` on our delay-exact pieces, as shipped
(a fresh ``jax.jit`` per call) and compiled once, and TVB-Optim's own
functions timed on the same network."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from _common import timed

from sweepjax.network import Heun, load_connectome, power_spectrum, prepare
from sweepjax.network._continuation import with_leaf

DT = 0.1
FREQUENCIES = np.arange(1.0, 61.0)


class _PerPoint:
    """The pieces of TVB-Optim's two analysis functions on our network, one
    point (or one G row) at a time; the contenders differ only in when they
    prepare and jit them."""

    def __init__(self, network, settle, window, renormalize, d0):
        self.network, self.d0 = network, d0
        self.settle, self.window, self.renormalize = settle, window, renormalize
        self.r = network.dynamics.state_index("r")[0]
        self.n_window = round(window / DT)
        self.n_segments = round(window / renormalize)

    def recorder(self):
        """What each ``adiabatic_scan`` call prepares: a settle + window run."""
        return prepare(
            self.network, Heun(), 0.0, self.settle + self.window, DT, final_state=True
        )

    def segment(self):
        """What each ``lyapunov`` call prepares: one renormalisation segment."""
        return prepare(
            self.network, Heun(), 0.0, self.renormalize, DT, final_state=True
        )

    @staticmethod
    def at(config, G, eta, start):
        point = with_leaf(config, "coupling.delayed.G", G)
        return with_leaf(with_leaf(point, "dynamics.eta", eta), "start", start)

    def scan_step(self, recorder, config, G, eta, start):
        """adiabatic_scan's step: run from the carried state recording the
        trajectory, then reduce the window."""
        solution = recorder(self.at(config, G, eta, start))
        x = solution.ys[-self.n_window :, self.r, :]  # [n_window, n_nodes]
        power = power_spectrum(x, FREQUENCIES, DT)
        stats = {
            "peak": jnp.asarray(FREQUENCIES, x.dtype)[power.argmax(0)],
            "mean": x.mean(0),
            "std": x.std(0),
        }
        return solution.final, stats

    def second(self, start):
        """lyapunov's second trajectory: ``d0`` away along the diagonal (the
        state and each trajectory's own delay history: delay-exact)."""
        shift = self.d0 / np.sqrt(start.y.size + start.history.size)
        return start._replace(y=start.y + shift, history=start.history + shift)

    def benettin(self, segment, config, G, eta, u1, u2):
        """lyapunov's ``_scan``: two trajectories, rescaled to ``d0`` apart
        after every segment; the summed log growth."""
        d0 = self.d0

        def run(state):
            return segment(self.at(config, G, eta, state)).final

        def step(carry, _):
            u1, u2, logs = carry
            new1, new2 = run(u1), run(u2)
            dy, dh = new2.y - new1.y, new2.history - new1.history
            d = jnp.sqrt(jnp.sum(dy * dy) + jnp.sum(dh * dh))
            u2 = new1._replace(
                y=new1.y + dy * (d0 / d), history=new1.history + dh * (d0 / d)
            )
            return (new1, u2, logs + jnp.log(d / d0)), None

        zero = jnp.zeros((), u1.y.dtype)
        (_, _, logs), _ = jax.lax.scan(step, (u1, u2, zero), None, self.n_segments)
        return logs

    def first_state(self, recorder, config, G):
        return recorder.start_of(with_leaf(config, "coupling.delayed.G", G))


def _stacked(rows):
    return {
        k: np.stack([np.stack([np.asarray(p[k]) for p in row]) for row in rows])
        for k in rows[0][0]
    }


def per_point_map(network, etas, Gs, settle, window, renormalize, d0):
    """Per point, compiled ONCE (more generous than TVB-Optim): two jitted
    calls per point, in continuation order, reusing their compilations."""
    point = _PerPoint(network, settle, window, renormalize, d0)
    (recorder, config), (segment, _) = point.recorder(), point.segment()

    @jax.jit
    def scan_step(G, eta, start):
        return point.scan_step(recorder, config, G, eta, start)

    @jax.jit
    def lyapunov(G, eta, start):
        logs = point.benettin(segment, config, G, eta, start, point.second(start))
        return logs / window

    def run_all():
        out = []
        for G in Gs:
            state = point.first_state(recorder, config, G)
            row = []
            for eta in etas:
                state, stats = scan_step(G, eta, state)
                stats["lyap"] = lyapunov(G, eta, state)
                row.append(stats)
            out.append(row)
        jax.block_until_ready(out)
        return _stacked(out)

    return run_all


def as_shipped_map(network, etas, Gs, settle, window, renormalize, d0):
    """TVB-Optim 0.4.0's functions as shipped, structure for structure: per G
    row one ``adiabatic_scan`` (prepare, then ``jax.jit`` of a fresh lambda
    over a ``lax.scan`` through the etas: compiled per call), per point one
    ``lyapunov`` (prepare, then ``@jax.jit`` on a fresh closure over the
    config: compiled per call; a float back to the host). TVB-Optim's own
    functions run this network, but hold the delay history fixed (their
    docstrings say so), so the map would not be the same: these are the
    delay-exact pieces that ``per_point_map`` uses, jitted the way TVB-Optim
    jits them. (``adiabatic_scan``'s eager probe solve, one per row, is left
    out: the window is known here.)"""
    point = _PerPoint(network, settle, window, renormalize, d0)

    def adiabatic_scan(G):
        recorder, config = point.recorder()
        config = with_leaf(config, "coupling.delayed.G", G)

        def step(state, eta):  # the settled state out too: lyapunov starts there
            final, stats = point.scan_step(recorder, config, G, eta, state)
            return final, (final, stats)

        start = point.first_state(recorder, config, G)
        _, out = jax.jit(lambda s, ps: jax.lax.scan(step, s, ps))(start, etas)
        return out

    def lyapunov(G, eta, start):
        segment, config = point.segment()
        u2 = point.second(start)

        @jax.jit
        def _scan(u1, u2):
            return point.benettin(segment, config, G, eta, u1, u2)

        return float(_scan(start, u2) / window)

    def run_rows(rows):
        out = []
        for G in rows:
            states, stats = adiabatic_scan(G)
            row = []
            for i, eta in enumerate(etas):
                one = {k: v[i] for k, v in stats.items()}
                start = jax.tree.map(lambda leaf, i=i: leaf[i], states)
                one["lyap"] = np.float32(lyapunov(G, eta, start))
                row.append(one)
            out.append(row)
        return _stacked(out)

    return run_rows


def tvboptim_per_call(settle, window, renormalize, d0, n_etas, calls=3):
    """Seconds per call of TVB-Optim 0.4.0's own ``lyapunov`` and
    ``adiabatic_scan`` on this network (its MPR and delayed linear coupling
    of r and V; the history held fixed, so not this map: the cost per call
    only), ``calls`` consecutive calls each: each call compiles anew."""
    try:
        import tvboptim.experimental.network_dynamics as tnd
        from tvboptim.experimental.network_dynamics.analysis import (
            adiabatic_scan,
            lyapunov,
        )
        from tvboptim.experimental.network_dynamics.coupling import (
            DelayedLinearCoupling as TheirDelayed,
        )
        from tvboptim.experimental.network_dynamics.dynamics.tvb import (
            MontbrioPazoRoxin as TheirMPR,
        )
        from tvboptim.experimental.network_dynamics.solvers import Heun as TheirHeun
    except ImportError:
        return None

    class OfRAndV(TheirDelayed):  # one delayed input per coupled state
        N_OUTPUT_STATES = 2

    connectome = load_connectome("68")
    weights = np.array(connectome.weights, float)
    np.fill_diagonal(weights, 0.0)
    graph = tnd.DenseDelayGraph(weights / weights.max(), connectome.tract_lengths / 6.0)
    network = tnd.Network(
        TheirMPR(), {"delayed": OfRAndV(incoming_states=("r", "V"), G=0.1)}, graph
    )
    n = round(window / renormalize)

    def one_lyapunov():
        lyapunov(network, TheirHeun(), t=renormalize, n=n, d0=d0, dt=DT)

    def one_scan():
        jax.block_until_ready(
            adiabatic_scan(
                network,
                TheirHeun(),
                accessor=lambda c: c.dynamics.eta,
                low=-8.0,
                high=-2.0,
                n=n_etas,
                t=settle + window,
                skip=settle,
                dt=DT,
                bothways=False,
            ).stats
        )

    return {
        "lyapunov": [timed(one_lyapunov)[0] for _ in range(calls)],
        "adiabatic_scan": [timed(one_scan)[0] for _ in range(calls)],
    }
