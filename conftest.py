"""pytest set-up shared by the tests and the docstring examples (doctests).

The slowest test files run first (`SLOWEST_FIRST`), so that the workers
of ``make test`` (``--dist loadfile --no-loadscope-reorder``) end together
rather than one waiting while the other runs a long file last.

Four virtual CPU devices, so multi-device sweeps run here: XLA reads the flag
once, when JAX first starts, so it is set before anything imports jax. Every
docstring example runs in a fresh temporary directory with the public API
(and ``jax``, ``jnp``, ``np``) already imported, as a user would have it.
"""

import atexit
import gc
import os
import shutil
import signal
import tempfile

os.environ.setdefault("MPLBACKEND", "Agg")

# A shell runs a background job (`make test &` in a script) with Ctrl-C
# ignored, and the processes the tests start would inherit it: the tests of
# Ctrl-C need it delivered, as at a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# The suite is compile-bound: XLA's backend optimisations off halve LLVM's
# share of each compilation (the suite in 3:56 rather than 5:03 on 2 cores).
# Programs compute the same numbers to the last bit or two (no fused
# multiply-add); what is pinned to the optimised bits, the host's emulation
# of JAX's uniform draw, compiles with them on (tests/test_axes.py), and
# `make test-thorough` runs everything optimised.
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")
_FLAGS = ["--xla_force_host_platform_device_count=4"]
if os.environ["JAX_DISABLE_MOST_OPTIMIZATIONS"] != "0":
    # XLA's CPU fusion emitters (its MLIR code generator) off as well: the
    # older emitter compiles a network program in 0.24 s of CPU, not 0.62 s,
    # which takes 40% off the network tests' CPU time. A test that fails only
    # under it: rerun with XLA_FLAGS=--xla_cpu_use_fusion_emitters=true (one
    # gradient is miscompiled by it: tests/network/test_wasserstein.py
    # compiles that one with `compiler_options`).
    _FLAGS.append("--xla_cpu_use_fusion_emitters=false")
for _flag in _FLAGS:
    if _flag.split("=")[0] not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {_flag}".strip()

# One XLA compilation cache for the whole run, shared by the pytest workers
# and the subprocesses they start (they inherit the variable): many tests
# prepare the same network, and XLA then compiles each program once.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="sweepjax-test-xla-")
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _cache
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.1")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import sweepjax  # noqa: E402
import sweepjax.network  # noqa: E402

# A young collection every 10,000 allocations rather than 700: tracing
# allocates by the million, and the survivors grow the old generations, whose
# full walks took 6% of the network tests' CPU time even with `gc.freeze`
# (test_observers.py and test_checks.py: 3.2 s in the collector, 0.9 s with
# this; the same peak memory, 1.1 GB).
gc.set_threshold(10_000, 10, 10)

#: The slowest test files, slowest first (measured with ``--durations=0``);
#: every other file keeps its place after them. Only an order: a file missing
#: here or renamed still runs.
SLOWEST_FIRST = (
    "tests/network/test_model_registry.py",
    "tests/test_docs.py",
    "tests/network/test_observers.py",
    "tests/network/test_prepare.py",
    "tests/store/test_store_writer.py",
    "tests/network/test_gradients.py",
    "tests/network/test_shared_history.py",
    "tests/test_cli.py",
    "tests/execution/test_distributed.py",
    "tests/network/test_checks.py",
    "tests/network/test_metrics.py",
    "tests/network/test_integrate.py",
    "tests/store/test_store_lock.py",
    "tests/test_space.py",
    "tests/fit/test_optimizer.py",
    "tests/network/test_wasserstein.py",
    "tests/test_axes.py",
    "tests/search/test_evolve.py",
)


#: End-to-end runs that do not fit `make test`'s four minutes on two cores
#: (measured: the suite took 6:00 with them), each a whole workflow whose parts
#: the fast tier tests on their own: the examples' and docs' runs that start
#: clusters or simulate the gw data, the wheel in a fresh environment, the live
#: cross-check of every model and coupling against tvb-library, and tests that
#: kill processes. They are marked ``heavy``; `make test-all` runs them and CI
#: runs both tiers (.ci/run).
HEAVY = (
    "tests/test_wheel.py",
    "tests/network/test_demo.py::test_bold_fit_study_runs",
    "tests/network/test_demo.py::test_fit_empirical_fc_runs",
    "tests/search/test_study_example.py",
    "tests/search/test_resume.py",
    "tests/sensitivity/test_example.py",
    "tests/network/test_regimes.py::test_regime_map_example_runs",
    "tests/test_docs.py::test_page_runs_as_written[stores_and_clusters.md]",
    "tests/test_docs.py::test_page_runs_as_written[search.md]",
    "tests/test_docs.py::test_page_runs_as_written[sensitivity.md]",
    "tests/test_docs.py::test_page_runs_as_written[regimes.md]",
    "tests/network/test_tvb_crosscheck.py",
    "tests/execution/test_distributed.py::test_killed_worker_still_yields_every_point_once",
    "tests/execution/test_distributed.py::test_no_write_lands_after_the_run_ended",
    "tests/network/test_persistent_cache.py",
    "tests/store/test_store_writer.py::test_sigkill_mid_run_then_resume",
)


def pytest_collection_finish(session):
    """Everything imported and collected so far lives for the whole run: out of
    the garbage collector's sight (`gc.freeze`), so that its full collections,
    triggered over and over by the objects tracing creates, no longer walk the
    modules of JAX, pandas and the tests (measured: 7% of a network test
    file's CPU time, a third of it in the collector before)."""
    gc.collect()
    gc.freeze()


def pytest_collection_modifyitems(items):
    """The files of `SLOWEST_FIRST` first, in its order (a stable sort); the
    tests of `HEAVY` marked ``heavy``."""
    rank = {path: i for i, path in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
    for item in items:
        if item.nodeid.startswith(HEAVY):
            item.add_marker(pytest.mark.heavy)


def _examples() -> dict:
    """The objects docstring examples take as given: a 4-node network with an
    instantaneous coupling named ``instant`` (G = 0.5), its config and initial
    state, a one-axis space and a model for it."""
    net = sweepjax.network
    network = net.Network(
        dynamics=net.ReducedWongWang(),
        coupling={"instant": net.LinearCoupling(incoming_states="S", G=0.5)},
        graph=net.DenseGraph(np.ones((4, 4)) - np.eye(4)),
        noise=net.AdditiveNoise(sigma=1e-3, key=jax.random.key(0)),
    )
    y0 = jnp.asarray(network.initial_state, jnp.float32)
    return {
        "network": network,
        "config": net.make_config(network),
        "y0": y0,
        "y": y0,
        "space": sweepjax.Space({"x": sweepjax.GridAxis(0.0, 1.0, 5)}),
        "model": lambda state: {"y": state["x"] ** 2},
    }


@pytest.fixture(autouse=True)
def _doctest_namespace(request, doctest_namespace, tmp_path, monkeypatch):
    if isinstance(request.node, pytest.DoctestItem):
        monkeypatch.chdir(tmp_path)
        doctest_namespace.update(jax=jax, jnp=jnp, np=np, sweepjax=sweepjax)
        for module in (sweepjax, sweepjax.network):
            doctest_namespace.update({n: getattr(module, n) for n in module.__all__})
        doctest_namespace.update(_examples())
