"""Space overhead on a 10^7-point product space of three axes.

Prints build time, `space[i]` against rebuilding the grid per access (what a
space that materialises every combination does), iteration rate and
`to_dataframe` time for 10^6 rows.

    python benchmarks/space_overhead.py [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
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
