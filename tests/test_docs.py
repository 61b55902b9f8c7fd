"""The documentation site builds in strict mode, with every page it should have.

``mkdocs build --strict`` fails on any warning, so an unresolved cross-reference
in a docstring, a broken link or a missing page fails this test. The CLI pages
are compared with the subcommands of ``build_parser()``, the example pages with
the notebooks on disk.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings_handlers.python")
pytest.importorskip("mkdocs_jupyter")

from gameflow.experiments.cli import build_parser  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _subcommands(parser: argparse.ArgumentParser) -> set[str]:
    names: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for name, sub in action.choices.items():
                if id(sub) not in seen:  # aliases share one page
                    seen.add(id(sub))
                    names.add(name)
    return names


def _build(out: Path) -> float:
    """``mkdocs build --strict`` into ``out``; returns the seconds it took."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.perf_counter() - t0
    problems = [line for line in proc.stderr.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert proc.returncode == 0, f"mkdocs build --strict failed after {elapsed:.1f} s:\n" + "\n".join(
        problems or proc.stderr.splitlines()[-40:]
    )
    return elapsed


def _check_api_pages(site: Path) -> None:
    for sub in ("flows", "solvers", "experiments"):
        page = site / "api" / sub / "index.html"
        assert page.is_file(), page
        html = page.read_text(encoding="utf-8")
        assert f'id="gameflow.{sub}.' in html, f"no documented object on {page}"
    flows_html = (site / "api" / "flows" / "index.html").read_text(encoding="utf-8")
    for name in ("Game", "analyze"):  # re-exported in gameflow.flows.__all__
        assert f'id="gameflow.flows.{name}"' in flows_html


def _check_cli_pages(site: Path) -> None:
    commands = _subcommands(build_parser())
    assert commands, "build_parser() has no subcommands"
    assert (site / "cli" / "index.html").is_file()
    pages = {p.name for p in (site / "cli").iterdir() if (p / "index.html").is_file()}
    assert pages == commands, f"CLI pages {sorted(pages)} != subcommands {sorted(commands)}"
    for name in commands:
        html = (site / "cli" / name / "index.html").read_text(encoding="utf-8")
        assert f"gameflow {name}" in html and "usage:" in html, name


def _check_notebook_pages(site: Path) -> None:
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.py"))
    assert notebooks
    assert (site / "notebooks" / "index.html").is_file()
    for stem in notebooks:
        page = site / "notebooks" / stem / "index.html"
        assert page.is_file(), page
        assert "jupyter-wrapper" in page.read_text(encoding="utf-8"), f"{page} is not a rendered notebook"


def test_docs_build_strict(tmp_path: Path) -> None:
    """One build (a few seconds), then its pages: API, one per CLI subcommand, one per notebook."""
    site = tmp_path / "site"
    _build(site)
    _check_api_pages(site)
    _check_cli_pages(site)
    _check_notebook_pages(site)
