"""Figures, `sweepjax plot` and `sweepjax info` on a store of a sliced space
written by another process and resumed here (with its progress view)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import matplotlib
import numpy as np
import pytest

from sweepjax import open_result, plot, store_info
from sweepjax.cli import main

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SWEEP = textwrap.dedent(
    """
    import jax
    import jax.numpy as jnp

    from sweepjax import DataAxis, GridAxis, LogGridAxis, Space

    # points run G, key, s (s fastest); [2:] drops (G=0, key 0), a sliced space
    space = Space(
        {
            "coupling": {"G": GridAxis(0.0, 1.0, 4)},
            "s": LogGridAxis(1e-3, 1e-1, 3),
            "key": DataAxis(jax.random.split(jax.random.key(0), 2)),
        },
        mode="product",
    )[3:]
    chunk_size = 7


    def model(state):
        G, s = state["coupling"]["G"], state["s"]
        noise = 1e-3 * jax.random.normal(state["key"])
        return {"y": -((G - 0.6) ** 2) - jnp.log10(s) ** 2 / 10 + noise}

    """
)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Written by a second process, one chunk then forgotten and resumed here."""
    root = tmp_path_factory.mktemp("stores")
    sweep, store = root / "sweep.py", root / "s.zarr"
    sweep.write_text(SWEEP)
    run = [sys.executable, "-m", "sweepjax.cli", "run", str(sweep), "--store"]
    subprocess.run([*run, str(store), "--no-progress"], check=True, capture_output=True)
    (store / "_sweepjax" / "done" / "c" / "1").unlink()  # as if cut short
    return sweep, store


def test_resume_shows_the_chunks_already_done_then_the_store_draws(store, capsys):
    sweep, path = store
    assert store_info(path).done_chunks == 2
    assert main(["run", str(sweep), "--store", str(path), "--resume"]) == 0
    err = capsys.readouterr().err
    assert "resumed: 2/3 chunks were done" in err and "21/21" in err
    fig = plot.heatmap(path, "y", x="coupling.G", y="s", best="max")
    (ax,) = [a for a in fig.axes if a.get_label() != "<colorbar>"]
    # log scale read from the store's description (its axes are rebuilt as data)
    assert (ax.get_xscale(), ax.get_yscale()) == ("linear", "log")
    mark = [line for line in ax.lines if line.get_gid() == plot.BEST_GID][0]
    best = open_result(path).argmax("y")
    assert (mark.get_xdata()[0], mark.get_ydata()[0]) == pytest.approx(
        (best["coupling.G"], best["s"])
    )
    assert (best["coupling.G"], best["s"]) == pytest.approx((2 / 3, 0.1))
    plt.close(fig)


def test_cli_plot_writes_the_map_and_info_ranks_the_best(store, tmp_path, capsys):
    _, path = store
    png = tmp_path / "y.png"
    argv = ["plot", str(path), "y", "--x", "G", "--y", "s", "--out", str(png)]
    assert main(argv) == 0
    assert f"wrote {png}" in capsys.readouterr().out
    image = plt.imread(png)
    assert image.shape[0] > 200 and np.ptp(image) > 0
    assert main(["plot", str(path), "y", "--line", "--out", str(png)]) == 0
    assert main(["info", str(path), "--best", "y", "--k", "2"]) == 0
    out = capsys.readouterr().out
    assert "best (max):" in out and "coupling.G" in out
    rows = out.split("best (max):")[1].strip().splitlines()
    assert len(rows) == 4  # the output's name, the header, two points
    assert main(["plot", str(path), "y", "--x", "H"]) == 1
    assert "`--x H` names no single axis" in capsys.readouterr().err
