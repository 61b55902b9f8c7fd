"""Test configuration: float64 everywhere, off-screen plotting."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

from hypothesis import HealthCheck, settings  # noqa: E402

# JIT compilation makes the first example of a property slow; deadlines would flake.
settings.register_profile("gameflow", deadline=None, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("gameflow")
