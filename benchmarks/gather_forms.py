"""Benchmark: formulations of the delayed coupling ``sum_j W_ij x_j(t - d_ij)``.

The gw connectome (80 regions, 6,291 delayed edges, delays at 20 mm/ms
rounded to dt = 0.1 ms steps: 0 to 117, 118 history slots) drives a batch of
``B`` points that share the delays; a jitted ``lax.scan`` of ``--steps``
steps (float32, one XLA CPU device) stores each step's state in the history
and reads the delayed coupling back. The state update is a cheap linear one
(``0.9 x + a c + 0.1 (1.5 + sin)``, contracting) so the coupling is what is
measured. Each contender's
CPU time (``time.process_time``, all threads) is the best of ``--repeat``
interleaved calls, printed per run and step with its speed-up over ``a``
(the delay line as it was) and its net cost (less the ``store`` row: the
same scan storing the history but reading nothing).

Contenders:

- ``store``: the scan with the history written and no coupling (the floor).
- ``nodelay``: the undelayed coupling, one ``[80, 80] @ [80, B]`` matmul.
- ``a-lib``: sweepjax's :func:`sweepjax.network._delays.delay_line` (its
  ``[B, states, N]`` layout and transposes included): the padded edge table
  and a batched product per target (``e-dense``'s form); ``a-lib-old``: the
  same with the segment sum it had before (``PADDING_LIMIT = 0``).
- ``a``: a copy of it on ``[N, B]`` states: history ``[S * N, 1, B]``
  (slot-major), one gather of ``[E, 1, B]`` rows, a target-sorted
  ``segment_sum``.
- ``a-src``: the same with the edges sorted by source (unsorted sum).
- ``c``: node-major history ``[N * S, B]``, per-edge flat row offsets.
- ``d``: scatter-to-future: each step adds ``W_ij x_j(t)`` into an
  accumulator ring at slot ``t + d_ij`` (one scatter-add of ``[E, B]``), the
  coupling is the current slot, then cleared.
- ``e-dense``: the gather padded to the dense ``[N, N, B]`` (missing edges
  weight 0) and a batched matrix-vector product ``'ij,ijb->ib'``.
- ``b-m``: multi-step blocks of ``m`` steps: the history ``[N, 2S, B]`` holds
  each state at slot ``s`` and ``s + S``, so the ``m`` delayed values an edge
  with delay ``>= m`` needs for the next ``m`` steps are one contiguous
  ``[m, B]`` slice: ONE gather ``[E, m, B]`` and one segment sum per block,
  then ``m`` steps that read the precomputed coupling; the edges with delay
  ``< m`` (gw has delays of 0 steps) are read every step as in ``a``.
- ``b-m-dense``: the same with the block read as ``e-dense`` reads a step
  (rows of the dense table, ``m`` rows each) and summed by its product.
- ``b-m-ideal``: ``b-m`` as if every delay were ``>= m`` (no per-step edges):
  the bound for a network whose shortest delay is ``m`` steps.

Delays vary 118 ways, so one matmul per distinct delay (a one-hot per delay
bin) would cost 118 dense products per step: not run.

Usage::

    python benchmarks/gather_forms.py [--batch 8 16] [--steps 4000] [--repeat 3]
    python benchmarks/gather_forms.py --random 1000 --batch 16 --steps 400
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=1")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from sweepjax.network import (  # noqa: E402
    DelayedLinearCoupling,
    DenseDelayGraph,
    Euler,
    Network,
    SupHopf,
    _delays,  # noqa: E402
    load_dataset,
    prepare,
)
from sweepjax.network._batching import Points  # noqa: E402
from sweepjax.network._delays import delay_line  # noqa: E402

DT, SPEED = 0.1, 20.0


def gw_edges() -> dict:
    """The gw graph's edges (weights != 0), sorted by target, with their
    delays in steps."""
    con = load_dataset("gw").connectome_scaled_by_max()
    W = np.asarray(con.weights, np.float32)
    L = np.asarray(con.tract_lengths, np.float32)
    tgt, src = np.nonzero(W)  # row-major: sorted by target
    delays = (L / SPEED).astype(np.float32)
    D = np.rint(delays[tgt, src] / DT).astype(np.int32)
    return dict(W=W, L=L, delays=delays, tgt=tgt, src=src, D=D, w=W[tgt, src])


#: set by main: 0.05 / the largest in-strength, so the update contracts
GAIN = [0.0]


def random_edges(n: int, p: float, seed: int = 0) -> dict:
    """A random graph: n nodes, each connection with probability p, delays
    uniform in 0-10 ms (as ``delays.py --scenario sparse``)."""
    rng = np.random.default_rng(seed)
    W = np.where(rng.random((n, n)) < p, rng.random((n, n)), 0.0).astype(np.float32)
    np.fill_diagonal(W, 0.0)
    delays = (rng.random((n, n)) * 10.0).astype(np.float32)
    tgt, src = np.nonzero(W)
    D = np.rint(delays[tgt, src] / DT).astype(np.int32)
    return dict(W=W, delays=delays, tgt=tgt, src=src, D=D, w=W[tgt, src])


def update(y, c, k):
    """A contracting linear step driven by a slow sine, a phase per node
    (so the delays matter): stays finite and away from subnormal numbers."""
    # a table of the sine (XLA would fuse a sin into the update, one per
    # element, which costs more than the gathers on the [B, 2, N] layout)
    n = y.shape[-1] if y.ndim == 3 else y.shape[0]
    table = np.sin(0.05 * np.arange(126)[:, None] + np.arange(n)[None, :])
    drive = jnp.asarray(table, y.dtype)[k % 126]
    drive = drive if y.ndim == 3 else drive[:, None]
    return 0.9 * y + GAIN[0] * c + 0.1 * (1.5 + drive)


def scan_of(step, carry0, steps):
    def run(carry):
        return jax.lax.scan(step, carry, jnp.arange(steps, dtype=jnp.int32))[0]

    return jax.jit(run), carry0


def make_store(g, B, steps):
    N, S = g["W"].shape[0], int(g["D"].max()) + 1

    def step(carry, k):
        y, hist = carry
        hist = jax.lax.dynamic_update_slice(hist, y[:, None, :], ((k % S) * N, 0, 0))
        return (update(y, hist[0, 0], k), hist), None

    return scan_of(step, (y0(N, B), jnp.zeros((S * N, 1, B))), steps)


def make_nodelay(g, B, steps):
    W = jnp.asarray(g["W"])

    def step(y, k):
        return update(y, W @ y, k), None

    return scan_of(step, y0(W.shape[0], B), steps)


def y0(N, B):
    return jnp.linspace(0.1, 1.0, N * B, dtype=jnp.float32).reshape(N, B)


def make_a(g, B, steps, by_source=False):
    """sweepjax's delay line, copied onto [N, B] states."""
    N, S = g["W"].shape[0], int(g["D"].max()) + 1
    order = np.argsort(g["src"], kind="stable") if by_source else slice(None)
    tgt, src, D, w = (jnp.asarray(g[k][order]) for k in ("tgt", "src", "D", "w"))
    first = src - D * N

    def step(carry, k):
        y, hist = carry
        slot = (k % S) * N
        hist = jax.lax.dynamic_update_slice(hist, y[:, None, :], (slot, 0, 0))
        rows = slot + first
        rows = jnp.where(rows < 0, rows + S * N, rows)
        arriving = hist.at[rows].get(mode="promise_in_bounds")
        c = jax.ops.segment_sum(
            arriving * w[:, None, None], tgt, N, indices_are_sorted=not by_source
        )
        return (update(y, c[:, 0], k), hist), None

    hist = jnp.tile(y0(N, B)[:, None, :], (S, 1, 1))
    return scan_of(step, (y0(N, B), hist), steps)


def make_a_lib(g, B, steps, table=True):
    """sweepjax's own delay line (``delay_line(...).hold``) on a SupHopf
    network with x coupled into x; the state update as the others'.
    ``table=False``: its segment sum (``PADDING_LIMIT = 0``), as before the
    padded table."""
    network = Network(
        SupHopf(a=-0.1, omega=0.5),
        {"c": DelayedLinearCoupling("x", G=np.ones((2, 1), np.float32))},
        DenseDelayGraph(g["W"], g["delays"]),
    )
    _, config = prepare(network, Euler(), 0.0, 1.0, DT)
    points = Points(config, jax.tree.map(lambda _: None, config), B)
    N = network.n_nodes
    Y0 = jnp.broadcast_to(y0(N, B).T[:, None, :], (B, 2, N))
    limit = _delays.PADDING_LIMIT
    _delays.PADDING_LIMIT = limit if table else 0.0
    try:
        line = delay_line(network, points, DT, Y0)
    finally:
        _delays.PADDING_LIMIT = limit
    (target,) = network.targets.values()

    def step(carry, k):
        y, hist = carry
        held, hist = line.hold(hist, y, k)
        return (update(y, held[target], k), hist), None

    return scan_of(step, (Y0, line.init), steps)


def make_c(g, B, steps):
    """Node-major history [N * S, B]: edge e reads src * S + (k - D) % S."""
    N, S = g["W"].shape[0], int(g["D"].max()) + 1
    tgt, src, D, w = (jnp.asarray(g[k]) for k in ("tgt", "src", "D", "w"))
    base = src * S - D

    def step(carry, k):
        y, hist = carry
        slot = k % S
        hist = jax.lax.dynamic_update_slice(
            hist.reshape(N, S, B), y[:, None, :], (0, slot, 0)
        ).reshape(N * S, B)
        rows = base + slot
        rows = jnp.where(rows < src * S, rows + S, rows)
        arriving = hist.at[rows].get(mode="promise_in_bounds")
        c = jax.ops.segment_sum(arriving * w[:, None], tgt, N, indices_are_sorted=True)
        return (update(y, c, k), hist), None

    hist = jnp.tile(y0(N, B)[:, None, :], (1, S, 1)).reshape(N * S, B)
    return scan_of(step, (y0(N, B), hist), steps)


def make_d(g, B, steps):
    """Scatter-to-future: acc [S * N, B]; x_j(k) adds into slot k + D."""
    N, S = g["W"].shape[0], int(g["D"].max()) + 1
    tgt, src, D, w = (jnp.asarray(g[k]) for k in ("tgt", "src", "D", "w"))
    ahead = D * N + tgt

    def step(carry, k):
        y, acc = carry
        slot = (k % S) * N
        rows = slot + ahead
        rows = jnp.where(rows >= S * N, rows - S * N, rows)
        acc = acc.at[rows].add(y[src] * w[:, None], mode="promise_in_bounds")
        c = jax.lax.dynamic_slice(acc, (slot, 0), (N, B))
        acc = jax.lax.dynamic_update_slice(acc, jnp.zeros_like(c), (slot, 0))
        return (update(y, c, k), acc), None

    # the past before t0 (y0 throughout): slot t holds the edges with D > t
    past = (D[None, :] > jnp.arange(S)[:, None]).astype(jnp.float32)  # [S, E]
    sent = y0(N, B)[src] * w[:, None]  # [E, B]
    acc = jax.vmap(lambda p: jax.ops.segment_sum(p[:, None] * sent, tgt, N))(past)
    acc = acc.reshape(S * N, B)
    return scan_of(step, (y0(N, B), acc), steps)


def make_e_dense(g, B, steps, product=True):
    """The gather padded to dense [N, N, B] rows and 'ij,ijb->ib'."""
    N, S = g["W"].shape[0], int(g["D"].max()) + 1
    Dd = np.zeros((N, N), np.int32)
    Dd[g["tgt"], g["src"]] = g["D"]
    first = jnp.asarray(np.arange(N)[None, :] - Dd * N)  # [N, N]
    W = jnp.asarray(g["W"])

    def step(carry, k):
        y, hist = carry
        slot = (k % S) * N
        hist = jax.lax.dynamic_update_slice(hist, y, (slot, 0))
        rows = slot + first
        rows = jnp.where(rows < 0, rows + S * N, rows)
        arriving = hist.at[rows].get(mode="promise_in_bounds")  # [N, N, B]
        if product:
            c = jnp.einsum("ij,ijb->ib", W, arriving)
        else:
            c = jnp.sum(W[:, :, None] * arriving, axis=1)
        return (update(y, c, k), hist), None

    hist = jnp.tile(y0(N, B), (S, 1))
    return scan_of(step, (y0(N, B), hist), steps)


def make_b(g, B, steps, m, dense=False, ideal=False):
    """Blocks of m steps: one [E_long, m, B] gather per block from a doubled
    ring [N, 2S, B]; edges with delay < m read every step."""
    N, S = g["W"].shape[0], int(g["D"].max()) + 1
    assert steps % m == 0 and m <= S
    Dall = np.maximum(g["D"], m) if ideal else g["D"]
    long = Dall >= m
    tgt, src, D, w = (jnp.asarray(a[long]) for a in (g["tgt"], g["src"], Dall, g["w"]))
    stgt, ssrc, sD, sw = (
        jnp.asarray(a[~long]) for a in (g["tgt"], g["src"], Dall, g["w"])
    )
    short = bool((~long).any())
    if dense:
        Dd = np.full((N, N), m, np.int32)  # missing edges: weight 0, any delay >= m
        Dd[g["tgt"][long], g["src"][long]] = Dall[long]
        Wd = np.zeros((N, N), np.float32)
        Wd[g["tgt"][long], g["src"][long]] = g["w"][long]
        Dd_, Wd_ = jnp.asarray(Dd), jnp.asarray(Wd)
        src_d = jnp.asarray(np.broadcast_to(np.arange(N)[None, :], (N, N)))
    dnums = jax.lax.GatherDimensionNumbers(
        offset_dims=(1, 2), collapsed_slice_dims=(0,), start_index_map=(0, 1)
    )

    def window(hist, k0, sources, delays):
        start = k0 % S - delays
        start = jnp.where(start < 0, start + S, start)
        idx = jnp.stack([sources, start], axis=-1)
        return jax.lax.gather(
            hist,
            idx,
            dnums,
            slice_sizes=(1, m, B),
            mode=jax.lax.GatherScatterMode.PROMISE_IN_BOUNDS,
        )

    def block(carry, b):
        y, hist = carry
        k0 = b * m
        if dense:  # row gathers (e-dense's form), m rows per entry
            start = k0 % S - Dd_.reshape(-1)
            start = jnp.where(start < 0, start + S, start) + src_d.reshape(-1) * 2 * S
            rows = start[:, None] + jnp.arange(m)  # [N * N, m]
            got = hist.reshape(N * 2 * S, B).at[rows].get(mode="promise_in_bounds")
            coupled = jnp.einsum("ij,ijmb->imb", Wd_, got.reshape(N, N, m, B))
            coupled = jnp.moveaxis(coupled, 1, 0)  # [m, N, B]
        else:
            got = window(hist, k0, src, D)  # [E, m, B]
            coupled = jax.ops.segment_sum(
                got * w[:, None, None], tgt, N, indices_are_sorted=True
            )
            coupled = jnp.transpose(coupled, (1, 0, 2))  # [m, N, B]
        for s in range(m):  # unrolled
            k = k0 + s
            slot = k % S
            upd = y[:, None, :]
            hist = jax.lax.dynamic_update_slice(hist, upd, (0, slot, 0))
            hist = jax.lax.dynamic_update_slice(hist, upd, (0, slot + S, 0))
            c = coupled[s]
            if short:
                rows = slot - sD
                rows = jnp.where(rows < 0, rows + S, rows)
                arriving = hist[ssrc, rows]  # [E_short, B]
                c = c + jax.ops.segment_sum(
                    arriving * sw[:, None], stgt, N, indices_are_sorted=True
                )
            y = update(y, c, k)
        return (y, hist), None

    def run(carry):
        return jax.lax.scan(block, carry, jnp.arange(steps // m, dtype=jnp.int32))[0]

    hist = jnp.tile(y0(N, B)[:, None, :], (1, 2 * S, 1))
    return jax.jit(run), (y0(N, B), hist)


def final_y(fn, carry):
    out = jax.block_until_ready(fn(carry))
    y = out[0] if isinstance(out, tuple) else out
    return np.asarray(y if y.ndim == 2 else y[:, 0, :].T)


def cpu_of(fn, carry):
    t0 = time.process_time()
    jax.block_until_ready(fn(carry))
    return time.process_time() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--blocks", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument(
        "--random",
        type=int,
        help="a random graph of this many nodes (10%%) "
        "instead of gw: only sweepjax's delay line, with and without the table",
    )
    parser.add_argument("--only", nargs="+", help="run only these forms")
    args = parser.parse_args()
    if args.random:
        g = random_edges(args.random, 0.1)
        args.only = args.only or ["store", "a-lib", "a-lib-old"]
        in_degree = np.bincount(g["tgt"], minlength=args.random)
        print(f"in-degree: mean {in_degree.mean():.0f}, max {in_degree.max()}")
    else:
        g = gw_edges()
    GAIN[0] = 0.05 / float(g["W"].sum(axis=1).max())
    counts = np.bincount(g["D"])
    print(
        f"gw: {g['W'].shape[0]} nodes, {len(g['D'])} delayed edges, delays "
        f"{g['D'].min()}-{g['D'].max()} steps; edges below m steps: "
        + ", ".join(f"m={m}: {counts[:m].sum()}" for m in args.blocks)
    )
    print(f"load average {os.getloadavg()[0]:.1f}; {args.steps} steps, float32")
    for B in args.batch:
        makers = {
            "store": lambda: make_store(g, B, args.steps),
            "nodelay": lambda: make_nodelay(g, B, args.steps),
            "a-lib": lambda: make_a_lib(g, B, args.steps),
            "a-lib-old": lambda: make_a_lib(g, B, args.steps, table=False),
            "a": lambda: make_a(g, B, args.steps),
            "a-src": lambda: make_a(g, B, args.steps, by_source=True),
            "c": lambda: make_c(g, B, args.steps),
            "d": lambda: make_d(g, B, args.steps),
            "e-dense": lambda: make_e_dense(g, B, args.steps),
            "e-dense-sum": lambda: make_e_dense(g, B, args.steps, product=False),
        }
        for m in args.blocks:
            makers[f"b-{m}"] = lambda m=m: make_b(g, B, args.steps, m)
            makers[f"b-{m}-dense"] = lambda m=m: make_b(g, B, args.steps, m, dense=True)
            makers[f"b-{m}-ideal"] = lambda m=m: make_b(g, B, args.steps, m, ideal=True)
        if args.only:
            makers = {k: v for k, v in makers.items() if k in args.only}
        built = {name: make() for name, make in makers.items()}
        reference = final_y(*built["a" if "a" in built else "a-lib-old"])
        agree = {}
        for name, (fn, carry) in built.items():
            y = final_y(fn, carry)  # compiles; checks the numbers
            agree[name] = float(
                np.max(np.abs(y - reference)) / np.max(np.abs(reference))
            )
        best = {name: np.inf for name in built}
        for _ in range(args.repeat):  # interleaved
            for name, (fn, carry) in built.items():
                best[name] = min(best[name], cpu_of(fn, carry))
        per = {name: 1e6 * t / (B * args.steps) for name, t in best.items()}
        print(f"\nbatch {B}: CPU us per run and step (best of {args.repeat})")
        print(f"{'form':<14}{'us':>8}{'net':>8}{'vs a':>8}{'vs old':>10}  rel diff")
        for name, us in per.items():
            net = us - per["store"]
            print(
                f"{name:<14}{us:8.3f}{net:8.3f}{per.get('a', np.nan) / us:8.2f}"
                f"{per['a-lib-old'] / us:10.2f}  {agree[name]:.1e}"
            )
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
