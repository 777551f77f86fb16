"""Solves that see their whole batch.

A network solve is written once, for ``size`` points at a time
(:class:`Points`). Called on one config it runs with ``size = 1``; under
``jax.vmap`` (a sweep's executor, or the user's own ``vmap``) a
``custom_vmap`` rule hands it the whole batch, so state that every point
lays out alike (the delay history) is held once for the batch, with the
batch as its innermost axis. Which config leaves vary across the batch is
known to the rule, and decides whether the layout can be shared.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import jax
from jax.custom_batching import custom_vmap

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

    @custom_vmap
    def solve(config: Config) -> Solution:
        return single(config)

    @solve.def_vmap
    def solve_batch(size: int, in_batched: list, config: Config) -> Any:
        axes = jax.tree.map(lambda batched: 0 if batched else None, in_batched[0])
        points = Points(config, axes, size)
        if shares(points):
            solution = run(points)
        else:
            solution = jax.vmap(single, in_axes=(axes,), axis_size=size)(config)
        observed = jax.tree.map(lambda _: True, solution.observed)
        final = jax.tree.map(lambda _: True, solution.final)
        return solution, Solution(False, True, observed, final)

    @jax.custom_jvp
    def differentiable(config: Config) -> Solution:
        return solve(config)

    @differentiable.defjvp
    def _(primals: tuple, tangents: tuple) -> tuple[Solution, Solution]:
        derivative_run = run if differentiated is None else differentiated
        return jax.jvp(partial(single, run=derivative_run), primals, tangents)

    return differentiable
