"""The steps of a fit: one optimizer update, and a run of them as one
``jax.lax.scan`` (or, for an optimizer whose update must run eagerly, a
Python loop of the same steps), recording the loss and parameters every
``record_every`` steps and noting the first step whose loss or parameters
are not finite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from sweepjax.fit._parameters import is_parameter
from sweepjax.fit._parameters_state import combine_state

__all__ = [
    "Carry",
    "Fit",
    "chunk_layout",
    "compiled_chunk",
    "loss_and_aux",
    "run_chunk",
    "start",
]


class Fit(NamedTuple):
    """What a step needs besides the arrays: a static argument of the
    compiled chunk, so fits with the same loss and optimizer share it."""

    loss: Callable[[Any], Any]
    optimizer: Any
    has_aux: bool


class Carry(NamedTuple):
    """The state of a fit between steps.

    ``last`` is ``(loss, aux, grads)`` of the latest step (zeros before the
    first), ``step`` the number of steps taken. With tracking (eager runs),
    ``good`` holds the latest parameters whose loss and values were finite,
    ``bad`` the first step where they were not (-1: none yet) and
    ``bad_params`` whether the parameters themselves were not finite there.
    """

    params: Any
    opt_state: Any
    last: Any
    step: Any
    good: Any = None
    bad: Any = None
    bad_params: Any = None

    def replace(self, **changes: Any) -> Carry:
        """A copy with the fields in `changes` replaced."""
        return Carry(*(changes.get(f, v) for f, v in zip(self._fields, self)))


def loss_and_aux(fit: Fit, params: Any, static: Any) -> tuple[Any, Any]:
    """``(loss, aux)`` of the state made of `params` and `static`."""
    out = fit.loss(combine_state(params, static))
    if fit.has_aux:
        if not (isinstance(out, tuple | list) and len(out) == 2):
            raise TypeError(
                "OptaxOptimizer: with has_aux=True `loss` must return "
                f"(value, aux), got {type(out).__name__}."
            )
        value, aux = out
    else:
        value, aux = out, None
    if is_parameter(value):
        value = value.constrained_value
    return value, aux


def _loss_value(fit: Fit, params: Any, static: Any) -> Any:
    return loss_and_aux(fit, params, static)[0]


def _value_and_grad(fit: Fit, params: Any, static: Any, mode: str):
    """``((loss, aux), grads)`` at `params`, in reverse or forward mode."""
    if mode == "rev":
        return jax.value_and_grad(loss_and_aux, argnums=1, has_aux=True)(
            fit, params, static
        )

    def with_value(p):
        value, aux = loss_and_aux(fit, p, static)
        return value, (value, aux)

    grads, (value, aux) = jax.jacfwd(with_value, has_aux=True)(params)
    return (value, aux), grads


#: For an update that must run eagerly: the loss and its gradient compiled,
#: the update itself not (its ``value_fn`` then returns concrete values).
_compiled_loss_value = eqx.filter_jit(_loss_value)
_compiled_value_and_grad = eqx.filter_jit(_value_and_grad)


def _constrained(state: Any) -> Any:
    """`state` reduced to its parameters' constrained values (None elsewhere)."""
    return jax.tree.map(
        lambda x: x.constrained_value if is_parameter(x) else None,
        state,
        is_leaf=is_parameter,
    )


def _all_finite(tree: Any) -> Any:
    ok = jnp.asarray(True)
    for leaf in jax.tree.leaves(tree):
        ok = ok & jnp.all(jnp.isfinite(leaf))
    return ok


def start(fit: Fit, params: Any, opt_state: Any, static: Any, mode: str, track: bool):
    """The carry before the first step (``last`` as zeros of its shapes)."""
    (value, aux), grads = eqx.filter_eval_shape(
        _value_and_grad, fit, params, static, mode
    )
    last = jax.tree.map(
        lambda s: (
            jnp.zeros(s.shape, s.dtype) if isinstance(s, jax.ShapeDtypeStruct) else s
        ),
        (value, aux, grads),
    )
    carry = Carry(params, opt_state, last, jnp.asarray(0, jnp.int32))
    if track:
        carry = carry.replace(
            good=params, bad=jnp.asarray(-1, jnp.int32), bad_params=jnp.asarray(False)
        )
    return carry


def _step(fit: Fit, carry: Carry, static: Any, mode: str, eager: bool):
    """One update; returns the new carry and the record ``(loss,
    constrained parameters, aux)`` of the parameters the step started from."""
    import optax  # heavy (~0.5 s): imported when a fit runs

    vg = _compiled_value_and_grad if eager else _value_and_grad
    loss = _compiled_loss_value if eager else _loss_value
    params = carry.params
    (value, aux), grads = vg(fit, params, static, mode)
    updates, opt_state = optax.with_extra_args_support(fit.optimizer).update(
        grads,
        carry.opt_state,
        params,
        value=value,
        grad=grads,
        value_fn=lambda p: loss(fit, p, static),
    )
    new = carry.replace(
        params=optax.apply_updates(params, updates),
        opt_state=opt_state,
        last=(value, aux, grads),
        step=carry.step + 1,
    )
    if carry.bad is not None:
        params_ok = _all_finite(params)
        ok = jnp.isfinite(value) & params_ok
        fresh = carry.bad < 0
        first = fresh & ~ok
        new = new.replace(
            good=jax.tree.map(
                lambda g, p: jnp.where(fresh & ok, p, g), carry.good, params
            ),
            bad=jnp.where(first, carry.step, carry.bad),
            bad_params=jnp.where(first, ~params_ok, carry.bad_params),
        )
    return new, (value, _constrained(combine_state(params, static)), aux)


def _python_scan(f, carry, xs, length):
    """``jax.lax.scan``'s contract as a Python loop (for eager updates)."""
    ys = []
    for _ in range(length):
        carry, y = f(carry, None)
        ys.append(y)
    if not ys or ys[0] is None:
        return carry, None
    ys = jax.device_get(ys)
    return carry, jax.tree.map(lambda *xs: jnp.asarray(np.stack(xs)), *ys)


def chunk_layout(begin: int, end: int, every: int) -> tuple[int, int, int]:
    """Steps ``begin..end-1`` as ``(head, groups, tail)``: `head` unrecorded
    steps up to the first multiple of `every`, `groups` groups of `every`
    steps each recording its first, and a `tail` of fewer steps recording
    its first."""
    head = min(-begin % every, end - begin)
    rest = end - begin - head
    return head, rest // every, rest % every


def run_chunk(
    fit: Fit,
    carry: Carry,
    static: Any,
    mode: str,
    layout: tuple[int, int, int],
    every: int,
    eager: bool = False,
):
    """The steps of `layout` (see `chunk_layout`): the new carry and the
    records stacked along a leading axis (None when none is recorded)."""
    scan = _python_scan if eager else jax.lax.scan
    head, groups, tail = layout

    def plain(c, _):
        return _step(fit, c, static, mode, eager)[0], None

    def group(c, n):
        c, record = _step(fit, c, static, mode, eager)
        if n > 1:
            c, _ = scan(plain, c, None, length=n - 1)
        return c, record

    parts = []
    if head:
        carry, _ = scan(plain, carry, None, length=head)
    if groups:
        carry, records = scan(lambda c, _: group(c, every), carry, None, length=groups)
        parts.append(records)
    if tail:
        carry, record = group(carry, tail)
        parts.append(jax.tree.map(lambda x: x[None], record))
    if not parts:
        return carry, None
    return carry, jax.tree.map(lambda *xs: jnp.concatenate(xs), *parts)


#: `run_chunk` compiled for eager runs (the loss, optimizer, layout and mode
#: are static, so each combination compiles once per process).
compiled_chunk = eqx.filter_jit(run_chunk)
