"""Config: a mutable attribute-access container that JAX treats as a pytree."""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jax


class _ClosedFields(tuple):
    """The pytree aux data of a closed Config: its field names, plus its path.

    It prints as the plain tuple an open Config uses, so a space's structure
    string (stored with every sweep) does not change; it compares equal only
    to another closed Config's names, so open and closed Configs never share
    a trace. The path is a label for messages and takes no part in equality.
    """

    def __new__(
        cls, names: tuple[str, ...], path: tuple[str, ...] = (), checks: Any = None
    ):
        new = super().__new__(cls, names)
        new.path = path
        new.checks = checks or {}  # a Config's field checks, like its path
        return new

    def __reduce__(self):
        return _ClosedFields, (tuple(self), self.path, self.checks)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ClosedFields) and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((_ClosedFields, tuple(self)))

    def __repr__(self) -> str:
        return tuple.__repr__(self)


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


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

    ``Config(...)`` is open: assigning a new name adds a field. A config whose
    layout is fixed (such as the one ``sweepjax.network.prepare`` returns) is
    built with :meth:`Config.closed`, which refuses new names so that a typo
    cannot silently sweep nothing. Fields named like a method (``keys``,
    ``items``, ``values``, ``closed``) are reached by item access only.

    >>> cfg = Config(G=0.5, noise=Config(sigma=1e-3))
    >>> cfg.noise.sigma, jax.tree.leaves(cfg)
    (0.001, [0.5, 0.001])
    """

    __slots__ = ("_fields", "_closed", "_path", "_checks")

    def __init__(self, fields: Mapping[str, Any] | None = None, /, **kwargs: Any):
        merged = dict(fields or {})
        merged.update(kwargs)
        for name in merged:
            if not isinstance(name, str) or not name.isidentifier():
                raise TypeError(
                    f"Config field names must be identifiers, got {name!r}."
                )
        object.__setattr__(self, "_fields", merged)
        object.__setattr__(self, "_closed", False)
        object.__setattr__(self, "_path", ())
        object.__setattr__(self, "_checks", {})

    @classmethod
    def closed(
        cls, fields: Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> Config:
        """A Config whose field names are fixed: a new name is an error.

        Reading or assigning a name it lacks raises ``AttributeError`` naming
        its path, the name and the closest field names; existing fields take
        any value (a sweep axis, an array, another Config), as in an open
        Config. A closed Config stays closed through ``copy.deepcopy``,
        pickling and ``jax.tree.map``. Closed Configs nested in it are named
        by their place, so messages give paths such as ``coupling.instant``.
        To add fields, build an open copy: ``Config(dict(cfg.items()))``.

        >>> cfg = Config.closed(coupling=Config.closed(G=0.5, b=0.0))
        >>> cfg.coupling.G = GridAxis(0.0, 1.0, 4)      # an existing field: fine
        >>> cfg.coupling.g = 0.1
        Traceback (most recent call last):
        AttributeError: Config at 'coupling' has no field 'g'; did you mean 'G'? ...
        """
        new = cls(fields, **kwargs)
        object.__setattr__(new, "_closed", True)
        new._name_children()
        return new

    def add_field_check(self, name: str, check: Callable[[Any], None]) -> None:
        """Call ``check(value)`` each time field ``name`` is set from now on
        (an axis included), so a value that cannot work is refused when it is
        written rather than when it is used; ``check`` raises to refuse it.
        Copies, pickles and pytree maps of this Config keep the check (it
        must pickle).

        >>> cfg = Config.closed(n=1)
        >>> def positive(value):
        ...     if value <= 0:
        ...         raise ValueError(f"n must be > 0, got {value}.")
        >>> cfg.add_field_check("n", positive)
        >>> cfg.n = 0
        Traceback (most recent call last):
        ValueError: n must be > 0, got 0.
        """
        if name not in self._fields:
            raise self._unknown(name)
        self._checks[name] = check

    def _name_children(self) -> None:
        # Closed children are labelled by their place below this Config.
        for name, value in self._fields.items():
            if isinstance(value, Config) and value._closed:
                object.__setattr__(value, "_path", (*self._path, name))
                value._name_children()

    def _where(self) -> str:
        return f" at {'.'.join(self._path)!r}" if self._path else ""

    def _unknown(self, name: str, note: str = "") -> AttributeError:
        """The error for a name this Config lacks, with the closest names."""
        fields = list(self._fields)
        by_lower: dict[str, str] = {}
        for field in fields:
            by_lower.setdefault(field.lower(), field)
        close = [by_lower[m] for m in difflib.get_close_matches(name.lower(), by_lower)]
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else "."
        return AttributeError(
            f"Config{self._where()} has no field {name!r}{hint} Fields: {fields}."
            + note
        )

    def __getattr__(self, name: str) -> Any:
        try:
            return object.__getattribute__(self, "_fields")[name]
        except (KeyError, AttributeError):
            # protocol probes (copy, numpy, IPython) and a half-built Config
            if _is_dunder(name) or name in Config.__slots__:
                raise AttributeError(name) from None
            raise self._unknown(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.isidentifier():
            raise TypeError(f"Config field names must be identifiers, got {name!r}.")
        if self._closed:
            if name not in self._fields:
                raise self._unknown(
                    name, " This Config is closed: only its existing fields can be set."
                )
            if isinstance(value, Config) and value._closed:
                object.__setattr__(value, "_path", (*self._path, name))
                value._name_children()
        if name in self._checks:
            self._checks[name](value)
        self._fields[name] = value

    def __delattr__(self, name: str) -> None:
        if name not in self._fields:
            raise self._unknown(name)
        if self._closed:
            raise AttributeError(
                f"Config{self._where()} is closed: field {name!r} cannot be deleted."
            )
        del self._fields[name]

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
        object.__setattr__(new, "_closed", self._closed)
        object.__setattr__(new, "_path", self._path)
        object.__setattr__(new, "_checks", dict(self._checks))
        return new

    def __getstate__(self):
        # Never a false value: pickle skips __setstate__ for one.
        return (self._fields, self._closed, self._path, self._checks)

    def __setstate__(self, state):
        if isinstance(state, dict):  # pickled before configs could be closed
            state = (state, False, ())
        fields, closed, path, *checks = state  # no checks: pickled before them
        object.__setattr__(self, "_fields", dict(fields))
        object.__setattr__(self, "_closed", bool(closed))
        object.__setattr__(self, "_path", tuple(path))
        object.__setattr__(self, "_checks", dict(checks[0]) if checks else {})

    def tree_flatten_with_keys(self):
        """Children with `GetAttrKey` paths; the field names are the aux data
        (a closed Config's names also carry closedness and its path)."""
        keys = tuple(self._fields)
        children = [(jax.tree_util.GetAttrKey(k), self._fields[k]) for k in keys]
        if self._closed:
            return children, _ClosedFields(keys, self._path, self._checks)
        return children, keys

    @classmethod
    def tree_unflatten(cls, keys, children):
        """Rebuild from `tree_flatten_with_keys` output without validation
        (``keys``: a tuple of field names gives an open Config)."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "_fields", dict(zip(keys, children, strict=True)))
        closed = isinstance(keys, _ClosedFields)
        object.__setattr__(obj, "_closed", closed)
        object.__setattr__(obj, "_path", keys.path if closed else ())
        object.__setattr__(obj, "_checks", dict(keys.checks) if closed else {})
        return obj
