"""Components of a network as Equinox Modules, and their one leaf protocol.

A coupling, stimulus, noise, graph or node model declares each value that
becomes a config leaf once, as a field made by :func:`leaf` (with the rule its
values obey, if any). :meth:`AbstractComponent.leaves` reads those fields:
the config layout and its run-time checks are both built from it
(``network/_layout.py``), and the constructor checks the given values with the
same rules (``__check_init__``). Being Modules, components are immutable,
compare by value and print their fields (arrays as ``f64[76,76](numpy)``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import numpy as np

from sweepjax.network._checks import Allowed

_LEAF = "sweepjax.leaf"


class Leaf(NamedTuple):
    """A config leaf of a component: its value and what values are allowed
    (None: not checked)."""

    value: Any
    allowed: Allowed | None


def _as_array(value: Any) -> Any:
    """A list or tuple of numbers as a NumPy array, so that it prints as
    ``f64[1000](numpy)`` like any array; other values as given."""
    if isinstance(value, list | tuple):
        try:
            return np.asarray(value)
        except (TypeError, ValueError):  # ragged: the rule's check says so
            return value
    return value


@dataclasses.dataclass(frozen=True)
class _Spec:
    allowed: Allowed | None
    when: Callable[[Any], bool] | None
    group: bool


def leaf(
    default: Any = dataclasses.MISSING,
    *,
    allowed: Allowed | None = None,
    when: Callable[[Any], bool] | None = None,
    group: bool = False,
    **kwargs: Any,
) -> Any:
    """A field whose value is a config leaf of the component.

    ``allowed`` is checked at construction and in every solve; ``when(self)``
    False leaves it out of the config (a parameter that another field makes
    unused); ``group=True`` marks a ``{name: value}`` mapping of leaves. A
    list or tuple of numbers is kept as a NumPy array (its repr stays short).

    >>> class SquaredCoupling(AbstractCoupling):
    ...     k: float = leaf(1.0)
    ...     def pre(self, params, x):
    ...         return x**2
    ...     def post(self, params, summed, x):
    ...         return params.k * summed
    >>> list(SquaredCoupling("x", k=0.5).leaves())  # config.coupling.<name>.k
    ['k']
    """
    if not group:
        kwargs.setdefault("converter", _as_array)
    metadata = {_LEAF: _Spec(allowed, when, group)}
    return eqx.field(default=default, metadata=metadata, **kwargs)


def leaf_names(cls: type) -> tuple[str, ...]:
    """The names of a component class's :func:`leaf` fields, in order.

    >>> leaf_names(LinearCoupling)
    ('G', 'b')
    """
    return tuple(f.name for f in dataclasses.fields(cls) if _LEAF in f.metadata)


class AbstractComponent(eqx.Module):
    """A part of a network whose numbers are config leaves (see :func:`leaf`)."""

    def leaves(self) -> dict[str, Leaf]:
        """``{name: Leaf(value, allowed)}`` of this component's config leaves,
        in field order: what ``config.<part>`` holds and what is checked.

        >>> AdditiveNoise(0.1, key=0).leaves()["sigma"]
        Leaf(value=0.1, allowed=Allowed(minimum=0.0, unit=''))
        """
        out = {}
        for f in dataclasses.fields(self):
            spec = f.metadata.get(_LEAF)
            if spec is None or (spec.when is not None and not spec.when(self)):
                continue
            value = getattr(self, f.name)
            if spec.group:
                out.update({k: Leaf(v, spec.allowed) for k, v in value.items()})
            else:
                out[f.name] = Leaf(value, spec.allowed)
        return out

    def __check_init__(self) -> None:
        for name, (value, allowed) in self.leaves().items():
            if allowed is not None:
                allowed.check(name, value)
