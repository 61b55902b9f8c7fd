"""Atomic file output for the experiments (the implementation lives in ``solvers.io``)."""

from gameflow.solvers.io import write_atomic

__all__ = ["write_atomic"]
