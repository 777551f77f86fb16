"""Test session set-up (the devices: the repository's root conftest.py): one Dask
cluster shared by every test that needs one.

The tests folder is put on ``sys.path`` so that every test module, in any
subfolder, imports the shared `registry` of axes and executors.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


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
