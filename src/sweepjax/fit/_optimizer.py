"""Fitting: `OptaxOptimizer` steps the parameters of a state down a loss.

The same call fits one state on the host (a Python loop over compiled chunks
of steps, with a callback and a progress bar) or one point of a sweep inside
``jax.jit``/``jax.vmap``/`ParallelExecution` (one ``jax.lax.scan``), so a sweep
can explore starting points, data or fixed settings and fit at every point in
one compiled program.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from sweepjax._tree import check_positive_int
from sweepjax.fit._optimizer_steps import (
    Fit,
    chunk_layout,
    compiled_chunk,
    loss_and_aux,
    run_chunk,
    start,
)
from sweepjax.fit._parameters_state import combine_state, partition_state

if TYPE_CHECKING:
    import optax

__all__ = ["OptaxOptimizer"]

#: History keys the optimizer writes (a callback's entries under them are
#: replaced, with a warning).
_RESERVED = ("step", "loss", "parameters", "aux")

#: What JAX raises when traced code needs a concrete value.
_NEEDS_CONCRETE = (
    jax.errors.ConcretizationTypeError,
    jax.errors.TracerArrayConversionError,
    jax.errors.TracerIntegerConversionError,
)


#: Without a callback or a progress bar, an eager run looks for a non-finite
#: loss every this many chunks (and at the end), not after each.
_LOOK_EVERY = 32


def _short(x: Any, limit: int = 200) -> str:
    text = repr(x)
    return text if len(text) <= limit else text[:limit] + "..."


def _host_concat(parts: list[Any]) -> Any:
    """Join eager records on the host (``jnp.concatenate`` would compile anew
    for every number of records), handing back JAX arrays."""
    parts = jax.device_get(parts)
    return jax.tree.map(lambda *xs: jnp.asarray(np.concatenate(xs)), *parts)


def _recorded_steps(begin: int, layout: tuple[int, int, int], every: int):
    head, groups, tail = layout
    first = begin + head
    return [first + k * every for k in range(groups + (1 if tail else 0))]


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
            line-search optimizers such as ``optax.lbfgs()`` work. An update
            that needs concrete values (``float(value_fn(p))``, Python
            control flow) runs eagerly, step by step, in an eager run.
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
                the callback says so, or if the loss stops being finite).
            mode: ``"rev"`` (reverse mode, ``jax.value_and_grad``) or ``"fwd"``
                (forward mode, ``jax.jacfwd``: cheaper for a few parameters);
                both give the same steps to float tolerance.
            chunk_size: eager runs: run this many steps as one compiled
                ``jax.lax.scan`` and call the callback once per chunk (with the
                last step's loss, aux and grads), as TVB-Optim's
                ``chunk_size``. The program is that of one chunk, so neither
                it nor its memory grows with `max_steps`, and every chunk size
                gives the same steps. Default: one step at a time (a callback
                sees every step).
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

        An eager run whose loss or parameters stop being finite (NaN or inf)
        stops at that step with a `RuntimeWarning` naming it; the final state
        then holds the last parameters whose loss was finite, and the history
        ends at that step.

        When a leaf of `state` is a tracer (inside ``jax.jit``, ``jax.vmap``
        or a sweep executor) the run is one ``jax.lax.scan`` of `max_steps`
        steps: no Python loop, no progress bar, no early stop (a diverged
        fit gives NaN parameters, which the sweep's NaN warning counts), and
        a callback is refused (``ValueError``), since it would run once at
        trace time on tracers. A loss that closes over traced values while
        `state` is concrete is found after its first step and run the same
        way. Eager and traced runs give the same result.
        """
        if mode not in ("rev", "fwd"):
            raise ValueError(
                f"OptaxOptimizer.run: `mode` must be 'rev' or 'fwd', got mode={mode!r}."
            )
        max_steps = check_positive_int("max_steps", max_steps)
        record_every = check_positive_int("record_every", record_every)
        if chunk_size is not None:
            if isinstance(chunk_size, bool) or not isinstance(
                chunk_size, int | np.integer
            ):
                raise TypeError(
                    "OptaxOptimizer.run: `chunk_size` must be an int or None, got "
                    f"{type(chunk_size).__name__}: {chunk_size!r}."
                )
            if chunk_size < 1:
                raise ValueError(
                    f"OptaxOptimizer.run: chunk_size must be >= 1, got "
                    f"chunk_size={chunk_size} (the number of steps run as one "
                    "compiled call); pass None to step one at a time."
                )
        params, static = partition_state(state)
        if not jax.tree.leaves(params):
            raise ValueError(
                "OptaxOptimizer.run: `state` holds no Parameter, so there is "
                f"nothing to fit (state={_short(state)}). A likely cause: the "
                "values to fit come from a Space axis without wrap= (give the "
                "axis wrap=Parameter, or a subclass such as "
                "functools.partial(SigmoidBoundedParameter, low=..., high=...)); "
                "otherwise wrap them in a Parameter yourself."
            )
        fit = Fit(self.loss, self.optimizer, self.has_aux)
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
            int(chunk_size or 1),
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

    def _check_loss(self, fit: Fit, params: Any, static: Any) -> None:
        """Trace `loss` once (nothing is computed) and check it gives a scalar."""
        value, _ = eqx.filter_eval_shape(loss_and_aux, fit, params, static)
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
        carry = start(fit, params, self.optimizer.init(params), static, mode, False)
        layout = chunk_layout(0, max_steps, record_every)
        carry, records = run_chunk(fit, carry, static, mode, layout, record_every)
        steps = jnp.arange(0, max_steps, record_every)
        return combine_state(carry.params, static), self._history({}, steps, records)

    def _run_eager(
        self, fit, params, static, max_steps, mode, chunk_size, record_every, progress
    ):
        opt_state = self.optimizer.init(params)
        carry = start(fit, params, opt_state, static, mode, True)
        history: dict[str, Any] = {}
        steps, parts = [], []
        eager_update = False
        begin = n_chunks = 0
        with tqdm(total=max_steps, disable=not progress, desc="fit") as bar:
            while begin < max_steps:
                end = min(begin + chunk_size, max_steps)
                layout = chunk_layout(begin, end, record_every)
                run = run_chunk if eager_update else compiled_chunk
                try:
                    new, records = run(
                        fit, carry, static, mode, layout, record_every, eager_update
                    )
                except _NEEDS_CONCRETE:
                    if eager_update or begin > 0:
                        raise
                    eager_update = True  # the update needs concrete values
                    continue
                value, aux, grads = new.last
                if begin == 0 and isinstance(value, jax.core.Tracer):
                    # the loss closes over traced values: this is a trace after all
                    self._refuse_callback()
                    return self._run_traced(
                        fit, params, static, max_steps, mode, record_every
                    )
                steps += _recorded_steps(begin, layout, record_every)
                if records is not None:
                    parts.append(records)
                carry, n_chunks = new, n_chunks + 1
                # the carry keeps the first non-finite step and the last finite
                # parameters, so looking costs one transfer and may wait a while
                look = self.callback is not None or progress or end == max_steps
                if look or n_chunks % _LOOK_EVERY == 0:
                    value, bad = jax.device_get((value, carry.bad))
                    if bad >= 0:
                        bar.update(max(0, bad + 1 - begin))
                        self._warn_not_finite(int(bad), bool(carry.bad_params))
                        steps = [step for step in steps if step <= bad]
                        carry = carry.replace(params=carry.good)
                        break
                bar.update(end - begin)
                if progress:
                    bar.set_postfix(loss=f"{float(value):.4g}", refresh=False)
                begin = end
                if self.callback is None:
                    continue
                out = self.callback(
                    end - 1, carry.params, static, history, aux, value, grads
                )
                if out is not None:
                    stop, new_params, static = out
                    carry = carry.replace(params=new_params)
                    if stop:
                        break
        records = jax.tree.map(lambda x: x[: len(steps)], _host_concat(parts))
        return combine_state(carry.params, static), self._history(
            history, jnp.asarray(steps), records
        )

    @staticmethod
    def _warn_not_finite(bad: int, params_bad: bool) -> None:
        if params_bad:
            what = (
                f"at step {bad} the parameters became NaN (or inf), from the "
                f"update of step {bad - 1}"
            )
        else:
            what = (
                f"at step {bad} the loss is NaN (or inf) at finite parameters; "
                "its gradient would make the parameters NaN"
            )
        kept = (
            "the start (nothing was fitted)"
            if bad == 0
            else f"the parameters of step {bad - 1}, the last with a finite loss"
        )
        warnings.warn(
            f"OptaxOptimizer.run: {what}. The fit stopped there: the state "
            f"returned holds {kept}, and the history ends at step {bad}. Lower "
            "the learning rate, bound the parameters (SigmoidBoundedParameter) "
            "or check the model at those values.",
            RuntimeWarning,
            stacklevel=4,
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
