"""Checks of config values that hold at construction and under sweeping.

A graph or noise validates its numbers when it is built, but a sweep puts new
values on the prepared config (``config.graph.delays``, ``config.noise.sigma``,
...) that never pass through a constructor. Each component therefore declares
what its leaves may hold as :class:`Allowed` rules; the constructor checks
the given values on the host with them (:meth:`Allowed.check`) and ``prepare``
checks the values a solve actually receives inside the compiled function with
the same rules (:func:`check_leaves`), under ``jit``, ``vmap`` and every
executor. One host callback judges all leaves (NumPy on the values the
solve received: the same reductions compiled by XLA added 0.17 s to every
network program's compilation) and one ``equinox.branched_error_if``
raises; both sit before the time loop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._config import Config

#: What a bad leaf was found to hold, in the order checked (code 1, 2, 3).
_KINDS = ("a NaN value", "an infinite value", "")


@dataclasses.dataclass(frozen=True)
class Allowed:
    """What the values of a numeric config leaf may be: finite, and at least
    ``minimum`` when it is given (``unit`` is shown in messages).

    >>> Allowed(minimum=0.0, unit="ms").describe()
    'finite values >= 0 ms'
    >>> Allowed().check("weights", np.array([1.0, np.nan]))
    Traceback (most recent call last):
    ValueError: weights must hold finite values, got NaN.
    """

    minimum: float | None = None
    unit: str = ""

    def describe(self) -> str:
        """The allowed values in words, e.g. ``finite values >= 0 ms``."""
        if self.minimum is None:
            return "finite values"
        unit = f" {self.unit}" if self.unit else ""
        return f"finite values >= {self.minimum:g}{unit}"

    def below(self) -> str:
        """A value under ``minimum`` in words (``a negative value`` for 0)."""
        if self.minimum is None:  # never reported: there is no minimum
            return "a value out of range"
        if self.minimum == 0:
            return "a negative value"
        unit = f" {self.unit}" if self.unit else ""
        return f"a value below {self.minimum:g}{unit}"

    def check(self, name: str, value: Any) -> np.ndarray:
        """``value`` as a float array, or ``ValueError`` naming ``name``, the
        offending value and what is allowed (used at construction)."""
        try:
            array = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(
                f"{name} must be a number or a numeric array, got {value!r}."
            ) from None
        got = None
        if np.any(np.isnan(array)):
            got = "NaN"
        elif np.any(np.isinf(array)):
            got = "inf"
        elif self.minimum is not None and np.any(array < self.minimum):
            got = f"{self.below()} (minimum {array.min():g})"
        if got is not None:
            raise ValueError(f"{name} must hold {self.describe()}, got {got}.")
        return array

    def code(self, value: np.ndarray, ndim: int) -> np.ndarray:
        """0 where ``value`` is allowed, else 1 (NaN), 2 (inf) or 3 (below
        ``minimum``), on the host: one code per value of ``ndim`` trailing
        axes (the leading axes are a batch)."""
        axes = tuple(range(value.ndim - ndim, value.ndim))
        nan = np.isnan(value).any(axes)
        inf = np.isinf(value).any(axes)
        low = False if self.minimum is None else (value < self.minimum).any(axes)
        return np.where(nan, 1, np.where(inf, 2, np.where(low, 3, 0)))

    def messages(self, path: str) -> list[str]:
        """The run-time error of each code 1, 2, 3 for the leaf at ``path``."""
        return [
            f"config.{path} received {kind or self.below()}; allowed: "
            f"{self.describe()}. A swept value must obey the rule the "
            "constructor checked; fix the values of that axis."
            for kind in _KINDS
        ]


def dotted(path: tuple[Any, ...]) -> str:
    """``coupling.instant.G`` for a key path."""
    return jax.tree_util.keystr(path, simple=True, separator=".")


def check_leaves(config: Config, rules: Mapping[str, Allowed]) -> Config:
    """``config`` with the leaves named in ``rules`` (dotted paths such as
    ``graph.delays``) checked: a computation that uses them raises an error
    naming the first bad leaf if a value breaks its rule; the values
    themselves are unchanged.

    Call it inside the traced function; it works under ``jit`` and ``vmap``
    (an error when any batch element is bad). Leaves absent from ``config``
    are not checked.

    >>> from sweepjax.network._checks import Allowed, check_leaves
    >>> rules = {"noise.sigma": Allowed(minimum=0.0)}
    >>> checked = jax.jit(lambda cfg: check_leaves(cfg, rules).noise.sigma)
    >>> round(float(checked(config)), 6)   # raises if sigma is NaN, inf or < 0
    0.001
    """
    flat, treedef = jax.tree_util.tree_flatten_with_path(config)
    leaves = [leaf for _, leaf in flat]
    picked = [
        (i, rules[name])
        for i, (path, _) in enumerate(flat)
        if (name := dotted(path)) in rules
    ]
    if not picked:
        return config
    messages: list[str] = []
    # reversed, so that under vmap (where the largest index of the batch is
    # raised) the first bad leaf in config order names the error
    for i, rule in reversed(picked):
        leaves[i] = jnp.asarray(leaves[i])
        messages += rule.messages(dotted(flat[i][0]))
    ndims = [leaves[i].ndim for i, _ in picked]

    def judge(*values: np.ndarray) -> np.ndarray:
        """The message of the first bad leaf in config order, -1 if none (one
        per batch element under ``vmap``)."""
        codes = [
            rule.code(np.asarray(value), ndim)
            for (_, rule), value, ndim in zip(picked, values, ndims, strict=True)
        ]
        index = np.full(np.broadcast_shapes(*(c.shape for c in codes)), -1)
        for k in reversed(range(len(codes))):
            first = 3 * (len(codes) - 1 - k)  # where leaf k's messages start
            index = np.where(codes[k] > 0, first + codes[k] - 1, index)
        return index.astype(np.int32)

    # each value gets a leading axis, so that the callback tells a batch
    # (vmap adds one more) from a value; no derivative flows into the check
    values = [jax.lax.stop_gradient(leaves[i])[None] for i, _ in picked]
    index = jax.pure_callback(
        judge, jax.ShapeDtypeStruct((1,), jnp.int32), *values, vmap_method="expand_dims"
    )[0]
    checked = eqx.branched_error_if(
        [leaves[i] for i, _ in picked], index >= 0, jnp.maximum(index, 0), messages
    )
    for (i, _), leaf in zip(picked, checked, strict=True):
        leaves[i] = leaf
    return jax.tree_util.tree_unflatten(treedef, leaves)
