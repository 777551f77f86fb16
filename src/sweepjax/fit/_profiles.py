"""Profile likelihood: the best loss reachable with one parameter held at each
of a list of values, the others refitted, all values in one vmapped fit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from sweepjax._tree import path_name
from sweepjax.fit._optimizer import OptaxOptimizer
from sweepjax.fit._parameters import is_parameter
from sweepjax.fit._parameters_state import collect_parameters, partition_state

__all__ = ["profile_likelihood"]


def profile_likelihood(
    loss: Callable[[Any], Any],
    state: Any,
    name: str,
    values: Any,
    optimizer: Any,
    max_steps: int = 200,
) -> dict[str, Any]:
    """The profile of `loss` along the parameter `name` (Raue et al. 2009).

    For each entry of `values` (constrained values of the parameter `name`,
    a path as `collect_parameters(state, flat=True)` names it), the parameter
    is held there and the other parameters are refitted from `state` with
    `OptaxOptimizer` (`optimizer`, `max_steps` steps). The values are one
    sweep: a single ``jax.vmap`` of the traced fit, so one compiled program.
    A flat profile marks a parameter the data do not determine, a profile
    with several minima separate optima (which a local Hessian cannot see).

    Returns:
        ``{"values": [V], "loss": [V], "state": the refitted states, each
        leaf with a leading ``[V]`` axis}``; ``loss`` is the lowest seen
        along each refit (the loss alone when no other parameter is left).
    """
    found = collect_parameters(state, flat=True)
    if name not in found:
        raise ValueError(
            f"profile_likelihood: `name` must be the path of a Parameter of "
            f"`state`, got name={name!r}; the parameters are {list(found)}."
        )
    template = found[name].constrained_value
    values = jnp.asarray(values, jnp.result_type(template))
    if values.ndim < 1 or values.shape[1:] != jnp.shape(template):
        raise ValueError(
            f"profile_likelihood: `values` must be a list of values of {name!r} "
            f"(shape [V, *{tuple(jnp.shape(template))}]), got shape {values.shape}."
        )

    def held(value):
        def hold(path, x):
            return value if is_parameter(x) and path_name(path) == name else x

        return jax.tree_util.tree_map_with_path(hold, state, is_leaf=is_parameter)

    rest = jax.tree.leaves(partition_state(held(values[0]))[0])

    def one(value):
        fixed = held(value)
        if not rest:
            return fixed, loss(fixed)
        final, history = OptaxOptimizer(loss, optimizer).run(fixed, max_steps)
        return final, jnp.minimum(jnp.min(history["loss"]), loss(final))

    final, profile = jax.jit(jax.vmap(one))(values)
    return {"values": values, "loss": profile, "state": final}
