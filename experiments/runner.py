"""Reproducible experiments: a registry, and the writer of their outputs.

Each experiment is a function ``run(ctx) -> None`` that records its config,
metrics, figures and *claims* (what theory predicts, what was measured, pass
or fail) on an [`ExperimentContext`][].  [`run_experiment`][] then writes
``results.json`` and ``report.md`` beside the figures; every file goes to a
temporary name first and is renamed, so an interrupted run never leaves a
half-written result.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from .format import clean
from .io import write_atomic


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
    """A registered experiment: `name`, one-line `description`, `reference`, and `run`."""

    name: str
    description: str
    reference: str
    run: Callable[[ExperimentContext], None]


EXPERIMENTS: dict[str, Experiment] = {}


def register(name: str, description: str, reference: str):
    """Decorator adding an experiment function to [`EXPERIMENTS`][]."""

    def deco(fn):
        EXPERIMENTS[name] = Experiment(name, description, reference, fn)
        return fn

    return deco


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("gameflow", "jax", "jaxlib", "diffrax", "equinox", "optax", "optimistix", "numpy", "matplotlib"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def report_markdown(exp: Experiment, ctx: ExperimentContext, seconds: float) -> str:
    """The ``report.md`` text."""
    passed = sum(c.passed for c in ctx.claims)
    lines = [
        f"# {exp.name}: {exp.description}",
        "",
        f"Reference: {exp.reference}",
        "",
        f"Mode: {'quick' if ctx.quick else 'full'}; seed {ctx.seed}; {seconds:.1f} s.",
        f"Verdict: {passed} of {len(ctx.claims)} claims reproduced.",
        "",
        "| claim | theory | measured | verdict |",
        "|---|---|---|---|",
    ]
    for c in ctx.claims:
        cells = [x.replace("|", "\\|") for x in (c.claim, c.theory, c.measured)]
        lines.append(f"| {cells[0]} | {cells[1]} | {cells[2]} | {'pass' if c.passed else '**FAIL**'} |")
    if ctx.figures:
        lines += ["", "## Figures", ""] + [f"![{f}]({f})" for f in ctx.figures]
    return "\n".join(lines) + "\n"


def run_experiment(name: str, out: str | None = None, quick: bool = False, seed: int = 0) -> ExperimentContext:
    """Run a registered experiment and write its figures, ``results.json`` and ``report.md``.

    **Arguments:**

    - `name`: a key of [`EXPERIMENTS`][].
    - `out`: the output folder (default ``results/NAME``).
    - `quick`: small sizes, for tests and a first look.
    - `seed`: the random seed, recorded in the results.

    **Returns:**

    The [`ExperimentContext`][] with the claims.
    """
    from . import experiments_library, particle_experiments  # noqa: F401  (registers the experiments)

    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose from {', '.join(sorted(EXPERIMENTS))}")
    exp = EXPERIMENTS[name]
    out = out or os.path.join("results", name)
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise ValueError(f"cannot create output folder {out!r}: {e.strerror}") from None
    ctx = ExperimentContext(name, out, quick, seed)
    t0 = time.perf_counter()
    exp.run(ctx)
    seconds = time.perf_counter() - t0
    results = {
        "experiment": name, "description": exp.description, "reference": exp.reference,
        "mode": "quick" if quick else "full", "seed": seed, "seconds": seconds, "versions": _versions(),
        "config": ctx.config, "metrics": ctx.metrics,
        "claims": [c.__dict__ for c in ctx.claims],
        "verdict": {"passed": sum(c.passed for c in ctx.claims), "total": len(ctx.claims)},
        "figures": ctx.figures,
    }
    write_atomic(os.path.join(out, "results.json"),
                 lambda f: f.write(json.dumps(clean(results), indent=2, allow_nan=False).encode()))
    write_atomic(os.path.join(out, "report.md"), lambda f: f.write(report_markdown(exp, ctx, seconds).encode()))
    return ctx
