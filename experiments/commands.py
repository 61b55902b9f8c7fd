"""The ``gameflow`` sub-commands (imported lazily by the CLI: these import JAX)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import numpy as np
from gameflow import flows

from .cli import UsageError, _flow_params, parse_floats, parse_params, parse_spec
from .format import dumps, eig_text, num, table


def cmd_games(args: argparse.Namespace) -> int:
    """``gameflow games``: list built-in games."""
    games = flows.describe_games()
    if args.json:
        print(dumps(games))
        return 0
    for g in games:
        print(f"{g['name']}: {g['description']}")
        print(f"  equilibrium: {g['equilibrium']}")
        for p in g["params"]:
            choices = f" {{{', '.join(p['choices'])}}}" if "choices" in p else ""
            print(f"  --param {p['name']}=<{p['type']}>{choices}  default {p['default']}: {p['doc']}")
        print()
    print("user games: path/to/file.py:factory (factory(**params) returns a flows.Game)")
    return 0


def load_game(name: str, raw_params: dict[str, str]) -> tuple[flows.Game, dict[str, Any]]:
    """Build a game from CLI arguments; returns the game and its resolved parameters."""
    game = flows.make_game(name, raw_params)
    if flows.is_user_game(name):
        return game, dict(raw_params)
    values, _ = flows.registry.resolve_params(name, raw_params)
    return game, {k: flows.registry.jsonable(v) for k, v in values.items()}


def analysis_report(game: flows.Game, flow_name: str, flow_params: dict[str, Any], point: list[float] | None,
                    find: bool, critical: bool, tol: float, schemes: list[str] | None = None,
                    lrs: list[str] | None = None) -> dict[str, Any]:
    """Everything ``gameflow analyze`` prints, as a dict."""
    if not tol > 0:
        raise UsageError(f"--tol {tol} must be > 0")
    flow = flows.make_flow(game, flow_name, **flow_params)
    template = game.template()
    out: dict[str, Any] = {}
    z = None if point is None else flows.state_from_vector(point, template, what="--point")
    if find:
        start = z if z is not None else template
        eq = flows.find_equilibrium(flow, start)
        out["equilibrium_search"] = {
            "start": np.asarray(flows.ravel_state(start)[0]).tolist(),
            "converged": eq.converged, "residual": eq.residual, "steps": eq.steps, "solver": eq.solver,
        }
        z = eq.state
    if z is None and game.equilibrium() is None:
        raise UsageError("this game has no known equilibrium: give --point or --find-equilibrium")
    res = flows.analyze(flow, z, tol=tol)
    z_used = z if z is not None else game.equilibrium()
    out.update(
        flow=flow_name,
        flow_params=flow.params(),
        point=res.point,
        residual=res.residual,
        stationary=res.stationary,
        jacobian=res.jacobian,
        eigenvalues=[[float(e.real), float(e.imag)] for e in res.eigenvalues],
        classification=res.classification,
        spectral_abscissa=res.spectral_abscissa,
        tol=tol,
        zero_sum=game.zero_sum,
    )
    if game.zero_sum:
        gap = flows.duality_gap(game, z_used)
        out["duality_gap"] = gap.gap if gap.status == "ok" else None
        out["duality_gap_status"] = gap.status
    if critical:
        out["critical_ratio"] = flows.critical_ratio(game, z_used)
    if schemes:
        out["schemes"] = scheme_items(game, z_used, schemes, lrs or [])
    elif lrs:
        raise UsageError("--lr needs --scheme")
    return out


def cmd_analyze(args: argparse.Namespace) -> int:
    """``gameflow analyze``: local analysis of a game's flow at a point."""
    game, params = load_game(args.game, parse_params(args.param))
    flow_name, raw_flow = parse_spec(args.flow, "--flow")
    point = None if args.point is None else parse_floats(args.point, "--point")
    rep = analysis_report(game, flow_name, _flow_params(flow_name, raw_flow), point,
                          args.find_equilibrium, args.critical_ratio, args.tol, args.scheme, args.lr)
    result = {"game": args.game, "params": params, **rep}
    if args.json:
        print(dumps(result))
        return 0
    print(render_analysis(result))
    return 0


def render_analysis(r: dict[str, Any]) -> str:
    """The readable table of ``gameflow analyze``."""
    params = ", ".join(f"{k}={v}" for k, v in r["params"].items() if v is not None)
    fp = ", ".join(f"{k}={v}" for k, v in r["flow_params"].items())
    eigs = np.array([complex(a, b) for a, b in r["eigenvalues"]])
    stationary = "stationary" if r["stationary"] else "NOT STATIONARY: the field is nonzero here"
    rows = [
        ("game", f"{r['game']} ({params})" if params else r["game"]),
        ("flow", f"{r['flow']} ({fp})" if fp else r["flow"]),
    ]
    if "equilibrium_search" in r:
        s = r["equilibrium_search"]
        rows.append(("equilibrium search", f"{s['solver']}, {s['steps']} steps, "
                     f"{'converged' if s['converged'] else 'DID NOT CONVERGE'} (residual {num(s['residual'], 3)})"))
    rows += [
        ("point", "(" + ", ".join(num(v, 10) for v in r["point"]) + ")"),
        ("residual |F|", f"{num(r['residual'], 3)}  {stationary}"),
        ("eigenvalues", eig_text(eigs)),
        ("classification", r["classification"]),
        ("spectral abscissa", num(r["spectral_abscissa"])),
    ]
    if "duality_gap_status" in r:
        gap = num(r["duality_gap"]) if r["duality_gap"] is not None else r["duality_gap_status"]
        rows.append(("duality gap", gap))
    if "critical_ratio" in r:
        cr = r["critical_ratio"]
        rows.append(("critical ratio tau*", "never (unstable at every ratio up to 1e6)" if cr is None else num(cr)))
    for item in r.get("schemes", []):
        verdict = "converges" if item["converges"] else "does not converge"
        msl = item["max_stable_lr"]
        msl = msl if isinstance(msl, str) else num(msl, 8)
        best = "-" if item["best_lr"] is None else f"{num(item['best_lr'], 6)} (radius {num(item['best_radius'], 6)})"
        rows.append((f"scheme {item['scheme']}", f"lr {num(item['lr'])}: spectral radius "
                     f"{num(item['spectral_radius'], 10)}, {verdict}; max stable lr {msl}; best lr {best}"))
    J = np.asarray(r["jacobian"])
    if J.shape[0] <= 6:
        for i, row in enumerate(J):
            rows.append(("jacobian" if i == 0 else "", "[" + ", ".join(f"{num(v, 6):>10}" for v in row) + "]"))
    return table(rows)


def _scheme(spec: str) -> tuple[str, Any]:
    from gameflow import solvers

    name, raw = parse_spec(spec, "--scheme")
    return name, solvers.make_scheme(name, **raw)


def _lr(text: str, what: str = "--lr") -> float:
    vals = parse_floats(text, what)
    if len(vals) != 1:
        raise UsageError(f"{what} {text!r} must be one number")
    if vals[0] <= 0:
        raise UsageError(f"{what} {vals[0]} must be > 0")
    return vals[0]


def scheme_items(game: flows.Game, z: Any, specs: list[str], lrs: list[str]) -> list[dict[str, Any]]:
    """The ``schemes`` list of ``gameflow analyze``: update-map spectra at each (scheme, lr)."""
    from gameflow import solvers

    if not lrs:
        raise UsageError("--scheme needs --lr")
    if len(lrs) == len(specs):
        pairs = list(zip(specs, lrs))
    elif len(lrs) == 1:
        pairs = [(s, lrs[0]) for s in specs]
    elif len(specs) == 1:
        pairs = [(specs[0], h) for h in lrs]
    else:
        raise UsageError(f"{len(specs)} --scheme and {len(lrs)} --lr: give one --lr, or one per --scheme")
    items, ranges = [], {}
    for spec, lr_text in pairs:
        name, scheme = _scheme(spec)
        h = _lr(lr_text)
        ms = solvers.map_spectrum(game, scheme, h, z)
        if spec not in ranges:
            ranges[spec] = solvers.stable_range(game, scheme, z)
        sr = ranges[spec]
        items.append({
            "scheme": spec, "lr": h, "spectral_radius": ms.spectral_radius, "converges": ms.converges,
            "rate_per_step": ms.rate_per_step, "max_stable_lr": sr.max_stable_lr, "best_lr": sr.best_lr,
            "best_radius": sr.best_radius,
            "eigenvalues": [[float(e.real), float(e.imag)] for e in ms.eigenvalues],
        })
    return items


def _start(game: flows.Game, point: str | None) -> list[float]:
    if point is not None:
        return parse_floats(point, "--point")
    own = game.start()
    if own is not None:
        return np.asarray(flows.ravel_state(own)[0]).tolist()
    eq = game.equilibrium()
    if eq is None:
        raise UsageError("this game has no known equilibrium to start near: give --point")
    return (np.asarray(flows.ravel_state(eq)[0]) + 1.0).tolist()


def cmd_compare(args: argparse.Namespace) -> int:
    """``gameflow compare``: discrete iterates against a continuous limit, with the fitted order."""
    from gameflow import solvers

    game, params = load_game(args.game, parse_params(args.param))
    name, scheme = _scheme(args.scheme)
    lrs = parse_floats(args.lrs, "--lrs")
    if any(h <= 0 for h in lrs):
        raise UsageError(f"--lrs {args.lrs!r}: every learning rate must be > 0")
    z0 = _start(game, args.point)
    flows.state_from_vector(z0, game.template(), what="--point")
    res = solvers.compare(game, scheme, lrs, args.t_end, z0, args.against, method=args.method)
    out = {
        "game": args.game, "params": params, "scheme": args.scheme, "scheme_params": scheme.params(),
        "against": args.against, "method": args.method, "t_end": args.t_end, "point": z0,
        "rows": [{"lr": r.lr, "steps": r.steps, "error": r.error, "status": r.status} for r in res.rows],
        "order": res.order, "matched_times": res.times,
    }
    if args.json:
        print(dumps(out))
        return 0
    print(table([("game", args.game), ("scheme", args.scheme), ("against", f"{args.against} flow"),
                 ("t_end", num(args.t_end)), ("start", str(z0) if len(z0) <= 12 else f"{len(z0)} numbers")]))
    print(f"\n{'lr':>10}  {'steps':>7}  {'error':>12}  status")
    for r in res.rows:
        print(f"{r.lr:>10.4g}  {r.steps:>7d}  {r.error:>12.4e}  {r.status}")
    expect = {"gradient": "1", "modified": "2", "splitting": "1, or exact (error ~1e-15) on bilinear games"}
    print(f"\nmeasured order {num(res.order, 4)} (theory: {expect[args.against]})")
    return 0


def _divisor_near(n: int, target: int) -> int:
    target = max(1, min(n, target))
    return max(d for d in range(1, target + 1) if n % d == 0)


def cmd_simulate(args: argparse.Namespace) -> int:
    """``gameflow simulate``: one trajectory of a scheme or a flow."""
    from gameflow import solvers

    game, params = load_game(args.game, parse_params(args.param))
    by_scheme = args.scheme is not None
    if by_scheme == (args.flow is not None):
        raise UsageError("give either --scheme with --lr and --steps, or --flow with --t-end")
    if args.save < 1:
        raise UsageError(f"--save {args.save} must be >= 1")
    z0 = _start(game, args.point)
    flows.state_from_vector(z0, game.template(), what="--point")
    out: dict[str, Any] = {"game": args.game, "params": params, "point": z0}
    if by_scheme:
        if args.lr is None or args.steps is None:
            raise UsageError("--scheme needs --lr and --steps")
        if args.steps < 1:
            raise UsageError(f"--steps {args.steps} must be >= 1")
        if args.tol is not None and not args.tol > 0:
            raise UsageError(f"--tol {args.tol} must be > 0")
        name, scheme = _scheme(args.scheme)
        h = _lr(args.lr)
        every = _divisor_near(args.steps, args.steps // args.save)
        tr = solvers.iterate(game, scheme, z0, h, args.steps, save_every=every, tol=args.tol)
        out.update(mode="scheme", scheme=args.scheme, scheme_params=scheme.params(), lr=h)
    else:
        if args.t_end is None:
            raise UsageError("--flow needs --t-end")
        fname, raw = parse_spec(args.flow, "--flow")
        flow = flows.make_flow(game, fname, **_flow_params(fname, raw))
        tr = solvers.integrate(flow, z0, args.t_end, saveat=np.linspace(0.0, args.t_end, args.save + 1))
        out.update(mode="flow", flow=fname, flow_params=flow.params(), t_end=args.t_end)
    final = np.asarray(tr.final)
    # Particles are exchangeable: a distance to one ordering of the data would mislead.
    eq = None if isinstance(game, flows.particles.PARTICLE_GAMES) else game.equilibrium()
    unravel = flows.ravel_state(game.template())[1]
    out.update(
        status=tr.status_name(), steps=int(tr.steps), final=final,
        distance=None if eq is None else float(np.linalg.norm(final - np.asarray(flows.ravel_state(eq)[0]))),
        residual=flows.residual(game, unravel(final)),
    )
    if hasattr(game, "metrics"):
        out["metrics"] = game.metrics(unravel(final))
    if args.out:
        from .io import write_atomic

        write_atomic(args.out, lambda f: np.savez(f, ts=np.asarray(tr.ts), states=np.asarray(tr.states),
                                                  final=final, status=tr.status_name(), steps=int(tr.steps)))
        out["out"] = args.out
    if args.json:
        print(dumps(out))
        return 0
    what = f"{args.scheme} at lr {num(out['lr'])}" if by_scheme else f"{args.flow} flow to t = {num(args.t_end)}"
    start = str(z0) if len(z0) <= 12 else f"{len(z0)} numbers (the game's own start)"
    rows = [("game", args.game), ("run", what), ("start", start), ("status", out["status"]),
            ("steps", str(out["steps"])),
            ("final", "(" + ", ".join(num(v, 8) for v in final) + ")" if final.size <= 12
             else f"{final.size} numbers (see --json or --out)"),
            ("distance to equilibrium", "unknown" if out["distance"] is None else num(out["distance"], 6)),
            ("residual |F|", num(out["residual"], 6))]
    rows += [(k, num(v, 6)) for k, v in out.get("metrics", {}).items()]
    if args.out:
        rows.append(("trajectory", args.out))
    print(table(rows))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """``gameflow bench``: timings against same-run baselines, written to ``bench.json``."""
    try:
        import scipy  # noqa: F401
    except ImportError:
        raise UsageError("gameflow bench needs scipy for its baseline: pip install 'gameflow[test]'") from None
    import json

    from .bench import render, run_bench
    from .io import write_atomic

    report = run_bench(quick=args.quick)
    write_atomic(args.out, lambda f: f.write(json.dumps(clean_report(report), indent=2).encode()))
    print(dumps(report) if args.json else render(report) + f"\n\nwritten to {args.out}")
    return 0


def clean_report(report: dict[str, Any]) -> Any:
    """The report with NumPy scalars made JSON-safe."""
    from .format import clean

    return clean(report)


def _range(text: str, what: str, log: bool) -> np.ndarray:
    parts = text.split(":")
    if len(parts) != 3:
        raise UsageError(f"{what} {text!r} must look like LO:HI:N")
    lo, hi = parse_floats(parts[0], what)[0], parse_floats(parts[1], what)[0]
    try:
        n = int(parts[2])
    except ValueError:
        raise UsageError(f"{what} {text!r}: N must be an integer") from None
    if n < 2 or n > 400:
        raise UsageError(f"{what} {text!r}: N must be in 2..400")
    if not lo < hi or (log and lo <= 0):
        raise UsageError(f"{what} {text!r}: need {'0 < ' if log else ''}LO < HI")
    return np.geomspace(lo, hi, n) if log else np.linspace(lo, hi, n)


def _runs(specs: list[str] | None, lrs: list[str] | None) -> list[tuple[str, Any, float]]:
    specs = specs or ["sgda", "agda"]
    lrs = lrs or ["0.1"]
    if len(lrs) == 1:
        lrs = lrs * len(specs)
    if len(lrs) != len(specs):
        raise UsageError(f"{len(specs)} --scheme and {len(lrs)} --lr: give one --lr, or one per --scheme")
    return [(spec, _scheme(spec)[1], _lr(h)) for spec, h in zip(specs, lrs)]


def cmd_plot(args: argparse.Namespace) -> int:
    """``gameflow plot``: one picture written to a PNG file."""
    from . import figures

    ext = ".gif" if args.kind == "animation" else ".png"
    if args.kind == "particles" and args.output.lower().endswith(".gif"):
        ext = ".gif"
    if not args.output.lower().endswith(ext):
        raise UsageError(f"-o {args.output!r} must name a {ext} file for --kind {args.kind}")
    if args.from_dir is not None:
        if args.kind != "sweep":
            raise UsageError("--from draws a finished sweep: use it with --kind sweep")
        figures.save(figures.grid_figure(load_sweep(args.from_dir)), args.output)
        print(f"wrote {args.output}")
        return 0
    if args.game is None:
        raise UsageError("name a game (or --kind sweep --from DIR)")
    game, _ = load_game(args.game, parse_params(args.param))
    runs = _runs(args.scheme, args.lr)
    z0 = np.asarray(_start(game, args.point), float)
    flows.state_from_vector(z0, game.template(), what="--point")
    if args.steps < 1:
        raise UsageError(f"--steps {args.steps} must be >= 1")
    if not (np.isfinite(args.t_end) and args.t_end > 0):
        raise UsageError(f"--t-end {args.t_end} must be positive and finite")
    if args.kind == "particles":
        if not isinstance(game, flows.particles.PARTICLE_GAMES):
            names = ", ".join(n for n, s in flows.GAMES.items() if n in ("mmd-flow", "critic-gan", "mmd-gan"))
            raise UsageError(f"--kind particles draws particle games ({names}), not {args.game}")
        label, scheme, h = runs[0]
        title = f"{args.game}: {label}, h = {h:g}, {args.steps} steps"
        if ext == ".gif":
            figures.particle_animation(game, scheme, h, args.steps, args.output)
        else:
            figures.save(figures.particle_figure(game, scheme, h, args.steps, title), args.output)
        print(f"wrote {args.output}")
        return 0
    if args.kind in ("portrait", "animation") and flows.state_size(game.template()) < 2:
        raise UsageError("a phase portrait needs a state of at least 2 numbers")
    if args.kind == "portrait":
        fname, raw = parse_spec(args.flow, "--flow")
        flow = flows.make_flow(game, fname, **_flow_params(fname, raw))
        fig = figures.portrait_figure(game, runs, z0, args.t_end, flow, title=args.game)
    elif args.kind == "animation":
        fname, raw = parse_spec(args.flow, "--flow")
        flow = flows.make_flow(game, fname, **_flow_params(fname, raw))
        figures.animation(game, runs, z0, args.t_end, flow, args.output)
        print(f"wrote {args.output}")
        return 0
    elif args.kind == "spectrum":
        fig = figures.spectrum_figure(game, runs)
    elif args.kind == "convergence":
        fig = figures.convergence_figure(game, runs, z0, args.steps)
    elif args.kind == "order":
        lrs = parse_floats(args.lrs, "--lrs")
        fig = figures.order_figure(game, runs, lrs, args.t_end if args.t_end != 20.0 else 2.0, z0)
    else:
        if not args.grid:
            raise UsageError("--kind sweep needs --grid NAME=LO:HI:N (a game parameter)")
        name, rng = _split_grid(args.grid)
        values = _range(rng, "--grid", log=False)
        lrs = _range(args.lr_grid, "--lr-grid", log=True)
        if not hasattr(game, name) or name.startswith("_"):
            raise UsageError(f"--grid: {type(game).__name__} has no parameter {name!r}")
        fig = figures.sweep_figure(game, runs[0][1], lrs, name, values, z0, args.steps)
    figures.save(fig, args.output)
    print(f"wrote {args.output}")
    return 0


def _split_grid(text: str) -> tuple[str, str]:
    name, sep, rng = text.partition("=")
    if not sep or not name:
        raise UsageError(f"--grid {text!r} must look like NAME=LO:HI:N")
    return name, rng


def cmd_run(args: argparse.Namespace) -> int:
    """``gameflow run``: one experiment; exit 1 when a claim is not reproduced."""
    from . import experiments_library, particle_experiments  # noqa: F401  (registers the experiments)
    from .runner import EXPERIMENTS, run_experiment

    if args.list:
        width = max(len(name) for name in EXPERIMENTS)
        for e in EXPERIMENTS.values():
            print(f"{e.name:<{width}}  {e.description}")
        return 0
    if not args.name:
        raise UsageError(f"name an experiment ({', '.join(EXPERIMENTS)}) or give --list")
    ctx = run_experiment(args.name, args.out, args.quick, args.seed)
    passed = sum(c.passed for c in ctx.claims)
    if args.json:
        print(dumps({"experiment": args.name, "out": ctx.out, "passed": passed, "total": len(ctx.claims),
                     "claims": [c.__dict__ for c in ctx.claims]}))
    else:
        for c in ctx.claims:
            print(f"{'pass' if c.passed else 'FAIL'}  {c.claim}: {c.measured} (theory: {c.theory})")
        print(f"\n{passed} of {len(ctx.claims)} claims reproduced; results in {ctx.out}/")
    return 0 if passed == len(ctx.claims) else 1


def _axis(text: str) -> tuple[str, np.ndarray]:
    name, sep, rng = text.partition("=")
    if not sep or not name:
        raise UsageError(f"--grid {text!r} must look like NAME=LO:HI:N[:log]")
    parts = rng.split(":")
    log = len(parts) == 4 and parts[3] == "log"
    if len(parts) not in (3, 4) or (len(parts) == 4 and not log):
        raise UsageError(f"--grid {text!r} must look like NAME=LO:HI:N[:log]")
    return name, _range(":".join(parts[:3]), f"--grid {name}", log=log)


def load_sweep(folder: str):
    """The ``sweep.npz`` (or ``sweep.zarr``) of a finished ``gameflow sweep`` as a ``GridResult``."""
    from gameflow import solvers

    for name in ("sweep.npz", "sweep.zarr"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return solvers.grid.read_grid(path)[0]
    missing = os.path.join(folder, "sweep.npz")
    raise UsageError(f"{missing!r} does not exist: run gameflow sweep ... --out {folder} first")


def _init_distributed(args: argparse.Namespace) -> None:
    """Start ``jax.distributed`` for a multi-process sweep (before any computation)."""
    explicit = [args.coordinator, args.num_processes, args.process_id]
    if all(v is None for v in explicit) and not args.distributed:
        return
    import jax

    if args.distributed:
        if any(v is not None for v in explicit):
            raise UsageError("give --distributed or --coordinator/--num-processes/--process-id, not both")
        jax.distributed.initialize()
        return
    if any(v is None for v in explicit):
        raise UsageError("--coordinator, --num-processes and --process-id go together")
    if args.num_processes < 1 or not 0 <= args.process_id < args.num_processes:
        raise UsageError(f"--process-id {args.process_id} must be in 0..{args.num_processes - 1}")
    jax.distributed.initialize(args.coordinator, args.num_processes, args.process_id)


def cmd_sweep(args: argparse.Namespace) -> int:
    """``gameflow sweep``: a resumable grid sweep written to ``--out``."""
    import json

    from gameflow import solvers

    if args.format == "zarr":
        solvers.grid._zarr()  # refuse before computing anything when zarr is missing
    _init_distributed(args)
    game, params = load_game(args.game, parse_params(args.param))
    _, scheme = _scheme(args.scheme)
    axes = [_axis(g) for g in args.grid]
    for name, _ in axes:
        if name != "lr" and (not hasattr(game, name) or name.startswith("_")):
            raise UsageError(f"--grid {name}: neither lr nor a parameter of {args.game}")
    if args.steps < 1 or args.inits < 1 or args.chunk < 1:
        raise UsageError("--steps, --inits and --chunk must be >= 1")
    if not (args.init_radius > 0 and np.isfinite(args.init_radius)):
        raise UsageError(f"--init-radius {args.init_radius} must be positive and finite")
    lr = None if args.lr is None else _lr(args.lr)
    if lr is None and "lr" not in [n for n, _ in axes]:
        raise UsageError("give an lr axis (--grid lr=...) or a fixed --lr")
    dim = flows.state_size(game.template())
    if args.point is not None:
        starts = np.asarray(parse_floats(args.point, "--point"), float)[None]
        flows.state_from_vector(starts[0], game.template(), what="--point")
    else:
        eq = game.equilibrium()
        center = np.zeros(dim) if eq is None else np.asarray(flows.ravel_state(eq)[0])
        rng = np.random.default_rng(args.seed)
        starts = center + rng.uniform(-args.init_radius, args.init_radius, (args.inits, dim))
    spec = {"game": args.game, "params": params, "scheme": args.scheme, "grid": [[n, v.tolist()] for n, v in axes],
            "lr": lr, "starts": starts.tolist(), "steps": args.steps, "tol": args.tol, "bound": args.bound,
            "chunk": args.chunk, "shard": not args.no_shard}
    os.makedirs(args.out, exist_ok=True)
    spec_path = os.path.join(args.out, "spec.json")
    if os.path.exists(spec_path):
        with open(spec_path) as f:
            if json.load(f) != json.loads(json.dumps(spec)):
                raise UsageError(f"{args.out!r} holds a different sweep (see its spec.json); use another --out")
    else:
        from .io import write_atomic

        write_atomic(spec_path, lambda f: f.write(json.dumps(spec, indent=1).encode()))

    def progress(done: int, total: int) -> None:
        width = 30
        bar = "#" * (width * done // total) + "." * (width - width * done // total)
        print(f"\r[{bar}] chunk {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    result = solvers.run_grid(game, scheme, axes, starts, args.steps, args.out, lr=lr, chunk=args.chunk,
                              bound=args.bound, tol=args.tol, shard=not args.no_shard, progress=progress)
    if result is None:
        raise UsageError("timed out waiting for the other processes' chunks; rerun the same command to resume")
    solvers.save_grid(result, os.path.join(args.out, f"sweep.{args.format}"), spec)
    counts = {name: int(np.sum(result.status == code)) for code, name in enumerate(solvers.STATUS)
              if np.any(result.status == code)}
    out = {"out": args.out, "points": int(result.status.size), "shape": list(result.status.shape),
           "axes": [n for n, _ in axes] + ["start"], "status_counts": counts,
           "rate_median": float(np.median(result.rate)), "file": os.path.join(args.out, f"sweep.{args.format}")}
    if args.json:
        print(dumps(out))
        return 0
    print(table([("sweep", f"{out['points']} runs, shape {tuple(out['shape'])} ({', '.join(out['axes'])})"),
                 ("status", ", ".join(f"{k} {v}" for k, v in counts.items())),
                 ("median rate", num(out["rate_median"], 6)), ("written", out["file"])]))
    return 0
