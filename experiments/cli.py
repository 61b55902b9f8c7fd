"""The ``gameflow`` command line.

JAX and the library are imported only once a command needs them, so that
``gameflow --help`` answers at once.  Any ``ValueError`` raised for bad input
becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

EXIT_BAD_INPUT = 2


class UsageError(ValueError):
    """Bad command-line input (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage block
        raise UsageError(f"{self.prog}: {message}")


def _split_kv(text: str, what: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise UsageError(f"{what} {text!r} must look like NAME=VALUE")
    return name.strip(), value.strip()


def parse_params(items: list[str] | None) -> dict[str, str]:
    """``["gamma=0.3", "reg=r1"]`` → ``{"gamma": "0.3", "reg": "r1"}``; repeated names are an error."""
    out: dict[str, str] = {}
    for item in items or []:
        k, v = _split_kv(item, "--param")
        if k in out:
            raise UsageError(f"--param {k} given twice")
        out[k] = v
    return out


def parse_spec(text: str, what: str) -> tuple[str, dict[str, str]]:
    """``"consensus:gamma=0.5,foo=1"`` → ``("consensus", {"gamma": "0.5", "foo": "1"})``."""
    name, _, rest = text.partition(":")
    params: dict[str, str] = {}
    for item in filter(None, rest.split(",")):
        k, v = _split_kv(item, what)
        params[k] = v
    return name.strip(), params


def parse_floats(text: str, what: str) -> list[float]:
    """A comma-separated list of finite floats."""
    try:
        vals = [float(v) for v in text.replace(" ", "").split(",") if v != ""]
    except ValueError:
        raise UsageError(f"{what} {text!r} is not a comma-separated list of numbers") from None
    if not vals:
        raise UsageError(f"{what} is empty")
    bad = [v for v in vals if not math.isfinite(v)]
    if bad:
        raise UsageError(f"{what} {text!r} has a non-finite entry {bad[0]}; all entries must be finite")
    return vals


def _flow_params(name: str, raw: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in raw.items():
        if k == "rates":
            out[k] = parse_floats(v.replace("/", ","), f"--flow {name} rates")
        else:
            try:
                out[k] = float(v)
            except ValueError:
                raise UsageError(f"--flow {name}: {k}={v!r} is not a number") from None
            if not math.isfinite(out[k]):
                raise UsageError(f"--flow {name}: {k}={v} must be finite")
    return out


def _glue_negative(argv: list[str]) -> list[str]:
    # argparse reads "-1,2" as an option; keep negative values with their flag.
    out: list[str] = []
    i = 0
    takes_value = {"--point", "--lr", "--lrs", "--tol", "--t-end"}
    while i < len(argv):
        a = argv[i]
        if a in takes_value and i + 1 < len(argv) and argv[i + 1][:1] == "-" and argv[i + 1][1:2] in "0123456789.":
            out.append(f"{a}={argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the README's usage block)."""
    p = _Parser(prog="gameflow", description="Training dynamics of adversarial games: "
                "vector fields, local convergence, continuous limits.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    g = sub.add_parser("games", help="list built-in games with their parameters")
    g.add_argument("--json", action="store_true", help="print JSON instead of text")

    a = sub.add_parser("analyze", help="Jacobian, eigenvalues and classification at a point")
    a.add_argument("game", help="built-in game name, or path/to/file.py:factory")
    a.add_argument("--param", action="append", metavar="NAME=VALUE", help="game parameter (repeatable)")
    a.add_argument("--point", metavar="V1,V2,...", help="flattened state (default: the known equilibrium)")
    a.add_argument("--flow", default="gradient", metavar="NAME[:k=v,...]",
                   help="gradient | consensus:gamma=G | timescale:tau=T (default gradient)")
    a.add_argument("--find-equilibrium", action="store_true",
                   help="search for a stationary point from --point (or from zeros) first")
    a.add_argument("--critical-ratio", action="store_true",
                   help="also compute the critical timescale ratio tau* (two-player games)")
    a.add_argument("--tol", type=float, default=1e-9, help="relative tolerance of the classification")
    a.add_argument("--json", action="store_true", help="print one JSON object")

    a.add_argument("--scheme", action="append", metavar="NAME[:k=v,...]",
                   help="also analyse this discrete scheme's update map (repeatable)")
    a.add_argument("--lr", action="append", metavar="H",
                   help="learning rate for --scheme (one for all, or one per --scheme)")

    c = sub.add_parser("compare", help="discrete iterates against the gradient or modified flow, with the order")
    c.add_argument("game")
    c.add_argument("--param", action="append", metavar="NAME=VALUE")
    c.add_argument("--scheme", required=True, metavar="NAME[:k=v,...]")
    c.add_argument("--lrs", default="0.04,0.02,0.01,0.005", metavar="H1,H2,...")
    c.add_argument("--t-end", type=float, default=2.0, metavar="T")
    c.add_argument("--point", metavar="V1,V2,...", help="start (default: the equilibrium shifted by 1)")
    c.add_argument("--against", choices=("gradient", "modified", "splitting"), default="gradient",
                   help="splitting: alternating GDA against its exact per-player sub-flows")
    c.add_argument("--method", choices=("auto", "hand"), default="auto",
                   help="modified flow from the step map's Taylor expansion (auto) or closed forms (hand)")
    c.add_argument("--json", action="store_true")

    s = sub.add_parser("simulate", help="run a scheme or integrate a flow from a point")
    s.add_argument("game")
    s.add_argument("--param", action="append", metavar="NAME=VALUE")
    s.add_argument("--scheme", metavar="NAME[:k=v,...]")
    s.add_argument("--lr", metavar="H")
    s.add_argument("--steps", type=int, metavar="N")
    s.add_argument("--flow", metavar="NAME[:k=v,...]")
    s.add_argument("--t-end", type=float, metavar="T")
    s.add_argument("--point", metavar="V1,V2,...", help="start (default: the equilibrium shifted by 1)")
    s.add_argument("--save", type=int, default=100, metavar="K", help="states saved along the way (default 100)")
    s.add_argument("--tol", type=float, default=None, help="stop a scheme once |F| <= TOL")
    s.add_argument("--out", metavar="FILE.npz", help="write the trajectory (ts, states, status, ...)")
    s.add_argument("--json", action="store_true")

    sw = sub.add_parser("sweep", help="verdict, rate and distance over a grid, in resumable chunks")
    sw.add_argument("game")
    sw.add_argument("--param", action="append", metavar="NAME=VALUE")
    sw.add_argument("--scheme", required=True, metavar="NAME[:k=v,...]")
    sw.add_argument("--grid", action="append", required=True, metavar="NAME=LO:HI:N[:log]",
                    help="an axis: lr or a game parameter (repeatable)")
    sw.add_argument("--lr", metavar="H", help="fixed learning rate when no axis is lr")
    sw.add_argument("--inits", type=int, default=1, metavar="N", help="random starts per grid point (default 1)")
    sw.add_argument("--init-radius", type=float, default=1.0, metavar="R",
                    help="starts uniform in the box equilibrium +- R (default 1)")
    sw.add_argument("--point", metavar="V1,V2,...", help="one given start instead of random ones")
    sw.add_argument("--seed", type=int, default=0)
    sw.add_argument("--steps", type=int, required=True, metavar="K")
    sw.add_argument("--tol", type=float, default=None, help="stop a run once |F| <= TOL")
    sw.add_argument("--bound", type=float, default=1e8, help="divergence bound (default 1e8)")
    sw.add_argument("--chunk", type=int, default=16384, help="runs per chunk (bounds memory; default 16384)")
    sw.add_argument("--no-shard", action="store_true", help="do not spread chunks over local devices")
    sw.add_argument("--coordinator", metavar="HOST:PORT",
                    help="multi-process run: jax.distributed coordinator (with --num-processes, --process-id)")
    sw.add_argument("--num-processes", type=int, metavar="P", help="number of processes (hosts)")
    sw.add_argument("--process-id", type=int, metavar="I", help="this process's index, 0..P-1")
    sw.add_argument("--distributed", action="store_true",
                    help="multi-process run, cluster detected by jax.distributed.initialize() (SLURM, MPI, ...)")
    sw.add_argument("--format", choices=("npz", "zarr"), default="npz",
                    help="result file: DIR/sweep.npz (default) or DIR/sweep.zarr (needs zarr)")
    sw.add_argument("--out", required=True, metavar="DIR")
    sw.add_argument("--json", action="store_true")

    pl = sub.add_parser("plot", help="draw a phase portrait, spectrum, convergence, order or sweep picture")
    pl.add_argument("game", nargs="?", help="the game (not needed with --from)")
    pl.add_argument("--param", action="append", metavar="NAME=VALUE")
    pl.add_argument("--kind", choices=("portrait", "spectrum", "convergence", "order", "sweep", "animation",
                                       "particles"),
                    default="portrait",
                    help="animation writes a GIF (-o FILE.gif); particles: snapshots over the witness (PNG) or a GIF")
    pl.add_argument("--scheme", action="append", metavar="NAME[:k=v,...]", help="repeatable (default sgda, agda)")
    pl.add_argument("--lr", action="append", metavar="H", help="one for all schemes, or one per scheme (default 0.1)")
    pl.add_argument("--point", metavar="V1,V2,...", help="start (default: the equilibrium shifted by 1)")
    pl.add_argument("--flow", default="gradient", metavar="NAME[:k=v,...]", help="the flow drawn (portrait)")
    pl.add_argument("--t-end", type=float, default=20.0, metavar="T", help="time shown (portrait, order)")
    pl.add_argument("--steps", type=int, default=300, metavar="N", help="iterations (convergence, sweep)")
    pl.add_argument("--lrs", default="0.04,0.02,0.01,0.005", metavar="H1,...", help="learning rates (order)")
    pl.add_argument("--grid", metavar="NAME=LO:HI:N", help="game parameter axis of a sweep (e.g. gamma=0:2:21)")
    pl.add_argument("--from", dest="from_dir", metavar="DIR", help="draw a finished `gameflow sweep` (kind sweep)")
    pl.add_argument("--lr-grid", default="1e-2:3:25", metavar="LO:HI:N", help="log-spaced lr axis of a sweep")
    pl.add_argument("-o", "--output", required=True, metavar="FILE.png|FILE.gif")

    r = sub.add_parser("run", help="run a reproducible experiment (figures, results.json, report.md)")
    r.add_argument("name", nargs="?", help="the experiment (see --list)")
    r.add_argument("--list", action="store_true", help="list the experiments")
    r.add_argument("--out", metavar="DIR", help="output folder (default results/NAME)")
    r.add_argument("--quick", action="store_true", help="small sizes")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--json", action="store_true", help="print results.json's verdicts as JSON")

    b = sub.add_parser("bench", help="time sweeps and ODE batches against NumPy and scipy baselines")
    b.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    b.add_argument("--json", action="store_true", help="print the report as JSON")
    b.add_argument("--out", default="bench.json", metavar="FILE", help="where to write the report (bench.json)")

    d = sub.add_parser("demo", help="analyse every Dirac-GAN variant, print the table, write a gallery")
    d.add_argument("--out", default="results/demo", metavar="DIR", help="gallery folder (default results/demo)")
    d.add_argument("--no-pictures", action="store_true", help="only the table")
    return p


def _fail(message: str) -> int:
    print(f"gameflow: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gameflow`` console script; returns the exit status."""
    argv = _glue_negative(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_BAD_INPUT
        if args.command == "demo":
            from .demo import run_demo

            return run_demo(args.out, not args.no_pictures)
        # The sub-commands import JAX; load them only once one is chosen.
        from . import commands

        return getattr(commands, f"cmd_{args.command}")(args)
    except UsageError as e:
        return _fail(str(e).removeprefix("gameflow: "))
    except ValueError as e:
        return _fail(str(e))
    except KeyboardInterrupt:
        print("gameflow: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
