"""What a sweep's outputs depend on: swept axes the model ignores, and executor
options that would shadow the model's own keyword arguments.

The analysis reads the program JAX traces anyway (the jaxpr the executors
compile, or the client's trace of one point), so it costs no compilation:
dead-code elimination with every output used tells which inputs the outputs
need, through scan, while, cond, jit and shard_map alike.
"""

from __future__ import annotations

import inspect
import sys
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import equinox as eqx
import jax
from jax.extend.core import ClosedJaxpr, Jaxpr, jaxpr_as_fun

# JAX internals (dead-code elimination, the debug effects): if a release
# moves them, the analysis reports nothing rather than breaking the import.
try:
    from jax._src import debugging
    from jax._src.interpreters import partial_eval

    _DEBUG_EFFECTS: tuple = (debugging.DebugEffect, debugging.OrderedDebugEffect)
except (ImportError, AttributeError):  # pragma: no cover - other JAX versions
    partial_eval = None
    _DEBUG_EFFECTS = ()

from sweepjax._failures import collecting_checks
from sweepjax._sink import model_name
from sweepjax._space import Space
from sweepjax._tree import path_name

__all__ = [
    "PointTrace",
    "UnusedAxisWarning",
    "check_shadowed_options",
    "ignored_axes",
    "point_program",
    "replay",
    "trace_point",
    "unused_axes",
    "warn_unused_axes",
]

_PACKAGE = str(Path(__file__).resolve().parent.parent)


class UnusedAxisWarning(UserWarning):
    """A swept axis changes none of the model's outputs: every value of it
    gives the same result, so the sweep repeats the same work.

    >>> import warnings
    >>> state = {"x": GridAxis(0.0, 1.0, 3), "z": GridAxis(0.0, 1.0, 2)}
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = ParallelExecution(model, Space(state, "product")).run()
    >>> caught[0].category.__name__, "`z`" in str(caught[0].message)
    ('UnusedAxisWarning', True)
    """


def point_program(
    model: Callable[..., Any], space: Space, args: tuple, kwargs: dict
) -> tuple[Callable[..., Any], Any, list[str]]:
    """The per-point program every vectorised executor traces, and its
    array inputs.

    Returns ``(point, dynamic, messages)``: ``point(dynamic, tables,
    positions)`` runs the model at one point (`positions`: ``[n_dims]``
    int32) and returns ``(outputs, code)``, where `tables` are the axes'
    values (`space.tables`) and `dynamic` the array leaves of the fixed
    state, `args` and `kwargs`; every other leaf (strings, Python objects
    and numbers) is closed over as a compile-time constant. `code` is the
    point's failure code of the checks the model met (a network solve's,
    `collecting_checks`), None when it met none; `messages`, filled when
    `point` is traced, are their messages (`raise_code` raises them).
    """
    fixed = space.fixed_leaves()
    dynamic, static = eqx.partition((fixed, args, kwargs), eqx.is_array)

    messages: list[str] = []

    def point(dynamic, tables, pos):
        fixed, args, kwargs = eqx.combine(dynamic, static)
        state = space.assemble(pos, tables=tables, fixed=fixed)
        try:
            with collecting_checks() as failures:
                out = model(state, *args, **kwargs)
        except TypeError as err:
            if not _needs_concrete_value(err):
                raise
            raise TypeError(_traced_leaf_message(space, err)) from err
        messages[:] = failures.messages
        return out, failures.code()

    return point, dynamic, messages


def _needs_concrete_value(err: TypeError) -> bool:
    """Whether JAX raised `err` for a traced value used where Python needs a
    number: a shape, `float()`, an `if`, NumPy."""
    if isinstance(
        err,
        jax.errors.ConcretizationTypeError
        | jax.errors.TracerArrayConversionError
        | jax.errors.TracerBoolConversionError
        | jax.errors.TracerIntegerConversionError,
    ):
        return True
    return "concrete values" in str(err)  # a traced shape, e.g. jnp.zeros(n)


def _traced_leaf_message(space: Space, err: Exception) -> str:
    """One sentence on what compiled executors cannot sweep, then JAX's own
    text."""
    names = ", ".join(f"`{name}`" for name in space.axes)
    return (
        "A swept leaf has no value while a compiled executor traces the model: "
        f"the swept leaves ({names}) and the fixed array leaves are abstract "
        "arrays, so a leaf that sets a shape (a number of steps, nodes or "
        "samples) or is turned into a Python number or NumPy array (float(), "
        "int(), `if`, np.asarray) cannot be swept this way. Make it a fixed "
        "leaf (one sweep per value), compute with jax.numpy, or run with "
        "SequentialExecution (one call per point, nothing traced). "
        f"JAX says: {type(err).__name__}: {err}"
    )


class PointTrace(NamedTuple):
    """One point's program, traced (not compiled).

    Attributes:
        struct: the per-point output structure, a pytree of
            `jax.ShapeDtypeStruct` (as the compiled sweep returns it).
        unused: the axes no output depends on (see `ignored_axes`).
        jaxpr: the point program, its outputs ordered by leaf path, so that
            reordering the fields of an output type does not change it (the
            program a store fingerprints).
        order: ``order[k]`` is the flat output index of the jaxpr's output `k`;
            the jaxpr's last output is the point's failure code when it has
            one more output than `order` (`point_program`).
        messages: the failure code's messages.
    """

    struct: Any
    unused: list[str]
    jaxpr: ClosedJaxpr
    order: list[int]
    messages: list[str]


def trace_point(
    model: Callable[..., Any], space: Space, args: tuple, kwargs: dict
) -> PointTrace:
    """Trace one point of `point_program` (no compilation)."""
    point, dynamic, messages = point_program(model, space, args, kwargs)
    layout: dict[str, Any] = {}

    def by_path(dynamic, tables, pos):
        out, code = point(dynamic, tables, pos)
        flat, treedef = jax.tree_util.tree_flatten_with_path(out)
        order = sorted(range(len(flat)), key=lambda i: path_name(flat[i][0]))
        layout.update(treedef=treedef, order=order)
        return [flat[i][1] for i in order] + ([] if code is None else [code])

    pos = jax.ShapeDtypeStruct((len(space.effective_axes),), space.position_dtype)
    traced = jax.jit(by_path).trace(dynamic, space.tables, pos)
    leaves: list[Any] = [None] * len(layout["order"])
    for info, i in zip(traced.out_info, layout["order"], strict=False):
        leaves[i] = jax.ShapeDtypeStruct(info.shape, info.dtype)
    struct = layout["treedef"].unflatten(leaves)
    unused = ignored_axes(traced.jaxpr, space, len(jax.tree.leaves(dynamic)))
    return PointTrace(struct, unused, traced.jaxpr, layout["order"], list(messages))


def replay(trace: PointTrace) -> Callable[..., Any]:
    """`trace`'s program as ``point(dynamic, tables, pos)`` again (the
    signature and outputs of `point_program`'s `point`; its messages are
    ``trace.messages``): batching it runs the traced program, not
    the model's Python, so one trace serves the fingerprint and the compiled
    sweep, and the compiled program is the one the model's own trace gives."""
    run = jaxpr_as_fun(trace.jaxpr)
    treedef = jax.tree.structure(trace.struct)

    def point(dynamic, tables, pos):
        outs = run(*jax.tree.leaves((dynamic, tables, pos)))
        leaves: list[Any] = [None] * len(trace.order)
        for out, i in zip(outs, trace.order, strict=False):
            leaves[i] = out
        code = outs[-1] if len(outs) > len(trace.order) else None
        return treedef.unflatten(leaves), code

    return point


def unused_axes(
    model: Callable[..., Any],
    space: Space,
    args: tuple = (),
    kwargs: dict | None = None,
) -> list[str]:
    """The leaf paths of the axes of `space` that no output of
    ``model(state, *args, **kwargs)`` depends on (by tracing, not running).

    See `ignored_axes` for what counts as a use.

    >>> from sweepjax.execution._dependencies import unused_axes
    >>> space = Space({"G": GridAxis(0.0, 1.0, 3), "typo": GridAxis(0.0, 1.0, 3)})
    >>> unused_axes(lambda s: s["G"] * 2, space)
    ['typo']
    """
    return trace_point(model, space, args, {} if kwargs is None else kwargs).unused


def ignored_axes(jaxpr: ClosedJaxpr, space: Space, offset: int) -> list[str]:
    """The names of the axes whose values no output of `jaxpr` depends on.

    `jaxpr` is a traced sweep program whose flat inputs ``offset,
    offset + 1, ...`` are `space.tables` (one per axis, in flatten order).
    An axis counts as used when any output depends on it through any path:
    arithmetic, integer indexing, PRNG keys, the predicate of `lax.cond`, the
    carry of `lax.scan`/`while_loop` (a while loop counts all its inputs), a
    callback whose result is used, or an `io_callback` (its side effect may
    be the point). An axis read only by `jax.debug.callback` or
    `jax.debug.print` counts as *unused*: printing a value does not make the
    outputs depend on it. When the analysis itself fails (a JAX internal it
    relies on changed), no axis is reported.
    """
    n_axes = len(space.tables)
    if partial_eval is None:
        return []
    try:
        body = _without_debug_callbacks(jaxpr.jaxpr)
        _, used = partial_eval.dce_jaxpr(body, [True] * len(body.outvars))
    except Exception:  # never let the check break a sweep
        return []
    if len(used) < offset + n_axes:
        return []
    names = list(space.axes)
    return [names[k] for k in range(n_axes) if not used[offset + k]]


def _without_debug_callbacks(jaxpr: Jaxpr) -> Jaxpr:
    """`jaxpr` with every `debug_callback` removed, inner jaxprs included
    (dead-code elimination keeps effectful equations, and their inputs)."""
    eqns, changed = [], False
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "debug_callback":  # it has no outputs
            changed = True
            continue
        params = {k: _strip_param(v) for k, v in eqn.params.items()}
        if any(params[k] is not v for k, v in eqn.params.items()):
            eqn = eqn.replace(params=params, effects=_no_debug(eqn.effects))
            changed = True
        eqns.append(eqn)
    if not changed:
        return jaxpr
    return jaxpr.replace(eqns=eqns, effects=_no_debug(jaxpr.effects))


def _strip_param(value: Any) -> Any:
    if isinstance(value, ClosedJaxpr):
        inner = _without_debug_callbacks(value.jaxpr)
        return value if inner is value.jaxpr else value.replace(jaxpr=inner)
    if isinstance(value, Jaxpr):
        return _without_debug_callbacks(value)
    if isinstance(value, tuple | list) and any(
        isinstance(v, ClosedJaxpr | Jaxpr) for v in value
    ):  # the branches of a cond
        new = [_strip_param(v) for v in value]
        same = all(a is b for a, b in zip(new, value, strict=True))
        return value if same else type(value)(new)
    return value


def _no_debug(effects: Any) -> Any:
    return type(effects)(e for e in effects if not isinstance(e, _DEBUG_EFFECTS))


def warn_unused_axes(names: list[str], model: Any, executor: str) -> None:
    """One `UnusedAxisWarning` naming every axis in `names` (none: nothing),
    attributed to the first caller outside sweepjax."""
    if not names:
        return
    listed = ", ".join(f"`{n}`" for n in names)
    which = f"axis {listed}" if len(names) == 1 else f"axes {listed}"
    warnings.warn(
        f"{executor}: the outputs of {model_name(model)} do not depend on the "
        f"swept {which}: every value gives the same result, so the sweep "
        "repeats the same work. Likely causes: a typo in the leaf path (the "
        "model reads another key or field), a field the model never reads, or "
        "a value the model overrides before using it. Compare the model with "
        "`space.axes`; reading a value only in jax.debug.print or "
        "jax.debug.callback does not count as a use.",
        UnusedAxisWarning,
        stacklevel=_user_stacklevel(),
    )


def _user_stacklevel() -> int:
    """The `stacklevel` of the innermost frame outside the sweepjax package,
    seen from this function's caller."""
    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


def check_shadowed_options(
    model: Callable[..., Any],
    options: Mapping[str, Any],
    args: tuple = (),
    executor: str = "the executor",
) -> None:
    """Refuse a model that has a parameter named like an executor option.

    Executors pass unknown keywords on to ``model(state, *args, **kwargs)``
    but keep their own options (`n_vmap`, `progress`, ...), so a model
    parameter of the same name could never be set through the executor. A
    parameter filled by the positional `args`, or already bound by
    `functools.partial`, is fine.

    Args:
        model: the model.
        options: the executor's options, by name (their values appear in the
            message).
        args: the positional arguments passed after the state.
        executor: the executor's name, for the message.

    Raises:
        TypeError: naming the option and how to pass the model's value.

    >>> from sweepjax.execution._dependencies import check_shadowed_options
    >>> check_shadowed_options(lambda state, n_vmap: state, {"n_vmap": 4})
    Traceback (most recent call last):
    ...
    TypeError: The model has a parameter `n_vmap`, ...
    """
    try:
        signature = inspect.signature(model)
    except (TypeError, ValueError):  # builtins and odd callables: nothing to check
        return
    bound = getattr(model, "keywords", None) or {}  # functools.partial
    positional = 1 + len(args)  # the state, then args
    for i, (name, param) in enumerate(signature.parameters.items()):
        if name not in options or name in bound:
            continue
        if param.kind is param.POSITIONAL_ONLY or param.kind in (
            param.VAR_POSITIONAL,
            param.VAR_KEYWORD,
        ):
            continue
        if param.kind is param.POSITIONAL_OR_KEYWORD and i < positional:
            continue  # filled by the state or a positional argument
        raise TypeError(
            f"The model has a parameter `{name}`, which is also an option of "
            f"{executor} ({name}={options[name]!r}): a `{name}=` keyword goes to "
            "the executor and never reaches the model. Bind the model's value "
            f"first and pass the result: functools.partial(model, {name}=...) "
            "(or rename the parameter)."
        )
