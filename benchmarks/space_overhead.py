"""Space overhead on a 10^7-point product space of three axes.

Prints build time, `space[i]` against rebuilding the grid per access (what a
space that materialises every combination does), iteration rate and
`to_dataframe` time for 10^6 rows; and, in fresh processes, the interactive
path: building a 1000 x 1000 x 10 space (one `UniformAxis`) after `import
sweepjax`, its first `space[i]`, and the XLA compilations they cost.

    python benchmarks/space_overhead.py [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import textwrap
import time

import numpy as np
from _common import best_of, timed, verdict

from sweepjax import DataAxis, GridAxis, Space, UniformAxis


def make_space(n_a: int, n_b: int, n_c: int) -> Space:
    return Space(
        {
            "G": GridAxis(0.0, 1.0, n_a),
            "sigma": UniformAxis(1e-4, 1e-2, n_b),
            "speed": DataAxis(np.linspace(1.0, 10.0, n_c)),
            "dt": 0.1,
        },
        mode="product",
    )


def meshgrid_lookup(space: Space, i: int) -> dict:
    """The eager approach: build every combination, then pick one."""
    values = [np.asarray(v) for v in space.values.values()]
    grids = np.meshgrid(*values, indexing="ij")
    flat = np.stack([g.ravel() for g in grids], axis=1)
    return dict(zip(space.values, flat[i]))


FRESH = textwrap.dedent(
    """
    import time
    import numpy as np
    import jax
    import sweepjax
    from sweepjax import DataAxis, GridAxis, Space, UniformAxis

    compiles = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, secs, **kw: compiles.append(secs)
        if event == "/jax/core/compile/backend_compile_duration" else None
    )
    t0 = time.perf_counter()
    space = Space(
        {"G": GridAxis(0.0, 1.0, 1000), "sigma": UniformAxis(1e-4, 1e-2, 1000),
         "speed": DataAxis(np.linspace(1.0, 10.0, 10)), "dt": 0.1},
        mode="product",
    )
    t1 = time.perf_counter()
    space[123_456]
    t2 = time.perf_counter()
    print(t1 - t0, t2 - t1, len(compiles), sum(compiles))
    """
)


def fresh_process(repeats: int) -> list[tuple[float, float, int, float]]:
    """(build, first index, compilations, compile seconds) in fresh processes,
    with JAX's persistent compilation cache off."""
    env = {k: v for k, v in os.environ.items() if "COMPILATION_CACHE" not in k}
    env["JAX_ENABLE_COMPILATION_CACHE"] = "false"
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", FRESH],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout.split()
        runs.append((float(out[0]), float(out[1]), int(out[2]), float(out[3])))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    sizes = (100, 100, 100) if quick else (1000, 100, 100)

    cold, space = timed(lambda: make_space(*sizes))
    build = best_of(lambda: make_space(*sizes), 3)
    n = len(space)
    rng = np.random.default_rng(0)
    picks = [int(i) for i in rng.integers(0, n, 2000)]
    lazy = []
    for i in picks:
        t0 = time.perf_counter()
        space[i]
        lazy.append(time.perf_counter() - t0)
    lazy_median = statistics.median(lazy)
    eager = best_of(lambda: meshgrid_lookup(space, picks[0]), 3)

    n_iter = 20_000 if quick else 100_000
    t_iter, _ = timed(lambda: sum(1 for _ in itertools.islice(iter(space), n_iter)))
    rate = n_iter / t_iter

    table_space = make_space(100, 100, 100)
    t_df = best_of(table_space.to_dataframe, 3)

    runs = fresh_process(3)
    build_f, first_f, n_compiles, compile_s = min(runs, key=lambda r: r[0] + r[1])
    total = build_f + first_f
    print("fresh process, after `import sweepjax` (best of 3 processes):")
    print(
        f"  1000 x 1000 x 10 space, one UniformAxis: build {build_f * 1e3:.1f} ms, "
        f"first space[i] {first_f * 1e3:.1f} ms, together {total * 1e3:.1f} ms "
        f"(target <= 150 ms: {verdict(total, 0.15, False)})"
    )
    print(
        f"  of which XLA compiling {compile_s * 1e3:.1f} ms; without it "
        f"{(total - compile_s) * 1e3:.1f} ms"
    )
    print(
        f"  XLA compilations: {n_compiles} (target <= 1: "
        f"{verdict(n_compiles, 1, False)}; the grid's linspace, the uniform draw "
        "is made on the host); all runs (build, first, "
        "compilations): "
        + ", ".join(f"({b * 1e3:.0f} ms, {f * 1e3:.1f} ms, {c})" for b, f, c, _ in runs)
    )
    print(f"space of {n:,} points, three axes")
    print(
        f"build, first:       {cold * 1e3:8.2f} ms   (includes JAX's one-time "
        "start-up and op compilation)"
    )
    print(
        f"build:              {build * 1e3:8.2f} ms   (target < 100 ms: "
        f"{verdict(build, 0.1, False)})"
    )
    print(f"space[i] median:    {lazy_median * 1e6:8.2f} us")
    print(f"meshgrid per access:{eager * 1e3:8.2f} ms")
    print(
        f"speed-up:           {eager / lazy_median:8.0f}x   (target >= 500x: "
        f"{verdict(eager / lazy_median, 500)})"
    )
    print(
        f"iteration:          {rate:8.0f} combinations/s (target >= 20,000: "
        f"{verdict(rate, 20_000)})"
    )
    print(
        f"to_dataframe 1e6:   {t_df * 1e3:8.1f} ms   (target < 1000 ms: "
        f"{verdict(t_df, 1.0, False)})"
    )


if __name__ == "__main__":
    main()
