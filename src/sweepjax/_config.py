"""Config: a mutable attribute-access container that JAX treats as a pytree."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

import jax


@jax.tree_util.register_pytree_with_keys_class
class Config:
    """A namespace of named fields that is also a pytree.

    Fields read and write as attributes (``cfg.noise.sigma = 0.1``) or items
    (``cfg["noise"]``); they flatten in insertion order with ``GetAttrKey``
    paths, so a leaf at ``cfg.coupling.instant.G`` is named
    ``coupling.instant.G`` in tables. ``copy.deepcopy`` gives an independent
    copy, which is how a sweep is usually written::

        cfg = Config(G=0.5, noise=Config(sigma=1e-3))
        sweep_cfg = copy.deepcopy(cfg)
        sweep_cfg.G = GridAxis(0.0, 1.0, 8)
    """

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, Any] | None = None, /, **kwargs: Any):
        merged = dict(fields or {})
        merged.update(kwargs)
        for name in merged:
            if not isinstance(name, str) or not name.isidentifier():
                raise TypeError(
                    f"Config field names must be identifiers, got {name!r}."
                )
        object.__setattr__(self, "_fields", merged)

    def __getattr__(self, name: str) -> Any:
        try:
            return object.__getattribute__(self, "_fields")[name]
        except (KeyError, AttributeError):
            raise AttributeError(
                f"Config has no field {name!r}; fields are {list(self.keys())}."
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.isidentifier():
            raise TypeError(f"Config field names must be identifiers, got {name!r}.")
        self._fields[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self._fields[name]
        except KeyError:
            raise AttributeError(f"Config has no field {name!r}.") from None

    def __getitem__(self, name: str) -> Any:
        return self._fields[name]

    def __setitem__(self, name: str, value: Any) -> None:
        setattr(self, name, value)

    def __contains__(self, name: object) -> bool:
        return name in self._fields

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def keys(self):
        """Field names, in insertion order."""
        return self._fields.keys()

    def items(self):
        """``(name, value)`` pairs, in insertion order."""
        return self._fields.items()

    def values(self):
        """Field values, in insertion order."""
        return self._fields.values()

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._fields.items())
        return f"Config({inner})"

    def __deepcopy__(self, memo: dict) -> Config:
        # JAX arrays are immutable, so a copy may share them; copying them
        # would cost a device copy (and a compile) per leaf.
        new = object.__new__(Config)
        memo[id(self)] = new
        fields = {
            k: v if isinstance(v, jax.Array) else copy.deepcopy(v, memo)
            for k, v in self._fields.items()
        }
        object.__setattr__(new, "_fields", fields)
        return new

    def __getstate__(self):
        return self._fields

    def __setstate__(self, state):
        object.__setattr__(self, "_fields", dict(state))

    def tree_flatten_with_keys(self):
        """Children with `GetAttrKey` paths; the field names are the aux data."""
        keys = tuple(self._fields)
        children = [(jax.tree_util.GetAttrKey(k), self._fields[k]) for k in keys]
        return children, keys

    @classmethod
    def tree_unflatten(cls, keys, children):
        """Rebuild from `tree_flatten_with_keys` output without validation."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "_fields", dict(zip(keys, children, strict=True)))
        return obj
