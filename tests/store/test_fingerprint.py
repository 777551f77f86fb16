"""Resume refuses whenever anything that computes a point changed: the store
fingerprints the traced point program and records each prepared solve.

The stores here are complete, so a resume only checks (no compilation): a
refusal comes before anything is written, and an accepted resume reads the
stored result.
"""

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sweepjax import (
    DistributedExecution,
    GridAxis,
    ParallelExecution,
    SequentialExecution,
    Space,
    store_info,
)
from sweepjax._store._check import resume_differences
from sweepjax.cli import main
from sweepjax.network import (
    DenseGraph,
    Euler,
    Heun,
    LinearCoupling,
    Mean,
    Network,
    Std,
    SupHopf,
    prepare,
)

SCALE = 2.0


def helper(x):
    return x + 1.0


def another_helper(x):
    return x - 1.0


class Weights(eqx.Module):
    w: jax.Array

    def __call__(self, x):
        return x * self.w


def make_model(closure=1.5, offset=0.25, weight=3.0, target="model"):
    """A model that depends on a closed-over value, a partial's keyword and
    target, a global, a helper function and an equinox module's weights."""
    weights = Weights(jnp.asarray(weight))

    def model(state, offset):
        x = state["x"]
        return {"y": weights(x) * closure + offset * SCALE + helper(x)}

    def another_model(state, offset):
        return {"y": state["x"] * closure + offset}

    return functools.partial(locals()[target], offset=offset)


def make_network_model(t1=1.0, dt=0.25, solver=None, observer=None):
    """A model over a prepared 2-node network (4 steps): what it computes is
    decided by prepare's settings."""
    network = Network(
        SupHopf(),
        {"c": LinearCoupling(("x", "y"), G=0.1)},
        DenseGraph(np.ones((2, 2)) - np.eye(2)),
    )
    observe = {"m": observer or Mean("x")}
    solve, config = prepare(network, solver or Heun(), 0.0, t1, dt, observe=observe)

    def model(c):
        return solve(c).observed

    config.coupling.c.G = GridAxis(0.0, 0.2, 2)
    return model, Space(config)


PLAIN = Space({"x": GridAxis(0.0, 1.0, 4)})
EXECUTORS = {
    "sequential": lambda m, s: SequentialExecution(m, s, progress=False),
    "parallel": lambda m, s: ParallelExecution(m, s, n_vmap=3, progress=False),
    "distributed": lambda m, s: DistributedExecution(m, s, progress=False),
}


def _global(name, value):
    globals()[name] = value


PLAIN_CHANGES = {
    "nothing": (dict(), None),
    "closure": (dict(closure=2.5), r"closed-over closure: stored 1\.5, now 2\.5"),
    "partial": (dict(offset=0.5), r"partial keyword offset: stored 0\.25, now 0\.5"),
    "partial target": (
        dict(target="another_model"),
        r"the model calls \S*another_model, not \S*\.model\)",
    ),
    "global": (("SCALE", 3.0), r"global SCALE: stored 2\.0, now 3\.0"),
    "helper": (
        ("helper", another_helper),
        r"global helper: stored \S*\.helper, now \S*\.another_helper\)",
    ),
    "eqx weight": (
        dict(weight=4.0),
        r"closed-over weights\.w: stored float32 3\.0, now float32 4\.0",
    ),
}
NETWORK_CHANGES = {
    "nothing": (dict(), None),
    "t1": (dict(t1=2.0), r"solve\.t1: stored 1\.0, now 2\.0"),
    "dt": (dict(dt=0.125), r"solve\.dt: stored 0\.25, now 0\.125"),
    "solver": (dict(solver=Euler()), r"solve\.solver: stored 'Heun\(\)', now 'Euler"),
    "observer": (
        dict(observer=Std("x")),
        r"solve\.observe\.m: stored \"Mean\('x'\)\", now \"Std\('x'",
    ),
}


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """Complete stores of the unchanged models: the plain one written by
    ParallelExecution(n_vmap=4), the network one by SequentialExecution."""
    root = tmp_path_factory.mktemp("fingerprint")
    ParallelExecution(make_model(), PLAIN, n_vmap=4, progress=False).run(
        root / "plain", chunk_size=2
    )
    model, space = make_network_model()
    SequentialExecution(model, space, progress=False).run(root / "net")
    return root


def _files(store: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(store)): p.read_bytes()
        for p in sorted(store.rglob("*"))
        if p.is_file()
    }


def _resume(store, model, space, executor, expected):
    before = _files(store)
    run = EXECUTORS[executor](model, space)
    if expected is None:
        result = run.run(store, resume=True)
        assert len(result) == len(space)
    else:
        with pytest.raises(ValueError, match=expected) as refused:
            run.run(store, resume=True)
        assert "{...}" not in str(refused.value)
    assert _files(store) == before  # a refusal writes nothing


@settings(
    max_examples=24,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    change=st.sampled_from(
        [("plain", k) for k in PLAIN_CHANGES] + [("net", k) for k in NETWORK_CHANGES]
    ),
    executor=st.sampled_from(sorted(EXECUTORS)),
)
def test_a_resume_refuses_any_change_to_what_computes_a_point(stores, change, executor):
    family, what = change
    if family == "plain":
        edit, expected = PLAIN_CHANGES[what]
        if isinstance(edit, tuple):  # a module global
            name, value = edit
            old = globals()[name]
            _global(name, value)
            try:
                _resume(stores / family, make_model(), PLAIN, executor, expected)
            finally:
                _global(name, old)
        else:
            _resume(stores / family, make_model(**edit), PLAIN, executor, expected)
    else:
        edit, expected = NETWORK_CHANGES[what]
        model, space = make_network_model(**edit)
        _resume(stores / family, model, space, executor, expected)


class Gain:
    """A plain object as a fixed leaf: its repr does not show its value."""

    def __init__(self, k):
        self.k = k


def test_a_changed_attribute_of_a_fixed_object_is_refused(tmp_path):
    def space(k):
        return Space({"x": GridAxis(0.0, 1.0, 3), "gain": Gain(k)})

    def model(state):
        return {"y": state["x"] * state["gain"].k}

    SequentialExecution(model, space(2.0), progress=False).run(tmp_path / "s")
    _resume(tmp_path / "s", model, space(2.0), "parallel", None)
    expected = r"the program differs .* an attribute of a fixed object"
    _resume(tmp_path / "s", model, space(3.0), "parallel", expected)


def test_info_shows_the_solve_and_the_program(stores, capsys):
    assert main(["info", str(stores / "net")]) == 0
    out = capsys.readouterr().out
    assert "solve:    solve: t0=0.0, t1=1.0, dt=0.25, n_steps=4, solver=Heun()" in out
    assert "observe={m: Mean('x')}" in out and "noise=None" in out
    assert ", program sha1 " in out
    info = store_info(stores / "net")
    assert info.provenance["solves"]["solve"]["t1"] == 1.0


def test_a_store_without_a_fingerprint_still_resumes(tmp_path):
    """Stores written before the fingerprint (format 2) record neither the
    program nor the solves: nothing to compare, not a difference."""
    SequentialExecution(make_model(), PLAIN, progress=False).run(tmp_path / "s")
    attrs = tmp_path / "s" / "zarr.json"
    meta = json.loads(attrs.read_text())
    record = meta["attributes"]["sweepjax"]["provenance"]
    assert record["program"]["sha1"] and record["solves"] == {}
    del record["program"], record["solves"]
    attrs.write_text(json.dumps(meta))
    _resume(tmp_path / "s", make_model(closure=2.5), PLAIN, "sequential", None)


def doubled(state):
    return {"y": state["x"] * 2.0}


def doubled_edited(state):
    # the same computation, edited: a comment, a local variable
    twice = state["x"] * 2.0
    return {"y": twice}


def tripled(state):
    return {"y": state["x"] * 3.0}


doubled_edited.__qualname__ = tripled.__qualname__ = "doubled"


def test_the_program_decides_not_the_source_text(tmp_path):
    ParallelExecution(doubled, PLAIN, n_vmap=2, progress=False).run(tmp_path / "s")
    _resume(tmp_path / "s", doubled_edited, PLAIN, "sequential", None)
    _resume(
        tmp_path / "s",
        tripled,
        PLAIN,
        "parallel",
        r"the program differs \(fingerprint .*: the source of \S*doubled changed\)",
    )


def untraceable(state):
    return {"y": state["x"] * 2.0 if float(state["x"]) > 0.5 else state["x"]}


def test_a_model_that_cannot_be_traced_records_no_fingerprint(tmp_path):
    SequentialExecution(untraceable, PLAIN, progress=False).run(tmp_path / "s")
    assert store_info(tmp_path / "s").provenance["program"] is None
    _resume(tmp_path / "s", untraceable, PLAIN, "sequential", None)


PROGRAM = """
import functools, json
import jax, jax.numpy as jnp, numpy as np, equinox as eqx
from sweepjax import GridAxis, Space
from sweepjax._store._provenance import provenance
from sweepjax.execution._dependencies import trace_point
from sweepjax.network import (AdditiveNoise, DenseGraph, Heun, LinearCoupling, Mean,
    Network, SupHopf, prepare)

net = Network(SupHopf(), {"c": LinearCoupling(("x", "y"), G=0.1)},
              DenseGraph(np.ones((3, 3)) - np.eye(3)),
              AdditiveNoise(1e-3, jax.random.key(0)))
solve, config = prepare(net, Heun(), 0.0, 1.0, 0.25, observe={"m": Mean("x")})
table = np.linspace(0.0, 1.0, 5)
mlp = eqx.nn.Linear(3, 2, key=jax.random.key(1))

def model(c, scale):
    mean = solve(c).observed["m"]
    z = jax.lax.cond(mean.sum() > 0, jnp.sin, jnp.cos, mean)
    jax.debug.callback(lambda v: None, z)
    order = sorted({"b", "a", "c"})  # the same in any hash seed
    return {"m": mean, "z": jax.nn.relu(mlp(z)) * scale + table.sum() + len(order)}

config.coupling.c.G = GridAxis(0.0, 0.2, 2)
space = Space(config)
MODEL = functools.partial(model, scale=2.0)
program = trace_point(MODEL, space, (), {}).jaxpr
RECORD = json.loads(json.dumps(provenance(MODEL, space, (), {}, program)))
"""


def test_another_process_records_the_same_program_and_solves():
    """What a resume compares, made in another process (another hash seed,
    other addresses): the program fingerprint, the model's values, the
    prepared solve's settings, all equal."""
    other = subprocess.run(
        [sys.executable, "-c", PROGRAM + "\nprint(json.dumps(RECORD))"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "123"},
    )
    here: dict = {"__name__": "__main__"}
    exec(PROGRAM, here)
    there = json.loads(other.stdout.splitlines()[-1])
    assert there["program"]["sha1"] == here["RECORD"]["program"]["sha1"]
    assert there["solves"]["solve"]["solver"] == "Heun()"
    parts = ["model", "fixed", "args", "kwargs", "solves", "program"]
    assert not resume_differences([(k, there[k], here["RECORD"][k]) for k in parts])


def test_a_store_run_traces_the_model_once_and_computes_the_same(tmp_path):
    """The fingerprint's trace is the one the compiled sweep batches."""
    traces = []

    def model(state):
        traces.append(1)
        return {"y": jnp.sin(state["x"]) * 3.0, "z": (state["x"] ** 2, state["x"])}

    executor = ParallelExecution(model, PLAIN, n_vmap=3, progress=False)
    stored = executor.run(tmp_path / "s", chunk_size=2)
    assert len(traces) == 1
    memory = ParallelExecution(model, PLAIN, n_vmap=3, progress=False).run()
    for a, b in zip(jax.tree.leaves(stored.outputs), jax.tree.leaves(memory.outputs)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
