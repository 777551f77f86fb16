"""Derivative-based global sensitivity measures (DGSM) of differentiable models.

``DGSM_i = E[(d f / d x_i)^2]`` over a design, in the units of axis `i`.
`with_gradients` wraps a model so that each point also returns its outputs'
derivatives with respect to every axis leaf (``jax.jacfwd``, in the same
compiled batched program the executor makes), and `dgsm` averages their
squares. For `x_i` uniform on ``[a_i, b_i]`` the Poincare inequality bounds
the total Sobol' index: ``ST_i <= DGSM_i (b_i - a_i)^2 / (pi^2 V)``, `V` the
output's variance; `dgsm` reports that bound (NaN for an axis that is not
uniform: its Poincare constant differs).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax._axes import GridAxis, UniformAxis
from sweepjax._space import Space
from sweepjax.sensitivity._designs import DesignSpace
from sweepjax.sensitivity._sobol import output_leaf

__all__ = ["dgsm", "with_gradients"]


def with_gradients(model: Callable[..., Any], space: Space) -> Callable[..., Any]:
    """`model` made to return ``{"output": model(state, ...), "gradient":
    (d output / d axis_k for each axis of `space`)}``: each gradient has the
    output's structure and shapes (an array-valued axis leaf counts as one
    scalar factor: its elements' derivatives are summed). Run it through any
    executor over `space`.

    >>> from sweepjax.sensitivity import DesignSpace
    >>> axis = UniformAxis(0.0, 1.0, 2)
    >>> design = DesignSpace({"a": axis, "b": axis}, n=8)
    >>> model = with_gradients(lambda s: 3.0 * s["a"] - s["b"], design)
    >>> point = ParallelExecution(model, design, progress=False).run()[0]
    >>> [float(g) for g in point["gradient"]]
    [3.0, -1.0]
    """
    fixed = space.fixed_leaves()
    slots = [i for i, leaf in enumerate(fixed) if leaf is None]
    treedef = space.treedef
    wrapped = [n for n, a in space.axes.items() if a.wrap is not None]
    if wrapped:
        raise ValueError(
            f"with_gradients differentiates with respect to raw axis values; the "
            f"axes at {wrapped} have a wrap=: remove it (apply it in the model)."
        )

    def point(state: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        leaves = treedef.flatten_up_to(state)

        def of(values: tuple[Any, ...]) -> Any:
            inner = list(leaves)
            for slot, value in zip(slots, values, strict=True):
                inner[slot] = value
            return model(treedef.unflatten(inner), *args, **kwargs)

        values = tuple(jnp.asarray(leaves[s], dtype=float) for s in slots)
        out = of(values)
        jac = jax.jacfwd(of)(values)  # output tree, each leaf a tuple by axis
        grads = []
        for k, value in enumerate(values):
            extra = tuple(range(-value.ndim, 0))
            grads.append(
                jax.tree.map(
                    lambda j, k=k, extra=extra: j[k].sum(extra) if extra else j[k],
                    jac,
                    is_leaf=lambda x: isinstance(x, tuple),
                )
            )
        return {"output": out, "gradient": tuple(grads)}

    return point


def dgsm(source: Any, design: DesignSpace | None = None, output: str = "output") -> Any:
    """DGSM of output leaf `output` of a `with_gradients` sweep over a design:
    an xarray Dataset over ``("parameter", *output dims)`` of ``dgsm`` (the
    mean squared derivative), ``variance`` (the output's, over the design)
    and ``st_bound`` (``dgsm (b - a)^2 / (pi^2 variance)``, the Poincare
    bound on the total index; NaN for an axis that is not uniform).

    >>> from sweepjax.sensitivity import DesignSpace
    >>> axis = UniformAxis(0.0, 1.0, 2)
    >>> design = DesignSpace({"a": axis, "b": axis}, n=8)
    >>> model = with_gradients(lambda s: 3.0 * s["a"] - s["b"], design)
    >>> result = ParallelExecution(model, design, progress=False).run()
    >>> dgsm(result)["dgsm"].values.round(3).tolist()
    [9.0, 1.0]
    """
    import xarray as xr  # heavy: imported when measures are computed

    space, values, output = output_leaf(source, output)
    design = design if design is not None else space
    if not isinstance(design, DesignSpace):
        raise TypeError(
            f"`design` must be the DesignSpace the sweep ran, got {design!r}."
        )
    names = list(design.axes)
    grads, spans = [], []
    for k, name in enumerate(names):
        _, g, _ = output_leaf(source, f"gradient[{k}]" + _suffix(output))
        grads.append(np.mean(np.square(np.asarray(g, dtype=np.float64)), axis=0))
        axis = design.design_axes[name]
        uniform = isinstance(axis, GridAxis | UniformAxis)
        spans.append(axis.high - axis.low if uniform else math.nan)
    y = np.asarray(values, dtype=np.float64)
    variance = y.var(axis=0)
    measure = np.stack(grads)
    span2 = np.square(np.asarray(spans)).reshape((-1,) + (1,) * variance.ndim)
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = measure * span2 / (math.pi**2 * variance)
    dims = tuple(f"{output}_dim_{i}" for i in range(variance.ndim))
    return xr.Dataset(
        {
            "dgsm": (("parameter", *dims), measure),
            "st_bound": (("parameter", *dims), bound),
            "variance": (dims, variance),
        },
        coords={"parameter": names},
    )


def _suffix(output: str) -> str:
    """The part of an output leaf's name below ``output``: ``""`` for a bare
    array, ``".fc"`` for ``output.fc``."""
    return output[len("output") :]
