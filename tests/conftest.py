"""Test session set-up (the devices: the repository's root conftest.py): one Dask
cluster shared by every test that needs one, and the Hypothesis profiles.

Property tests run under one of two Hypothesis profiles, chosen by the
environment variable ``SWEEPJAX_HYPOTHESIS``: ``fast`` (the default, and
``make test``) runs a quarter of each test's own ``max_examples`` (at least
two: every property also has fixed cases elsewhere in the suite);
``thorough`` (``make test-thorough``) runs all of them.

The tests folder is put on ``sys.path`` so that every test module, in any
subfolder, imports the shared `registry` of axes and executors.
"""

import math
import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Dask's monitoring (each worker's statistical profiler, an event-loop tick
# every 20 ms) keeps an idle cluster busy for ~0.15 of a core, and the shared
# cluster idles through most of the session. No test reads what it measures.
# Set before anything imports dask; the tests' subprocesses inherit it.
for _key, _value in {
    "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False",
    "DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL": "1s",
    "DASK_DISTRIBUTED__ADMIN__SYSTEM_MONITOR__INTERVAL": "5s",
}.items():
    os.environ.setdefault(_key, _value)


#: Profile -> the share of each property test's own ``max_examples`` it runs.
EXAMPLES_SHARE = {"fast": 0.25, "thorough": 1.0}
PROFILE = os.environ.get("SWEEPJAX_HYPOTHESIS", "fast")
if PROFILE not in EXAMPLES_SHARE:
    raise ValueError(
        f"SWEEPJAX_HYPOTHESIS must be one of {sorted(EXAMPLES_SHARE)}, got "
        f"{PROFILE!r}; unset it for the fast profile."
    )
for _name in EXAMPLES_SHARE:
    settings.register_profile(_name, deadline=None, print_blob=True)
settings.load_profile(PROFILE)


def pytest_collection_modifyitems(items):
    """Scale each property test's own ``max_examples`` by the profile's share
    (a test's ``@settings`` outranks any profile, so the profile cannot)."""
    share, done = EXAMPLES_SHARE[PROFILE], set()
    for item in items:
        test = getattr(item, "obj", None)
        if not getattr(test, "is_hypothesis_test", False) or id(test) in done:
            continue
        done.add(id(test))  # parametrized tests share the function
        own = test._hypothesis_internal_use_settings
        n = max(2, math.ceil(own.max_examples * share))
        test._hypothesis_internal_use_settings = settings(
            own, max_examples=min(n, own.max_examples)
        )


def _local_client():
    """A LocalCluster of two single-threaded worker processes, and its client:
    not dask's default, so that the tests that do not ask for it (reading a
    store's dask arrays, say) compute on the local scheduler whatever test
    used the cluster before them in the same worker."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield client


#: The session's cluster, shared by every test file of a pytest worker.
dask_client = pytest.fixture(scope="session", name="dask_client")(_local_client)

#: A cluster of one test module's own, for tests that kill a worker or leave a
#: task running after they end: the session's cluster never sees either.
own_dask_client = pytest.fixture(scope="module", name="own_dask_client")(_local_client)
