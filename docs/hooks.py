"""MkDocs hooks for gameflow's documentation (``hooks: [docs/hooks.py]`` in mkdocs.yml).

Everything here is derived at build time, so nothing generated is kept in git:

- griffe (mkdocstrings) gets a throw-away ``gameflow`` package tree made of
  symlinks, following ``[tool.setuptools.package-dir]`` in pyproject.toml:
  the source folders are mapped (``flows/`` is ``gameflow.flows``...), which
  griffe cannot follow by itself in an editable install.
- The CLI reference, one page per subcommand, is rendered from
  ``gameflow.experiments.cli.build_parser()``.
- The notebooks (``notebooks/*.py``, jupytext percent format) are added as
  pages at their repository path; mkdocs-jupyter renders them, without executing.
- ``<!-- readme: Heading -->`` in a page is replaced by that README section's
  body, so the home page quotes the README instead of copying it.
- The nav entries ``cli/index.md`` and ``notebooks/index.md`` are expanded
  into sections listing the generated pages.
"""

from __future__ import annotations

import argparse
import ast
import atexit
import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
CLI_DIR = "cli"
EXAMPLES_DIR = "notebooks"  # URL prefix of the example pages: the notebooks keep their path
USAGE_WIDTH = "100"

_state: dict[str, object] = {}


# --------------------------------------------------------------------------- griffe's view of the package


def _package_tree() -> Path:
    """A temporary directory holding ``gameflow/`` as pyproject's package-dir mapping installs it."""
    if "tree" in _state:
        return _state["tree"]  # type: ignore[return-value]
    with open(ROOT / "pyproject.toml", "rb") as fh:
        pyproject = tomllib.load(fh)
    mapping: dict[str, str] = pyproject["tool"]["setuptools"]["package-dir"]
    tmp = Path(tempfile.mkdtemp(prefix="gameflow-docs-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    for name in sorted(mapping, key=lambda n: n.count(".")):
        src = ROOT / mapping[name]
        dst = tmp.joinpath(*name.split("."))
        if "." not in name:  # the root package: a real folder, its files linked one by one
            dst.mkdir(parents=True, exist_ok=True)
            for child in src.iterdir():
                if child.name != "__pycache__" and not (dst / child.name).exists():
                    (dst / child.name).symlink_to(child)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            if dst.is_symlink() or dst.exists():
                dst.unlink()
            dst.symlink_to(src, target_is_directory=True)
    _state["tree"] = tmp
    return tmp


# --------------------------------------------------------------------------- CLI pages


@contextmanager
def _columns(width: str) -> Iterator[None]:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = width
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def _escape(text: str) -> str:
    """Markdown-escape help text, keeping `code spans` as code."""
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(part.replace("|", r"\|"))
        else:
            part = part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            out.append(re.sub(r"([\\*_\[\]|#])", r"\\\1", part))
    return "".join(out).replace("\n", " ")


def _help(action: argparse.Action, prog: str) -> str:
    if not action.help or action.help == argparse.SUPPRESS:
        return ""
    params = dict(vars(action), prog=prog)
    params = {k: v for k, v in params.items() if v is not argparse.SUPPRESS}
    if params.get("choices") is not None:
        params["choices"] = ", ".join(map(str, params["choices"]))
    try:
        return action.help % params
    except (KeyError, TypeError, ValueError):
        return action.help


def _invocation(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    if action.nargs == 0:
        return ", ".join(f"`{s}`" for s in action.option_strings)
    metavar = action.metavar or (
        "{" + ",".join(map(str, action.choices)) + "}" if action.choices else action.dest.upper()
    )
    if isinstance(metavar, tuple):
        metavar = " ".join(metavar)
    return ", ".join(f"`{s} {metavar}`" for s in action.option_strings)


def _notes(action: argparse.Action, help_text: str) -> list[str]:
    """What the parser knows and the help text does not already say."""
    said = help_text.lower()
    notes = []
    if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        notes.append("one of " + ", ".join(f"`{c}`" for c in action.choices))
    if isinstance(action, (argparse._AppendAction, argparse._AppendConstAction, argparse._CountAction)):
        if "repeatable" not in said:
            notes.append("repeatable")
    if action.option_strings and action.required:
        notes.append("**required**")
    if not action.option_strings and action.nargs in ("?", "*"):
        notes.append("optional")
    if action.nargs == 0 or action.default in (None, argparse.SUPPRESS, False):
        pass
    elif action.default != [] and "default" not in said:
        notes.append(f"default `{action.default}`")
    return notes


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, list[str], argparse.ArgumentParser, str]]:
    """(name, aliases, parser, one-line help) of each subcommand, in the parser's order."""
    out: list[tuple[str, list[str], argparse.ArgumentParser, str]] = []
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {a.dest: (a.help or "") for a in action._choices_actions}
        seen: dict[int, int] = {}
        for name, sub in action.choices.items():
            if id(sub) in seen:  # an alias of a command already listed
                out[seen[id(sub)]][1].append(name)
                continue
            seen[id(sub)] = len(out)
            out.append((name, [], sub, helps.get(name, "")))
    return out


_Command = tuple[tuple[str, ...], list[str], argparse.ArgumentParser, str]


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[_Command]:
    """(command path, aliases, parser, one-line help) of every subcommand, nested ones included."""
    for name, aliases, sub, summary in _subcommands(parser):
        yield (*path, name), aliases, sub, summary
        yield from _walk(sub, (*path, name))


def cli_pages() -> dict[str, tuple[str, str]]:
    """``{src_uri: (nav title, markdown)}`` for the CLI index and one page per (sub)command."""
    if "cli" in _state:
        return _state["cli"]  # type: ignore[return-value]
    from gameflow.experiments.cli import build_parser

    parser = build_parser()
    prog = parser.prog
    pages: dict[str, tuple[str, str]] = {}
    with _columns(USAGE_WIDTH):
        commands = list(_walk(parser))
        rows = "\n".join(
            f"| [`{prog} {' '.join(p)}`]({'/'.join(p)}.md) | {_escape(summary)} |" for p, _, _, summary in commands
        )
        index = [
            f"# Command line: `{prog}`",
            "",
            _escape(parser.description or ""),
            "",
            "```text",
            parser.format_usage().strip(),
            "```",
            "",
            "Installing gameflow puts the `gameflow` command on the path (also `python -m gameflow`). "
            "These pages are generated from the argument parser, so they list exactly what the "
            "installed version accepts; `gameflow COMMAND --help` prints the same.",
            "",
            "| command | what it does |",
            "| --- | --- |",
            rows,
            "",
        ]
        pages[f"{CLI_DIR}/index.md"] = ("Overview", "\n".join(index))
        for path, aliases, sub, summary in commands:
            title = f"{prog} {' '.join(path)}"
            pages[f"{CLI_DIR}/{'/'.join(path)}.md"] = (title, _command_page(sub, summary, aliases, path))
    _state["cli"] = pages
    return pages


def _command_page(sub: argparse.ArgumentParser, summary: str, aliases: list[str], path: tuple[str, ...]) -> str:
    lines = [f"# `{sub.prog}`", ""]
    if summary:
        lines += [_escape(summary[:1].upper() + summary[1:]) + ".", ""]
    if sub.description:
        lines += [_escape(sub.description), ""]
    if aliases:
        lines += ["Also spelled " + ", ".join(f"`{a}`" for a in aliases) + ".", ""]
    lines += ["```text", sub.format_usage().strip(), "```", ""]
    for group in sub._action_groups:
        actions = [a for a in group._group_actions
                   if not isinstance(a, argparse._HelpAction) and a.help != argparse.SUPPRESS]
        if not actions:
            continue
        title = (group.title or "arguments").strip()
        lines += [f"## {title[:1].upper() + title[1:]}", ""]
        if group.description:
            lines += [_escape(group.description), ""]
        lines += ["| argument | description |", "| --- | --- |"]
        for action in actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, _, _, sub_summary in _subcommands(sub):
                    link = "/".join((path[-1], name)) + ".md"
                    lines.append(f"| [`{name}`]({link}) | {_escape(sub_summary)} |")
                continue
            raw = _help(action, sub.prog)
            text = _escape(raw)
            notes = _notes(action, raw)
            if notes:
                text = (text + " " if text else "") + "(" + "; ".join(notes) + ")"
            lines.append(f"| {_invocation(action)} | {text} |")
        lines.append("")
    mutex = [g for g in sub._mutually_exclusive_groups if g._group_actions]
    for g in mutex:
        names = ", ".join(_invocation(a) for a in g._group_actions)
        lines += [f"At most one of {names}" + (" (one is required)" if g.required else "") + ".", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- notebooks


def _notebook_title(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"#\s+#\s+(.+)", line)
        if m:
            return m.group(1).strip()
    return path.stem.replace("_", " ")


def notebooks() -> list[tuple[str, Path, str]]:
    """``(src_uri, path, title)`` of each notebook, in file-name order."""
    return [(f"{EXAMPLES_DIR}/{p.name}", p, _notebook_title(p)) for p in sorted(NOTEBOOKS.glob("*.py"))]


def _examples_index() -> str:
    lines = [
        "# Examples",
        "",
        "Worked examples: the notebooks in the repository's `notebooks/` folder "
        "(jupytext percent-format Python files), shown here without their outputs. "
        "Run one as a script, `.venv/bin/python notebooks/01_quick_tour.py`, or open it in Jupyter "
        "with jupytext; the test suite executes them all at small sizes.",
        "",
    ]
    lines += [f"- [{title}]({Path(uri).name})" for uri, _, title in notebooks()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- README sections


def _readme_section(heading: str) -> str:
    """The body of README.md's section titled ``heading`` (up to the next heading of its level or above)."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    fence = None
    start = level = None
    body: list[str] = []
    for line in lines:
        stripped = line.lstrip()
        if fence is None and (stripped.startswith("```") or stripped.startswith("~~~")):
            fence = stripped[:3]
        elif fence is not None and stripped.startswith(fence):
            fence = None
        elif fence is None:
            m = re.match(r"(#{1,6})\s+(.*?)\s*#*\s*$", line)
            if m and start is not None and len(m.group(1)) <= level:
                break
            if m and start is None and m.group(2) == heading:
                start, level = True, len(m.group(1))
                continue
        if start:
            body.append(line)
    if start is None:
        raise PluginError(f"docs/hooks.py: README.md has no section titled {heading!r}")
    return "\n".join(body).strip("\n")


def _readme_intro() -> str:
    """README.md's text between its title and its first section."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    out: list[str] = []
    for line in lines[1:]:
        if line.startswith("## "):
            break
        out.append(line)
    return "\n".join(out).strip("\n")


# --------------------------------------------------------------------------- functions named like their module


def _shadowed(package: str) -> list[str]:
    """Names a package's ``__init__`` imports from the submodule of the same name (``from .iterate import iterate``).

    Griffe lets the submodule shadow such a function (griffe issue #124), so
    ``::: package`` would leave it out although Python's ``package.iterate`` is
    the function. They are rendered on their own after the package.
    """
    init = _package_tree().joinpath(*package.split("."), "__init__.py")
    if not init.exists():
        return []
    tree = ast.parse(init.read_text(encoding="utf-8"))
    exported = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            with suppress(ValueError):
                exported = set(ast.literal_eval(node.value))
    names = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module and "." not in node.module:
            for alias in node.names:
                bound = alias.asname or alias.name
                if alias.name == node.module and bound == node.module and (exported is None or bound in exported):
                    names.append(bound)
    return sorted(names)


_AUTODOC = re.compile(r"^::: *(gameflow(?:\.\w+)*) *$", re.M)


def _add_shadowed(markdown: str) -> str:
    extra = []
    for package in _AUTODOC.findall(markdown):
        for name in _shadowed(package):
            # The anchor lets [`name`][package.name] point here, as in Python.
            extra += ["", f"[](){{#{package}.{name}}}", "", f"::: {package}.{name}.{name}", "    options:",
                      "      heading_level: 2", "      show_root_full_path: false"]
    return markdown + "\n".join(extra) + ("\n" if extra else "")


_README_DIRECTIVE = re.compile(r"^<!--\s*readme:\s*(.*?)\s*-->\s*$", re.M)


# --------------------------------------------------------------------------- mkdocs events


def _expand_nav(nav: list, extra: dict[str, list]) -> list:
    out = []
    for item in nav:
        if isinstance(item, dict):
            (title, value), = item.items()
            if isinstance(value, str) and value in extra:
                out.append({title: [value, *extra[value]]})
            elif isinstance(value, list):
                out.append({title: _expand_nav(value, extra)})
            else:
                out.append(item)
        elif isinstance(item, str) and item in extra:
            out.extend([item, *extra[item]])
        else:
            out.append(item)
    return out


@event_priority(100)  # before mkdocstrings creates its Python handler
def on_config(config: MkDocsConfig) -> MkDocsConfig:
    _state.pop("cli", None)  # rebuilt on each build (mkdocs serve)
    handlers = config.plugins["mkdocstrings"].config.handlers
    python = handlers.setdefault("python", {})
    python["paths"] = [str(_package_tree())]
    if config.nav:
        cli = [{title: uri} for uri, (title, _) in cli_pages().items() if uri != f"{CLI_DIR}/index.md"]
        examples = [{title: uri} for uri, _, title in notebooks()]
        config.nav = _expand_nav(config.nav, {f"{CLI_DIR}/index.md": cli, f"{EXAMPLES_DIR}/index.md": examples})
    return config


@event_priority(100)  # before mkdocs-jupyter picks the notebooks up
def on_files(files: Files, config: MkDocsConfig) -> Files:
    for uri, (_, text) in cli_pages().items():
        files.append(File.generated(config, uri, content=text))
    files.append(File.generated(config, f"{EXAMPLES_DIR}/index.md", content=_examples_index()))
    for uri, _, _ in notebooks():
        # A real file read from the repository (not File.generated, whose
        # abs_src_path mkdocs-jupyter's NotebookFile wrapper loses).
        files.append(File(uri, src_dir=str(ROOT), dest_dir=config.site_dir,
                          use_directory_urls=config.use_directory_urls))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    def replace(m: re.Match) -> str:
        name = m.group(1)
        return _readme_intro() if name == "(intro)" else _readme_section(name)

    return _add_shadowed(_README_DIRECTIVE.sub(replace, markdown))


def on_shutdown() -> None:
    tree = _state.pop("tree", None)
    if tree is not None:
        shutil.rmtree(tree, ignore_errors=True)
    _state.clear()
