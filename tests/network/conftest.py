"""Fixtures of the network tests (helpers live in ``network_helpers.py``)."""

from __future__ import annotations

import jax
import pytest


@pytest.fixture
def x64():
    """Run a test in float64."""
    with jax.enable_x64(True):
        yield
