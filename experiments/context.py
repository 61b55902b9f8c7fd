"""What an experiment is, and what it records while it runs.

An experiment is a function ``run(ctx) -> None`` that records its config,
metrics, figures and *claims* (what theory predicts, what was measured, pass
or fail) on an ``ExperimentContext``.  Each module of
``gameflow.experiments.library`` defines one ``Experiment`` as
``EXPERIMENT``; ``gameflow.experiments.runner.run_experiment`` runs it and
writes the outputs.  This module imports neither the runner nor the
experiments.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Claim:
    """One checked statement: `claim`, what `theory` predicts, what was `measured`, `passed`."""

    claim: str
    theory: str
    measured: str
    passed: bool


@dataclass
class ExperimentContext:
    """What an experiment records while it runs."""

    name: str
    out: str
    quick: bool
    seed: int = 0
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    claims: list[Claim] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)

    def claim(self, claim: str, theory: str, measured: str, passed: bool) -> None:
        """Record a verdict."""
        self.claims.append(Claim(claim, theory, measured, bool(passed)))

    def figure(self, fig, name: str) -> str:
        """Save a matplotlib figure as ``name`` (PNG) in the output folder, atomically."""
        from .figures import save

        path = os.path.join(self.out, name)
        save(fig, path)
        self.figures.append(name)
        return path

    def progress(self, message: str) -> None:
        """One progress line on stderr."""
        print(f"[{self.name}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Experiment:
    """An experiment: `name`, one-line `description`, `reference`, and `run`."""

    name: str
    description: str
    reference: str
    run: Callable[[ExperimentContext], None]
