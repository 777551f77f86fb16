"""neurolib's delay-coupled Hopf network as a timing peer of sweepjax.

:func:`time_neurolib_hopf` runs neurolib's ``HopfModel`` (numba-compiled,
one process per core, runs split between them) once per global coupling
value and reports the batch wall time and the per-run time after warm-up.

neurolib's model (``neurolib/models/hopf/timeIntegration.py``, time in ms)::

    dx/dt = (a - x^2 - y^2)*x - w*y + K_gl * sum_j Cmat[i, j] x_j(t - D[i, j]*dt)
            + x_ou + x_ext
    dy/dt = (a - x^2 - y^2)*y + w*x                                + y_ou + y_ext

with ``coupling="additive"``, explicit Euler, ``D = np.around(lengthMat /
signalV / dt)`` steps (diagonal zeroed) and a constant history equal to
``xs_init``/``ys_init``. This is sweepjax's ``SupHopf`` (``omega = w`` in
rad/ms) with ``DelayedLinearCoupling(("x", "y"), G=[[K_gl], [0]])`` and
``DenseDelayGraph(Cmat, lengthMat / signalV)`` under ``Euler()``: neurolib
couples into x only (its y coupling line is commented out).

Noise: neurolib drives each node with Ornstein-Uhlenbeck inputs ``x_ou``,
``y_ou`` (``d x_ou = (mean - x_ou) dt / tau_ou + sigma_ou sqrt(dt) z``,
updated after the state, so a step uses the previous step's value). With
``tau_ou = dt`` the OU variable is white: ``x_ou = sigma_ou sqrt(dt) z``, and
it adds ``dt * x_ou = sigma_ou dt sqrt(dt) z`` to x at the next step. That is
sweepjax's ``AdditiveNoise(sigma)`` (``sigma sqrt(dt) z`` added to each state
each step) for ``sigma_ou = sigma / dt``, which this module sets (lagged by
one step and with other random numbers, so equal in distribution only).
neurolib draws its normal numbers whatever ``sigma_ou`` is, so the cost does
not depend on ``sigma``. BOLD is off unless asked for (``bold=True`` runs
``model.run(bold=True)``: neurolib's Balloon-Windkessel model on ``4 (x + 1)``,
sampled every 2 s).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Sequence

import numpy as np

#: Steps of the warm-up run that compiles neurolib's numba kernel in a worker.
WARMUP_STEPS = 10


def _make_model(weights, lengths_mm, speed, dt, sigma, a, w):
    from neurolib.models.hopf import HopfModel

    model = HopfModel(Cmat=np.asarray(weights), Dmat=np.asarray(lengths_mm))
    model.params.update(
        coupling="additive",
        signalV=float(speed),
        dt=float(dt),
        a=float(a),
        w=float(w),
        tau_ou=float(dt),  # white noise: see the module docstring
        sigma_ou=float(sigma) / float(dt),
        x_ou_mean=0.0,
        y_ou_mean=0.0,
    )
    return model


def _run(model, G, duration_ms, seed, bold=False):
    n = model.params["N"]
    model.params.update(
        K_gl=float(G),
        duration=float(duration_ms),
        seed=int(seed),
        # neurolib updates the OU state in place: start every run from zero.
        x_ou=np.zeros(n),
        y_ou=np.zeros(n),
    )
    model.run(bold=bold)
    return model.x


def _worker(job) -> dict:
    """Run a share of the runs sequentially; time them after a warm-up run."""
    t_start = time.perf_counter()
    weights, lengths_mm, speed, dt, duration_ms, sigma, a, w, bold, share = job
    model = _make_model(weights, lengths_mm, speed, dt, sigma, a, w)
    _run(model, share[0][1] if share else 0.0, WARMUP_STEPS * dt, seed=0)
    t_warm = time.perf_counter()
    finite = True
    for seed, G in share:
        x = _run(model, G, duration_ms, seed, bold)
        finite &= bool(np.isfinite(x).all())
    t_end = time.perf_counter()
    return {
        "runs": len(share),
        "warmup_s": t_warm - t_start,
        "run_s": t_end - t_warm,
        "finite": finite,
        "pid": os.getpid(),
    }


def time_neurolib_hopf(
    weights: np.ndarray,
    lengths_mm: np.ndarray,
    speed_mm_per_ms: float,
    dt: float,
    duration_ms: float,
    n_runs: int,
    G_values: Sequence[float] | None = None,
    sigma: float = 0.0,
    processes: int = 1,
    context: str = "spawn",
    a: float = -0.05,
    w: float = 0.2,
    bold: bool = False,
) -> dict:
    """Time ``n_runs`` neurolib Hopf network runs spread over ``processes``.

    Args:
        weights: ``[n, n]`` neurolib's ``Cmat`` (``[i, j]`` is j -> i; its
            diagonal is zeroed by neurolib).
        lengths_mm: ``[n, n]`` fibre lengths (neurolib's ``Dmat``), in mm.
        speed_mm_per_ms: conduction speed (neurolib's ``signalV``, m/s = mm/ms).
        dt: Euler step in ms.
        duration_ms: simulated time of each run, in ms.
        n_runs: number of runs, one per entry of ``G_values``.
        G_values: ``K_gl`` of each run; None gives ``linspace(0, 1, n_runs)``.
        sigma: sweepjax's additive noise level (``sigma sqrt(dt) z`` per state
            and step); neurolib gets ``tau_ou = dt``, ``sigma_ou = sigma / dt``.
        processes: worker processes (one per core); run ``k`` goes to worker
            ``k % processes``, which runs its share sequentially.
        context: multiprocessing start method, "spawn" (default: safe when
            the caller has imported JAX) or "fork". With "spawn" each worker
            re-imports the caller's ``__main__`` module, which counts in
            ``wall_s`` like the rest of the start-up.
        a, w: neurolib's bifurcation parameter and angular frequency (rad/ms).
        bold: also simulate neurolib's BOLD signal (``model.run(bold=True)``).

    Returns:
        ``wall_s`` (the whole batch: process start, imports, numba warm-up,
        runs), ``runs``, ``simulated_s_per_wall_s`` (``n_runs * duration_ms /
        1000 / wall_s``), ``per_run_s`` (mean time of one run after warm-up,
        measured in the workers), ``warmup_s`` (slowest worker's start-up:
        import, model set-up and a ``WARMUP_STEPS`` run compiling numba),
        ``steady_s`` (the slowest worker's runs after its warm-up: the batch
        without process start and numba compilation), ``processes`` and
        ``all_finite``.
    """
    weights = np.array(weights, dtype=float)
    lengths_mm = np.array(lengths_mm, dtype=float)
    if G_values is None:
        G_values = np.linspace(0.0, 1.0, n_runs)
    G_values = [float(g) for g in G_values]
    if len(G_values) != n_runs:
        raise ValueError(f"need {n_runs} G_values, got {len(G_values)}.")
    processes = max(1, min(int(processes), n_runs))
    runs = list(enumerate(G_values, start=1))  # (seed, G)
    shares = [runs[k::processes] for k in range(processes)]

    def job(share):
        return (
            weights,
            lengths_mm,
            speed_mm_per_ms,
            dt,
            duration_ms,
            sigma,
            a,
            w,
            bold,
            share,
        )

    t0 = time.perf_counter()
    ctx = multiprocessing.get_context(context)
    with ctx.Pool(processes) as pool:
        results = pool.map(_worker, [job(s) for s in shares], chunksize=1)
    wall = time.perf_counter() - t0
    return {
        "wall_s": wall,
        "runs": n_runs,
        "simulated_s_per_wall_s": n_runs * duration_ms / 1000.0 / wall,
        "per_run_s": sum(r["run_s"] for r in results) / n_runs,
        "warmup_s": max(r["warmup_s"] for r in results),
        "steady_s": max(r["run_s"] for r in results),
        "processes": processes,
        "all_finite": all(r["finite"] for r in results),
    }


def _main() -> None:
    from sweepjax.network import load_connectome

    connectome = load_connectome("76")
    weights = connectome.weights / connectome.weights.max()
    np.fill_diagonal(weights, 0.0)
    lengths = np.array(connectome.tract_lengths, dtype=float)
    np.fill_diagonal(lengths, 0.0)
    out = time_neurolib_hopf(
        weights,
        lengths,
        speed_mm_per_ms=8.0,
        dt=0.1,
        duration_ms=1000.0,
        n_runs=8,
        G_values=np.linspace(0.0, 0.5, 8),
        sigma=1e-3,
        processes=2,
    )
    print(out)


if __name__ == "__main__":
    _main()
