"""``gameflow bench``: timings against same-run NumPy and scipy baselines, written to ``bench.json``.

``--only spectra,training`` runs only the named sections (the neural ones: matrix-free spectra of
``neural-gan`` Jacobians at ``10⁵`` and ``10⁶`` numbers, and training steps per second, against PyTorch
when it is installed; ``--no-torch`` skips every PyTorch comparison).

``gameflow bench --cli`` times the everyday commands instead (fresh processes, cold and warm compilation
cache), written to ``bench-cli.json``.
"""

from __future__ import annotations

import argparse

from ..parsing import UsageError

NAME = "bench"
HELP = ("time sweeps, ODE batches, particle steps, neural spectra and training against NumPy, scipy and PyTorch "
        "baselines (--cli: the everyday commands)")
SECTIONS = ("discrete", "ode", "roofline", "particles", "spectra", "training")  # bench.SECTIONS (no JAX import here)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    b = parser
    b.add_argument("--quick", action="store_true", help="small sizes (seconds); with --cli, one repetition")
    b.add_argument("--cli", action="store_true",
                   help="time analyze, simulate and compare as fresh processes, cold and warm compilation "
                   "cache, beside `python -c 'import jax'` (medians of 5 runs)")
    b.add_argument("--only", default=None, metavar="SECTIONS",
                   help=f"run only these sections, comma-separated: {', '.join(SECTIONS)} (roofline needs discrete)")
    b.add_argument("--no-torch", action="store_true",
                   help="skip the PyTorch comparisons (particles, spectra, training) even when torch is installed")
    b.add_argument("--json", action="store_true", help="print the report as JSON")
    b.add_argument("--out", default=None, metavar="FILE",
                   help="where to write the report (bench.json; with --cli, bench-cli.json)")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, write the report, print it."""
    if args.cli and (args.only is not None or args.no_torch):
        raise UsageError("--only and --no-torch apply to the timing sections, not to --cli")
    if not args.cli:
        from ..bench import check_sections

        check_sections(args.only)
        try:
            import scipy  # noqa: F401
        except ImportError:
            raise UsageError("gameflow bench needs scipy for its baseline: pip install 'gameflow[test]'") from None
    import json

    import jax

    from ..bench import render, run_bench, run_cli_bench
    from ..format import clean, emit_json
    from ..io import write_atomic

    # Compile times are measured as a library user meets them: without the persistent cache that the
    # command line turned on for this process (nothing has been compiled yet, so it is not in use).
    jax.config.update("jax_compilation_cache_dir", None)
    out = args.out or ("bench-cli.json" if args.cli else "bench.json")
    report = (run_cli_bench(quick=args.quick) if args.cli
              else run_bench(quick=args.quick, only=args.only, use_torch=not args.no_torch))
    write_atomic(out, lambda f: f.write(json.dumps(clean(report), indent=2).encode()))
    if args.json:
        emit_json(report)
    else:
        print(render(report) + f"\n\nwritten to {out}")
    return 0
