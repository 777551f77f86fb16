"""Checks of config values that hold at construction and under sweeping.

A graph or noise validates its numbers when it is built, but a sweep puts new
values on the prepared config (``config.graph.delays``, ``config.noise.sigma``,
...) that never pass through a constructor. Each component therefore declares
what its leaves may hold as :class:`Allowed` rules; the constructor checks
the given values on the host with them (:meth:`Allowed.check`) and ``prepare``
checks the values a solve actually receives inside the compiled function with
the same rules (:func:`failure_code`), under ``jit``, ``vmap`` and every
executor.

No host callback sits in the compiled program, so JAX's persistent
compilation cache stores it (a program with a callback is never written):
each leaf costs one fused reduction to a severity, the rest are scalar
selects to one int32 failure code (:func:`failure_code`), which the
compiled solve returns beside its solution (:func:`checked`). The host
raises the code's message after the run (:func:`sweepjax._failures.raise_failure`):
a direct call ``solve_fn(config)`` raises a ``ValueError``; the executors
trace each point under ``collecting_checks``, so the code becomes an output
of their batch program, and raise the first failing point's message once
the batch ran (``jax.experimental.checkify`` was tried for this channel:
its check codes come from a process-wide counter, so the same sweep traced
twice gave different programs, fingerprints and cache keys).

Only where nothing collects the code (the user's own ``jax.jit``,
``jax.vmap`` or ``jax.grad`` of ``solve_fn``, or one inside a model, such
as a model decorated with ``jax.jit``) does the check fall back to a host callback
(``equinox.branched_error_if``, as before): nothing else can raise from
inside a program that is not ours, and that program is then not cached
(issue 24: every check still raises; a sweep that should be cached runs
through an executor).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from sweepjax._config import Config
from sweepjax._failures import raise_failure

#: int32 scalars: the severities' operands (lax.select wants equal types)
_INT = tuple(np.int32(k) for k in range(4))

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
        order the host check reports them. XLA's max and min propagate NaN,
        so ``max(|value|)`` tells NaN, inf and finite apart in one reduction
        (and ``min(value)`` the minimum): fewer and simpler kernels than an
        elementwise classification, which costs compilation in every
        network program."""
        value = jnp.asarray(value, jnp.result_type(value, float))
        axes = tuple(range(value.ndim))
        # lax, not jnp: the same ops without jnp's nested programs (isinf,
        # where), which every sweep's trace and lowering paid for
        largest = lax.max(
            lax.reduce_max(lax.abs(value), axes), np.zeros((), value.dtype)
        )
        code = lax.select(largest == jnp.inf, _INT[2], _INT[0])
        if self.minimum is not None:
            low = lax.reduce_min(value, axes) < self.minimum
            code = lax.select(low & (code == 0), _INT[1], code)
        return lax.select(largest != largest, _INT[3], code)  # NaN

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


def failure_code(
    config: Config,
    rules: Mapping[str, Allowed],
    errors: Sequence[tuple[jax.Array, str]] = (),
) -> tuple[jax.Array, list[str]]:
    """``(code, messages)``: inside the traced function, ``code`` (int32) is
    0 when the leaves of ``config`` named in ``rules`` (dotted paths such as
    ``graph.delays``) obey them and each ``bad`` of ``errors`` (``(bad,
    message)`` pairs) is false, else ``1 +`` the index in ``messages`` of
    the first failure, leaves in config order first. Leaves absent from
    ``config`` are not checked; no derivative flows into a check; one
    reduction per leaf, the rest is on scalars.

    >>> from sweepjax.network._checks import Allowed, failure_code
    >>> rules = {"noise.sigma": Allowed(minimum=0.0)}
    >>> config.noise.sigma = -1.0
    >>> code, messages = failure_code(config, rules)
    >>> messages[int(code) - 1][:47]
    'config.noise.sigma received a negative value; a'
    """
    failures: list[tuple[jax.Array, str]] = []
    for path, leaf in jax.tree_util.tree_flatten_with_path(config)[0]:
        rule = rules.get(dotted(path))
        if rule is None:
            continue
        severity = rule.severity(jax.lax.stop_gradient(jnp.asarray(leaf)))
        nan, inf, low = rule.messages(dotted(path))
        failures += [(severity == 3, nan), (severity == 2, inf)]
        if rule.minimum is not None:
            failures.append((severity == 1, low))
    failures += [(jax.lax.stop_gradient(bad), message) for bad, message in errors]
    code = jnp.int32(0)
    for k in reversed(range(len(failures))):
        bad = jnp.asarray(failures[k][0])
        if bad.shape == ():
            code = lax.select(bad, jnp.int32(k + 1), code)
        else:  # a check of its own shape: a code of that shape
            code = jnp.where(bad, jnp.int32(k + 1), code)
    return code, [message for _, message in failures]


class CheckedSolve:
    """A prepared solve: ``solve_fn(config)`` runs the compiled ``program``
    (``function``, the solve with its failure code, :func:`checked`,
    jitted) and raises the code's message
    (:func:`sweepjax._failures.raise_failure`).

    Traced (under the caller's ``jit``, ``vmap``, ``grad``, an executor),
    it calls ``function`` in the caller's trace rather than ``program``: a
    nested ``jit`` would trace the solve for one point first, and only then
    batch it, where ``vmap`` can trace the batch's solve alone
    (:mod:`._batching`).
    """

    def __init__(
        self,
        function: Callable[[Config], tuple[jax.Array, Any]],
        messages: dict[Any, list[str]],
    ):
        self.function = function
        self.program = jax.jit(function)
        self._messages = messages
        self.__qualname__ = self.__name__ = "solve_fn"

    def __call__(self, config: Config) -> Any:
        traced = any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves(config))
        if traced:
            code, out = self.function(config)
        else:
            code, out = self.program(config)
        return raise_failure(code, self._messages[jax.tree.structure(config)], out)

    def raise_code(self, code: jax.Array, config: Config, out: Any) -> Any:
        """``out``, once ``code`` (a failure code of ``program(config)``, e.g.
        the first of a loop of solves) is known to be 0: raised as a call
        of ``solve_fn(config)`` raises it."""
        return raise_failure(code, self._messages[jax.tree.structure(config)], out)

    def _cache_size(self) -> int:
        """How many programs ``program`` compiled (one per config layout)."""
        return self.program._cache_size()


def checked(
    solve: Callable[[Config], Any],
    checks: Callable[[Config], tuple[jax.Array, list[str]]],
) -> CheckedSolve:
    """``solve`` jitted together with ``checks(config)`` (e.g. a
    :func:`failure_code`): the compiled program returns the failure code
    beside the solution, and the returned :class:`CheckedSolve` raises its
    message."""
    #: the messages of each config structure the program was traced for
    messages: dict[Any, list[str]] = {}

    def run(config: Config) -> tuple[jax.Array, Any]:
        code, messages[jax.tree.structure(config)] = checks(config)
        return code, solve(config)

    return CheckedSolve(run, messages)
