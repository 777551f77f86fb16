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

import copy
import logging
import multiprocessing
import os
import time
from collections.abc import Sequence

import numpy as np

#: Steps of the warm-up run that compiles neurolib's numba kernel in a worker.
WARMUP_STEPS = 10
#: neurolib's BOLD sampling period (``BOLDModel.samplingRate_NDt * dt``), ms.
TR_MS = 2000.0


def numpy2_aliases() -> None:
    """The NumPy 1 aliases that pypet (neurolib's ``Evolution``) still uses."""
    for alias, kind in [
        ("string_", np.bytes_),
        ("unicode_", np.str_),
        ("float_", np.float64),
        ("complex_", np.complex128),
    ]:
        setattr(np, alias, kind)


#: Parameters scored in both models by ``search.py``'s ``gw``: the point of
#: the 20-s runs' disagreement (sweepjax 0.674, neurolib 0.214) and
#: neurolib's best then.
EARLIER_POINTS = {
    "earlier disagreement": {"K_gl": 2.08, "a": -0.31, "w": 0.29},
    "neurolib's earlier best": {"K_gl": 2.41, "a": -0.063, "w": 0.71},
}


def bold_window(seconds: float, transient: float, dt: float) -> tuple[float, int]:
    """neurolib's run length (ms) and first BOLD sample for sweepjax's window.

    neurolib's BOLD sample ``k`` is taken after ``2 + k * TR / dt`` steps
    (``k * TR + 2 dt``); sweepjax's ``BOLD`` with ``transient=`` takes
    sample ``j`` after ``transient + (j + 1) * TR``. Running neurolib
    ``2 dt`` longer and slicing ``BOLD[:, first:]`` with ``first =
    transient / TR + 1`` gives the same ``(seconds - transient) / TR``
    samples, each 2 steps (0.2 ms at dt 0.1) after sweepjax's.
    """
    first = transient * 1000.0 / TR_MS
    if first != int(first) or not 0 <= transient < seconds:
        raise ValueError(
            f"transient must be a whole number of TRs ({TR_MS / 1000:g} s) in "
            f"[0, seconds), got transient {transient} s, seconds {seconds} s."
        )
    return seconds * 1000.0 + 2 * dt, int(first) + 1


def noise_stream(n_nodes: int, n_steps: int, seed: int = 0) -> np.ndarray:
    """neurolib's normals of a run with noise seed ``seed``, as sweepjax's
    ``config.noise_samples`` (``[n_steps, 2, n_nodes]`` float32).

    ``HopfModel`` seeds NumPy's global generator and draws ``[N, n]``
    normals for x, then for y, ``n`` its number of steps (``n_steps + 2``
    here: :func:`bold_window`). With ``tau_ou = dt`` the OU value that step
    ``k`` adds was set by draw ``k - 1`` (zero at the first step): row
    ``k`` here is draw ``k - 1``, row 0 zeros. Fed to sweepjax's run, the
    two implementations integrate the same noise path.
    """
    draws = np.random.RandomState(seed)
    z = np.zeros((n_steps, 2, n_nodes), np.float32)
    for i in range(2):  # x, then y
        z[1:, i] = draws.standard_normal((n_nodes, n_steps + 2))[:, : n_steps - 1].T
    return z


class _NoAppendWarning(logging.Filter):
    """Drops neurolib's warning that a run of ``k * TR + 2 dt`` does not
    append its BOLD to an earlier run's (each run here is a fresh model)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "will not append data" not in record.getMessage()


def initial_state(n_nodes: int, seed: int = 0) -> np.ndarray:
    """``[x, y]`` of each node, ``[2, n_nodes]``, drawn as neurolib's
    ``HopfModel`` draws its ``xs_init``/``ys_init`` (uniform in [-0.5, 0.5]),
    but seeded: neurolib draws them unseeded when the model is built, and
    where the coupled network has several fixed points (``x`` about +-1.35
    on each node) which one a run reaches depends on them."""
    return 0.5 * np.random.default_rng(seed).uniform(-1.0, 1.0, (2, n_nodes))


def evolution_model(weights, lengths_mm, speed, dt, sigma, duration_ms, initial):
    """neurolib's ``HopfModel`` set up as ``_make_model`` does, starting from
    ``initial`` (``[2, n_nodes]``, its constant delay history too), its numba
    kernels (model and BOLD) compiled by a short run in this process (forks
    inherit them: pypet forks a process per run, and without this every
    run compiled them anew), then reset to start each run's BOLD at rest
    and its OU noise at zero, as a fresh model does."""
    logging.getLogger().addFilter(_NoAppendWarning())
    model = _make_model(weights, lengths_mm, speed, dt, sigma, -0.05, 0.2)
    model.params["duration"] = 4000.0
    model.run(bold=True)
    n = model.params["N"]
    model.params.update(
        duration=float(duration_ms),
        x_ou=np.zeros(n),
        y_ou=np.zeros(n),
        xs_init=np.asarray(initial[0], float)[:, None],
        ys_init=np.asarray(initial[1], float)[:, None],
    )
    # neurolib keeps a model's Balloon-Windkessel state from run to run
    model.boldInitialized = False
    return model


def fc_fit(model, params: dict, seed: int, first: int, target: np.ndarray) -> float:
    """FC correlation with ``target`` of one run of a copy of ``model`` (as
    ``Evolution`` makes each run's) at ``params``, noise seed ``seed``, its
    BOLD from sample ``first`` on (:func:`bold_window`)."""
    from neurolib.utils import functions as func

    m = copy.deepcopy(model)
    m.params.update(dict(params), seed=int(seed))
    m.run(bold=True)
    return float(func.matrix_correlation(func.fc(m.BOLD.BOLD[:, first:]), target))


_SCORING: dict = {}


def _fc_fit_job(job) -> float:
    return fc_fit(_SCORING["model"], *job, _SCORING["first"], _SCORING["target"])


def fc_fits(model, jobs, first, target, processes) -> list[float]:
    """:func:`fc_fit` of each ``(params, seed)`` in ``jobs``, in forks of this
    process (they inherit ``model``'s compiled kernels), ``processes`` at a
    time."""
    _SCORING.update(model=model, first=first, target=target)
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        return pool.map(_fc_fit_job, list(jobs), chunksize=1)


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
