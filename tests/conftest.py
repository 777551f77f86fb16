"""Test session set-up: four virtual CPU devices, so multi-device sweeps run here.

XLA reads the flag once, when JAX first starts, so it is set before anything
imports jax.
"""

import os

_FLAG = "--xla_force_host_platform_device_count=4"
if _FLAG not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {_FLAG}".strip()
os.environ.setdefault("MPLBACKEND", "Agg")
