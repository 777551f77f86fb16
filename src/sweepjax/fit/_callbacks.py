"""Callbacks for `OptaxOptimizer`, with TVB-Optim's names and behaviour
(``tvboptim.optim.callbacks``), and `EarlyStopping`, which also runs in a
traced fit.

A callback is called after each step of an eager run as ``callback(step,
params, static, history, aux, loss_value, grads)`` and returns ``(stop,
params, static)``. As in TVB-Optim, `loss_value`, `aux` and `grads` are those
of the parameters the step *started* from, while `params` are those after its
update; a callback runs only at steps that are multiples of its ``every``.
Callbacks that keep state (timers, patience counts) reset at step 0, so one
object serves several runs.

`EarlyStopping` makes the stop-on-loss and stop-on-convergence decisions inside
the compiled steps, so they work under ``jax.jit``, ``jax.vmap`` and sweep
executors, where a Python callback cannot run.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from sweepjax.fit._parameters import fmt
from sweepjax.fit._parameters_state import collect_parameters

__all__ = [
    "AbstractCallback",
    "DefaultPrintCallback",
    "EarlyStopping",
    "MultiCallback",
    "PrintGlobalGradsCallback",
    "PrintGradsCallback",
    "PrintParameterCallback",
    "SaveBestSeenCallback",
    "SavingCallback",
    "StopConvergenceCallback",
    "StopLossCallback",
    "StopTimeCallback",
    "TimingCallback",
]


def _check_every(every: Any) -> int:
    if isinstance(every, bool) or not isinstance(every, int | np.integer):
        raise TypeError(
            f"`every` must be an int (call every this many steps), got "
            f"{type(every).__name__}: {every!r}."
        )
    if every < 1:
        raise ValueError(f"`every` must be >= 1, got every={every}.")
    return int(every)


class AbstractCallback:
    """Base class: calls :meth:`do` at steps that are multiples of `every` and
    continues unchanged at the others. Subclasses override :meth:`do`."""

    def __init__(self, every: int = 1) -> None:
        self.every = _check_every(every)

    def __call__(self, step, params, static, history, aux, loss_value, grads):
        if step % self.every == 0:
            return self.do(step, params, static, history, aux, loss_value, grads)
        return False, params, static

    def do(self, step, params, static, history, aux, loss_value, grads):
        """What the callback does at a step; returns ``(stop, params, static)``."""
        return False, params, static


class StopLossCallback(AbstractCallback):
    """Stop once the loss falls below `stop_loss` (strictly)."""

    def __init__(self, every: int = 1, stop_loss: float = 0.0) -> None:
        super().__init__(every)
        self.stop_loss = float(stop_loss)

    def do(self, step, params, static, history, aux, loss_value, grads):
        if loss_value < self.stop_loss:
            print(f"Stopped at step {step} with loss {float(loss_value):6f}")
            return True, params, static
        return False, params, static


class StopConvergenceCallback(AbstractCallback):
    """Stop when the loss has not improved on its best by more than
    `min_delta` for more than `patience` calls in a row."""

    def __init__(
        self, every: int = 1, patience: int = 10, min_delta: float = 1e-3
    ) -> None:
        super().__init__(every)
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.patience_count = 0
        self.best_loss = math.inf

    def do(self, step, params, static, history, aux, loss_value, grads):
        if step == 0:
            self.patience_count, self.best_loss = 0, math.inf
        if loss_value < self.best_loss - self.min_delta:
            self.best_loss, self.patience_count = loss_value, 0
        else:
            self.patience_count += 1
        converged = self.patience_count > self.patience
        if converged:
            print(
                f"Stopped at step {step} with loss {float(loss_value):6f} due to no "
                f"improvement after {self.patience} steps"
            )
        return converged, params, static


class StopTimeCallback(AbstractCallback):
    """Stop once `time_limit` seconds have passed since step 0."""

    def __init__(self, every: int = 1, time_limit: float = 0.0) -> None:
        super().__init__(every)
        self.time_limit = float(time_limit)
        self.t0: float | None = None

    def do(self, step, params, static, history, aux, loss_value, grads):
        if self.t0 is None or step == 0:
            self.t0 = time.time()
        if time.time() - self.t0 > self.time_limit:
            print(
                f"Stopped at step {step} after reaching time limit of "
                f"{self.time_limit} seconds"
            )
            return True, params, static
        return False, params, static


class SavingCallback(AbstractCallback):
    """Append ``[step, save_fun(step, params, ...)]`` to the DataFrame
    ``history[key]`` (columns ``step`` and ``save``)."""

    def __init__(
        self, every: int = 1, key: str = "", save_fun: Callable[..., Any] | None = None
    ) -> None:
        super().__init__(every)
        self.key = key
        self.save_fun = save_fun or (lambda *args: None)

    def _append(self, history: dict, step: int, value: Any) -> None:
        import pandas as pd  # only when a callback saves (slow to import)

        if self.key not in history:
            history[self.key] = pd.DataFrame(columns=["step", "save"])
        frame = history[self.key]
        frame.loc[len(frame)] = [step, value]

    def do(self, step, params, static, history, aux, loss_value, grads):
        value = self.save_fun(step, params, static, history, aux, loss_value, grads)
        self._append(history, step, value)
        return False, params, static


class TimingCallback(SavingCallback):
    """Save the seconds since step 0 into the DataFrame ``history[key]``."""

    def __init__(self, every: int = 1, key: str = "timing") -> None:
        super().__init__(every, key)
        self.t0: float | None = None

    def do(self, step, params, static, history, aux, loss_value, grads):
        if self.t0 is None or step == 0:
            self.t0 = time.time()
        self._append(history, step, time.time() - self.t0)
        return False, params, static


class SaveBestSeenCallback(AbstractCallback):
    """Keep ``history[key] = (loss, step, params, static)`` of the lowest loss
    seen (the highest with ``minimization=False``); as in TVB-Optim, `params`
    are those after the step whose starting loss this is. (When maximising,
    TVB-Optim 0.4.0 compares the negated loss with the stored one, not
    negated; here both are.)"""

    def __init__(
        self, every: int = 1, key: str = "best", minimization: bool = True
    ) -> None:
        super().__init__(every)
        self.key = key
        self.minimization = bool(minimization)

    def do(self, step, params, static, history, aux, loss_value, grads):
        signed = loss_value if self.minimization else -loss_value
        best = history.get(self.key)
        if best is None or signed < (best[0] if self.minimization else -best[0]):
            history[self.key] = (loss_value, step, params, static)
        return False, params, static


def _print_tree(tree: Any) -> None:
    for name, p in collect_parameters(tree, flat=True).items():
        print(f"  {name}: {fmt(p.value)}")


class DefaultPrintCallback(AbstractCallback):
    """Print the step and its loss."""

    def do(self, step, params, static, history, aux, loss_value, grads):
        print(f"Step {step}: {float(loss_value):6f}")
        return False, params, static


class PrintParameterCallback(AbstractCallback):
    """Print the step, its loss and the raw values of the parameters."""

    def do(self, step, params, static, history, aux, loss_value, grads):
        print(f"Step {step}, Loss={float(loss_value):6f} State:")
        _print_tree(params)
        return False, params, static


class PrintGradsCallback(AbstractCallback):
    """Print the gradient of the loss with respect to each parameter's raw
    value, by path."""

    def do(self, step, params, static, history, aux, loss_value, grads):
        print(f"Grads at Step {step}: {float(loss_value):6f}")
        _print_tree(grads)
        return False, params, static


class PrintGlobalGradsCallback(AbstractCallback):
    """Print each parameter's gradient, or its L2 norm for an array."""

    def do(self, step, params, static, history, aux, loss_value, grads):
        print(f"Global grads at Step {step}: {float(loss_value):6f}")
        for name, g in collect_parameters(grads, flat=True).items():
            value = np.asarray(g.value)
            if value.size == 1:
                print(f"  {name}: {fmt(value)}")
            else:
                print(f"  Norm {name}: {np.linalg.norm(value)}")
        return False, params, static


class MultiCallback(AbstractCallback):
    """Run `callbacks` in order, each seeing the halves the previous returned;
    stop at the first that says stop (the later ones do not run)."""

    def __init__(self, callbacks: Sequence[Callable[..., Any]], every: int = 1):
        super().__init__(every)
        self.callbacks = list(callbacks)
        for k, callback in enumerate(self.callbacks):
            if not callable(callback):
                raise TypeError(
                    f"MultiCallback: `callbacks[{k}]` must be callable, got "
                    f"{type(callback).__name__}: {callback!r}."
                )

    def do(self, step, params, static, history, aux, loss_value, grads):
        for callback in self.callbacks:
            out = callback(step, params, static, history, aux, loss_value, grads)
            if out is None:
                continue
            stop, params, static = out
            if stop:
                return True, params, static
        return False, params, static


@dataclasses.dataclass(frozen=True)
class EarlyStopping:
    """Stop-on-loss and stop-on-convergence decided inside the compiled steps,
    so a fit under ``jax.jit``, ``jax.vmap`` or a sweep executor stops too.

    The decisions are `StopLossCallback`'s and `StopConvergenceCallback`'s
    with ``every=1``, on each step's loss: the fit stops after the step whose
    loss is below `stop_loss`, or whose count of steps without an improvement
    of more than `min_delta` exceeds `patience`. That step's update is kept.

    A traced fit cannot end early (``jax.lax.scan`` has a fixed length), so
    every later update is *masked*: the parameters and optimizer state stay
    frozen while the remaining steps still run and count (their cost is not
    saved; the history records the frozen loss). An eager fit ends at the
    stop instead, its history ending at that step; the final parameters are
    the same. ``history["stopped_at"]`` is the stopping step (-1: never).

    Args:
        stop_loss: stop once the loss is below this (None: never on loss).
        patience: stop once the loss has not improved for more than this
            many steps (None: never on convergence).
        min_delta: the improvement that resets the patience count.
    """

    stop_loss: float | None = None
    patience: int | None = None
    min_delta: float = 1e-3

    def __post_init__(self) -> None:
        if self.stop_loss is None and self.patience is None:
            raise ValueError(
                "EarlyStopping: give `stop_loss`, `patience` or both, got neither "
                "(it would never stop)."
            )
        if self.patience is not None and (
            isinstance(self.patience, bool)
            or not isinstance(self.patience, int | np.integer)
            or self.patience < 0
        ):
            raise ValueError(
                f"EarlyStopping: `patience` must be an int >= 0 or None, got "
                f"{self.patience!r}."
            )
