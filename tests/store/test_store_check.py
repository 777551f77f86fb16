"""The resume check names every difference between a store and a run."""

from pathlib import Path

import pytest

from sweepjax._store._check import check_resume

STORE = Path("sweep.zarr")


def space(**changes):
    axes = [{"name": "G", "repr": "GridAxis(low=0.0, high=1.0, n=4)", "sha1": "a" * 40}]
    described = {"mode": "product", "N": 4, "axes": axes}
    described.update(changes)
    return described


def test_identical_parts_pass():
    check_resume(STORE, [("space", space(), space()), ("model name", "m.f", "m.f")])


def test_every_difference_is_named_by_its_path():
    other = space(N=5, axes=[{"name": "G", "repr": "GridAxis(n=5)", "sha1": "b" * 40}])
    with pytest.raises(ValueError) as err:
        check_resume(
            STORE,
            [
                ("space", space(), other),
                ("model name", "m.f", "m.g"),
                ("output structure", {"y": {"shape": []}}, {"z": {"shape": []}}),
            ],
        )
    text = str(err.value)
    assert "Cannot resume the sweep stored at 'sweep.zarr'" in text
    assert "N: stored 4, now 5" in text
    assert "axes.G.repr: stored 'GridAxis(low=0.0, high=1.0, n=4)'" in text
    assert "axes.G.sha1: stored 'aaaaaaaaaaaa...', now 'bbbbbbbbbbbb...'" in text
    assert "the model name differs (stored 'm.f', now 'm.g')" in text
    assert (
        "y: stored array (), now absent; z: absent from the store, now array ()" in text
    )
    assert "{...}" not in text


def test_long_lists_of_differences_are_cut():
    stored = {f"k{i}": i for i in range(10)}
    now = {f"k{i}": i + 1 for i in range(10)}
    with pytest.raises(ValueError, match=r"k5: stored 5, now 6; and 4 more"):
        check_resume(STORE, [("output structure", stored, now)])
