"""A small mutation check of the scheme and flow code: how many mutants does the suite kill?

Each mutant changes one operator or constant in one module (``+`` ↔ ``-``,
``*`` ↔ ``/``, a comparison flipped, a numeric constant changed, a unary
minus dropped).  The mutant is written into a throw-away copy of the
package, which is put first on ``PYTHONPATH``, and a fast subset of the test
suite runs against it; a mutant is *killed* when a test fails (or the run
times out), and *survives* otherwise.  The working tree is never touched.

Usage (``make mutation`` runs the default)::

    python .ci/mutation.py [--sample N] [--seed S] [--timeout SEC] [--out mutation.json] [--rerun OLD.json]

The report lists the kill rate and every surviving mutant (file, line, what
changed): each survivor is a test that is missing, or a mutation that does
not change behaviour (an equivalent mutant).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = [
    "solvers/schemes/base.py", "solvers/schemes/sgda.py", "solvers/schemes/agda.py", "solvers/schemes/eg.py",
    "solvers/schemes/ogda.py", "solvers/schemes/consensus.py", "solvers/schemes/sga.py",
    "solvers/schemes/momentum.py", "solvers/modified.py", "solvers/compare.py", "solvers/spectrum.py",
    "flows/flow.py", "flows/analysis.py", "flows/timescale.py", "flows/games/dirac_gan.py",
]
TESTS = ["tests/test_registry.py", "tests/test_wrong_schemes.py", "tests/test_limits.py", "tests/test_spectrum.py",
         "tests/test_dirac_gan.py", "tests/test_analysis.py", "tests/test_quadratic.py", "tests/test_iterate.py",
         "tests/test_plots.py", "tests/test_extending.py"]
SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
CMP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}


def _in_docstring_or_annotation(tree: ast.AST) -> set[int]:
    skip = set()
    for node in ast.walk(tree):
        for field in ("annotation", "returns"):
            sub = getattr(node, field, None)
            if sub is not None:
                skip |= {id(n) for n in ast.walk(sub)}
    return skip


def mutants(path: str, base: Path = ROOT) -> list[tuple[int, str, int]]:
    """``(line, description, index)`` of every mutation point in `path` (index: its order in ``ast.walk``)."""
    tree = ast.parse((base / path).read_text())
    skip = _in_docstring_or_annotation(tree)
    out = []
    for i, node in enumerate(ast.walk(tree)):
        if id(node) in skip:
            continue
        if isinstance(node, ast.BinOp) and type(node.op) in SWAP:
            out.append((node.lineno, f"{type(node.op).__name__} -> {SWAP[type(node.op)].__name__}", i))
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in CMP:
            out.append((node.lineno, f"{type(node.ops[0]).__name__} -> {CMP[type(node.ops[0])].__name__}", i))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            out.append((node.lineno, "drop unary minus", i))
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float) and not isinstance(node.value, bool):
            out.append((node.lineno, f"constant {node.value!r} -> {_changed(node.value)!r}", i))
    return out


def _changed(v):
    return v + 1 if isinstance(v, int) else (v * 2 if v != 0 else 1.0)


def apply(path: str, index: int, base: Path = ROOT) -> str:
    """The source of `path` (under `base`) with mutation `index` applied."""
    tree = ast.parse((base / path).read_text())
    for i, node in enumerate(ast.walk(tree)):
        if i != index:
            continue
        if isinstance(node, ast.BinOp):
            node.op = SWAP[type(node.op)]()
        elif isinstance(node, ast.Compare):
            node.ops = [CMP[type(node.ops[0])]()]
        elif isinstance(node, ast.UnaryOp):
            return ast.unparse(_replace(tree, node, node.operand))
        elif isinstance(node, ast.Constant):
            node.value = _changed(node.value)
        break
    return ast.unparse(tree)


def _replace(tree, old, new):
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, field, new)
            elif isinstance(value, list):
                for k, item in enumerate(value):
                    if item is old:
                        value[k] = new
    return tree


def package_copy(dest: Path) -> Path:
    """A copy of the package as ``dest/gameflow`` (the build's folder mapping, done by hand)."""
    pkg = dest / "gameflow"
    shutil.copytree(ROOT / "experiments" / "_root", pkg)
    for sub in ("flows", "solvers", "experiments"):
        shutil.copytree(ROOT / sub, pkg / sub, ignore=shutil.ignore_patterns("__pycache__", "_root"))
    return pkg


def run_tests(pythonpath: Path, timeout: float) -> bool:
    """Whether the test subset passes against the package at `pythonpath` (False: the mutant is killed)."""
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "JAX_PLATFORMS": "cpu"}
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-n", "2", "-p", "no:cacheprovider", *TESTS]
    try:
        p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return p.returncode == 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=40, help="how many mutants to run (drawn at random; 0: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per mutant before it counts as killed")
    ap.add_argument("--out", default="mutation.json")
    ap.add_argument("--rerun", metavar="REPORT", help="run the survivors of an earlier report again (new tests)")
    args = ap.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pkg = package_copy(tmp)
        # Mutation points come from the copy, not the working tree, which may change while this runs.
        points = [(path, *m) for path in TARGETS for m in mutants(path, pkg)]
        rng = random.Random(args.seed)
        chosen = points if args.sample <= 0 else rng.sample(points, min(args.sample, len(points)))
        if args.rerun:
            with open(args.rerun) as f:
                before = {(r["file"], r["line"], r["mutation"]) for r in json.load(f)["results"] if not r["killed"]}
            chosen = [p for p in points if (p[0], p[1], p[2]) in before]
        print(f"{len(points)} mutation points in {len(TARGETS)} modules; running {len(chosen)}", flush=True)
        if not run_tests(tmp, args.timeout):
            print("the test subset fails on the unmutated copy: fix that first", file=sys.stderr)
            return 1
        for k, (path, line, what, index) in enumerate(chosen, 1):
            target = pkg / path
            original = target.read_text()
            target.write_text(apply(path, index, pkg))
            t0 = time.perf_counter()
            killed = not run_tests(tmp, args.timeout)
            target.write_text(original)
            results.append({"file": path, "line": line, "mutation": what, "killed": killed,
                            "seconds": round(time.perf_counter() - t0, 1)})
            print(f"[{k}/{len(chosen)}] {path}:{line} {what}: {'killed' if killed else 'SURVIVED'}", flush=True)
    killed = sum(r["killed"] for r in results)
    report = {"mutants": len(results), "killed": killed, "kill_rate": killed / max(len(results), 1),
              "points": len(points), "seed": args.seed, "tests": TESTS, "results": results}
    tmp_out = args.out + ".tmp"
    with open(tmp_out, "w") as f:
        json.dump(report, f, indent=2)
    os.replace(tmp_out, args.out)
    print(f"killed {killed} of {len(results)} mutants ({100 * report['kill_rate']:.0f}%); report in {args.out}")
    for r in results:
        if not r["killed"]:
            print(f"  survived: {r['file']}:{r['line']} {r['mutation']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
