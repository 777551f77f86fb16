"""Sobol' indices end to end against SALib; a network study's throughput;
indices of a large array output from a store in bounded memory.

(a) Ishigami (a = 7, b = 0.1), d = 3, N = 2^16 base samples with second
    order (N (2d + 2) = 524,288 evaluations), float64: sweepjax (Saltelli
    design + ParallelExecution + `sobol_indices`, compilation included)
    against SALib's documented workflow (``sobol.sample``, ``np.array([f(x)
    for x in X])``, ``sobol.analyze``) and against SALib with a vectorised
    NumPy model. sweepjax is timed with nothing of it compiled (tracing and
    compilation counted): in this process after ``jax.clear_caches()``, and
    in a fresh process after the imports and JAX's start (its backend and
    PRNG seeding). Also: our indices against SALib's on the same outputs.
(b) The example's network study (``examples/sensitivity_study.py``: delayed
    SupHopf, BOLD FC and mean activity in the loop): evaluations per second
    of the Saltelli sweep against the same model compiled once and called
    point by point.
(c) A Saltelli design's array output of 80 x 80 (an FC matrix: 6,400
    elements a point) written to a Zarr store, its indices read back in
    blocks, in a fresh process: peak RSS for N = 144 and N = 1,152 base
    samples (1,008 and 8,064 points: 6.5 x 10^6 and 5.2 x 10^7 values).

    python benchmarks/sensitivity.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from _common import timed, verdict  # noqa: E402
from SALib.analyze import sobol as salib_analyze  # noqa: E402
from SALib.sample import sobol as salib_sample  # noqa: E402

from sweepjax import ParallelExecution, UniformAxis  # noqa: E402
from sweepjax.sensitivity import SaltelliSpace, sobol_indices  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PROBLEM = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}


def ishigami_point(x):
    """SALib's documented model: one point, Python floats."""
    return math.sin(x[0]) + 7.0 * math.sin(x[1]) ** 2 + 0.1 * x[2] ** 4 * math.sin(x[0])


def ishigami_numpy(x):
    return (
        np.sin(x[:, 0])
        + 7.0 * np.sin(x[:, 1]) ** 2
        + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
    )


def ishigami_jax(p):
    x1, x2, x3 = p["x1"], p["x2"], p["x3"]
    return {"y": jnp.sin(x1) + 7.0 * jnp.sin(x2) ** 2 + 0.1 * x3**4 * jnp.sin(x1)}


def salib_stages(n, loop: bool) -> tuple[dict[str, float], object, np.ndarray]:
    """SALib's workflow, stage by stage: seconds per stage, indices, design."""
    times = {}
    t, x = timed(
        lambda: salib_sample.sample(PROBLEM, n, calc_second_order=True, seed=1)
    )
    times["design"] = t
    if loop:
        t, y = timed(lambda: np.array([ishigami_point(row) for row in x]))
    else:
        t, y = timed(lambda: ishigami_numpy(x))
    times["evaluate"] = t
    t, ref = timed(lambda: salib_analyze.analyze(PROBLEM, y, True, seed=1))
    times["indices"] = t
    return times, ref, x


#: JAX's compile events of the latest `our_stages` ("compilations" lists
#: the seconds of each program's tracing, lowering and XLA compilation).
COMPILES: list[tuple[str, float]] = []


def _compile_event(event: str, seconds: float, **_: object) -> None:
    if event.startswith("/jax/core/compile/"):
        COMPILES.append((event.rsplit("/", 1)[-1], seconds))


jax.monitoring.register_event_duration_secs_listener(_compile_event)


def our_stages(n) -> tuple[dict[str, float], object, object, object]:
    """sweepjax's workflow, stage by stage (compilation in "evaluate")."""
    times = {}
    COMPILES.clear()
    state = {f"x{i}": UniformAxis(-np.pi, np.pi, 2) for i in (1, 2, 3)}
    t, design = timed(
        lambda: SaltelliSpace(state, n, second_order=True, key=jax.random.key(1))
    )
    times["design"] = t
    run = ParallelExecution(ishigami_jax, design, n_vmap=2**16, progress=False)
    t, result = timed(run.run)
    times["evaluate"] = t
    t, ds = timed(lambda: sobol_indices(result))
    times["indices"] = t
    return times, ds, design, result


def compile_summary() -> str:
    """The programs `our_stages` compiled and the milliseconds each step of
    compiling them took, summed over the programs."""
    steps = {
        "jaxpr_trace_duration": "tracing",
        "jaxpr_to_mlir_module_duration": "lowering",
        "backend_compile_duration": "XLA",
    }
    total = {name: 0.0 for name in steps.values()}
    for event, seconds in COMPILES:
        if event in steps:
            total[steps[event]] += seconds * 1e3
    count = sum(event == "backend_compile_duration" for event, _ in COMPILES)
    spent = ", ".join(f"{k} {v:.0f} ms" for k, v in total.items())
    return f"{count} program(s) compiled: {spent}"


def our_session(n: int):
    """`our_stages` in this process with nothing of it compiled: JAX's
    caches cleared, then what any session starts with (JAX's PRNG seeding,
    `jax.random.key(0)`); also what it compiled (`compile_summary`)."""
    jax.clear_caches()
    jax.block_until_ready(jax.random.key(0))
    *out, result = our_stages(n)
    return (*out, result, compile_summary())


def our_child(n: int, out: str) -> None:
    """`our_stages` in this fresh process, after what any session starts
    with (imports, xarray's lazy imports, JAX's backend and PRNG seeding);
    prints the stage times, writes the outputs and indices."""
    import xarray

    xarray.Dataset({"w": ("x", np.zeros(2))})  # pulls in xarray's lazy imports
    jax.block_until_ready(jax.random.key(0))
    times, ds, design, result = our_stages(n)
    table = design.to_dataframe()[["x1", "x2", "x3"]].to_numpy()
    arrays = {k: ds[k].values for k in ("S1", "ST", "S1_conf", "ST_conf", "S2")}
    np.savez(out, y=np.asarray(result.outputs["y"]), table=table, **arrays)
    print(json.dumps({"times": times, "compiled": compile_summary()}))


def our_fresh(n: int) -> tuple[dict[str, float], dict[str, np.ndarray], str]:
    """`our_child` in a fresh process: its stage times, its arrays and what
    it compiled."""
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "ours.npz")
        cmd = [sys.executable, __file__, "--child", str(n), out]
        line = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        report = json.loads(line.splitlines()[-1])
        with np.load(out) as f:
            return report["times"], dict(f), report["compiled"]


def part_a(n: int, repeats: int = 3) -> None:
    print(f"(a) Ishigami, N = {n} (2nd order: {n * 8:,} evaluations), float64")
    warnings.simplefilter("ignore")  # SALib's and SciPy's notes on N
    import xarray

    xarray.Dataset({"w": ("x", np.zeros(2))})  # imports are not what is compared
    ours, fresh = "sweepjax (design + sweep + indices)", "sweepjax, fresh process"
    best: dict[str, dict[str, float]] = {}
    kept: dict[str, object] = {}
    for _ in range(repeats):  # interleaved: all see the same load
        runs = {
            ours: our_session(n),
            fresh: our_fresh(n),
            "SALib, vectorised NumPy model": salib_stages(n, loop=False),
            "SALib, documented loop": salib_stages(n, loop=True),
        }
        for name, (times, *rest) in runs.items():
            if name not in best or sum(times.values()) < sum(best[name].values()):
                best[name], kept[name] = times, rest[-1]
    _, ds, design, result, _ = runs[ours]
    _, arrays, _ = runs[fresh]
    compiled, fresh_compiled = kept[ours], kept[fresh]  # those of the best runs
    _, _, x = runs["SALib, vectorised NumPy model"]
    same = salib_analyze.analyze(PROBLEM, np.asarray(result.outputs["y"]), True, seed=1)
    keys = ("S1", "ST", "S1_conf", "ST_conf", "S2")
    diff = max(float(np.nanmax(np.abs(ds[k].values - same[k]))) for k in keys)
    fresh_diff = max(float(np.nanmax(np.abs(arrays[k] - same[k]))) for k in keys)
    table = design.to_dataframe()[["x1", "x2", "x3"]].to_numpy()
    design_diff = float(np.abs(table - x).max())
    totals = {name: sum(times.values()) for name, times in best.items()}
    targets = {"SALib, vectorised NumPy model": 1.0, "SALib, documented loop": 50.0}
    print(f"  best of {repeats}, seconds      design  evaluate   indices     total")
    for name, times in best.items():
        line = f"  {name:38s}" + "".join(f"{v:10.2f}" for v in times.values())
        line += f"{totals[name]:10.2f}"
        if name in targets:
            ratio, vs_fresh = totals[name] / totals[ours], totals[name] / totals[fresh]
            line += f"  ratio {ratio:5.1f}x {verdict(ratio, targets[name])}"
            line += f" (fresh process: {vs_fresh:.1f}x)"
        print(line)
    print(
        "  sweepjax is timed with nothing compiled: in this process after "
        "jax.clear_caches(), and in a fresh process after the imports and "
        "JAX's start; SALib in this process"
    )
    print(f"  evaluate: {compiled} (fresh process: {fresh_compiled})")
    print(f"  max |ours - SALib| on the same outputs: {diff:.1e} ({fresh_diff:.1e})")
    print(f"  max |our design - SALib's| for the same seed: {design_diff:.1e}")
    print(f"  S1 {np.round(ds['S1'].values, 4)}  ST {np.round(ds['ST'].values, 4)}")
    print(f"  load average (1 min): {os.getloadavg()[0]:.1f}")


def part_b(n: int, seconds: float, regions: int) -> None:
    sys.path.insert(0, str(ROOT / "examples"))
    from sensitivity_study import build, parameters

    jax.config.update("jax_enable_x64", False)  # the study runs in float32
    model, target, _ = build(regions, seconds, 1.0, 0.5, 500.0)
    design = SaltelliSpace(parameters(), n, key=jax.random.key(0))
    print(f"(b) network study: {regions} regions, {seconds:g} s, {len(design)} points")
    # on a CPU the delayed gather's history grows with the batch and leaves
    # the cache: a few points per call beat one call of all (measured 4: 5.2
    # points/s, 28: 3.9), so both are shown
    t_warm = {}
    for n_vmap in (4, len(design)):
        run = ParallelExecution(model, design, target, n_vmap=n_vmap, progress=False)
        t_cold, _ = timed(run.run)
        t_warm[n_vmap], _ = timed(run.run)
        rate = len(design) / t_warm[n_vmap]
        print(
            f"  sweepjax sweep, n_vmap={n_vmap:2d}: {rate:8.2f} points/s "
            f"(cold {len(design) / t_cold:.2f}/s)"
        )
    one = jax.jit(model)
    points = [design[i] for i in range(len(design))]
    jax.block_until_ready(one(points[0], target))  # compile once
    start = time.perf_counter()
    for p in points:
        jax.block_until_ready(one(p, target))
    t_loop = time.perf_counter() - start
    rate, rate_loop = len(design) / min(t_warm.values()), len(design) / t_loop
    print(
        f"  point by point: {rate_loop:8.2f} points/s; best sweep / point by point "
        f"{rate / rate_loop:.2f}x"
    )
    jax.config.update("jax_enable_x64", True)


STORE_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    sys.path.insert(0, {bench!r})
    from _common import peak_rss_mb
    import jax
    from sweepjax import Result, UniformAxis, open_result
    from sweepjax.sensitivity import SaltelliSpace, sobol_indices
    import xarray, zarr, dask.array, scipy.stats
    base = peak_rss_mb()
    state = {{f"p{{i}}": UniformAxis(0.0, 1.0, 2) for i in range(5)}}
    design = SaltelliSpace(state, {n}, key=jax.random.key(0))
    t = time.perf_counter()
    ds = sobol_indices({store!r}, design, dims=("i", "j"))
    took = time.perf_counter() - t
    print(base, peak_rss_mb(), took, float(ds["ST"].mean()))
    """
)


def write_store(path: str, n: int) -> int:
    """A Saltelli design's 80 x 80 output (FC-like) streamed to a store."""
    state = {f"p{i}": UniformAxis(0.0, 1.0, 2) for i in range(5)}
    design = SaltelliSpace(state, n, key=jax.random.key(0))
    w = jnp.asarray(np.random.default_rng(0).normal(size=(5, 80, 80)))

    def fc(p):
        mix = sum(p[f"p{i}"] ** (i + 1) * w[i] for i in range(5))
        return {"fc": jnp.tanh(mix + mix.T)}

    run = ParallelExecution(fc, design, n_vmap=256, progress=False)
    run.run(store=path)
    return len(design)


def part_c(sizes: list[int]) -> None:
    print("(c) indices of an 80 x 80 output per point, read from a store in blocks")
    jax.config.update("jax_enable_x64", False)
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            store = str(Path(tmp) / "fc.zarr")
            points = write_store(store, n)
            code = STORE_SCRIPT.format(bench=str(ROOT / "benchmarks"), n=n, store=store)
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout.split()
            base, peak, took = float(out[0]), float(out[1]), float(out[2])
            values = points * 6400
            print(
                f"  N = {n:5d}: {points:,} points x 6,400 = {values:.2e} values "
                f"({values * 4 / 1e6:,.0f} MB float32); indices in {took:.1f} s; "
                f"peak RSS {peak:.0f} MB ({peak - base:.0f} MB above the imports)"
            )
    jax.config.update("jax_enable_x64", True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--only", choices=["a", "b", "c"], help="one part")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        our_child(int(args.child[0]), args.child[1])
        sys.exit()
    quick = args.quick
    if args.only in (None, "a"):
        part_a(2**10 if quick else 2**16)
    if args.only in (None, "b"):
        part_b(4, 2.0, 4) if quick else part_b(4, 4.0, 80)
    if args.only in (None, "c"):
        part_c([16, 64] if quick else [144, 1152])
