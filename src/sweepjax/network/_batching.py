"""Solves that see their whole batch.

A network solve is written once, for ``size`` points at a time
(:class:`Points`). Called on one config it runs with ``size = 1``; under
``jax.vmap`` (a sweep's executor, or the user's own ``vmap``) the batching
rule of a small primitive (``solve_p``) hands it the whole batch, so state
that every point lays out alike (the delay history) is held once for the
batch, with the batch as its innermost axis. Which config leaves vary
across the batch is known to the rule, and decides whether the layout can
be shared.

A primitive rather than ``jax.custom_batching.custom_vmap``: ``custom_vmap``
traces the one-point solve at every call, also under ``vmap`` where only the
batch's solve is used (half the trace of a 68-node sweep, 0.05 s of CPU).
``solve_p`` traces the one-point solve only where it is bound unbatched
(once per input types), so a vmapped call traces the batch's solve alone.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
from jax.extend.core import ClosedJaxpr, Primitive, jaxpr_as_fun
from jax.interpreters import batching, mlir

from sweepjax._config import Config
from sweepjax.network._solution import Solution, SolveFn


class Points:
    """``size`` points of a batch: ``config``'s leaves carry a leading batch
    axis where ``axes`` says 0 and are shared where it says None.

    ``map(fn, *args)`` runs the single-point ``fn(config, *args)`` for every
    point (``args`` batched on axis 0 unless ``arg_axes`` says otherwise) and
    returns its outputs with a leading ``size`` axis.
    """

    def __init__(self, config: Config, axes: Any, size: int):
        self.config = config
        self.axes = axes
        self.size = size

    @classmethod
    def single(cls, config: Config) -> Points:
        """One point: nothing varies."""
        return cls(config, jax.tree.map(lambda _: None, config), 1)

    def map(self, fn: Callable[..., Any], *args: Any, arg_axes: Any = 0) -> Any:
        if not isinstance(arg_axes, tuple):
            arg_axes = (arg_axes,) * len(args)
        mapped = jax.vmap(fn, in_axes=(self.axes, *arg_axes), axis_size=self.size)
        return mapped(self.config, *args)

    def varies(self, leaf: Callable[[Any], Any]) -> bool:
        """Whether the leaf that ``leaf(config)`` picks differs across points
        (``leaf(axes)`` is 0)."""
        return any(axis == 0 for axis in jax.tree.leaves(leaf(self.axes)))


class _Unbatched(Exception):
    """``solve_p`` was bound without its one-point program and no ``vmap``
    rule took it: :func:`_solve` binds it again with the program."""


class _Solver:
    """What ``solve_p`` runs for one :func:`batch_aware` solve: ``single``
    (one point) and ``batch`` (a :class:`Points`), and the one-point
    programs already traced, by input structure and types."""

    def __init__(
        self,
        single: Callable[[Config], Solution],
        batch: Callable[[Points], Solution],
    ):
        self.single = single
        self.batch = batch
        self._traced: dict[Any, tuple[ClosedJaxpr, Any]] = {}
        self._jitted: dict[int, Callable] = {}

    def program(self, in_tree: Any, avals: list) -> tuple[ClosedJaxpr, Any]:
        """The one-point program for inputs ``avals`` (leaves of ``in_tree``),
        traced on the first request, and its output structure."""
        key = (in_tree, tuple(avals))
        if key not in self._traced:
            out_tree = []

            def flat(*leaves: Any) -> list[Any]:
                out, tree = jax.tree.flatten(self.single(in_tree.unflatten(leaves)))
                out_tree.append(tree)
                return out

            program = jax.make_jaxpr(flat)(*avals)
            self._traced[key] = (program, out_tree[0])
        return self._traced[key]

    def jitted(self, program: ClosedJaxpr) -> Callable:
        """``program`` jitted, once (an eager call's)."""
        if id(program) not in self._jitted:
            self._jitted[id(program)] = jax.jit(jaxpr_as_fun(program))
        return self._jitted[id(program)]

    def __getstate__(self) -> dict[str, Any]:
        # the traced programs stay behind (a Dask worker traces its own)
        return {**self.__dict__, "_traced": {}, "_jitted": {}}


class _Call:
    """A parameter of one bind of ``solve_p``: the solver, the input
    structure, and the output structure once known."""

    def __init__(self, solver: _Solver, in_tree: Any):
        self.solver = solver
        self.in_tree = in_tree
        self.out_tree: Any = None

    def __repr__(self) -> str:  # as jaxprs print it (a store fingerprints them)
        return "batch_aware"


def _abstract_eval(
    *avals: Any, call: _Call, program: ClosedJaxpr | None
) -> tuple[list[Any], Any]:
    if program is None:
        raise _Unbatched
    return program.out_avals, program.effects


def _impl(*values: Any, call: _Call, program: ClosedJaxpr | None) -> list[Any]:
    if program is None:
        raise _Unbatched
    return call.solver.jitted(program)(*values)


def _lowered(*values: Any, call: _Call, program: ClosedJaxpr) -> list[Any]:
    return jaxpr_as_fun(program)(*values)


def _batched(
    axis_data: Any, values: list, dims: list, *, call: _Call, program: Any
) -> tuple[list, list]:
    """The batch's solve (``call.solver.batch``) on the leaves ``values``,
    batched along ``dims`` (None: shared by all points)."""
    if all(d is None for d in dims):
        out = solve_p.bind(*values, call=call, program=program)
        return out, [None] * len(out)
    values = [
        v if d is None or d == 0 else jnp.moveaxis(v, d, 0)
        for v, d in zip(values, dims, strict=True)
    ]
    axes = call.in_tree.unflatten([None if d is None else 0 for d in dims])
    config = call.in_tree.unflatten(values)
    solution = call.solver.batch(Points(config, axes, axis_data.size))
    out, call.out_tree = jax.tree.flatten(solution)
    shared = len(jax.tree.leaves(solution.ts))  # ts: the same for every point
    return out, [None] * shared + [0] * (len(out) - shared)


#: A solve of one point, batched by its own rule. Bound with ``program=None``
#: first, so that under ``vmap`` the rule runs and the one-point program is
#: never traced; bound elsewhere it raises `_Unbatched`, and is bound again
#: with ``program``, the one-point program: its abstract value, eager call
#: and lowering, and a sub-jaxpr that jaxpr walkers and a store's
#: fingerprint see (as they saw ``custom_vmap``'s).
solve_p = Primitive("batch_aware_solve")
solve_p.multiple_results = True
solve_p.def_impl(_impl)
solve_p.def_effectful_abstract_eval(_abstract_eval)
mlir.register_lowering(solve_p, mlir.lower_fun(_lowered, multiple_results=True))
batching.fancy_primitive_batchers[solve_p] = _batched


def _solve(solver: _Solver, config: Config) -> Solution:
    """``solve_p`` on ``config``'s leaves. At module level, so that a
    pickled solve (a Dask worker's) binds this process's registered
    primitive, not a copy."""
    leaves, in_tree = jax.tree.flatten(config)
    call = _Call(solver, in_tree)
    try:
        out = solve_p.bind(*leaves, call=call, program=None)
    except _Unbatched:
        avals = [jax.typeof(leaf) for leaf in leaves]
        program, call.out_tree = solver.program(in_tree, avals)
        out = solve_p.bind(*leaves, call=call, program=program)
    return jax.tree.unflatten(call.out_tree, out)


def batch_aware(
    run: Callable[[Points], Solution],
    shares: Callable[[Points], bool],
    differentiated: Callable[[Points], Solution] | None = None,
) -> SolveFn:
    """``solve(config)`` of one point from ``run``, a solve of a batch.

    ``run(points)`` returns a :class:`Solution` whose ``ys`` has a leading
    ``points.size`` axis. Under ``jax.vmap``, ``run`` gets the whole batch
    when ``shares(points)`` (its layout can be shared by all points), else
    each point is solved on its own (``jax.vmap`` of the one-point solve).
    Derivatives (``jax.jvp``, ``jax.grad``) go through the one-point solve
    of ``differentiated`` (``run`` by default): the same numbers, arranged
    for differentiation (e.g. checkpointed), which a forward run skips.
    """

    def single(config: Config, run: Callable[[Points], Solution] = run) -> Solution:
        solution = run(Points.single(config))
        first = jax.tree.map(lambda x: x[0], solution.observed)
        final = jax.tree.map(lambda x: x[0], solution.final)
        return Solution(solution.ts, solution.ys[0], first, final)

    def batch(points: Points) -> Solution:
        if shares(points):
            return run(points)
        # the time stamps are the same for every point: not batched
        out_axes = Solution(None, 0, 0, 0)
        solve = jax.vmap(
            single, in_axes=(points.axes,), out_axes=out_axes, axis_size=points.size
        )
        return solve(points.config)

    solver = _Solver(single, batch)

    @jax.custom_jvp
    def differentiable(config: Config) -> Solution:
        return _solve(solver, config)

    @differentiable.defjvp
    def _(primals: tuple, tangents: tuple) -> tuple[Solution, Solution]:
        derivative_run = run if differentiated is None else differentiated
        return jax.jvp(partial(single, run=derivative_run), primals, tangents)

    return differentiable
