"""The generation loop: on the host (any executor, a store, resume) or as one
``lax.scan`` (`ParallelExecution`, on its ``n_pmap`` devices; no store).

Keys: ``init`` takes ``fold_in(key(seed), 0)``, generation `g` splits
``fold_in(key(seed), g + 1)`` into its ask and tell keys, so a generation's
candidates depend only on the seed and the fitness told before it. That is
what makes resume exact: a resumed search replays the finished generations'
ask/tell from the fitness stored with them (no model call) and carries on
from the first unfinished one.
"""

from __future__ import annotations

import json
import shutil
from os import PathLike
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._store import open_result, store_info
from sweepjax._tree import check_positive_int
from sweepjax.search._bounds import SearchBounds
from sweepjax.search._evaluate import Evaluator
from sweepjax.search._history import SearchResult

__all__ = ["generation_path", "run_search"]

_META = "search.json"


def generation_path(store: str | PathLike, generation: int) -> Path:
    """The store of one generation inside a search's store directory."""
    return Path(store) / f"generation_{generation:05d}"


def run_search(
    algorithm: Any,
    evaluator: Evaluator,
    n_generations: int,
    seed: int,
    store: str | PathLike | None,
    resume: bool,
    scan: bool | str,
) -> SearchResult:
    """Run `algorithm` for `n_generations` through `evaluator` (see module doc)."""
    n_generations = check_positive_int("n_generations", n_generations)
    if scan not in (True, False, "auto"):
        raise ValueError(f"`scan` must be True, False or 'auto', got {scan!r}.")
    if scan is True and (store is not None or not evaluator.scannable):
        raise ValueError(
            "`scan=True` compiles the whole loop into one program: it needs "
            "executor=ParallelExecution (any n_vmap, n_pmap) and no `store`; "
            "use scan='auto' to fall back to the generation loop."
        )
    if resume and store is None:
        raise ValueError("`resume=True` needs the `store` of the search to resume.")
    key = jax.random.key(seed)
    if scan == "auto":
        scan = store is None and evaluator.scannable
    if scan:
        return _scanned(algorithm, evaluator, n_generations, key)
    return _looped(algorithm, evaluator, n_generations, key, seed, store, resume)


def _scanned(algorithm, evaluator, n_generations, key) -> SearchResult:
    bounds = evaluator.bounds

    @jax.jit
    def loop(key, dynamic):
        args, fixed = eqx.combine(dynamic, static)

        def body(state, g):
            k_ask, k_tell = jax.random.split(jax.random.fold_in(key, g + 1))
            unit, state = algorithm.ask(k_ask, state)
            values = bounds.decode(unit)
            outputs, fitness = evaluator.batch(values, args, fixed)
            state = algorithm.tell(k_tell, unit, fitness, state)
            return state, (unit, values, fitness, outputs)

        state = algorithm.init(jax.random.fold_in(key, 0))
        return jax.lax.scan(body, state, jnp.arange(n_generations))

    # Array arguments and fixed leaves are inputs of the program (as the
    # executors have them), the rest closed over.
    inputs = (evaluator.args, bounds.space.fixed_leaves())
    dynamic, static = eqx.partition(inputs, eqx.is_array)
    state, (unit, values, fitness, outputs) = loop(key, dynamic)
    final = _final_unit(state, np.asarray(unit)[-1])  # no eager program
    outputs = jax.tree.map(np.asarray, outputs)
    return SearchResult(bounds, values, fitness, outputs, state, final)


def _looped(algorithm, evaluator, n_generations, key, seed, store, resume):
    bounds = evaluator.bounds
    if store is not None:
        _open_store(store, resume, algorithm, bounds, seed)
    state = algorithm.init(jax.random.fold_in(key, 0))
    values_all, fitness_all, outputs_all, unit = [], [], [], None
    for g in range(n_generations):
        k_ask, k_tell = jax.random.split(jax.random.fold_in(key, g + 1))
        unit, state = algorithm.ask(k_ask, state)
        values = np.asarray(bounds.decode(unit))
        outputs, fitness = _generation(evaluator, values, store, g)
        state = algorithm.tell(k_tell, unit, jnp.asarray(fitness), state)
        values_all.append(values)
        fitness_all.append(fitness)
        outputs_all.append(outputs)
    outputs = jax.tree.map(lambda *xs: np.stack(xs), *outputs_all)
    final = _final_unit(state, unit)
    return SearchResult(
        bounds, np.stack(values_all), np.stack(fitness_all), outputs, state, final
    )


def _generation(evaluator, values, store, g):
    """Outputs and fitness of generation `g`: read back when its store is
    complete, resumed when it was cut short, computed otherwise."""
    if store is None:
        result, fitness = evaluator.run(values)
        return jax.tree.map(np.asarray, result.outputs), fitness
    path = generation_path(store, g)
    if path.exists() and store_info(path).complete:
        result = open_result(path)
        stored = np.stack(
            [np.asarray(result.space.values[n]) for n in evaluator.bounds.names], 1
        )
        # round-off aside (another machine's exp/log): the same candidates
        if not np.allclose(stored, values, rtol=1e-5, atol=0.0):
            raise ValueError(
                f"The store {str(path)!r} holds other candidates than this search "
                "asks at that generation (another seed, strategy or objective?); "
                "resume with the settings that wrote it, or use a new store."
            )
        outputs = jax.tree.map(np.asarray, result.outputs)
        return outputs, evaluator.fitness(outputs)
    result, fitness = evaluator.run(values, store=path, resume=path.exists())
    return jax.tree.map(np.asarray, result.outputs), fitness


def _final_unit(state: Any, last: jax.Array) -> np.ndarray:
    """NSGA-II's surviving parents, else the last generation asked."""
    parents = getattr(state, "unit", None)
    return np.asarray(last if parents is None else parents)


def _open_store(store, resume, algorithm, bounds: SearchBounds, seed) -> None:
    """Create the search's directory and record what it runs, or check that
    a resumed one ran the same (strategy, settings, bounds, seed)."""
    root = Path(store)
    meta = {
        "algorithm": algorithm.config,
        "seed": int(seed),
        "names": list(bounds.names),
        "low": bounds.low.tolist(),
        "high": bounds.high.tolist(),
        "log": bounds.log.tolist(),
    }
    meta = json.loads(json.dumps(meta))
    path = root / _META
    if path.exists():
        if not resume:
            raise ValueError(
                f"A search is already stored at {str(root)!r}: pass resume=True to "
                "continue it, or choose another `store`."
            )
        found = json.loads(path.read_text())
        if found != meta:
            changed = sorted(k for k in meta if found.get(k) != meta[k])
            raise ValueError(
                f"The search stored at {str(root)!r} differs in {changed} "
                f"(stored {[found.get(k) for k in changed]}, now "
                f"{[meta[k] for k in changed]}); resume it with the same settings "
                "or use a new store."
            )
        return
    if root.exists() and any(root.iterdir()):
        raise ValueError(
            f"`store={str(root)!r}` is a non-empty directory that holds no search; "
            "choose a new path."
        )
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / (_META + ".tmp")
    tmp.write_text(json.dumps(meta, indent=1))
    shutil.move(tmp, path)
