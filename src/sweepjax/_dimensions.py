"""How a Space's state becomes named axes, and its axes dimensions.

Every leaf of a state is named by its key path (names label table columns,
xarray variables and store arrays, so they must differ), and no axis may hide
inside an object JAX does not flatten (it would never vary). Axes sharing a
``group`` label are zipped into one `EffectiveAxis`; each other axis is a
dimension of its own. Dimension names (a group's label as a string, else
the axis's name) must differ too.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import jax

from sweepjax._axes import AbstractAxis
from sweepjax._tree import find_hidden, path_name

__all__ = [
    "EffectiveAxis",
    "check_hidden_axes",
    "count_points",
    "group_axes",
    "is_axis",
    "leaf_names",
]


def is_axis(x: Any) -> bool:
    """Whether `x` is an axis (a leaf a Space varies)."""
    return isinstance(x, AbstractAxis)


def check_hidden_axes(flat: Sequence[tuple[Any, Any]]) -> None:
    """A `TypeError` for an axis inside a leaf of `flat` (``(path, leaf)``
    pairs): an object JAX does not flatten, so the axis would never vary."""
    for path, leaf in flat:
        where = find_hidden(leaf, is_axis)
        if where is not None:
            owner = type(leaf).__name__
            raise TypeError(
                f"An axis sits at `{path_name(path)}{where}` inside a "
                f"{owner} object, which JAX does not flatten as a pytree, so "
                f"the axis would never vary. Register {owner} as a pytree "
                "(jax.tree_util.register_dataclass or "
                "register_pytree_with_keys_class, or make it an equinox.Module),"
                " or use a dict or sweepjax.Config instead."
            )


def leaf_names(flat: Sequence[tuple[Any, Any]], what: str) -> list[str]:
    """The key-path names of `flat`'s ``(path, leaf)`` pairs, which must differ.

    Names label DataFrame columns, xarray variables and store arrays, so two
    leaves that print alike (a dict key ``"a.b"`` and a nested ``{"a": {"b":
    ...}}``) raise `ValueError` naming both paths; `what` names the tree.

    >>> leaf_names([((jax.tree_util.DictKey("a"),), 1.0)], "`state`")
    ['a']
    """
    names = [path_name(path) for path, _ in flat]
    if len(set(names)) < len(names):
        first: dict[str, Any] = {}
        for name, (path, _) in zip(names, flat, strict=True):
            other = first.setdefault(name, path)
            if other is not path:
                raise ValueError(
                    f"Two leaves of {what} are both named {name!r}: "
                    f"{jax.tree_util.keystr(other)} and "
                    f"{jax.tree_util.keystr(path)}. Names label table columns "
                    "and store arrays, so they must differ: rename a key (a "
                    "dict key with '.' or '[' prints like a nested path)."
                )
    return names


@dataclass(frozen=True)
class EffectiveAxis:
    """One dimension of a Space: a single axis, or the axes zipped by a group.

    `names` are the member leaves' key-path names, `size` the number of values
    (the shortest member's), `group` the shared label or None.

    >>> zipped = {"a": GridAxis(0, 1, 3, group="g"), "b": GridAxis(0, 2, 3, group="g")}
    >>> Space(zipped).effective_axes
    (EffectiveAxis(names=('a', 'b'), size=3, group='g'),)
    """

    names: tuple[str, ...]
    size: int
    group: Hashable = None

    @property
    def name(self) -> str:
        """Dimension name: the group label as a string, else the leaf name."""
        return str(self.group) if self.group is not None else self.names[0]


def group_axes(
    names: Sequence[str], axes: Sequence[AbstractAxis]
) -> tuple[tuple[EffectiveAxis, ...], tuple[int, ...]]:
    """The dimensions of axes `axes` (named `names`) and each axis's dimension.

    Groups come first (in order of their first member), then ungrouped axes in
    flatten order; this ordering reproduces the reference system's grouped
    tables, where the group varies slowest. A group of axes of different sizes
    keeps the shortest, with a `UserWarning`.
    """
    members: dict[Hashable, list[int]] = {}
    for a, axis in enumerate(axes):
        if axis.group is not None:
            members.setdefault(("group", axis.group), []).append(a)
    for a, axis in enumerate(axes):
        if axis.group is None:
            members[("axis", a)] = [a]
    effective, axis_to_eff = [], [0] * len(axes)
    for e, label in enumerate(members):
        idx = members[label]
        sizes = [axes[a].size for a in idx]
        group = label[1] if label[0] == "group" else None
        if len(set(sizes)) > 1:
            warnings.warn(
                f"Axes of group {group!r} have different sizes {sizes} "
                f"({', '.join(names[a] for a in idx)}). Using minimum "
                f"size {min(sizes)}, losing {max(sizes) - min(sizes)} values.",
                UserWarning,
                stacklevel=3,
            )
        effective.append(EffectiveAxis(tuple(names[a] for a in idx), min(sizes), group))
        for a in idx:
            axis_to_eff[a] = e
    _check_dimension_names(effective, axis_to_eff, names)
    return tuple(effective), tuple(axis_to_eff)


def _check_dimension_names(effective, axis_to_eff, names) -> None:
    """Dimension names (a group's label as a string, else the axis's name)
    name xarray dimensions: they must differ from each other and from every
    axis outside the dimension. A group labelled like one of its own members
    is fine: that member's values index the dimension."""
    owner = {name: axis_to_eff[a] for a, name in enumerate(names)}
    dims: dict[str, int] = {}
    for e, eff in enumerate(effective):
        if eff.group is None:
            continue
        outside = owner.get(eff.name, e)
        if outside != e:
            raise ValueError(
                f"Group {eff.group!r} (axes {', '.join(eff.names)}) names its "
                f"dimension {eff.name!r}, the name of the axis `{eff.name}` "
                "outside the group: a table or xarray Dataset would give two "
                "dimensions one name. Label the group otherwise, e.g. "
                f"group={eff.name + '_group'!r}."
            )
        other = dims.setdefault(eff.name, e)
        if other != e:
            raise ValueError(
                f"Groups {effective[other].group!r} and {eff.group!r} both name "
                f"their dimension {eff.name!r} (a dimension is named str(group)). "
                "Give them labels that print differently."
            )


def count_points(mode: str, effective: Sequence[EffectiveAxis]) -> int:
    """The number of points: the product of the dimensions' sizes in
    ``"product"`` mode; in ``"zip"`` mode the shortest, with a `UserWarning`
    when sizes differ."""
    sizes = [e.size for e in effective]
    if mode == "product":
        return math.prod(sizes)
    if len(set(sizes)) > 1:
        warnings.warn(
            f"In zip mode, effective axes have different sizes {sizes}. "
            f"Using minimum size {min(sizes)}, losing {max(sizes) - min(sizes)} "
            "combinations.",
            UserWarning,
            stacklevel=3,
        )
    return min(sizes)
