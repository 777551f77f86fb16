"""Fitting: `OptaxOptimizer` steps the parameters of a state down a loss.

The same call fits one state on the host (a Python loop with a callback and a
progress bar) or one point of a sweep inside ``jax.jit``/``jax.vmap``/
`ParallelExecution` (one ``jax.lax.scan``), so a sweep can explore starting
points, data or fixed settings and fit at every point in one compiled program.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from sweepjax._parameters import is_parameter
from sweepjax._parameters_state import combine_state, partition_state
from sweepjax._tree import check_positive_int

if TYPE_CHECKING:
    import optax

__all__ = ["OptaxOptimizer"]

#: History keys the optimizer writes (a callback's entries under them are
#: replaced, with a warning).
_RESERVED = ("step", "loss", "parameters", "aux")


def _constrained(state: Any) -> Any:
    """`state` reduced to its parameters' constrained values (None elsewhere)."""
    return jax.tree.map(
        lambda x: x.constrained_value if is_parameter(x) else None,
        state,
        is_leaf=is_parameter,
    )


def _stack(records: list[Any]) -> Any:
    """Stack eager records on the host (``jnp.stack`` would compile anew for
    every number of records), handing back JAX arrays."""
    records = jax.device_get(records)
    return jax.tree.map(lambda *xs: jnp.asarray(np.stack(xs)), *records)


def _short(x: Any, limit: int = 200) -> str:
    text = repr(x)
    return text if len(text) <= limit else text[:limit] + "..."


class _Fit(NamedTuple):
    """What a step needs besides the arrays: a static argument of the
    compiled segment, so fits with the same loss and optimizer share it."""

    loss: Callable[[Any], Any]
    optimizer: Any
    has_aux: bool


def _loss_and_aux(fit: _Fit, params: Any, static: Any) -> tuple[Any, Any]:
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


def _value_and_grad(fit: _Fit, params: Any, static: Any, mode: str):
    """``((loss, aux), grads)`` at `params`, in reverse or forward mode."""
    if mode == "rev":
        return jax.value_and_grad(_loss_and_aux, argnums=1, has_aux=True)(
            fit, params, static
        )

    def with_value(p):
        value, aux = _loss_and_aux(fit, p, static)
        return value, (value, aux)

    grads, (value, aux) = jax.jacfwd(with_value, has_aux=True)(params)
    return (value, aux), grads


def _step(fit: _Fit, params, opt_state, static, mode):
    """One update; loss, aux and grads are those at the `params` given."""
    import optax  # heavy (~0.5 s): imported when a fit runs

    (value, aux), grads = _value_and_grad(fit, params, static, mode)
    updates, opt_state = optax.with_extra_args_support(fit.optimizer).update(
        grads,
        opt_state,
        params,
        value=value,
        grad=grads,
        value_fn=lambda p: _loss_and_aux(fit, p, static)[0],
    )
    return optax.apply_updates(params, updates), opt_state, value, aux, grads


def _segment(fit: _Fit, params, opt_state, static, n: int, mode: str):
    """`n` steps; the record (loss, constrained parameters, aux) of the first
    and the (loss, aux, grads) of the last."""
    before = _constrained(combine_state(params, static))
    params, opt_state, value, aux, grads = _step(fit, params, opt_state, static, mode)
    record = (value, before, aux)

    def body(carry, _):
        p, s, _, _, _ = carry
        return _step(fit, p, s, static, mode), None

    if n > 1:
        carry = (params, opt_state, value, aux, grads)
        carry, _ = jax.lax.scan(body, carry, None, length=n - 1)
        params, opt_state, value, aux, grads = carry
    return params, opt_state, record, (value, aux, grads)


#: `_segment` compiled for eager runs (the loss, optimizer, `n` and `mode` are
#: static, so each combination compiles once per process).
_compiled_segment = eqx.filter_jit(_segment)


class OptaxOptimizer:
    """Minimise `loss` over the `Parameter` leaves of a state with an Optax
    optimizer (TVB-Optim's interface).

    Args:
        loss: ``loss(state) -> scalar`` (or ``(scalar, aux)`` with
            ``has_aux=True``). It receives the state *with* its `Parameter`
            objects (rebuilt around the traced raw values), which behave like
            arrays (operators, ``jnp`` functions); call `extract_values` inside
            the loss for code that needs plain arrays.
        optimizer: an ``optax.GradientTransformation`` (``optax.adam(1e-2)``).
            It is called with ``value=``, ``grad=`` and ``value_fn=`` too, so
            line-search optimizers such as ``optax.lbfgs()`` work.
        callback: ``callback(step, params, static, history, aux, loss_value,
            grads) -> (stop, params, static)``, TVB-Optim's protocol: called
            after every step of an eager run (after every chunk with
            ``chunk_size=``), with the ``partition_state`` halves after the
            update and the loss, aux and gradients of that step. It may return
            new halves, stop the fit with ``stop=True``, write entries into
            `history` (the dict `run` returns), or return None to continue.
        has_aux: whether `loss` returns ``(value, aux)``; the history then keeps
            the recorded aux too.

    >>> import optax
    >>> from sweepjax import Parameter
    >>> state = {"x": Parameter(0.0), "target": 3.0}
    >>> opt = OptaxOptimizer(lambda s: (s["x"] - s["target"]) ** 2, optax.adam(0.1))
    >>> final, history = opt.run(state, max_steps=300, progress=False)
    >>> round(float(final["x"]), 3), history["loss"].shape
    (3.0, (300,))
    """

    def __init__(
        self,
        loss: Callable[[Any], Any],
        optimizer: optax.GradientTransformation,
        callback: Callable[..., Any] | None = None,
        has_aux: bool = False,
    ) -> None:
        if not callable(loss):
            raise TypeError(
                f"OptaxOptimizer: `loss` must be callable, got "
                f"{type(loss).__name__}: {loss!r}."
            )
        if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
            raise TypeError(
                "OptaxOptimizer: `optimizer` must be an optax.GradientTransformation "
                f"(with init and update), got {type(optimizer).__name__}: "
                f"{optimizer!r}."
            )
        if callback is not None and not callable(callback):
            raise TypeError(
                f"OptaxOptimizer: `callback` must be callable or None, got "
                f"{type(callback).__name__}: {callback!r}."
            )
        self.loss = loss
        self.optimizer = optimizer
        self.callback = callback
        self.has_aux = bool(has_aux)

    # ----- the public entry point ----------------------------------------
    def run(
        self,
        state: Any,
        max_steps: int = 1,
        mode: str = "rev",
        chunk_size: int | None = None,
        record_every: int = 1,
        progress: bool = True,
    ) -> tuple[Any, dict[str, Any]]:
        """Fit the parameters of `state`; return ``(final_state, history)``.

        Args:
            state: a pytree holding at least one `Parameter`.
            max_steps: number of optimizer steps (an eager run stops earlier if
                the callback says so).
            mode: ``"rev"`` (reverse mode, ``jax.value_and_grad``) or ``"fwd"``
                (forward mode, ``jax.jacfwd``: cheaper for a few parameters);
                both give the same steps to float tolerance.
            chunk_size: eager runs only: fuse this many steps into one compiled
                ``jax.lax.scan`` and call the callback once per chunk (with the
                last step's loss, aux and grads). Default: one step at a time.
            record_every: record every this many steps (steps 0, k, 2k, ...).
            progress: show a tqdm bar (eager runs only).

        Returns:
            ``final_state``: `state` with the parameters after the last step.
            ``history``: a dict with ``"step"`` (the recorded steps, ``[R]``),
            ``"loss"`` (the loss at those steps, ``[R]``), ``"parameters"``
            (the constrained values at which those losses were computed: the
            state's structure with stacked ``[R, ...]`` arrays at the
            parameters and None elsewhere) and, with ``has_aux``, ``"aux"``
            (the aux of those steps, stacked), plus whatever a callback wrote.

        When a leaf of `state` is a tracer (inside ``jax.jit``, ``jax.vmap``
        or a sweep executor) the run is one ``jax.lax.scan`` of `max_steps`
        steps: no Python loop, no progress bar, and a callback is refused
        (``ValueError``), since it would run once at trace time on tracers.
        A loss that closes over traced values while `state` is concrete is
        found after its first step and run the same way. Eager and traced runs
        give the same result.
        """
        if mode not in ("rev", "fwd"):
            raise ValueError(
                f"OptaxOptimizer.run: `mode` must be 'rev' or 'fwd', got mode={mode!r}."
            )
        max_steps = check_positive_int("max_steps", max_steps)
        record_every = check_positive_int("record_every", record_every)
        if chunk_size is not None:
            chunk_size = check_positive_int("chunk_size", chunk_size)
        params, static = partition_state(state)
        if not jax.tree.leaves(params):
            raise ValueError(
                "OptaxOptimizer.run: `state` holds no Parameter, so there is "
                f"nothing to fit (state={_short(state)}). Wrap the values to fit in a "
                "Parameter (or a subclass); for a state from a Space, give the "
                "axis wrap=Parameter."
            )
        fit = _Fit(self.loss, self.optimizer, self.has_aux)
        self._check_loss(fit, params, static)
        traced = any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves(state))
        if traced:
            self._refuse_callback()
            return self._run_traced(fit, params, static, max_steps, mode, record_every)
        return self._run_eager(
            fit,
            params,
            static,
            max_steps,
            mode,
            chunk_size or 1,
            record_every,
            progress,
        )

    def _refuse_callback(self) -> None:
        if self.callback is not None:
            raise ValueError(
                "OptaxOptimizer.run: a callback cannot run under a trace "
                "(jax.jit, jax.vmap, a sweep executor): it would run once, at "
                "trace time, on tracers. Remove the callback or run the fit "
                "outside the trace."
            )

    def _check_loss(self, fit: _Fit, params: Any, static: Any) -> None:
        """Trace `loss` once (nothing is computed) and check it gives a scalar."""
        value, _ = eqx.filter_eval_shape(_loss_and_aux, fit, params, static)
        shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
        if isinstance(value, float):  # a Python float (a constant loss)
            shape, dtype = (), np.dtype(float)
        if shape != () or not jnp.issubdtype(dtype, jnp.floating):
            got = type(value).__name__
            if shape is not None:
                got += f" of shape {tuple(shape)} and dtype {dtype}"
            hint = ""
            if not self.has_aux and isinstance(value, tuple | list):
                hint = " If it returns (value, aux), pass has_aux=True."
            raise ValueError(
                f"OptaxOptimizer: `loss` must return a real floating scalar, got "
                f"{got}.{hint}"
            )

    def _run_traced(self, fit, params, static, max_steps, mode, record_every):
        opt_state = self.optimizer.init(params)

        def chunk(carry, _):
            p, s, record, _ = _segment(fit, *carry, static, record_every, mode)
            return (p, s), record

        n_full, rest = divmod(max_steps, record_every)
        carry, parts = (params, opt_state), []
        if n_full:
            carry, records = jax.lax.scan(chunk, carry, None, length=n_full)
            parts.append(records)
        if rest:
            p, s, record, _ = _segment(fit, *carry, static, rest, mode)
            carry = (p, s)
            parts.append(jax.tree.map(lambda x: x[None], record))
        records = jax.tree.map(lambda *xs: jnp.concatenate(xs), *parts)
        steps = jnp.arange(0, max_steps, record_every)
        return combine_state(carry[0], static), self._history({}, steps, records)

    def _run_eager(
        self, fit, params, static, max_steps, mode, chunk_size, record_every, progress
    ):
        start_params = params
        opt_state = self.optimizer.init(params)
        history: dict[str, Any] = {}
        steps, records = [], []
        # segments start at every chunk start and every recorded step
        starts = sorted(
            set(range(0, max_steps, chunk_size))
            | set(range(0, max_steps, record_every))
        )
        ends = [*starts[1:], max_steps]
        with tqdm(total=max_steps, disable=not progress, desc="fit") as bar:
            for start, end in zip(starts, ends, strict=True):
                params, opt_state, record, (value, aux, grads) = _compiled_segment(
                    fit, params, opt_state, static, end - start, mode
                )
                if start == 0 and isinstance(value, jax.core.Tracer):
                    # the loss closes over traced values: this is a trace after all
                    self._refuse_callback()
                    return self._run_traced(
                        fit, start_params, static, max_steps, mode, record_every
                    )
                if start % record_every == 0:
                    steps.append(start)
                    records.append(record)
                bar.update(end - start)
                if progress:
                    bar.set_postfix(loss=f"{float(value):.4g}", refresh=False)
                if self.callback is None or not (
                    end % chunk_size == 0 or end == max_steps
                ):
                    continue
                out = self.callback(end - 1, params, static, history, aux, value, grads)
                if out is not None:
                    stop, params, static = out
                    if stop:
                        break
        records = _stack(records)
        return combine_state(params, static), self._history(
            history, jnp.asarray(steps), records
        )

    def _history(self, history: dict, steps, records) -> dict[str, Any]:
        clash = [key for key in _RESERVED if key in history]
        if clash:
            warnings.warn(
                f"OptaxOptimizer: the callback wrote history entries {clash}, which "
                "the optimizer's own records replace.",
                UserWarning,
                stacklevel=4,
            )
        loss, parameters, aux = records
        history.update(step=steps, loss=loss, parameters=parameters)
        if self.has_aux:
            history["aux"] = aux
        return history
