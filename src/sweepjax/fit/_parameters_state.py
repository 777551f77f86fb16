"""State helpers: find, split, join, read and print the parameters of a
state (any pytree holding `Parameter` leaves), as TVB-Optim's
``tvboptim.types.stateutils`` does."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax

from sweepjax._tree import path_name
from sweepjax.fit._parameters import fmt, is_parameter, trainable_spec

__all__ = [
    "collect_parameters",
    "combine_state",
    "extract_values",
    "mark_parameters",
    "partition_state",
    "show_parameters",
]


def extract_values(tree: Any) -> Any:
    """`tree` with every `Parameter` replaced by its constrained value (a JAX
    array): what a model that does not know parameters expects.

    >>> extract_values({"a": SigmoidBoundedParameter(0.5, 0.0, 1.0), "b": 2})
    {'a': Array(0.5, dtype=float32), 'b': 2}
    """
    return jax.tree.map(
        lambda x: x.constrained_value if is_parameter(x) else x,
        tree,
        is_leaf=is_parameter,
    )


def mark_parameters(state: Any) -> Any:
    """The trainable leaves of `state` as a tree of booleans (an
    ``equinox.partition`` filter spec): True at each parameter's raw
    ``.value``, False everywhere else, including a parameter's other children
    (a scale, frozen entries).

    >>> mark_parameters({"a": Parameter(1.0), "b": 2.0})
    {'a': Parameter(value=True), 'b': False}
    """
    return jax.tree.map(
        lambda x: trainable_spec(x) if is_parameter(x) else False,
        state,
        is_leaf=is_parameter,
    )


def partition_state(state: Any) -> tuple[Any, Any]:
    """Split `state` into ``(params, static)``, two trees of its structure
    with None where the other has the leaf: `params` holds the parameters' raw
    values (what an optimizer updates), `static` everything else.
    `combine_state` puts them back together.

    >>> params, static = partition_state({"a": Parameter(1.0), "b": 2.0})
    >>> jax.tree.leaves(params), jax.tree.leaves(static)
    ([Array(1., dtype=float32)], [2.0])
    """
    return eqx.partition(state, mark_parameters(state))


def combine_state(params: Any, static: Any) -> Any:
    """The state `partition_state` split into `params` and `static`.

    >>> params, static = partition_state({"a": Parameter(1.0), "b": 2.0})
    >>> combine_state(params, static)
    {'a': Parameter(1.0), 'b': 2.0}
    """
    return eqx.combine(params, static)


def collect_parameters(state: Any, flat: bool = False) -> Any:
    """The parameters of `state`.

    By default (as TVB-Optim) `state` with every parameter replaced by its
    constrained value, like `extract_values`. With ``flat=True`` a dict
    ``{path: Parameter}`` in leaf order, named like a space's columns
    (``coupling.G``, ``weights[0]``).

    >>> state = {"coupling": {"G": Parameter(0.5)}, "dt": 0.1}
    >>> collect_parameters(state)
    {'coupling': {'G': Array(0.5, dtype=float32)}, 'dt': 0.1}
    >>> collect_parameters(state, flat=True)
    {'coupling.G': Parameter(0.5)}
    """
    if not flat:
        return extract_values(state)
    flat_leaves = jax.tree_util.tree_flatten_with_path(state, is_leaf=is_parameter)[0]
    return {path_name(path): x for path, x in flat_leaves if is_parameter(x)}


def show_parameters(state: Any) -> None:
    """Print a table of the parameters of `state`: path, type, constrained
    value and raw value.

    >>> show_parameters({"G": SigmoidBoundedParameter(0.5, 0.0, 1.0), "dt": 0.1})
    path  type                     value  raw
    G     SigmoidBoundedParameter  0.5    0.0
    """
    rows = [("path", "type", "value", "raw")]
    for name, p in collect_parameters(state, flat=True).items():
        rows.append((name, type(p).__name__, fmt(p.constrained_value), fmt(p.value)))
    if len(rows) == 1:
        print("(no parameters)")
        return None
    widths = [max(len(row[k]) for row in rows) for k in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)] + [row[3]]
        print("  ".join(cells).rstrip())
    return None
