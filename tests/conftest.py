"""Test session set-up (the devices: the repository's root conftest.py): one Dask
cluster shared by every test that needs one.

The tests folder is put on ``sys.path`` so that every test module, in any
subfolder, imports the shared `registry` of axes and executors.
"""

import os
import sys
from pathlib import Path

import pytest

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


@pytest.fixture(scope="session")
def dask_client():
    """A LocalCluster of two single-threaded worker processes, and its client."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
