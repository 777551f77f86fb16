"""One generation's evaluation: candidates -> model outputs -> fitness.

A generation is a `Space` over a `DataAxis` of candidates (one per searched
leaf, zipped) run by an executor, so every executor (Sequential, Parallel on
all devices, Distributed on a cluster) and every store feature (chunks,
resume after a kill) serve a search unchanged. The same model and objective
are also offered as one traced batch function (`batch`), which the
scan path compiles with the whole generation loop: split over the
executor's ``n_pmap`` devices (`shard_map`) and, on each, into calls of
``n_vmap`` points (`lax.map`), as the executor would run it.
"""

from __future__ import annotations

from collections.abc import Callable
from os import PathLike
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

from sweepjax._result import Result
from sweepjax.execution import AbstractExecution, ParallelExecution
from sweepjax.execution._parallel import MIN_VMAP, check_devices
from sweepjax.search._bounds import SearchBounds

__all__ = ["Evaluator", "objective_fn"]


def objective_fn(objective: Any) -> Callable[[Any], jax.Array]:
    """One point's fitness from its outputs: None (the output itself), the
    name of an output leaf (``"loss"``, ``"fit.fc"``) or a callable; several
    objectives as a tuple, list or ``[m]`` array (minimised)."""
    if objective is None:
        return _as_fitness
    if isinstance(objective, str):
        path = objective.split(".")

        def pick(out: Any) -> jax.Array:
            for key in path:
                if not isinstance(out, dict) or key not in out:
                    raise ValueError(
                        f"`objective={objective!r}` names no output leaf; the "
                        "model's outputs are "
                        f"{jax.tree.map(lambda x: getattr(x, 'shape', x), out)}."
                    )
                out = out[key]
            return _as_fitness(out)

        return pick
    if callable(objective):
        return lambda out: _as_fitness(objective(out))
    raise TypeError(
        f"`objective` must be None, an output name or a callable, got "
        f"{type(objective).__name__}."
    )


def _as_fitness(value: Any) -> jax.Array:
    if isinstance(value, tuple | list):
        value = jnp.stack([jnp.asarray(v) for v in value])
    value = jnp.asarray(value, dtype=jnp.result_type(float))
    if value.ndim > 1:
        raise ValueError(
            f"a point's fitness must be a scalar (or [m] objectives), got shape "
            f"{value.shape}; pass `objective=` to reduce the outputs."
        )
    # NaN (a diverged simulation) ranks last, never first.
    return jnp.where(jnp.isnan(value), jnp.inf, value)


class Evaluator:
    """Runs candidates ``[n, d]`` (parameter values) through `executor`.

    Args:
        model: ``model(state, *args) -> outputs``, as for a sweep.
        bounds: the searched leaves (`SearchBounds`).
        objective: see `objective_fn`.
        executor: an executor class (`ParallelExecution` by default) or a
            factory ``executor(model, space) -> AbstractExecution``.
        options: keyword options for the executor class (``n_vmap``,
            ``n_pmap``, ``client``, ...); ``progress`` defaults to False.
    """

    def __init__(
        self,
        model: Callable[..., Any],
        bounds: SearchBounds,
        objective: Any = None,
        executor: Any = None,
        args: tuple = (),
        options: dict | None = None,
    ):
        if not callable(model):
            raise TypeError(
                f"`model` must be callable as model(state, *args), got "
                f"{type(model).__name__}."
            )
        self.model, self.bounds, self.args = model, bounds, tuple(args)
        self.objective = objective_fn(objective)
        self.executor = ParallelExecution if executor is None else executor
        if not callable(self.executor):
            raise TypeError(
                "`executor` must be an executor class (ParallelExecution, ...) or "
                f"a factory executor(model, space), got {self.executor!r}."
            )
        self.options = {"progress": False, **(options or {})}
        self._fitness = jax.jit(jax.vmap(self.objective))

    @property
    def scannable(self) -> bool:
        """Whether the whole loop may compile into one program: a vectorised
        executor (Sequential runs untraceable models, a cluster runs each
        generation as a sweep)."""
        return self.executor is ParallelExecution

    def executor_for(self, space: Any) -> AbstractExecution:
        if isinstance(self.executor, type) and issubclass(
            self.executor, AbstractExecution
        ):
            return self.executor(self.model, space, *self.args, **self.options)
        made = self.executor(self.model, space)
        if not isinstance(made, AbstractExecution):
            raise TypeError(
                f"`executor(model, space)` must return an executor, got "
                f"{type(made).__name__}."
            )
        return made

    def run(
        self,
        values: np.ndarray,
        store: str | PathLike | None = None,
        resume: bool = False,
    ) -> tuple[Result, np.ndarray]:
        """The generation's `Result` (model outputs) and fitness ``[n]`` or
        ``[n, m]`` (host NumPy)."""
        space = self.bounds.candidates(values)
        result = self.executor_for(space).run(store=store, resume=resume)
        return result, self.fitness(result.outputs)

    def fitness(self, outputs: Any) -> np.ndarray:
        """Fitness of stacked outputs, computed on the host path's one program
        (a resumed generation read back from a store gives the same bits)."""
        outputs = jax.tree.map(np.asarray, outputs)
        return np.asarray(self._fitness(outputs))

    def batch(self, values: jax.Array, args: tuple | None = None, fixed=None):
        """Traced outputs and fitness of ``[n, d]`` values (the scan path).

        `args` (default: the model's extra arguments) and `fixed` (the
        space's fixed leaves) are passed in, not closed over: as constants
        XLA would fold what the model does with them (sorting an empirical
        FCD) at compile time, for minutes. The rows are split over the
        ``n_pmap`` devices, and each device's share runs ``n_vmap`` points a
        call (all of it when ``n_vmap`` is not given or ``"auto"``): on a
        CPU a few points a call keep a delayed network's history in cache.
        The batch is padded with copies of its last row (dropped).
        """
        args = self.args if args is None else args
        dynamic, static = eqx.partition((args, fixed), eqx.is_array)

        def point(row, dynamic):
            args, fixed = eqx.combine(dynamic, static)
            out = self.model(self.bounds.state(row, fixed), *args)
            return out, self.objective(out)

        n, n_pmap = values.shape[0], self.options.get("n_pmap", 1)
        share = -(-n // n_pmap)
        n_vmap = self.options.get("n_vmap", "auto")
        per_call = share if n_vmap == "auto" else min(int(n_vmap), share)
        per_call = max(per_call, min(MIN_VMAP, share))
        n_calls = -(-share // per_call)
        size = n_pmap * n_calls * per_call
        rows = jnp.concatenate([values, jnp.repeat(values[-1:], size - n, axis=0)])
        batched = jax.vmap(point, in_axes=(0, None))

        def device(rows, dynamic):
            if n_calls == 1:
                return batched(rows, dynamic)
            calls = rows.reshape(n_calls, per_call, rows.shape[-1])
            out = jax.lax.map(lambda r: batched(r, dynamic), calls)
            return jax.tree.map(lambda x: x.reshape(-1, *x.shape[2:]), out)

        if n_pmap > 1:
            mesh = Mesh(np.array(check_devices(n_pmap)), ("points",))
            device = jax.shard_map(
                device,
                mesh=mesh,
                in_specs=(P("points"), P()),
                out_specs=P("points"),
                check_vma=False,  # points are independent
            )
        out = device(rows, dynamic)
        return jax.tree.map(lambda x: x[:n], out)
