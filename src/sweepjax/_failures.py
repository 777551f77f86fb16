"""How a model's run-time checks fail without a host callback.

A checked computation (a prepared network solve) computes an int32 failure
code beside its result. Called eagerly it raises at once; traced by an
executor (`collecting_checks`) the code becomes an output of the point's
program and the host raises its message after the run (`raise_code`); only
under a user's own transformation does it fall back to a host callback
(`raise_failure`). Programs without callbacks go to JAX's persistent
compilation cache.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import get_opaque_trace_state


class Failures:
    """The failure codes of the checked computations (a prepared network
    solve) that a model met while an executor traced it: each code is an
    int32, 0 or ``1 +`` the index of its message, and `code` combines them
    into one code of the point, an output of the executor's program; the
    host raises its message after the run (`raise_code`). No host callback
    and no process-dependent constant enters the program, so JAX's
    persistent compilation cache can store it."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self._codes: list[tuple[Any, int]] = []
        self._trace = get_opaque_trace_state()

    def add(self, code: Any, messages: list[str]) -> bool:
        """Take ``code`` (its messages ``messages``) if it belongs to the
        trace this collection started in (not to a transformation inside
        the model, whose values cannot leave it); False if not taken."""
        if get_opaque_trace_state() != self._trace:
            return False
        self._codes.append((code, len(self.messages)))
        self.messages += messages
        return True

    def code(self) -> Any:
        """The point's code: the first failing check's, 0 if none; None when
        the model met no check (its program then has no code output)."""
        if not self._codes:
            return None
        total = jnp.int32(0)
        for code, offset in reversed(self._codes):
            total = jnp.where(code > 0, code + offset, total)
        return total


def raise_code(codes: np.ndarray, messages: list[str]) -> None:
    """``ValueError`` with the message of the first nonzero of ``codes``
    (failure codes, see `Failures`), if any."""
    codes = np.asarray(codes).reshape(-1)
    failed = np.flatnonzero(codes)
    if failed.size:
        raise ValueError(messages[int(codes[failed[0]]) - 1])


#: The `Failures` an executor collects while it traces a model.
_COLLECTING: contextvars.ContextVar[Failures | None] = contextvars.ContextVar(
    "sweepjax_collecting_checks", default=None
)


@contextlib.contextmanager
def collecting_checks() -> Iterator[Failures]:
    """Trace a model in this block to collect the failure codes of the
    checked computations it meets (`raise_failure`) into the `Failures`
    yielded, rather than raise them from inside the program."""
    token = _COLLECTING.set(Failures())
    try:
        yield _COLLECTING.get()
    finally:
        _COLLECTING.reset(token)


def raise_failure(code: Any, messages: list[str], out: Any) -> Any:
    """``out``, once a failure ``code`` (int32: 0, or ``1 +`` the index of
    its message in ``messages``) computed beside it is known to be 0.

    Raised without a host callback in the compiled program where it can be:
    a ``ValueError`` at once when ``code`` holds a value; the code is
    collected (`collecting_checks`) when an executor traces the model. Only
    elsewhere (the user's own ``jax.jit``, ``vmap`` or ``grad``, or a
    transformation inside a model) through a host callback
    (``equinox.branched_error_if``), which keeps the check but makes that
    program uncacheable.
    """
    if not isinstance(code, jax.core.Tracer):
        raise_code(code, messages)
        return out
    collecting = _COLLECTING.get()
    if collecting is not None and collecting.add(code, messages):
        return out
    index = jnp.clip(code - 1, 0, len(messages) - 1)
    return eqx.branched_error_if(out, code > 0, index, messages)
