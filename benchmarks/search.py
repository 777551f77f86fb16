"""Search beyond grids: CMA-ES recovery, NSGA-II against pymoo, refinement
against a grid, and the gw FC fit against neurolib's ``Evolution``.

Sections (``--only NAME`` runs one):

- ``recovery``: CMA-ES recovers 6 parameters (the bifurcation parameter
  ``a`` of each node) of a 6-node Stuart-Landau network simulated at known
  values, its FC (every step, fixed noise) the target: the worst relative
  error, seeded; the same search through ``ParallelExecution`` (one
  compiled ``lax.scan``) and ``DistributedExecution`` (a LocalCluster, one
  sweep per generation) gives the same candidates.
- ``zdt1``: NSGA-II on ZDT1 (30 variables), population 100 x 200
  generations, hypervolume (reference point (1.1, 1.1)) of the final
  population's front, mean over seeds, against pymoo's ``NSGA2`` at the
  same budget.
- ``refine``: a disc's sharp edge (tanh, width 0.01) located from 256
  points: a 16 x 16 grid against an 8 x 8 grid refined by 3 rounds of 64.
- ``gw``: neurolib's Hopf model (``HopfModel``, numba, Euler, delays) fitted
  to ``gw``'s mean FC (BOLD FC correlation) by neurolib's ``Evolution``
  (DEAP, pypet) and the same equations in sweepjax (``SupHopf``,
  ``DelayedLinearCoupling("x", G=[[K], [0]])``, ``DenseDelayGraph``,
  ``Euler``; see ``_neurolib_hopf``) by ``evolve`` (CMA-ES), with the same
  parameters, bounds and number of evaluations: best FC correlation and
  evaluations per second (wall, compilation included, on this machine).
  Runs of ``--seconds`` (60), BOLD FC over the samples after
  ``--transient`` (30 s: the BOLD start-up from rest settled), the same
  samples on both sides; DEAP seeded. One fitness for both: every run of
  either search integrates the normals of neurolib's noise seed 0
  (``config.noise_samples`` on sweepjax's side), so both climb one
  landscape; both bests and two earlier points are then scored in both
  models on the noise of seeds 1-3.

    python benchmarks/search.py [--only recovery|zdt1|refine|gw] [--quick]
        [--pop 16 --gens 8 --seconds 60 --transient 30 --seed 0]
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import resource
import tempfile
import time

# one XLA CPU device per core (set before JAX starts): the gw fit splits each
# generation over them, as neurolib runs one process per core
from _common import one_device_per_core, verdict  # noqa: E402

one_device_per_core()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from sweepjax import (  # noqa: E402
    DataAxis,
    DistributedExecution,
    GridAxis,
    LogGridAxis,
    ParallelExecution,
    Space,
    evolve,
    nsga2,
    refine,
)
from sweepjax.network import (  # noqa: E402
    BOLD,
    FC,
    AdditiveNoise,
    DelayedLinearCoupling,
    DenseDelayGraph,
    DenseGraph,
    Euler,
    Heun,
    LinearCoupling,
    Network,
    SupHopf,
    fc_correlation,
    load_dataset,
    prepare,
)
from sweepjax.search import boundary_points, hypervolume_2d  # noqa: E402

TRUE_A = np.array([-0.6, -0.45, -0.3, -0.5, -0.2, -0.35], np.float32)


def recovery(quick: bool) -> None:
    rng = np.random.default_rng(0)
    w = rng.uniform(0.2, 1.0, (6, 6)).astype(np.float32)
    np.fill_diagonal(w, 0.0)
    network = Network(
        SupHopf(a=-0.5, omega=0.3),
        {"c": LinearCoupling(("x", "y"), G=0.2)},
        DenseGraph(w),
        AdditiveNoise(sigma=0.05, key=jax.random.key(0)),
    )
    solve, config = prepare(network, Heun(), 0.0, 1000.0, 0.1, observe={"fc": FC("x")})

    def simulate(cfg, a):
        cfg = copy.copy(cfg)
        cfg.dynamics.a = a
        return solve(cfg).observed["fc"]

    target = jax.jit(simulate)(config, jnp.asarray(TRUE_A))

    def loss(state, target):
        a = jnp.stack([state[f"a{i}"] for i in range(6)])
        fc = simulate(state["config"], a)
        return jnp.sum((fc - target) ** 2)

    state = {"config": config, **{f"a{i}": GridAxis(-1.0, 0.0, 2) for i in range(6)}}
    space = Space(state)
    gens = 40 if quick else 150
    kw = dict(population_size=16, sigma=0.25, seed=0)
    t0 = time.perf_counter()
    found = evolve(loss, space, target, n_generations=gens, n_vmap=16, **kw)
    wall = time.perf_counter() - t0
    best = found.best(1)[0]
    err = np.max(np.abs(best - TRUE_A) / np.abs(TRUE_A))
    print(
        f"recovery: CMA-ES 16 x {gens} on 6 node parameters: worst relative error "
        f"{err:.2e} (target < 1e-2), {16 * gens / wall:.0f} evaluations/s with "
        f"compilation ({wall:.1f} s)"
    )
    k = 3  # the first generations through a cluster: the same candidates
    local = evolve(loss, space, target, n_generations=k, scan=False, n_vmap=16, **kw)
    t0 = time.perf_counter()
    dist = evolve(
        loss,
        space,
        target,
        n_generations=k,
        executor=DistributedExecution,
        n_vmap=8,
        n_workers=2,
        **kw,
    )
    dwall = time.perf_counter() - t0
    same = np.allclose(dist.values, local.values, rtol=1e-5) and np.allclose(
        dist.values, found.values[:k], rtol=1e-4
    )
    print(
        f"recovery: {k} generations through DistributedExecution (LocalCluster of "
        f"2) in {dwall:.1f} s: same candidates as Parallel (loop and scan): {same}"
    )


def zdt1(quick: bool) -> None:
    from pymoo.algorithms.moo.nsga2 import NSGA2 as PymooNSGA2
    from pymoo.optimize import minimize
    from pymoo.problems import get_problem

    pop, gens = (40, 60) if quick else (100, 200)
    seeds, ref = (2 if quick else 8), np.array([1.1, 1.1])
    names = [f"x{i:02d}" for i in range(30)]

    def model(s):
        x = jnp.stack([s[n] for n in names])
        g = 1 + 9 * jnp.mean(x[1:])
        return jnp.stack([x[0], g * (1 - jnp.sqrt(x[0] / g))])

    space = Space({n: GridAxis(0.0, 1.0, 2) for n in names})
    ours, t0 = [], time.perf_counter()
    for seed in range(seeds):
        found = nsga2(model, space, population_size=pop, n_generations=gens, seed=seed)
        f = np.asarray(found.state.objectives)[np.asarray(found.state.rank) == 0]
        ours.append(hypervolume_2d(f, ref))
    t_ours = time.perf_counter() - t0
    theirs, t0 = [], time.perf_counter()
    for seed in range(seeds):
        res = minimize(
            get_problem("zdt1"),
            PymooNSGA2(pop_size=pop),
            ("n_gen", gens),
            seed=seed,
            verbose=False,
        )
        theirs.append(hypervolume_2d(res.F, ref))
    t_theirs = time.perf_counter() - t0
    a, b = np.mean(ours), np.mean(theirs)
    print(
        f"zdt1: NSGA-II {pop} x {gens}, mean of {seeds} seeds: hypervolume sweepjax "
        f"{a:.5f} (sd {np.std(ours):.5f}), pymoo {b:.5f} (sd {np.std(theirs):.5f}): "
        f"{100 * (a / b - 1):+.2f}%; wall {t_ours:.1f} s vs {t_theirs:.1f} s"
    )


def refinement(quick: bool) -> None:
    def disc(s):
        r = jnp.sqrt(s["x"] ** 2 + s["y"] ** 2)
        return {"z": jnp.tanh((r - 0.6) / 0.01)}

    def grid(n):
        axes = {"x": GridAxis(-1.0, 1.0, n), "y": GridAxis(-1.0, 1.0, n)}
        space = Space(axes, mode="product")
        return ParallelExecution(disc, space, n_vmap=256, progress=False).run()

    def error(res):
        cols = res.space.axis_columns(np.arange(len(res)))
        pts = np.stack([cols["x"], cols["y"]], 1)
        b = boundary_points(pts, np.asarray(res.outputs["z"]))
        return np.mean(np.abs(np.hypot(b[:, 0], b[:, 1]) - 0.6))

    regular = grid(16)
    refined = refine(grid(8), disc, output="z", n_points=64, n_rounds=3, n_vmap=64)
    print(
        f"refine: disc edge from 256 points: mean distance of the located edge to "
        f"the true one: grid {error(regular):.4f}, refined {error(refined):.4f}"
    )


def _cpu() -> tuple[float, float]:
    """CPU seconds of this process (all threads) and of its finished children."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time(), children.ru_utime + children.ru_stime


def gw(
    quick: bool,
    pop: int = 16,
    gens: int = 8,
    seconds: float | None = None,
    transient: float | None = None,
    seed: int = 0,
) -> None:
    import _neurolib_hopf as nh

    # runs of `seconds`, BOLD FC over the samples after `transient`, both
    # sides alike: long enough for the Balloon-Windkessel start-up from rest
    # to have settled (see benchmarks/README.md)
    seconds = seconds or (12.0 if quick else 60.0)
    transient = transient if transient is not None else (4.0 if quick else 30.0)
    dt = 0.1  # neurolib's
    duration_ms, first = nh.bold_window(seconds, transient, dt)
    pop, gens = (8, 2) if quick else (pop, gens)
    seeds = (1,) if quick else (1, 2, 3)
    box = {"K_gl": (0.0, 3.0), "a": (-0.5, 0.0), "w": (0.05, 1.0)}
    data = load_dataset("gw")
    con = data.connectome_scaled_by_max()
    weights, lengths = np.asarray(con.weights), np.asarray(con.tract_lengths)
    target = np.asarray(data.mean_fc)
    speed, sigma = 20.0, 0.01
    steps = int(round(seconds * 1000.0 / dt))

    # both sides start from the same state: where the coupled network has
    # several fixed points, which one a run reaches (and its BOLD) depends on it
    initial = nh.initial_state(len(weights), seed=0)
    # sweepjax: neurolib's equations (see benchmarks/_neurolib_hopf.py); BOLD
    # and its FC in the loop (observers: no trajectory is kept)
    network = Network(
        SupHopf(a=-0.1, omega=0.5),
        {"c": DelayedLinearCoupling("x", G=np.array([[0.5], [0.0]], np.float32))},
        DenseDelayGraph(weights, (lengths / speed).astype(np.float32)),
        AdditiveNoise(sigma=sigma, key=jax.random.key(0)),
        initial_state=initial.astype(np.float32),
    )
    source = BOLD("x", tr_ms=nh.TR_MS, transform=lambda x: 4.0 * (x + 1.0))
    solve, config = prepare(
        network,
        Euler(),
        0.0,
        seconds * 1000.0,
        dt,
        observe={"fc": FC(source)},
        transient=transient * 1000.0,
    )

    def fit(cfg, K_gl, a, w, target):
        cfg = copy.copy(cfg)
        cfg.coupling.c.G = jnp.stack([K_gl, 0.0])[:, None]
        cfg.dynamics.a = a
        cfg.dynamics.omega = w
        return fc_correlation(solve(cfg).observed["fc"], target)

    def loss(state, target):
        return 1.0 - fit(state["config"], state["K_gl"], state["a"], state["w"], target)

    axes = {k: GridAxis(*v, 2) for k, v in box.items()}
    axes["w"] = LogGridAxis(*box["w"], 2)
    # the whole search one compiled lax.scan; each generation split over one
    # device per core, each device's share in one vmapped call
    devices = jax.device_count()
    split = dict(n_pmap=devices, n_vmap=-(-pop // devices))
    cpu0, t0 = _cpu()[0], time.perf_counter()
    # one fitness for both searches: every sweepjax run integrates the
    # normals of neurolib's seed 0, which every `Evolution` run draws
    common = copy.copy(config)
    common.noise_samples = jnp.asarray(nh.noise_stream(len(weights), steps, seed=0))
    found = evolve(
        loss,
        Space({"config": common, **axes}),
        jnp.asarray(target),
        population_size=pop,
        n_generations=gens,
        seed=seed,
        **split,
    )
    t_ours, cpu_ours = time.perf_counter() - t0, _cpu()[0] - cpu0
    n_ours = pop * gens
    ours = 1.0 - float(found.best_fitness)
    # steady state: one more generation's batch through a compiled executor,
    # each run drawing its own normals (from key 0) as neurolib's runs do
    batch = Space(
        {
            "config": config,
            **{k: DataAxis(found.values[-1][:, i]) for i, k in enumerate(found.names)},
        }
    )
    executor = ParallelExecution(
        loss, batch, jnp.asarray(target), progress=False, **split
    )
    executor.run()
    cpu0, t0 = _cpu()[0], time.perf_counter()
    executor.run()
    t_warm, cpu_warm = time.perf_counter() - t0, _cpu()[0] - cpu0
    warm = pop / t_warm

    # neurolib: Evolution over the same parameters, as many evaluations
    nh.numpy2_aliases()  # pypet predates NumPy 2
    from neurolib.optimize.evolution import Evolution
    from neurolib.utils import functions as func
    from neurolib.utils.parameterSpace import ParameterSpace

    (cpu0, child0), t0 = _cpu(), time.perf_counter()
    model = nh.evolution_model(weights, lengths, speed, dt, sigma, duration_ms, initial)
    t_numba = time.perf_counter() - t0

    def evaluate(traj):
        m = evolution.getModelFromTraj(traj)
        m.run(bold=True)
        bold = m.BOLD.BOLD[:, first:]  # sweepjax's window: nh.bold_window
        return (func.matrix_correlation(func.fc(bold), target),), {}

    space = ParameterSpace(list(box), [list(v) for v in box.values()])
    # DEAP draws from Python's and NumPy's global generators: seeded, the
    # search is repeatable (each run's noise has neurolib's noise seed 0,
    # which HopfModel sets itself before drawing)
    random.seed(seed)
    np.random.seed(seed)
    evolution = Evolution(
        evaluate,
        space,
        weightList=[1.0],
        model=model,
        POP_INIT_SIZE=pop,
        POP_SIZE=pop,
        NGEN=gens,
        # pypet's HDF file in a temporary folder, not ./data/hdf of the cwd
        filename=os.path.join(tempfile.mkdtemp(prefix="sweepjax-"), "evolution.hdf"),
        ncores=os.cpu_count(),
    )
    evolution.run(verbose=False)
    t_theirs = time.perf_counter() - t0
    cpu1, child1 = _cpu()
    cpu_theirs = (cpu1 - cpu0) + (child1 - child0)
    n_theirs = len(evolution.dfEvolution())
    theirs = float(np.nanmax([ind.fitness.values[0] for ind in evolution.pop]))

    # Both searches' best parameters and the earlier points, scored in both
    # models on neurolib's noise of other seeds (a search's best is its
    # luckiest evaluation on seed 0's): out of sample, and, the noise being
    # the same, a check that the two implementations agree run by run
    best_ind = max(evolution.pop, key=lambda ind: ind.fitness.values[0])
    points = {
        "sweepjax's best": {k: float(v) for k, v in found.best_parameters.items()},
        "neurolib's best": dict(zip(box, map(float, best_ind[: len(box)]))),
        **nh.EARLIER_POINTS,
    }
    jobs = [(p, seed) for p in points.values() for seed in seeds]
    scored_theirs = nh.fc_fits(model, jobs, first, target, os.cpu_count())
    columns = {k: jnp.asarray([p[k] for p in points.values()]) for k in box}
    score = jax.jit(jax.vmap(fit, (None, 0, 0, 0, None)))
    scored_ours = []
    for noise_seed in seeds:
        stream = nh.noise_stream(len(weights), steps, noise_seed)
        common.noise_samples = jnp.asarray(stream)
        scored_ours.append(
            score(common, *(columns[k] for k in box), jnp.asarray(target))
        )
    scored = {
        "sweepjax": np.stack(scored_ours, axis=1),
        "neurolib": np.reshape(scored_theirs, (len(points), len(seeds))),
    }

    rate_ours, rate_theirs = n_ours / t_ours, n_theirs / t_theirs
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"gw: FC fit, Hopf, 3 parameters, runs of {seconds:g} s (dt {dt} ms, "
        f"Euler), BOLD FC over ({transient:g} s, {seconds:g} s] "
        f"({(seconds - transient) * 1000 / nh.TR_MS:.0f} samples; "
        f"--seconds {seconds:g} --transient {transient:g}), search seed {seed}, "
        f"load average {load}:\n"
        f"  sweepjax CMA-ES {pop} x {gens} ({devices} devices, n_vmap "
        f"{split['n_vmap']}): {n_ours} runs in {t_ours:.1f} s ({rate_ours:.2f}/s, "
        f"compilation included; neurolib's noise of seed 0), CPU {cpu_ours:.1f} s; "
        f"best FC corr {ours:.3f}\n"
        f"  sweepjax compiled batch of {pop}, drawing its noise: {t_warm:.2f} s "
        f"({warm:.2f} runs/s), "
        f"CPU {cpu_warm / pop:.2f} s a run = "
        f"{cpu_warm / pop / steps * 1e6:.2f} CPU-us per run-step\n"
        f"  neurolib Evolution ({os.cpu_count()} processes, DEAP seeded): "
        f"{n_theirs} runs in {t_theirs:.1f} s ({rate_theirs:.2f}/s; numba "
        f"compiled once in {t_numba:.1f} s), CPU {cpu_theirs:.1f} s = "
        f"{cpu_theirs / n_theirs / steps * 1e6:.2f} CPU-us per run-step; best "
        f"{theirs:.3f}\n"
        f"  speed-up {rate_ours / rate_theirs:.1f}x end to end, "
        f"{warm / rate_theirs:.1f}x compiled, "
        f"{(cpu_theirs / n_theirs) / (cpu_warm / pop):.1f}x in CPU time a run "
        f"(compiled; load-independent); best fitness "
        f"{verdict(ours, theirs)}, 10x end to end "
        f"{verdict(rate_ours / rate_theirs, 10.0)}"
    )
    gap = np.abs(scored["sweepjax"] - scored["neurolib"]).max()
    print(
        f"  scored in both models on neurolib's noise of seeds {seeds}, FC corr, "
        f"mean [min, max] (same noise: the models differ by at most {gap:.4f})"
    )
    for i, (name, p) in enumerate(points.items()):
        shown = ", ".join(f"{k} {v:.3g}" for k, v in p.items())
        a, b = scored["sweepjax"][i], scored["neurolib"][i]
        print(
            f"    {name} ({shown}): sweepjax {a.mean():.4f} [{a.min():.4f}, "
            f"{a.max():.4f}], neurolib {b.mean():.4f} [{b.min():.4f}, "
            f"{b.max():.4f}]"
        )
    both = [np.mean([scored[w][i].mean() for w in scored]) for i in (0, 1)]
    print(
        f"  best parameters out of sample (mean of both models): sweepjax's "
        f"{both[0]:.4f}, neurolib's {both[1]:.4f}: {verdict(*both)}"
    )


SECTIONS = {"recovery": recovery, "zdt1": zdt1, "refine": refinement, "gw": gw}

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SECTIONS))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pop", type=int, default=16, help="gw: population")
    parser.add_argument("--gens", type=int, default=8, help="gw: generations")
    parser.add_argument(
        "--seed", type=int, default=0, help="gw: seed of both searches (CMA-ES, DEAP)"
    )
    parser.add_argument(
        "--seconds", type=float, help="gw: seconds a run (default 60; --quick 12)"
    )
    parser.add_argument(
        "--transient",
        type=float,
        help="gw: seconds before the BOLD FC window, a multiple of 2 (default "
        "30; --quick 4)",
    )
    args = parser.parse_args()
    for name, section in SECTIONS.items():
        if args.only in (None, name):
            if name == "gw":
                section(
                    args.quick,
                    args.pop,
                    args.gens,
                    args.seconds,
                    args.transient,
                    args.seed,
                )
            else:
                section(args.quick)
