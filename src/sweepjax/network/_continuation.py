"""Continuation (adiabatic) scans: ramp one leaf, carrying the settled state.

A plain sweep starts every point from the same initial state, which hides
bistability and hysteresis. :class:`Continuation` runs a prepared solve once
per value of one config leaf, each run continuing the previous one (its
state, delay history and noise: ``config.start``, :mod:`._resume`), up and
optionally back down. It is a sweep model: under an executor every other
axis of the Space is batched around the scan, one compiled program (a 2-D
bifurcation diagram is a continuation in one leaf times a grid in another).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax import AbstractAxis, Result
from sweepjax._config import Config
from sweepjax._tree import object_cells

#: The branch labels, in the order of the outputs' ``branch`` axis.
BRANCHES = ("up", "down")


def with_leaf(config: Config, path: str, value: Any) -> Config:
    """A copy of ``config`` whose leaf at the dotted ``path`` is ``value``
    (traced values welcome: the copy is a pytree map, not a deep copy)."""
    config = jax.tree.map(lambda x: x, config)
    *parents, name = path.split(".")
    node = config
    for part in parents:
        node = node[part]
    node[name] = value
    return config


def _check_path(config: Config, path: str) -> None:
    node = config
    for part in path.split("."):
        if not isinstance(node, Config) or part not in node:
            raise ValueError(
                f"Continuation: path {path!r} names no leaf of the config (no "
                f"{part!r} there); give a dotted leaf path such as "
                "'coupling.instant.G' or 'dynamics.a'."
            )
        node = node[part]


class Continuation:
    """A continuation scan of the leaf at ``path`` through ``values``.

    ``solve_fn`` must come from ``prepare(..., final_state=True)``; its run
    is what each value gets: the first ``transient`` ms settle the state (not
    observed), the rest is the observation window whose observers
    (``observe=``) are recorded per value. The first value starts from the
    config's own start (``config.start``, else its initial state); each next
    value continues from where the previous one stopped. With ``down=True``
    the scan then walks back down from the last value, carrying on.

    ``scan(config)`` returns the observers' results, each ``[n_branches,
    n_values, ...]`` (``branch`` 0 up, 1 down; along ``values`` in the given
    order on both branches): a sweep model whose other axes an executor
    batches around the whole scan. :meth:`to_dataframe` and
    :meth:`to_xarray` label a sweep's result by branch and value.

    Args:
        solve_fn: a solve prepared with ``final_state=True``.
        path: the dotted config path of the ramped leaf, e.g. ``"dynamics.a"``.
        values: ``[n_values, ...]`` the leaf's values in ramp order (an
            array or a non-random axis such as ``GridAxis``).
        down: also walk back down (hysteresis shows as up != down).

    >>> solve_fn, config = prepare(network, Heun(), 0.0, 2.0, 0.1,
    ...     observe={"mean": Mean("S")}, transient=1.0, final_state=True)
    >>> scan = Continuation(solve_fn, "coupling.instant.G", [0.1, 0.5], down=True)
    >>> scan(config)["mean"].shape               # [branch, value, n_nodes]
    (2, 2, 4)
    """

    def __init__(self, solve_fn: Any, path: str, values: Any, down: bool = False):
        if not callable(getattr(solve_fn, "start_of", None)):
            raise TypeError(
                "Continuation: solve_fn must be a solve from prepare(..., "
                f"final_state=True), got {solve_fn!r}."
            )
        if not isinstance(path, str):
            raise TypeError(f"Continuation: path must be a dotted str, got {path!r}.")
        if isinstance(values, AbstractAxis):
            if values.uses_key:
                raise ValueError(
                    f"Continuation: values must be ordered, not random: got "
                    f"{values!r}; use GridAxis or an array."
                )
            values = values.generate_values()
        values = np.asarray(values, dtype=float)
        if values.ndim == 0 or values.shape[0] < 1 or not np.isfinite(values).all():
            raise ValueError(
                f"Continuation: values must be a non-empty [n_values, ...] array "
                f"of finite numbers, got {values!r}."
            )
        if not isinstance(down, bool):
            raise TypeError(f"Continuation: down must be True or False, got {down!r}.")
        self.solve_fn = solve_fn
        self.path = path
        self.values = values
        self.down = down

    @property
    def branches(self) -> tuple[str, ...]:
        """The labels of the outputs' branch axis."""
        return BRANCHES if self.down else BRANCHES[:1]

    def __call__(self, config: Config) -> dict[str, jax.Array]:
        _check_path(config, self.path)
        solve_fn = self.solve_fn
        values = jnp.asarray(self.values, jnp.result_type(float))

        def step(carry: tuple, value: jax.Array) -> tuple:
            state, code = carry
            point = with_leaf(with_leaf(config, "start", state), self.path, value)
            failure, solution = solve_fn.function(point)  # in this trace
            # the first failure of the scan is raised once, after it
            code = jnp.where(code == 0, failure, code)
            return (solution.final, code), solution.observed

        start = (solve_fn.start_of(config), jnp.int32(0))
        carry, up = jax.lax.scan(step, start, values)
        branches = [up]
        if self.down:
            carry, down = jax.lax.scan(step, carry, values[::-1])
            branches.append(jax.tree.map(lambda x: x[::-1], down))
        out = jax.tree.map(lambda *b: jnp.stack(b), *branches)
        probe = with_leaf(with_leaf(config, "start", start[0]), self.path, values[0])
        return solve_fn.raise_code(carry[1], probe, out)

    def _dims(self, result: Result) -> tuple[dict, dict]:
        leaf = self.path.replace(".", "_")
        dims = {
            name: ("branch", leaf, *(f"{name}_dim_{k}" for k in range(x.ndim - 3)))
            for name, x in result.outputs.items()
        }
        coords: dict[str, Any] = {"branch": list(self.branches)}
        if self.values.ndim == 1:
            coords[leaf] = self.values
        return dims, coords

    def to_xarray(self, result: Result) -> Any:
        """A sweep's result as an xarray Dataset with dimensions ``branch``
        (``"up"``, ``"down"``) and the ramped leaf (its path with ``_`` for
        ``.``, its values as coordinates) after the space's."""
        dims, coords = self._dims(result)
        return result.to_xarray(dims=dims, coords=coords)

    def to_dataframe(self, result: Result) -> Any:
        """A sweep's result as a long DataFrame: one row per point, branch
        and value, with the space's columns, ``branch``, the ramped leaf's
        path and one column per observer (arrays as object cells)."""
        import pandas as pd

        space = result.space.to_dataframe()
        n_branches, n_values = len(self.branches), self.values.shape[0]
        index = np.repeat(np.arange(len(space)), n_branches * n_values)
        frame = space.iloc[index].reset_index(drop=True)
        frame["branch"] = pd.Categorical(
            np.tile(np.repeat(self.branches, n_values), len(space)),
            categories=list(self.branches),
        )
        reps = (len(space) * n_branches,) + (1,) * (self.values.ndim - 1)
        values = np.tile(self.values, reps)
        frame[self.path] = values if values.ndim == 1 else object_cells(values)
        for name, x in result.outputs.items():
            x = np.asarray(x).reshape(len(frame), *np.shape(x)[3:])
            frame[name] = x if x.ndim == 1 else object_cells(x)
        return frame
