"""Result: a sweep's outputs aligned with its Space, as tables and labelled arrays."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

import sweepjax._summaries as summaries
from sweepjax._dimensions import leaf_names
from sweepjax._html import result_html
from sweepjax._space import Space
from sweepjax._tree import as_index, is_key_array, object_cells

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Result"]

#: Prefix of an output column whose name is already a parameter column.
RESULT_PREFIX = "result"
#: The one dimension of a Dataset whose space is not a full grid.
POINT = "point"


def output_names(outputs: Any) -> list[str]:
    """Key-path names of a result pytree's leaves (``"value"`` for a bare array).

    Two leaves that print alike (``{"a.b": x, "a": {"b": y}}``) raise
    `ValueError`: they would be one column, one variable, one store array.

    >>> output_names({"mean": 0.0, "fc": {"mean": 1.0}}), output_names(1.0)
    (['fc.mean', 'mean'], ['value'])
    """
    flat, _ = jax.tree_util.tree_flatten_with_path(outputs)
    return leaf_names(flat, "the outputs")


class Result:
    """The outputs of a sweep, one entry per point of its `space`, in order.

    `outputs` is the model's output pytree with every leaf stacked along a
    leading dimension of length ``len(space)`` (NumPy arrays, or lazily read
    store arrays). Index it like a list of per-point outputs, or turn it into
    a DataFrame or an xarray Dataset.

    >>> space = Space({"x": GridAxis(0.0, 1.0, 3)})
    >>> res = Result(space, {"y": np.array([0.0, 0.5, 2.0])})
    >>> len(res), float(res[2]["y"]), res.to_dataframe().columns.tolist()
    (3, 2.0, ['x', 'y'])
    """

    def __init__(self, space: Space, outputs: Any):
        if not isinstance(space, Space):
            raise TypeError(f"`space` must be a Space, got {type(space).__name__}.")
        for name, leaf in zip(
            output_names(outputs), jax.tree.leaves(outputs), strict=True
        ):
            if (
                not hasattr(leaf, "shape")
                or not leaf.shape
                or leaf.shape[0] != len(space)
            ):
                raise ValueError(
                    f"output leaf `{name}` must have a leading dimension of "
                    f"len(space)={len(space)}, got shape "
                    f"{getattr(leaf, 'shape', None)}."
                )
        self._space = space
        self._outputs = outputs

    @property
    def space(self) -> Space:
        """The Space whose points produced these outputs."""
        return self._space

    @property
    def outputs(self) -> Any:
        """The output pytree, each leaf `[N, *leaf_shape]`."""
        return self._outputs

    @property
    def results(self) -> list[Any]:
        """The outputs as a list, one pytree per point (``result[i]`` for
        every ``i``): TVB-Optim's ``SequentialResult.results``. Built on each
        access; for a large or stored result prefer `outputs` (each leaf
        stacked, ``[N, ...]``) or `to_xarray`.

        >>> space = Space({"x": GridAxis(0.0, 1.0, 2)})
        >>> Result(space, {"y": np.array([1.0, 2.0])}).results
        [{'y': array(1.)}, {'y': array(2.)}]
        """
        return list(self)

    def __len__(self) -> int:
        return len(self._space)

    def __repr__(self) -> str:
        leaves = ", ".join(
            f"{n}: {tuple(x.shape[1:])} {x.dtype}"
            for n, x in zip(
                output_names(self._outputs),
                jax.tree.leaves(self._outputs),
                strict=True,
            )
        )
        return f"Result(N={len(self)}, outputs={{{leaves}}})"

    def _repr_html_(self) -> str:
        return result_html(self, output_names(self._outputs))

    def best(self, output: str, k: int = 1, mode: str = "max") -> pd.DataFrame:
        """The `k` best points by the scalar `output`, best first: a
        DataFrame of their parameters, the output (averaged over replicate
        axes such as PRNG keys), its ``.spread`` over replicates, ``n`` and
        ``point`` (flat index). NaN points never rank.

        >>> space = Space({"x": GridAxis(0.0, 1.0, 3)})
        >>> res = Result(space, {"y": np.array([1.0, 3.0, 2.0])})
        >>> res.best("y", k=2)[["x", "y", "point"]].to_numpy().tolist()
        [[0.5, 3.0, 1.0], [1.0, 2.0, 2.0]]
        """
        return summaries.best(self, output, k, mode)

    def reduced(self, output: str, by: list[str] | None = None) -> pd.DataFrame:
        """`output` per value of the `by` axes (default: every axis with one
        number per point), averaged over the others (replicates such as
        PRNG keys): columns `by`, `output`, ``<output>.spread`` (standard
        deviation), ``n`` and ``point`` (first flat index)."""
        return summaries.reduced(self, output, by)

    def argmax(self, output: str) -> pd.Series:
        """The point with the largest `output` (see `best`), as one row.

        >>> space = Space({"x": GridAxis(0.0, 1.0, 3)})
        >>> res = Result(space, {"y": np.array([1.0, 3.0, 2.0])})
        >>> float(res.argmax("y")["x"]), int(res.argmax("y")["point"])
        (0.5, 1)
        """
        return summaries.best(self, output, 1, "max").iloc[0]

    def argmin(self, output: str) -> pd.Series:
        """The point with the smallest `output` (see `best`), as one row."""
        return summaries.best(self, output, 1, "min").iloc[0]

    def marginals(self, output: str) -> dict[str, pd.DataFrame]:
        """`output` against each parameter: ``{axis: DataFrame}`` indexed by
        the axis values, with the ``mean``, ``min`` and ``max`` over the other
        axes and the ``spread`` (standard deviation) over replicates.

        >>> axes = {"x": GridAxis(0.0, 1.0, 2), "z": GridAxis(0.0, 1.0, 2)}
        >>> space = Space(axes, mode="product")
        >>> res = Result(space, {"y": np.array([0.0, 1.0, 2.0, 3.0])})
        >>> res.marginals("y")["x"]["mean"].tolist()
        [0.5, 2.5]
        """
        return summaries.marginals(self, output)

    def where(self, condition: str) -> Any:
        """A boolean mask of the points where `condition` (a
        `pandas.DataFrame.eval` expression over the table) holds: an
        `xarray.DataArray` over a grid's dimensions, else a `pandas.Series`.

        >>> space = Space({"x": GridAxis(0.0, 1.0, 3)})
        >>> res = Result(space, {"y": np.array([1.0, 3.0, 2.0])})
        >>> res.where("y > 1.5").values.tolist()
        [False, True, True]
        """
        return summaries.where(self, condition)

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, slice):
            space = self._space[item]
            return Result(space, jax.tree.map(lambda x: x[item], self._outputs))
        i = as_index(item, len(self), "Result")
        return jax.tree.map(lambda x: np.asarray(x[i]), self._outputs)

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]

    def _columns(self, taken: set[str]) -> dict[str, np.ndarray]:
        """Output leaves by column name; names clashing with `taken` get a
        ``result.`` prefix."""
        columns = {}
        for name, leaf in zip(
            output_names(self._outputs), jax.tree.leaves(self._outputs), strict=True
        ):
            if name in taken:
                name = f"{RESULT_PREFIX}.{name}"
            columns[name] = leaf
        return columns

    def to_dataframe(self) -> pd.DataFrame:
        """The space's columns, then one column per output leaf.

        Output columns are named by key path (``mean_S``, ``stats.fc``); one
        whose name collides with a parameter column gets a ``result.`` prefix.
        Scalar outputs are numeric columns; array outputs are object cells.
        """
        df = self._space.to_dataframe()
        for name, leaf in self._columns(set(df.columns)).items():
            data = np.asarray(leaf)
            if data.ndim == 1:
                df[name] = data
            else:
                df[name] = object_cells(data)
        return df

    def to_xarray(
        self,
        dims: dict[str, tuple[str, ...]] | None = None,
        coords: dict[str, Any] | None = None,
    ):
        """The outputs as an `xarray.Dataset`, one data variable per leaf.

        An unsliced product space gives one dimension per effective axis (a
        group is one dimension, its members are coordinates on it), with the
        axis values as coordinates; array-valued axes (vectors, matrices,
        PRNG keys: replicates) get an integer coordinate, their position.
        Other spaces (zip, sliced) get a single ``point`` dimension with the
        scalar axes as coordinates. Extra output dimensions are named
        ``<name>_dim_<k>`` unless ``dims`` names them, and ``coords`` labels
        them::

            labels = connectome.region_labels
            result.to_xarray(
                dims={"fc": ("region", "region_j"), "mean_S": ("region",)},
                coords={"region": labels, "region_j": labels},
            )

        Names: a dimension is named by its group's label (``str(group)``) or
        its axis's name; a group labelled like one of its members is indexed
        by that member's values (`Space` refuses labels that name an axis
        outside the group). An output named like a coordinate gets a
        ``result.`` prefix. A name that would still be used twice (an axis
        called ``point`` in a zip space, an axis called ``y_dim_0`` beside an
        output ``y`` with extra dimensions) raises `ValueError`.
        """
        import xarray as xr

        space = self._space
        coord: dict[str, Any] = {}
        values = space.values
        output_dims = dict(dims or {})
        if space.is_grid:
            lead_dims = [e.name for e in space.effective_axes]
            lead = space.grid_shape
            for dim, eff in zip(lead_dims, space.effective_axes, strict=True):
                for member in eff.names:
                    table = values[member]
                    if table.ndim == 1 and not is_key_array(table):
                        coord[member] = (dim, np.asarray(table[: eff.size]))
                if dim not in coord:  # positions of array-valued values (keys)
                    coord[dim] = (dim, np.arange(eff.size))
        else:
            lead_dims, lead = [POINT], (len(space),)
            df = space.to_dataframe()
            if POINT in df.columns:
                raise ValueError(
                    f"to_xarray: the axis `{POINT}` has the name of the `{POINT}` "
                    "dimension that indexes the Dataset of a zip or sliced "
                    "space. Rename the leaf (e.g. to `point_`), or use "
                    "to_dataframe()."
                )
            coord[POINT] = (POINT, np.arange(len(space)))
            for name in df.columns:
                if df[name].dtype != object:
                    coord[name] = (POINT, df[name].to_numpy())
        data_vars = {}
        taken = set(coord) | set(lead_dims)
        columns = self._columns(taken)
        unknown = sorted(set(output_dims) - set(columns))
        if unknown:
            raise ValueError(
                f"to_xarray: dims names outputs {unknown} that the result does "
                f"not have; its outputs are {sorted(columns)}."
            )
        for name, leaf in columns.items():
            data = np.asarray(leaf)
            extra = [f"{name}_dim_{k}" for k in range(data.ndim - 1)]
            if name in output_dims:
                extra = list(output_dims[name])
                if len(extra) != data.ndim - 1:
                    raise ValueError(
                        f"to_xarray: dims[{name!r}] names {len(extra)} dimensions "
                        f"{tuple(extra)}, but each point's `{name}` has shape "
                        f"{data.shape[1:]} ({data.ndim - 1} dimensions)."
                    )
            clash = taken.intersection(extra)
            if clash:
                raise ValueError(
                    f"to_xarray: output `{name}` has extra dimensions named "
                    f"{extra}, but {sorted(clash)} already names an axis. Rename "
                    "the axis or the output, or use to_dataframe()."
                )
            data_vars[name] = (
                lead_dims + extra,
                data.reshape(tuple(lead) + data.shape[1:]),
            )
        dataset = xr.Dataset(data_vars, coords=coord)
        for dim, labels in (coords or {}).items():
            size = dataset.sizes.get(dim)
            if size != len(labels):
                where = "no such dimension" if size is None else f"size {size}"
                raise ValueError(
                    f"to_xarray: coords[{dim!r}] has {len(labels)} labels, but "
                    f"the dimension `{dim}` has {where}; dimensions: "
                    f"{dict(dataset.sizes)}."
                )
        return dataset.assign_coords(
            {dim: np.asarray(labels) for dim, labels in (coords or {}).items()}
        )
