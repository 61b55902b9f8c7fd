"""The package's layout: no import cycles, flows < solvers < experiments, a light parser, complete indexes.

The import graph is read statically (``ast``) from every module of the three
subpackages, counting imports anywhere in a file (a cycle through an import
inside a function is still a cycle) and resolving relative and
``gameflow.…`` imports to the module they load.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SUBPACKAGES = ("gameflow.flows", "gameflow.solvers", "gameflow.experiments")
# (importer, imported): a subpackage never imports the ones after it.
FORBIDDEN = {"gameflow.flows": ("gameflow.solvers", "gameflow.experiments"),
             "gameflow.solvers": ("gameflow.experiments",)}


def _folder(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin, package
    return Path(spec.origin).resolve().parent


def _modules() -> dict[str, tuple[Path, bool]]:
    """``{module name: (file, is a package)}`` for gameflow and every module under its subpackages."""
    roots = {name: _folder(name) for name in ("gameflow", *SUBPACKAGES)}
    other_roots = set(roots.values())
    out: dict[str, tuple[Path, bool]] = {}
    for package, root in roots.items():
        stack = [(root, package)]
        while stack:
            folder, name = stack.pop()
            for path in sorted(folder.iterdir()):
                if path.is_dir():
                    # experiments/_root is the `gameflow` package itself; skip caches and other roots
                    if path.name != "__pycache__" and path.resolve() not in other_roots:
                        stack.append((path, f"{name}.{path.name}"))
                elif path.suffix == ".py":
                    if path.name == "__init__.py":
                        out[name] = (path, True)
                    elif package != "gameflow" or path.parent == root:
                        out[f"{name}.{path.stem}"] = (path, False)
    return out


def _imports(module: str, path: Path, is_package: bool, known: set[str]) -> set[str]:
    """The gameflow modules `module` imports (the longest known prefix of each imported name)."""

    def longest(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    found: set[str | None] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(longest(a.name) for a in node.names if a.name.split(".")[0] == "gameflow")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            if base.split(".")[0] != "gameflow":
                continue
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.add(sub if sub in known else longest(base))
    found.discard(None)
    found.discard(module)
    return found  # type: ignore[return-value]


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {m: _imports(m, path, is_pkg, known) for m, (path, is_pkg) in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_graph_sees_the_imports():
    # The check below is only as good as the graph: these edges exist in the code.
    g = _graph()
    assert "gameflow.experiments.commands.analyze" in g
    assert "gameflow.experiments.parsing" in g["gameflow.experiments.commands.analyze"]  # from ..parsing import
    assert "gameflow.experiments.context" in g["gameflow.experiments.library.dirac_gan"]  # from ..context import
    assert "gameflow.flows" in g["gameflow.experiments.library.dirac_gan"]  # from gameflow import flows
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_no_import_cycles(package):
    cycles = [c for c in _cycles(_graph()) if any(_inside(m, package) for m in c)]
    assert not cycles, f"import cycles through {package}: {cycles}"


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layering(package):
    bad = sorted((m, t) for m, targets in _graph().items() if _inside(m, package)
                 for t in targets if any(_inside(t, f) for f in FORBIDDEN[package]))
    assert not bad, f"{package} must not import {', '.join(FORBIDDEN[package])}: {bad}"


def test_nothing_but_the_entry_point_imports_the_cli():
    importers = sorted(m for m, targets in _graph().items() if "gameflow.experiments.cli" in targets)
    assert importers == ["gameflow.__main__", "gameflow.experiments"]


def test_help_does_not_import_jax():
    # `gameflow --help` and every `gameflow COMMAND --help` build the whole parser without the library.
    code = textwrap.dedent("""
        import contextlib, io, sys
        from gameflow.experiments import cli, commands
        cli.build_parser()
        for argv in [[]] + [[c.NAME] for c in commands.load()]:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
                cli.main([*argv, "--help"])
        print(sorted(m for m in ("jax", "numpy", "gameflow.flows", "gameflow.solvers") if m in sys.modules))
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"


def _listed_files(package: str) -> set[str]:
    return {p.stem for p in _folder(package).glob("*.py") if not p.name.startswith("_")}


def test_commands_index_lists_every_command_module():
    from gameflow.experiments import commands

    assert len(set(commands.MODULES)) == len(commands.MODULES)
    assert set(commands.MODULES) == _listed_files("gameflow.experiments.commands")
    loaded = commands.load()
    for m in loaded:
        assert isinstance(m.NAME, str) and isinstance(m.HELP, str) and m.HELP, m.__name__
        assert callable(m.add_arguments) and callable(m.run), m.__name__
    assert len({m.NAME for m in loaded}) == len(loaded)


def test_experiments_index_lists_every_experiment_module():
    from gameflow.experiments import library

    assert len(set(library.MODULES)) == len(library.MODULES)
    assert set(library.MODULES) == _listed_files("gameflow.experiments.library")
    # One experiment per module, named after it (dirac_gan.py holds dirac-gan), in index order.
    assert list(library.load()) == [m.replace("_", "-") for m in library.MODULES]


def test_a_users_own_experiments_and_flows_do_not_shadow_gameflow(tmp_path):
    """Run from a folder holding its own ``experiments/`` package and ``flows.py``: gameflow still works."""
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "__init__.py").write_text("raise ImportError('the user package, not gameflow')\n")
    (tmp_path / "flows.py").write_text("raise ImportError('the user module, not gameflow')\n")
    (tmp_path / "solvers.py").write_text("raise ImportError('the user module, not gameflow')\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    argv = [sys.executable, "-m", "gameflow", "analyze", "dirac-gan", "--param", "reg=r1", "--param", "gamma=0.3",
            "--json"]
    p = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert json.loads(p.stdout)["classification"] == "stable spiral"
    code = ("import experiments, sys; from gameflow import flows, solvers; "
            "print(flows.__name__, solvers.__name__, 'flows' in sys.modules)")
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode != 0 and "the user package, not gameflow" in p.stderr  # the user's own package is theirs
    p = subprocess.run([sys.executable, "-c", code.replace("import experiments, sys", "import sys")], cwd=tmp_path,
                       capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.split() == ["gameflow.flows", "gameflow.solvers", "False"]
