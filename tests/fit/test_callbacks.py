"""Callbacks side by side with TVB-Optim 0.4.0's (same tiny loss: same stopping
step, same best parameters), and EarlyStopping in eager and traced fits."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import tvboptim.optim.callbacks as tvb_callbacks
import tvboptim.types.parameter as tvb
from tvboptim.optim.optax import OptaxOptimizer as TvbOptimizer

import sweepjax as sj
from sweepjax import fit


@pytest.fixture(autouse=True)
def x64(monkeypatch):
    # TVB-Optim 0.4.0's StopConvergenceCallback reads np.Inf, gone in NumPy 2
    monkeypatch.setattr(np, "Inf", np.inf, raising=False)
    with jax.enable_x64(True):
        yield


def loss(state):
    return jnp.sum((state["x"] - state["target"]) ** 2)


def state(p=sj.Parameter):
    return {"x": p(jnp.array([0.0, 1.0])), "target": jnp.array([3.0, -1.0])}


def values(tree):
    return [np.asarray(x) for x in jax.tree.leaves(tree)]


def both(ours_callback, theirs_callback, capsys, max_steps=200, lr=0.1):
    """Run the same fit with our optimizer and TVB-Optim's."""
    ours = sj.OptaxOptimizer(loss, optax.adam(lr), callback=ours_callback)
    mine = ours.run(state(), max_steps=max_steps, progress=False)
    our_out = capsys.readouterr().out
    theirs = TvbOptimizer(loss, optax.adam(lr), callback=theirs_callback)
    their = theirs.run(state(tvb.Parameter), max_steps=max_steps)
    their_out = capsys.readouterr().out
    return mine, their, our_out, their_out


def stop_step(text):
    return int(re.search(r"Stopped at step (\d+)", text).group(1))


def test_stop_loss_stops_at_tvb_optims_step(capsys):
    mine, their, ours, theirs = both(
        fit.StopLossCallback(stop_loss=0.5),
        tvb_callbacks.StopLossCallback(stop_loss=0.5),
        capsys,
    )
    assert stop_step(ours) == stop_step(theirs) > 0
    np.testing.assert_allclose(values(mine[0]), values(their[0]), rtol=1e-12)
    assert mine[1]["step"][-1] == stop_step(ours)  # the history ends there


def test_stop_convergence_stops_at_tvb_optims_step(capsys):
    mine, their, ours, theirs = both(
        fit.StopConvergenceCallback(patience=5, min_delta=1e-2),
        tvb_callbacks.StopConvergenceCallback(patience=5, min_delta=1e-2),
        capsys,
        lr=0.3,
    )
    assert stop_step(ours) == stop_step(theirs) < 199
    assert "no improvement after 5 steps" in ours
    np.testing.assert_allclose(values(mine[0]), values(their[0]), rtol=1e-12)


def test_save_best_seen_and_composition_match_tvb_optim(capsys):
    """MultiCallback runs its callbacks in order and stops at the first stop;
    the best seen is (loss, step, parameters after that step, static)."""
    ours = fit.MultiCallback(
        [fit.SaveBestSeenCallback(every=3), fit.StopLossCallback(stop_loss=1e-3)]
    )
    theirs = tvb_callbacks.MultiCallback(
        [
            tvb_callbacks.SaveBestSeenCallback(every=3),
            tvb_callbacks.StopLossCallback(1, 1e-3),
        ]
    )
    mine, their, our_out, their_out = both(ours, theirs, capsys, lr=0.3)
    assert stop_step(our_out) == stop_step(their_out)
    (loss_a, step_a, params_a, _), (loss_b, step_b, params_b, _) = (
        mine[1]["best"],
        their[1]["best"],
    )
    assert step_a == step_b and step_a % 3 == 0
    np.testing.assert_allclose(float(loss_a), float(loss_b), rtol=1e-12)
    np.testing.assert_allclose(values(params_a), values(params_b), rtol=1e-12)


def test_timing_and_saving_write_tvb_optims_frames(capsys):
    callback = fit.MultiCallback(
        [
            fit.TimingCallback(every=2),
            fit.SavingCallback(
                key="norm", save_fun=lambda i, p, *_: float(p["x"].value[0])
            ),
        ]
    )
    _, history = sj.OptaxOptimizer(loss, optax.adam(0.1), callback=callback).run(
        state(), max_steps=7, progress=False
    )
    timing = history["timing"]
    assert list(timing.columns) == ["step", "save"]
    assert list(timing["step"]) == [0, 2, 4, 6]
    assert timing["save"].is_monotonic_increasing and timing["save"].iloc[0] >= 0
    assert list(history["norm"]["step"]) == list(range(7))


def test_print_grads_prints_the_gradient_by_path(capsys):
    sj.OptaxOptimizer(
        loss,
        optax.sgd(0.0),
        callback=fit.MultiCallback(
            [
                fit.PrintGradsCallback(),
                fit.PrintGlobalGradsCallback(),
                fit.DefaultPrintCallback(),
            ]
        ),
    ).run(state(), max_steps=1, progress=False)
    out = capsys.readouterr().out
    # d/dx sum((x - t)^2) = 2 (x - t) = [-6, 4]; the loss is 9 + 4 = 13
    assert "Grads at Step 0: 13.000000" in out
    assert re.search(r"x: \[-6\.?0* +4\.?0*\]", out), out
    assert "Norm x: 7.2111" in out and "Step 0: 13.000000" in out
    sj.OptaxOptimizer(loss, optax.sgd(0.0), callback=fit.PrintParameterCallback()).run(
        state(), max_steps=1, progress=False
    )
    out = capsys.readouterr().out
    assert "Step 0, Loss=13.000000 State:" in out and re.search(r"x: \[0\.?0* +1", out)


# ----- EarlyStopping: the same stop in eager and traced fits ----------------------


@pytest.mark.parametrize(
    "early, callback",
    [
        (fit.EarlyStopping(stop_loss=0.5), fit.StopLossCallback(stop_loss=0.5)),
        (
            fit.EarlyStopping(patience=5, min_delta=1e-2),
            fit.StopConvergenceCallback(patience=5, min_delta=1e-2),
        ),
    ],
)
def test_early_stopping_matches_the_callback_eager_and_traced(capsys, early, callback):
    lr, steps = 0.3, 120
    reference, ref_history = sj.OptaxOptimizer(
        loss, optax.adam(lr), callback=callback
    ).run(state(), max_steps=steps, progress=False)
    stop = stop_step(capsys.readouterr().out)
    opt = sj.OptaxOptimizer(loss, optax.adam(lr), early_stopping=early)

    eager, history = opt.run(state(), max_steps=steps, progress=False)
    assert int(history["stopped_at"]) == stop
    np.testing.assert_array_equal(history["step"], ref_history["step"])
    np.testing.assert_allclose(values(eager), values(reference), rtol=1e-12)
    # in chunks of compiled steps: the stop falls inside a chunk, same result
    chunked, c_history = opt.run(state(), steps, chunk_size=7, progress=False)
    assert int(c_history["stopped_at"]) == stop and c_history["step"][-1] == stop
    np.testing.assert_allclose(values(chunked), values(reference), rtol=1e-12)

    # traced: the same final parameters, every step run and recorded, the
    # updates after the stop masked (the loss stays that of the frozen state)
    traced, t_history = jax.jit(lambda s: opt.run(s, max_steps=steps))(state())
    assert int(t_history["stopped_at"]) == stop
    assert t_history["loss"].shape == (steps,)
    assert np.all(np.asarray(t_history["loss"][stop + 1 :]) == float(loss(traced)))
    np.testing.assert_allclose(values(traced), values(reference), rtol=1e-12)


def test_early_stopping_under_vmap_stops_each_point_on_its_own():
    opt = sj.OptaxOptimizer(
        loss, optax.adam(0.3), early_stopping=fit.EarlyStopping(0.5)
    )
    targets = jnp.array([[3.0, -1.0], [0.5, 1.0], [6.0, 0.0]])

    def one(target):
        return opt.run({"x": sj.Parameter(jnp.array([0.0, 1.0])), "target": target}, 60)

    final, history = jax.vmap(one)(targets)
    at = np.asarray(history["stopped_at"])
    assert at[1] == 0 and 0 < at[0] < at[2] < 60  # the nearer, the sooner
    for k in range(3):
        single, h = one(targets[k])
        assert int(h["stopped_at"]) == at[k]
        np.testing.assert_allclose(final["x"].value[k], single["x"].value, rtol=1e-12)


def test_callback_and_early_stopping_arguments_are_checked():
    with pytest.raises(ValueError, match="EarlyStopping: give `stop_loss`, `patience`"):
        fit.EarlyStopping()
    with pytest.raises(ValueError, match="`patience` must be an int >= 0.*-1"):
        fit.EarlyStopping(patience=-1)
    with pytest.raises(
        TypeError, match="`early_stopping` must be an EarlyStopping.*dict"
    ):
        sj.OptaxOptimizer(loss, optax.adam(0.1), early_stopping={"stop_loss": 1.0})
    with pytest.raises(ValueError, match="`every` must be >= 1, got every=0"):
        fit.StopLossCallback(every=0)
    with pytest.raises(TypeError, match=r"`callbacks\[1\]` must be callable, got int"):
        fit.MultiCallback([fit.DefaultPrintCallback(), 3])


def test_stop_time_stops_at_tvb_optims_step_on_the_same_clock(monkeypatch, capsys):
    """A clock that ticks one second per reading: both stop at step 2."""
    for module in (fit._callbacks.time, tvb_callbacks.time):
        ticks = iter(range(1000))
        monkeypatch.setattr(module, "time", lambda ticks=ticks: float(next(ticks)))
    mine, their, ours, theirs = both(
        fit.StopTimeCallback(time_limit=2.5),
        tvb_callbacks.StopTimeCallback(time_limit=2.5),
        capsys,
    )
    assert stop_step(ours) == stop_step(theirs) == 2
    assert "time limit of 2.5 seconds" in ours
    np.testing.assert_allclose(values(mine[0]), values(their[0]), rtol=1e-12)


def test_save_best_seen_when_maximising_keeps_the_highest():
    """TVB-Optim 0.4.0 compares the negated loss with the stored raw one, so
    with a positive loss it keeps the last step's; here the highest."""
    callback = fit.SaveBestSeenCallback(minimization=False)
    _, history = sj.OptaxOptimizer(loss, optax.adam(0.1), callback=callback).run(
        state(), max_steps=5, progress=False
    )
    assert history["best"][1] == 0  # the loss falls, so step 0 is the highest
    theirs = tvb_callbacks.SaveBestSeenCallback(minimization=False)
    _, their_history = TvbOptimizer(loss, optax.adam(0.1), callback=theirs).run(
        state(tvb.Parameter), max_steps=5
    )
    assert their_history["best"][1] == 4
