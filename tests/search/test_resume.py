"""A search in a store: killed with SIGKILL mid-generation, it resumes from
its last finished generation to the same final population."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from sweepjax import store_info
from sweepjax.search import generation_path

KILLED = textwrap.dedent(
    """
    import os
    import time

    from sweepjax import GridAxis, LogGridAxis, SequentialExecution, Space, evolve

    space = Space({"a": GridAxis(-1.0, 1.0, 2), "k": LogGridAxis(0.1, 10.0, 2)})


    def model(state):
        time.sleep(float(os.environ.get("SEARCH_DELAY", "0")))
        return {"loss": (state["a"] - 0.3) ** 2 + (state["k"] - 2.0) ** 2}


    def run(store, resume=False, seed=0):
        return evolve(model, space, objective="loss", strategy="SNES",
                      population_size=4, n_generations=4, seed=seed,
                      executor=SequentialExecution, store=store, resume=resume)
    """
)


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """A search killed while it computes generation 2, and the module."""
    tmp = tmp_path_factory.mktemp("search")
    script = tmp / "killedsearch.py"
    script.write_text(KILLED)
    store = tmp / "search"
    env = dict(os.environ, SEARCH_DELAY="0.05")
    code = (
        f"import sys; sys.path.insert(0, {str(tmp)!r}); import killedsearch; "
        f"killedsearch.run({str(store)!r})"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    deadline = time.monotonic() + 120
    while not generation_path(store, 2).is_dir():
        assert proc.poll() is None and time.monotonic() < deadline, "no generation 2"
        time.sleep(0.01)
    time.sleep(0.05)  # inside generation 2's batch (4 points x 50 ms)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    sys.path.insert(0, str(tmp))
    try:
        import killedsearch
    finally:
        sys.path.remove(str(tmp))
    return store, killedsearch


def test_a_killed_search_resumes_to_the_same_final_population(killed):
    store, mod = killed
    assert store_info(generation_path(store, 1)).complete
    assert not generation_path(store, 3).exists()
    with warnings.catch_warnings():
        # the killed process's lock on generation 2 is taken over (and said so)
        warnings.filterwarnings("ignore", "Lock", RuntimeWarning)
        warnings.filterwarnings("ignore", ".*left by pid", RuntimeWarning)
        resumed = mod.run(store, resume=True)
    fresh = mod.run(None)
    np.testing.assert_array_equal(resumed.population, fresh.population)
    np.testing.assert_array_equal(resumed.values, fresh.values)
    np.testing.assert_array_equal(resumed.fitness, fresh.fitness)
    assert all(store_info(generation_path(store, g)).complete for g in range(4))
    # Finished: a second resume computes nothing and reads the same history.
    again = mod.run(store, resume=True)
    np.testing.assert_array_equal(again.values, fresh.values)


def test_a_stored_search_refuses_other_settings(killed):
    store, mod = killed
    with pytest.raises(ValueError, match=r"differs in \['seed'\]"):
        mod.run(store, resume=True, seed=1)
    with pytest.raises(ValueError, match="already stored .* resume=True"):
        mod.run(store)
