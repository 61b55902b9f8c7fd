"""The ``gameflow`` command line: the entry point and its parser.

The subcommands are the modules listed in ``gameflow.experiments.commands``;
their text arguments are turned into values and objects by
``gameflow.experiments.parsing``.  JAX and the library are imported only once
a command runs, so that ``gameflow --help`` answers at once.  Any
``ValueError`` raised for bad input becomes one line on stderr and exit
status 2.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import commands
from .parsing import UsageError, glue_negative

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage block
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one subparser per module of the commands index (also used by the README's usage block)."""
    p = _Parser(prog="gameflow", description="Training dynamics of adversarial games: "
                "vector fields, local convergence, continuous limits.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command in commands.load():
        sp = sub.add_parser(command.NAME, help=command.HELP)
        command.add_arguments(sp)
        sp.set_defaults(_run=command.run)
    return p


def _fail(message: str) -> int:
    print(f"gameflow: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gameflow`` console script; returns the exit status."""
    argv = glue_negative(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_BAD_INPUT
        return args._run(args)
    except UsageError as e:
        return _fail(str(e).removeprefix("gameflow: "))
    except ValueError as e:
        return _fail(str(e))
    except KeyboardInterrupt:
        print("gameflow: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`gameflow games | head -1`): not an error of ours.
        # Point stdout at devnull so the interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
