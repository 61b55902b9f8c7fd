"""The ``gameflow`` sub-commands (imported lazily by the CLI: these import JAX)."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

import flows

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
                    find: bool, critical: bool, tol: float) -> dict[str, Any]:
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
    return out


def cmd_analyze(args: argparse.Namespace) -> int:
    """``gameflow analyze``: local analysis of a game's flow at a point."""
    game, params = load_game(args.game, parse_params(args.param))
    flow_name, raw_flow = parse_spec(args.flow, "--flow")
    point = None if args.point is None else parse_floats(args.point, "--point")
    rep = analysis_report(game, flow_name, _flow_params(flow_name, raw_flow), point,
                          args.find_equilibrium, args.critical_ratio, args.tol)
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
    J = np.asarray(r["jacobian"])
    if J.shape[0] <= 6:
        for i, row in enumerate(J):
            rows.append(("jacobian" if i == 0 else "", "[" + ", ".join(f"{num(v, 6):>10}" for v in row) + "]"))
    return table(rows)
