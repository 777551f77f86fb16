"""The native fixed-step integrator: a solver's ``step`` run by the loop.

One solve integrates a batch of points (:class:`Points`; one point unless
``jax.vmap`` hands it a batch): :func:`._body.make_body` makes the step of
the batch, its carry and its noise plan, and :func:`._loops.observe_loop`
runs it, feeding what the :class:`Plan` saves.
"""

from __future__ import annotations

from functools import partial

from sweepjax.network._batching import Points, batch_aware
from sweepjax.network._body import Step, make_body
from sweepjax.network._delays import shares_layout
from sweepjax.network._horizon import truncate
from sweepjax.network._loops import observe_loop
from sweepjax.network._network import Network
from sweepjax.network._resume import final_state
from sweepjax.network._solution import Plan, Solution, SolveFn
from sweepjax.network._tangents import FollowedCarry


def integrate(
    network: Network,
    step: Step,
    plan: Plan,
    checkpoint: bool = True,
    grad_horizon: int | None = None,
    per_stage: bool = True,
    centroid: float = 0.0,
) -> SolveFn:
    """``solve(config) -> Solution``: ``plan.n_steps`` steps of ``step``
    from ``plan.t0``, saving what ``plan`` asks.

    ``checkpoint`` bounds a gradient's memory
    (:func:`._loops.scan_checkpointed`): a derivative goes through the
    checkpointed loops, a forward run through plain ones (the split into
    checkpointed blocks cost a forward RWW sweep 20-25%), the same numbers
    either way. Under ``jax.vmap`` the points of the batch share one delay
    history (:mod:`._batching`). ``grad_horizon`` (steps) truncates the
    derivatives (:mod:`._horizon`); a forward run does not see it.
    ``per_stage=False`` holds the instantaneous couplings over each step.
    ``centroid`` is the scheme's ``stage_time_centroid`` (:mod:`._interpolated`).

    >>> solve = integrate(network, Heun().step, Plan.recording(0.0, 0.1, 50))
    >>> solve(make_config(network)).ys.shape      # [50, n_states, n_nodes]
    (50, 1, 4)
    """

    def run(points: Points, checkpoint: bool, horizon: int | None = None) -> Solution:
        body, carry0, noise = make_body(
            network,
            points,
            step,
            plan.t0,
            plan.dt,
            plan.n_steps,
            plan.unroll,
            per_stage,
            centroid,
        )
        if horizon is not None:
            body = truncate(body, horizon)
        observed, carry = observe_loop(
            body,
            carry0,
            noise,
            network,
            points,
            plan.n_steps,
            plan.observation,
            plan.unroll,
            checkpoint,
            with_carry=True,
        )
        if isinstance(carry, FollowedCarry):  # the Lyapunov observers' vectors
            carry = carry.carry
        final = None
        if plan.final:
            final = final_state(
                points, carry.y, carry.history, network.n_nodes, plan.n_steps
            )
        return plan.solution(observed, carry0.y, final)

    return batch_aware(
        partial(run, checkpoint=False),
        partial(shares_layout, network),
        partial(run, checkpoint=checkpoint, horizon=grad_horizon),
    )
