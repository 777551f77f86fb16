"""Local identifiability at the optima of a fit, for every start of a
multi-start fit at once (TVB-Optim's ``analysis/identifiability.py`` looks at
one point).

The curvature of the loss at an optimum says which parameter combinations the
data constrain: a large eigenvalue of the loss Hessian is a *stiff* direction
(well determined), a near-zero one a *sloppy* direction (a combination that can
change without moving the loss). The Gauss-Newton Fisher information ``J^T J /
sigma**2`` of a residual vector is the positive semi-definite alternative for a
loss that is a sum of squares. Both are taken in the coordinates the optimizer
moves, the raw values of the `Parameter` leaves (log or normalised coordinates
for transformed parameters), as TVB-Optim does.

`identifiability` computes the matrices, their eigen-decompositions and the
gradient norms of all starts in one compiled program (``jax.vmap``), and
groups the starts by the optimum they reached: the eigenspectrum is local, so
starts in different optima are reported apart instead of averaged.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from sweepjax._tree import path_name
from sweepjax.fit._parameters import is_parameter
from sweepjax.fit._parameters_state import combine_state, partition_state

__all__ = [
    "Identifiability",
    "cluster_optima",
    "curvature",
    "identifiability",
    "parameter_labels",
]

_KINDS = {"hessian": "loss Hessian", "fisher": "Fisher information"}


@dataclasses.dataclass(frozen=True, eq=False)
class Identifiability:
    """Eigen-decomposition of the loss curvature at the optimum of each start.

    Arrays have a leading start axis ``[S, ...]`` (``S = 1`` for one state).

    Attributes:
        eigenvalues: ``[S, P]`` in ascending order (sloppy first).
        eigenvectors: ``[S, P, P]``; ``eigenvectors[s, :, i]`` belongs to
            ``eigenvalues[s, i]``, its entries in the order of `labels`.
        matrix: ``[S, P, P]`` the symmetrised Hessian or Fisher information.
        theta: ``[S, P]`` the raw parameter values (the optima).
        loss: ``[S]`` the loss at each optimum.
        gradient_norm: ``[S]`` the L2 norm of the loss gradient there (near 0 at
            a genuine optimum).
        optimum: ``[S]`` which optimum each start reached (`cluster_optima`;
            0 is the one with the lowest loss).
        labels: the parameter name of each of the ``P`` coordinates (a
            state's path, ``name[i]`` for the entries of an array).
        kind: ``"hessian"`` or ``"fisher"``.
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    matrix: np.ndarray
    theta: np.ndarray
    loss: np.ndarray
    gradient_norm: np.ndarray
    optimum: np.ndarray
    labels: tuple[str, ...]
    kind: str

    @classmethod
    def from_curvature(
        cls,
        arrays: dict[str, Any],
        labels: Any,
        kind: str = "hessian",
        rtol: float = 1e-3,
        atol: float = 1e-6,
        warn_gradient_tol: float = 1e-3,
    ) -> Identifiability:
        """The analysis of what `curvature` returned, for one start or
        stacked over starts (a sweep's ``result.outputs``); `labels` are
        `parameter_labels` of one start's state, `kind` says whether
        `curvature` was given residuals (``"fisher"``)."""
        if kind not in _KINDS:
            raise ValueError(
                f"`kind` must be 'hessian' or 'fisher', got kind={kind!r}."
            )
        missing = sorted(set(_FIELDS) - set(arrays))
        if missing:
            raise ValueError(
                f"`arrays` must be what `curvature` returns, with {list(_FIELDS)}; "
                f"missing {missing}."
            )
        out = {k: np.asarray(arrays[k]) for k in _FIELDS}
        if out["loss"].ndim == 0:  # one start
            out = {k: v[None] for k, v in out.items()}
        labels = tuple(labels)
        if out["theta"].shape[-1] != len(labels):
            raise ValueError(
                f"`labels` must name the {out['theta'].shape[-1]} coordinates, got "
                f"{len(labels)}: {labels}."
            )
        far = np.flatnonzero(~(out["gradient_norm"] <= warn_gradient_tol))
        if far.size:
            warnings.warn(
                f"identifiability: the gradient norm is above {warn_gradient_tol:g} "
                f"at start(s) {far.tolist()} (largest "
                f"{out['gradient_norm'][far].max():.3e}); the eigenspectrum "
                "describes an optimum only, so fit longer there or raise "
                "warn_gradient_tol if this is intended.",
                RuntimeWarning,
                stacklevel=3,
            )
        optimum = cluster_optima(out["theta"], out["loss"], rtol, atol)
        return cls(**out, optimum=optimum, labels=labels, kind=kind)

    @property
    def n_optima(self) -> int:
        """How many different optima the starts reached."""
        return int(self.optimum.max()) + 1

    def condition_number(self) -> np.ndarray:
        """``[S]``: largest over smallest ``|eigenvalue|`` (inf if singular)."""
        a = np.abs(self.eigenvalues)
        with np.errstate(divide="ignore"):
            return np.where(a.min(1) == 0, np.inf, a.max(1) / a.min(1))

    def _direction(self, start: int, index: int) -> dict[str, Any]:
        vector = self.eigenvectors[start, :, index]
        order = np.argsort(-np.abs(vector), kind="stable")
        return {
            "eigenvalue": float(self.eigenvalues[start, index]),
            "loadings": {self.labels[j]: float(vector[j]) for j in order},
        }

    def sloppy_directions(self, n: int = 3, start: int = 0) -> list[dict[str, Any]]:
        """The `n` flattest directions at `start` (smallest eigenvalue first),
        each ``{"eigenvalue": float, "loadings": {label: coefficient}}`` with
        the loadings by decreasing magnitude (TVB-Optim's format)."""
        return [self._direction(start, i) for i in range(min(n, len(self.labels)))]

    def stiff_directions(self, n: int = 3, start: int = 0) -> list[dict[str, Any]]:
        """The `n` stiffest directions at `start` (largest eigenvalue first)."""
        p = len(self.labels)
        return [self._direction(start, p - 1 - i) for i in range(min(n, p))]

    def summary(self) -> str:
        """A short report: one block per optimum found."""
        lines = [
            f"Identifiability ({_KINDS[self.kind]}, {len(self.labels)} parameters, "
            f"{self.loss.shape[0]} starts, {self.n_optima} optima)"
        ]
        for k in range(self.n_optima):
            starts = np.flatnonzero(self.optimum == k)
            s = int(starts[0])
            sloppy = self._direction(s, 0)
            top = max(sloppy["loadings"], key=lambda j: abs(sloppy["loadings"][j]))
            lines.append(
                f"optimum {k}: starts {starts.tolist()}, loss {self.loss[s]:.4g}, "
                f"|grad| {self.gradient_norm[starts].max():.2e}, eigenvalues "
                f"{self.eigenvalues[s, 0]:.3g} .. {self.eigenvalues[s, -1]:.3g}, "
                f"condition {self.condition_number()[s]:.3g}, sloppiest along {top}"
            )
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """The eigenspectrum of each start (``|eigenvalue|``, log scale), one
        column per start, coloured by the optimum it reached; returns the
        matplotlib axes."""
        import matplotlib.pyplot as plt  # only when plotting (slow to import)
        from matplotlib.ticker import MaxNLocator

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        colors = plt.get_cmap("tab10")
        for k in range(self.n_optima):
            starts = np.flatnonzero(self.optimum == k)
            x = np.repeat(starts, len(self.labels))
            y = np.abs(self.eigenvalues[starts]).ravel()
            ax.scatter(
                x, y, color=colors(k % 10), marker="_", s=200, label=f"optimum {k}"
            )
        ax.set_yscale("log")
        ax.set_xlabel("start")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("|eigenvalue|")
        ax.set_title(f"{_KINDS[self.kind]} eigenspectrum per start")
        if self.n_optima <= 6:
            ax.legend(loc="best", fontsize="small")
        else:  # a long legend beside the panel, not over the spectra
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="x-small")
        return ax


def cluster_optima(
    theta: Any, loss: Any, rtol: float = 1e-3, atol: float = 1e-6
) -> np.ndarray:
    """Group starts by the optimum they reached: ``[S]`` integer labels.

    Starts are taken by increasing loss; each joins the first group whose
    first member lies within ``atol + rtol * |theta|`` of it in every
    coordinate, or opens a new group. Group 0 holds the lowest loss.

    >>> cluster_optima(np.array([[1.0], [3.0], [1.0000001]]), np.array([0.1, 0.0, 0.1]))
    array([1, 0, 1])
    """
    theta, loss = np.asarray(theta), np.asarray(loss)
    labels = np.full(loss.shape[0], -1)
    heads: list[int] = []
    for s in np.argsort(loss, kind="stable"):
        for k, h in enumerate(heads):
            if np.all(np.abs(theta[s] - theta[h]) <= atol + rtol * np.abs(theta[h])):
                labels[s] = k
                break
        else:
            labels[s] = len(heads)
            heads.append(int(s))
    return labels


def parameter_labels(state: Any) -> tuple[str, ...]:
    """One name per raw coordinate of the parameters of `state` (one start),
    in the order of `curvature`'s ``theta``: the path, ``name[i]`` for the
    entries of an array.

    >>> parameter_labels({"a": Parameter(1.0), "c": Parameter([0.0, 1.0])})
    ('a', 'c[0]', 'c[1]')
    """
    names: list[str] = []
    params = partition_state(state)[0]
    flat = jax.tree_util.tree_flatten_with_path(params, is_leaf=is_parameter)[0]
    for path, p in flat:
        if not is_parameter(p):
            continue
        leaves = jax.tree.leaves(p)
        for k, leaf in enumerate(leaves):
            base = path_name(path) + (f".{k}" if len(leaves) > 1 else "")
            if np.ndim(leaf) == 0:
                names.append(base)
            else:
                names += [f"{base}[{i}]" for i in range(int(np.size(leaf)))]
    return tuple(names)


_FIELDS = ("eigenvalues", "eigenvectors", "matrix", "theta", "loss", "gradient_norm")


def curvature(
    loss: Callable[[Any], Any],
    state: Any,
    residuals: Callable[[Any], Any] | None = None,
    sigma: Any = 1.0,
) -> dict[str, jax.Array]:
    """The curvature of `loss` at one `state`, as arrays: traceable, so a
    sweep's point function can fit and analyse in one compiled program.

    Returns ``{"eigenvalues": [P] (ascending), "eigenvectors": [P, P]
    (columns), "matrix": [P, P], "theta": [P] (raw values), "loss": [],
    "gradient_norm": []}``; `Identifiability.from_curvature` reads them
    (stacked over starts or not). `residuals` and `sigma` as in
    `identifiability`.
    """
    params, static = partition_state(state)
    if not jax.tree.leaves(params):
        raise ValueError(
            "identifiability: `state` holds no Parameter, so there is nothing to "
            "analyse; wrap the fitted quantities in Parameter (or pass the state "
            "OptaxOptimizer.run returned)."
        )
    theta, unravel = ravel_pytree(params)

    def at(fn):
        return lambda t: fn(combine_state(unravel(t), static))

    value, grad = jax.value_and_grad(at(loss))(theta)
    if residuals is None:
        matrix = jax.hessian(at(loss))(theta)
    else:
        jac = jax.jacfwd(lambda t: jnp.ravel(at(residuals)(t)))(theta)
        jac = jac / jnp.reshape(jnp.asarray(sigma, jac.dtype), (-1, 1))
        matrix = jac.T @ jac
    matrix = 0.5 * (matrix + matrix.T)
    eigenvalues, eigenvectors = jnp.linalg.eigh(matrix)
    arrays = (eigenvalues, eigenvectors, matrix, theta, value, jnp.linalg.norm(grad))
    return dict(zip(_FIELDS, arrays, strict=True))


def identifiability(
    loss: Callable[[Any], Any],
    state: Any,
    residuals: Callable[[Any], Any] | None = None,
    sigma: Any = 1.0,
    batched: bool = False,
    rtol: float = 1e-3,
    atol: float = 1e-6,
    warn_gradient_tol: float = 1e-3,
) -> Identifiability:
    """Curvature of `loss` at the fitted `state`, for one fit or every start.

    Args:
        loss: ``loss(state) -> scalar``, as given to `OptaxOptimizer`.
        state: the fitted state (holding `Parameter` leaves); with
            ``batched=True``, a multi-start fit's states, every array leaf
            with a leading start axis (what ``jax.vmap`` of a fit returns).
        residuals: ``residuals(state) -> array``: the vector whose sum of
            squares is the loss. When given, the curvature is the Fisher
            information ``J^T J / sigma**2`` of its Jacobian ``J`` instead of
            the loss Hessian (for ``loss = sum(residuals**2)`` the Hessian is
            ``2 J^T J`` plus residual terms that vanish at a perfect fit).
        sigma: noise scale of the residuals, a scalar or one per residual.
        batched: whether `state` holds several starts along a leading axis.
        rtol: the relative tolerance within which two starts count as the
            same optimum (`cluster_optima`, on the raw values).
        atol: the absolute one.
        warn_gradient_tol: warn when a start's gradient norm is above this:
            away from an optimum the curvature mixes with the slope.

    All starts are computed by one compiled ``jax.vmap`` of `curvature`. In
    a sweep, return ``curvature(loss, final_state)`` from the point function
    instead and read ``Identifiability.from_curvature(result.outputs,
    parameter_labels(space[0]))``.
    """

    def one(state):
        return curvature(loss, state, residuals, sigma)

    if batched:
        arrays = eqx.filter_jit(eqx.filter_vmap(one))(state)
        template = jax.tree.map(lambda x: x[0], state)
    else:
        arrays, template = eqx.filter_jit(one)(state), state
    kind = "hessian" if residuals is None else "fisher"
    return Identifiability.from_curvature(
        arrays, parameter_labels(template), kind, rtol, atol, warn_gradient_tol
    )
