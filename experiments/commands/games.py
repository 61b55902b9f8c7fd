"""``gameflow games``: the built-in games with their parameters."""

from __future__ import annotations

import argparse

NAME = "games"
HELP = "list built-in games with their parameters"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def run(args: argparse.Namespace) -> int:
    """List the built-in games."""
    from gameflow import flows

    from ..format import dumps

    games = flows.describe_games()
    if args.json:
        print(dumps(games))
        return 0
    for g in games:
        print(f"{g['name']}: {g['description']}")
        print(f"  equilibrium: {g['equilibrium']}")
        for p in g["params"]:
            choices = f" {{{', '.join(p['choices'])}}}" if "choices" in p else ""
            allowed = f" ({p['allowed']})" if "allowed" in p else ""
            print(f"  --param {p['name']}=<{p['type']}>{choices}  default {p['default']}{allowed}: {p['doc']}")
        print()
    print("user games: path/to/file.py:factory (factory(**params) returns a gameflow.flows.Game)")
    return 0
