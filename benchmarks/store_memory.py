"""Streaming to a Zarr store in bounded memory; Dask overhead on one machine.

1. 10^5 points, each returning a 68 x 68 float32 matrix (1.85 GB of results),
   streamed by ParallelExecution to a store, in a fresh subprocess: peak RSS
   (target < 1 GB) and its ratio to the results' size, plus the RSS after
   imports (what JAX alone costs).
2. The same sweep to a store with DistributedExecution on a 2-worker
   LocalCluster against ParallelExecution in this process: wall times and the
   ratio distributed / parallel, cold (cluster start and compilation
   included) and warm (a running cluster and compiled sweeps; best of 2).
3. The program fingerprint a store records (one trace of one point, hashed):
   its time against the compilation, on this benchmark's model and on the
   delayed network of ``delays.py`` (76 regions, SupHopf, Heun); and a cold
   store run with the fingerprint against one without it (before it existed,
   the compiled sweep traced the model itself).

    python benchmarks/store_memory.py [--quick] [--fingerprint]  # 3 alone
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from _common import best_of, timed, verdict

from sweepjax import (
    DistributedExecution,
    GridAxis,
    ParallelExecution,
    Space,
    open_result,
)
from sweepjax._store._provenance import program_fingerprint
from sweepjax.execution._dependencies import trace_point
from sweepjax.execution._parallel import CompiledSweep

N_NODES = 68
N_VMAP = 256
CHUNK = 1024


def make_space(n: int) -> Space:
    return Space(
        {"G": GridAxis(0.1, 2.0, n // 100), "sigma": GridAxis(1e-3, 1e-1, 100)},
        mode="product",
    )


def fc_model(state, weights):
    """A 68 x 68 'functional connectivity' per point: cheap, but not constant."""
    x = jnp.tanh(state["G"] * weights + state["sigma"] * weights.T)
    return {"fc": x @ x.T / N_NODES}


MEMORY_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np, psutil
    sys.path.insert(0, sys.argv[3])
    from _common import peak_rss_mb
    from store_memory import fc_model, make_space, N_NODES, N_VMAP
    from sweepjax import ParallelExecution
    n, store = int(sys.argv[1]), sys.argv[2]
    weights = np.random.default_rng(0).uniform(size=(N_NODES, N_NODES))
    weights = weights.astype(np.float32)
    space = make_space(n)
    before = psutil.Process().memory_info().rss / 1e6
    ParallelExecution(fc_model, space, weights, n_vmap=N_VMAP, progress=False).run(
        store=store
    )
    peak = peak_rss_mb() * 2**20 / 1e6  # this process's own high-water mark
    print(before, peak)
    """
)


def memory(n: int, store: Path) -> tuple[float, float, float]:
    """(RSS after imports, peak RSS, in MB; seconds) of a store run, measured
    in a fresh subprocess so nothing else in this one counts."""
    here = str(Path(__file__).resolve().parent)
    seconds, out = timed(
        lambda: subprocess.run(
            [sys.executable, "-c", MEMORY_SCRIPT, str(n), str(store), here],
            capture_output=True,
            text=True,
            check=True,
        )
    )
    before, peak = map(float, out.stdout.split())
    return before, peak, seconds


def disk_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def distributed_vs_parallel(n: int, tmp: Path) -> dict[str, float]:
    from distributed import Client, LocalCluster

    weights = np.random.default_rng(0).uniform(size=(N_NODES, N_NODES))
    weights = weights.astype(np.float32)
    space = make_space(n)

    def parallel():
        return ParallelExecution(
            fc_model, space, weights, n_vmap=N_VMAP, progress=False
        )

    def distributed(client=None):
        return DistributedExecution(
            fc_model,
            space,
            weights,
            client=client,
            n_vmap=N_VMAP,
            n_workers=2,
            progress=False,
        )

    def fresh(name):
        shutil.rmtree(tmp / name, ignore_errors=True)
        return tmp / name

    out = {}
    ex = parallel()
    out["parallel_cold"], _ = timed(
        lambda: ex.run(store=fresh("p.zarr"), chunk_size=CHUNK)
    )
    out["parallel_warm"] = best_of(
        lambda: ex.run(store=fresh("p.zarr"), chunk_size=CHUNK), 2
    )
    out["cold"], _ = timed(
        lambda: distributed().run(store=fresh("d.zarr"), chunk_size=CHUNK)
    )
    step = max(1, n // 997)
    a = np.asarray(open_result(tmp / "p.zarr").outputs["fc"][::step])
    b = np.asarray(open_result(tmp / "d.zarr").outputs["fc"][::step])
    np.testing.assert_array_equal(a, b)  # same numbers, spot-checked
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as lc,
        Client(lc) as client,
    ):
        client.wait_for_workers(2)
        client.run(lambda: __import__("sweepjax"))  # imports happen at start-up
        ex = distributed(client)
        out["compile"], _ = timed(
            lambda: ex.run(store=fresh("d.zarr"), chunk_size=CHUNK)
        )
        out["warm"] = best_of(
            lambda: ex.run(store=fresh("d.zarr"), chunk_size=CHUNK), 2
        )
    fresh("p.zarr"), fresh("d.zarr")
    return out


def delayed_network(t1: float):
    """The ``raw`` scenario's sweep of ``delays.py``: (model, space)."""
    import copy

    from sweepjax.network import (
        AdditiveNoise,
        DelayedLinearCoupling,
        DenseDelayGraph,
        Heun,
        Network,
        SupHopf,
        load_connectome,
        prepare,
    )

    connectome = load_connectome("76")
    weights = connectome.weights / connectome.weights.max()
    np.fill_diagonal(weights, 0.0)
    delays = (connectome.tract_lengths / 8.0).astype(np.float32)
    network = Network(
        SupHopf(a=-0.5, omega=1.0),
        {"c": DelayedLinearCoupling(("x", "y"), G=0.1)},
        DenseDelayGraph(weights, delays),
        AdditiveNoise(0.02, jax.random.key(0)),
        initial_state=0.1,
    )
    solve, config = prepare(network, Heun(), 0.0, t1, 0.1)
    sweep = copy.deepcopy(config)
    sweep.coupling.c.G = GridAxis(0.0, 0.5, 16)

    def model(cfg):
        ys = solve(cfg).ys
        return {"mean_x": ys[:, 0].mean(0), "std_x": ys[:, 0].std(0)}

    return model, Space(sweep, mode="product")


class _Unfingerprinted(ParallelExecution):
    """ParallelExecution as before the fingerprint: no point trace."""

    def _point_trace(self):
        raise RuntimeError("no fingerprint")


def cpu_timed(fn) -> tuple[float, float, object]:
    """(wall s, CPU s of this process, all threads) of one call, and its
    value: on a shared machine CPU time is the steadier of the two."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def fingerprint_cost(
    model, space, args: tuple, n_vmap: int, store: Path
) -> dict[str, list[float]]:
    """[wall s, CPU s]: one point's trace (cold: the model's Python and every
    jit inside it traced for the first time), hashing it, compiling the
    batched sweep; cold store runs (new executors) with the fingerprint and
    without it, best of 3, interleaved."""
    out = {}
    *out["trace"], traced = cpu_timed(lambda: trace_point(model, space, args, {}))
    *out["hash"], _ = cpu_timed(lambda: program_fingerprint(traced.jaxpr))
    *out["compile"], _ = cpu_timed(
        lambda: CompiledSweep(model, space, args, {}, n_vmap, 1, trace=traced)
    )

    def run(kind):
        shutil.rmtree(store, ignore_errors=True)
        executor = kind(model, space, *args, n_vmap=n_vmap, progress=False)
        return cpu_timed(lambda: executor.run(store=store))[:2]

    runs = [(run(ParallelExecution), run(_Unfingerprinted)) for _ in range(3)]
    out["with"] = [min(r[0][k] for r in runs) for k in (0, 1)]
    out["without"] = [min(r[1][k] for r in runs) for k in (0, 1)]
    shutil.rmtree(store, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--fingerprint", action="store_true", help="part 3 only")
    opts = parser.parse_args()
    n = 10_000 if opts.quick else 100_000
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        if not opts.fingerprint:
            streaming(n, Path(tmp))
        fingerprints(n, Path(tmp))


def streaming(n: int, tmp: Path) -> None:
    """Parts 1 and 2: memory while streaming; Dask against one process."""
    size_mb = n * N_NODES * N_NODES * 4 / 1e6
    before, peak, seconds = memory(n, tmp / "m.zarr")
    on_disk = disk_mb(tmp / "m.zarr")
    shutil.rmtree(tmp / "m.zarr")
    print(
        f"store streaming, {n} points x {N_NODES}x{N_NODES} float32 "
        f"(results {size_mb:.0f} MB, {on_disk:.0f} MB on disk), "
        f"ParallelExecution n_vmap={N_VMAP}, {seconds:.1f} s incl. start-up"
    )
    print(
        f"  RSS after imports {before:.0f} MB, peak RSS {peak:.0f} MB = "
        f"{peak / size_mb:.3f} x the results' size (target < 1000 MB: "
        f"{verdict(peak, 1000, False)})"
    )

    t = distributed_vs_parallel(n, tmp)
    print(
        f"DistributedExecution (2-worker LocalCluster, chunk {CHUNK}) vs "
        f"ParallelExecution, same {n}-point sweep to a store "
        "(ratio = distributed / parallel time)"
    )
    print(
        f"  parallel: cold (compile) {t['parallel_cold']:.2f} s, warm "
        f"{t['parallel_warm']:.2f} s"
    )
    print(
        f"  distributed, cold (LocalCluster start + compile per worker): "
        f"{t['cold']:.2f} s, ratio {t['cold'] / t['parallel_cold']:.2f}"
    )
    print(
        f"  distributed, running cluster, first run (compile per worker): "
        f"{t['compile']:.2f} s, ratio {t['compile'] / t['parallel_cold']:.2f}"
    )
    print(
        f"  distributed, running cluster, warm: {t['warm']:.2f} s, ratio "
        f"{t['warm'] / t['parallel_warm']:.2f}"
    )


def fingerprints(n: int, tmp: Path) -> None:
    """Part 3: the program fingerprint's cost."""
    weights = np.random.default_rng(0).uniform(size=(N_NODES, N_NODES))
    cases = {
        f"fc_model ({n // 50} points)": (
            fc_model,
            make_space(n // 50),
            (weights.astype(np.float32),),
            N_VMAP,
        ),
        "delayed network, 76 regions, 16 points, 100 ms": (
            *delayed_network(100.0),
            (),
            16,
        ),
    }
    print("program fingerprint (trace one point + hash) against compilation")
    for name, (model, space, args, n_vmap) in cases.items():
        c = fingerprint_cost(model, space, args, n_vmap, tmp / "f.zarr")
        shown = {k: f"{w * 1e3:.0f} ms ({u * 1e3:.0f} CPU)" for k, (w, u) in c.items()}
        share = (c["trace"][1] + c["hash"][1]) / c["compile"][1]
        print(
            f"  {name}: trace {shown['trace']} + hash {shown['hash']} vs "
            f"compile {shown['compile']}: {share:.1%} of the compile's CPU; "
            f"cold store run with {shown['with']}, without {shown['without']}"
        )


if __name__ == "__main__":
    main()
