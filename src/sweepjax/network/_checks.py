"""Checks of config values that hold at construction and under sweeping.

A graph or noise validates its numbers when it is built, but a sweep puts new
values on the prepared config (``config.graph.delays``, ``config.noise.sigma``,
...) that never pass through a constructor. Each component therefore declares
what its leaves may hold as :class:`Allowed` rules; the constructor checks
the given values on the host with them (:meth:`Allowed.check`) and ``prepare``
checks the values a solve actually receives inside the compiled function with
the same rules (:func:`check_leaves`), under ``jit``, ``vmap`` and every
executor.

No host callback sits in the compiled program, so JAX's persistent
compilation cache stores it (a program with a callback is never written):
each leaf costs one fused reduction to a severity code and a few
``checkify.check`` on that scalar, and :func:`checked` compiles the solve
under ``checkify.checkify``, so the failed check is an output of the program
and is raised on the host after the run (:func:`sweepjax._tree.raise_checks`):
a direct call ``solve_fn(config)`` and ``jax.vmap`` of it raise at once;
the executors trace models under ``collecting_checks`` and raise the error
of each batch after it ran. Only a user's own ``jax.jit`` (or ``scan``...)
around ``solve_fn`` outside an executor gets a host callback that raises:
nothing else can raise from inside a program that is not ours, and that
program is then not cached (decided in issue 24: correctness first).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from sweepjax._config import Config
from sweepjax._tree import raise_checks

#: What a bad leaf was found to hold, by severity 3, 2, 1 (see `Allowed.severity`).
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

    def severity(self, value: jax.Array) -> jax.Array:
        """In the traced function: 0 where every value is allowed, else the
        worst found, 3 (a NaN), 2 (an inf) or 1 (below ``minimum``), in the
        order the host check reports them; one fused reduction."""
        low = False if self.minimum is None else value < self.minimum
        code = jnp.where(jnp.isnan(value), 3, jnp.where(jnp.isinf(value), 2, low))
        return jnp.max(code.astype(jnp.int32), initial=0)

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


def _escaped(message: str) -> str:
    """``message`` as a `checkify.check` format string that prints it."""
    return message.replace("{", "{{").replace("}", "}}")


def check_leaves(
    config: Config,
    rules: Mapping[str, Allowed],
    errors: Sequence[tuple[jax.Array, str]] = (),
) -> None:
    """Check the leaves of ``config`` named in ``rules`` (dotted paths such
    as ``graph.delays``), then each ``(bad, message)`` of ``errors``, as
    ``checkify.check`` calls: inside a function that :func:`checked` (or
    ``checkify.checkify``) compiles, the first bad leaf in config order
    names the error. Leaves absent from ``config`` are not checked; no
    derivative flows into a check.

    >>> from sweepjax.network._checks import Allowed, check_leaves
    >>> rules = {"noise.sigma": Allowed(minimum=0.0)}
    >>> def sigma(cfg):
    ...     check_leaves(cfg, rules)
    ...     return cfg.noise.sigma
    >>> error, value = jax.jit(checkify.checkify(sigma))(config)
    >>> error.throw()        # raises if sigma is NaN, inf or < 0
    >>> round(float(value), 6)
    0.001
    """
    for path, leaf in jax.tree_util.tree_flatten_with_path(config)[0]:
        rule = rules.get(dotted(path))
        if rule is None:
            continue
        severity = rule.severity(jax.lax.stop_gradient(jnp.asarray(leaf)))
        nan, inf, low = rule.messages(dotted(path))
        checkify.check(severity != 3, _escaped(nan))
        checkify.check(severity != 2, _escaped(inf))
        if rule.minimum is not None:
            checkify.check(severity != 1, _escaped(low))
    for bad, message in errors:
        checkify.check(jnp.logical_not(jax.lax.stop_gradient(bad)), _escaped(message))


def checked(
    solve: Callable[[Config], Any], checks: Callable[[Config], None]
) -> Callable[[Config], Any]:
    """``solve`` jitted with ``checks(config)`` (``checkify.check`` calls,
    e.g. :func:`check_leaves`) run before it: the compiled program returns
    the failed check instead of calling back to the host, and the returned
    function raises it (:func:`sweepjax._tree.raise_checks`). Its
    ``_cache_size()`` is the jitted program's."""

    def run(config: Config) -> Any:
        checks(config)
        return solve(config)

    jitted = jax.jit(checkify.checkify(run, errors=checkify.user_checks))

    def solve_fn(config: Config) -> Any:
        error, out = jitted(config)
        raise_checks(error)
        return out

    solve_fn._cache_size = jitted._cache_size
    return solve_fn
