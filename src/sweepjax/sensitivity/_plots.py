"""Figures of sensitivity indices: bars with confidence intervals, indices
along an output dimension (per region, say), and convergence against N.

Each function draws on a Matplotlib axes (a new figure when none is given)
and returns the axes; Matplotlib is imported when a figure is asked for.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sweepjax.sensitivity._sobol import output_leaf, sobol_arrays

__all__ = ["plot_convergence", "plot_indices", "plot_indices_along"]


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # heavy: imported when a figure is drawn

    return plt.subplots(figsize=(6, 3.5))[1]


def plot_indices(
    indices: Any, names: tuple[str, ...] = ("S1", "ST"), ax: Any = None
) -> Any:
    """Bars of scalar indices (a `sobol_indices` or `morris_indices` Dataset
    with only the ``parameter`` dimension: select an element first) per
    parameter, each with its ``_conf`` interval as an error bar."""
    ax = _axes(ax)
    params = [str(p) for p in indices["parameter"].values]
    x = np.arange(len(params))
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        values = np.asarray(indices[name].values, dtype=float)
        if values.ndim != 1:
            raise ValueError(
                f"plot_indices draws scalar indices; `{name}` has dimensions "
                f"{indices[name].dims}: select one element (ds.isel(...)) or use "
                "plot_indices_along."
            )
        conf_name = name + "_conf"
        conf = indices[conf_name].values if conf_name in indices else None
        ax.bar(
            x + (k - (len(names) - 1) / 2) * width,
            values,
            width,
            yerr=conf,
            capsize=3,
            label=name,
        )
    ax.set_xticks(x, params, rotation=30, ha="right")
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_ylabel("index")
    ax.legend()
    return ax


def plot_indices_along(
    indices: Any, name: str = "ST", dim: str | None = None, ax: Any = None
) -> Any:
    """Index `name` of each parameter along the one output dimension `dim`
    (e.g. the total index per region), a line per parameter with its
    confidence band."""
    ax = _axes(ax)
    var = indices[name]
    dims = [d for d in var.dims if d != "parameter"]
    dim = dim or (dims[0] if len(dims) == 1 else None)
    if dim is None or var.dims != ("parameter", dim):
        raise ValueError(
            f"plot_indices_along needs `{name}` over ('parameter', dim); it has "
            f"{var.dims}: pass dim= and select the other dimensions first."
        )
    conf = indices.get(name + "_conf")
    x = np.arange(var.sizes[dim])
    for k, param in enumerate(indices["parameter"].values):
        y = np.asarray(var.values[k], dtype=float)
        (line,) = ax.plot(x, y, lw=1.2, label=str(param))
        if conf is not None:
            c = np.asarray(conf.values[k], dtype=float)
            ax.fill_between(x, y - c, y + c, color=line.get_color(), alpha=0.2)
    ax.set_xlabel(dim)
    ax.set_ylabel(name)
    ax.legend(fontsize="small", ncol=2)
    return ax


def plot_convergence(
    source: Any,
    design: Any = None,
    output: str | None = None,
    name: str = "ST",
    element: tuple[int, ...] = (),
    ns: list[int] | None = None,
    seed: int | None = 1,
    ax: Any = None,
) -> Any:
    """Index `name` of each parameter, with its confidence band, estimated
    from the first `n` base rows of a Saltelli design for each `n` in `ns`
    (default: powers of 2 from 4 up to the design's): whether N was enough
    shows as estimates that settle inside shrinking bands. `element` picks
    one element of an array output."""
    space, array, output = output_leaf(source, output)
    design = design if design is not None else space
    n_base, step = design.n_base, design.step
    if ns is None:
        ns = [2**k for k in range(2, int(np.log2(n_base)) + 1)] or [n_base]
    est, conf = [], []
    for n in ns:
        y = np.asarray(array[: n * step], dtype=np.float64)
        y = y[(slice(None), *element)]
        s = sobol_arrays(y, len(design.factors), design.second_order, seed=seed)
        est.append(s[name])
        conf.append(s[name + "_conf"])
    est, conf = np.array(est), np.array(conf)
    ax = _axes(ax)
    for k, param in enumerate(design.factors):
        (line,) = ax.plot(ns, est[:, k], "o-", ms=3, label=str(param))
        ax.fill_between(
            ns,
            est[:, k] - conf[:, k],
            est[:, k] + conf[:, k],
            color=line.get_color(),
            alpha=0.2,
        )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("N (base samples)")
    ax.set_ylabel(f"{name} of {output}")
    ax.legend(fontsize="small", ncol=2)
    return ax
