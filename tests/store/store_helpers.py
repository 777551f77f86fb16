"""The model and space the store tests share: every kind of axis and leaf, a
group, nested and integer outputs."""

import json
import shutil
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from sweepjax import DataAxis, GridAxis, Space, UniformAxis


def model(state):
    x = state["coupling"] + state["delay"]
    shift = jnp.sum(state["weights"]) + jax.random.uniform(state["key"])
    return {
        "fc": jnp.outer(jnp.arange(3.0), jnp.ones(2)) * x + state["noise"] + shift,
        "stats": (x * 2, jnp.int32(3) * state["seed_id"]),
    }


def make_space(mode="product"):
    state = {
        "coupling": GridAxis(0.0, 1.0, 5, group="g"),
        "delay": GridAxis(1.0, 2.0, 5, group="g"),
        "noise": UniformAxis(0.0, 0.1, 3),
        "seed_id": DataAxis(np.arange(2)),
        "weights": DataAxis(np.arange(12.0).reshape(2, 2, 3)),
        "key": DataAxis(jax.random.split(jax.random.key(1), 2)),
        "dt": 0.1,
        "label": "fixed",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zip mode drops combinations: expected
        return Space(state, mode=mode)


def downgrade(path, format=2, drop=()):
    """Make the store at `path` look like one an older sweepjax wrote: format
    1 (no provenance, lock or checksum records), or format 2 without the
    provenance records `drop` (records added later)."""
    meta_file = path / "zarr.json"
    doc = json.loads(meta_file.read_text())
    meta = doc["attributes"]["sweepjax"]
    meta["format"] = format
    if format == 1:
        del meta["provenance"]
        shutil.rmtree(path / "_sweepjax" / "sums")
    for key in drop:
        del meta["provenance"][key]
    meta_file.write_text(json.dumps(doc))
