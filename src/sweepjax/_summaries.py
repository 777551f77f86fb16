"""Summaries of a sweep's result: best points, marginals over each axis, masks.

Everything works from the result's table (`Result.to_dataframe`), so a grid,
a zip space, a sliced space and an opened store are summarised alike.
*Parameters* are the axis columns holding one number per point; axis columns
holding arrays (PRNG keys, vectors) are *replicates*: points that differ only
there are reduced to a mean and a spread (standard deviation) before
anything else is asked of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax.numpy as jnp
import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

__all__ = ["best", "marginal", "marginals", "parameter_names", "reduced", "where"]

#: Column of the flat point index (the first point of a replicate group).
POINT = "point"
#: Suffix of the column holding the spread over replicates.
SPREAD = ".spread"
#: Column of how many points (replicates) a row summarises.
COUNT = "n"


def parameter_names(result: Any) -> list[str]:
    """The result's axis names that hold one number per point, in axis order."""
    space = result.space
    names = []
    for name, table in space.values.items():
        if table.ndim == 1 and jnp.issubdtype(table.dtype, jnp.number):
            names.append(name)
    return names


def _output_column(df: pd.DataFrame, output: str, params: list[str]) -> str:
    """`output`'s column (``result.<name>`` when it clashes with an axis),
    checked to hold one number per point."""
    if output in params and f"result.{output}" in df.columns:
        output = f"result.{output}"
    if output not in df.columns or output in params:
        outputs = [c for c in df.columns if c not in params]
        raise ValueError(
            f"`output` must name one of the result's outputs, got {output!r}; its "
            f"outputs are {outputs}."
        )
    if df[output].dtype == object:
        raise ValueError(
            f"`output` {output!r} holds an array per point; summaries need one "
            "number per point. Reduce it in the model (or pick a scalar output)."
        )
    return output


def reduced(result: Any, output: str, by: list[str] | None = None) -> pd.DataFrame:
    """`output` per distinct value of the `by` parameters (default: all of
    them), reduced over the rest: columns ``by``, `output` (mean),
    ``<output>.spread`` (standard deviation; 0 for one point), ``n`` (points)
    and ``point`` (the first point's flat index). NaN points are left out of
    the mean and spread (``n`` counts the finite ones)."""
    return _reduced(result, output, by)[0]


def _reduced(
    result: Any, output: str, by: list[str] | None = None
) -> tuple[pd.DataFrame, str]:
    """`reduced` and the name of the output's column."""
    df = result.to_dataframe()
    params = parameter_names(result)
    column = _output_column(df, output, params)
    by = params if by is None else list(by)
    unknown = [b for b in by if b not in params]
    if unknown:
        raise ValueError(
            f"`by` names {unknown}, which are not parameters of the result; its "
            f"parameters (axes with one number per point) are {params}."
        )
    frame = df[[*by, column]].copy()
    frame[POINT] = np.arange(len(frame))
    if not by:
        frame["_all"] = 0
        by = ["_all"]
    groups = frame.groupby(by, sort=True)
    out = groups[column].agg(["mean", "std", "count"])
    out.columns = [column, column + SPREAD, COUNT]
    out[column + SPREAD] = out[column + SPREAD].fillna(0.0)
    out[POINT] = groups[POINT].min()
    out = out.reset_index()
    return out.drop(columns=["_all"], errors="ignore"), column


def best(result: Any, output: str, k: int = 1, mode: str = "max") -> pd.DataFrame:
    """The `k` best points by `output` (replicates averaged first), best first.

    Columns: each parameter, `output`, ``<output>.spread`` over replicates,
    ``n`` and ``point`` (flat index of the point, or of a replicate group's
    first point). NaN (failed) points never rank.
    """
    if mode not in ("max", "min"):
        raise ValueError(f"`mode` must be 'max' or 'min', got {mode!r}.")
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"`k` must be a positive int, got {k!r}.")
    table, column = _reduced(result, output)
    table = table[np.isfinite(table[column])]
    table = table.sort_values(column, ascending=mode == "min", kind="stable")
    return table.head(k).reset_index(drop=True)


def marginal(result: Any, output: str, axis: str) -> pd.DataFrame:
    """`output` as a function of one parameter: indexed by its values, the
    ``mean``, ``min`` and ``max`` over the other parameters (of the
    replicate means) and ``spread``, the mean standard deviation over
    replicates (0 without replicates)."""
    params = parameter_names(result)
    if axis not in params:
        raise ValueError(
            f"`axis` must be one of the result's parameters {params}, got {axis!r}."
        )
    table, column = _reduced(result, output)
    groups = table.groupby(axis, sort=True)
    out = groups[column].agg(["mean", "min", "max"])
    out["spread"] = groups[column + SPREAD].mean()
    return out


def marginals(result: Any, output: str) -> dict[str, pd.DataFrame]:
    """`marginal` of `output` over each parameter, by parameter name."""
    return {axis: marginal(result, output, axis) for axis in parameter_names(result)}


def where(result: Any, condition: str) -> pd.Series | xr.DataArray:
    """A boolean mask of the points where `condition` holds.

    `condition` is a `pandas.DataFrame.eval` expression over the table's
    columns (names with dots in backticks: ``"`coupling.G` > 0.1 and
    fc_corr > 0.5"``). A full grid gives an `xarray.DataArray` over the
    grid's dimensions; other spaces a `pandas.Series` over the points.
    """
    if not isinstance(condition, str):
        raise TypeError(
            f"`condition` must be a str expression such as 'y > 0.5', got "
            f"{type(condition).__name__}."
        )
    df = result.to_dataframe()
    try:
        mask = df.eval(condition)
    except Exception as err:
        raise ValueError(
            f"`condition` {condition!r} could not be evaluated on the table "
            f"({type(err).__name__}: {err}); its columns are {list(df.columns)} "
            "(quote names with dots in backticks)."
        ) from err
    if str(getattr(mask, "dtype", None)) != "bool":
        raise ValueError(
            f"`condition` {condition!r} must give True/False per point, got "
            f"{getattr(mask, 'dtype', type(mask).__name__)}."
        )
    mask = mask.rename(condition)
    space = result.space
    if not space.is_grid:
        return mask
    import xarray as xr

    names = [e.name for e in space.effective_axes]
    data = mask.to_numpy().reshape(space.grid_shape)
    template = result.to_xarray()
    return xr.DataArray(
        data,
        dims=names,
        coords={c: template.coords[c] for c in template.coords},
        name=condition,
    )
