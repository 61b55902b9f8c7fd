"""Discrete iterates against their continuous limits, with a measured order."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from gameflow.flows import Game

from .integrate import integrate
from .iterate import _flat_start, iterate
from .modified import continuous_limit
from .schemes import AGDA, Scheme, Splitting
from .trajectory import COMPLETED, DIVERGED, STATUS


class CompareRow(NamedTuple):
    """One learning rate: `lr`, `steps`, `error` (max over matched times), `status`."""

    lr: float
    steps: int
    error: float
    status: str


class Comparison(NamedTuple):
    """Result of [`compare`][]: `rows`, fitted `order`, `against`, matched `times`, and `evidence`.

    `evidence` says what the reference flow rests on: the scheme's declared
    continuous limit (built from the game), a hand-derived modified flow from
    the literature, the exact sub-flows, or (``method="auto"`` on a scheme
    without a hand form) the Taylor expansion of the scheme's own step, which
    any smooth one-step map matches: a consistency check, not evidence.
    """

    rows: list[CompareRow]
    order: float
    against: str
    times: np.ndarray
    evidence: str = ""


EVIDENCE = {
    "gradient": "declared limit: the flow the scheme declares (limit_field), built from the game alone",
    "hand": "hand-derived modified flow from the literature (Rosca et al. 2021 and known forms)",
    "auto": "automatic expansion of the scheme's own step: a consistency check, not independent evidence",
    "splitting": "exact per-player sub-flows (Lie-Trotter splitting)",
}


def resolve_method(scheme: Scheme, method: str | None) -> str:
    """``"hand"`` where the scheme has a hand-derived modified flow, else ``"auto"`` (when `method` is None)."""
    if method is None:
        return "hand" if scheme.has_hand_modified() else "auto"
    return method


def fit_order(lrs: Any, errors: Any) -> float:
    """Least-squares slope of ``log error`` against ``log lr`` (``nan`` if any error is not positive and finite)."""
    lrs, errors = np.asarray(lrs, float), np.asarray(errors, float)
    if lrs.size < 2 or not np.all(np.isfinite(errors)) or np.any(errors <= 0):
        return float("nan")
    return float(np.polyfit(np.log(lrs), np.log(errors), 1)[0])


def _checkpoints(counts: list[int], most: int = 10) -> int:
    g = math.gcd(*counts)
    return max(d for d in range(1, min(g, most) + 1) if g % d == 0)


def compare(
    game: Game,
    scheme: Scheme,
    lrs: Any,
    t_end: float,
    z0: Any,
    against: str = "gradient",
    *,
    method: str | None = None,
    rtol: float = 1e-12,
    atol: float = 1e-12,
) -> Comparison:
    """Run `scheme` for ``t_end / h`` steps at each ``h`` in `lrs` and measure the gap to a flow.

    **Arguments:**

    - `game`, `scheme`: what to run.
    - `lrs`: base learning rates; each must divide `t_end` into a whole number
      of steps.
    - `t_end`: the time horizon.
    - `z0`: the common start (state or flat vector).
    - `against`: ``"gradient"`` (the leading-order flow; expect order 1),
      ``"modified"`` (the modified flow at each ``h``; expect order 2), or,
      for alternating GDA, ``"splitting"`` (each player's exact sub-flow in
      turn; zero on bilinear games, order 1 in general).
    - `method`: how the modified flow is formed: ``"hand"`` (the closed forms
      from the literature), ``"auto"`` (the Taylor expansion of the step map:
      a consistency check, since it is derived from the scheme itself), or
      ``None`` (default): the hand form where the scheme has one, else auto.
    - `rtol`, `atol`: ODE tolerances (keep them far below the errors measured).

    **Returns:**

    A [`Comparison`][] (with the `evidence` it rests on): per learning rate the largest distance between the
    iterate ``z_k`` and the flow ``z(k h)`` over up to 11 matched times
    ``t_j = j t_end / M`` (``M`` divides every step count), and the fitted
    order.  A diverged run has error ``inf`` and makes the order ``nan``.
    """
    if against not in ("gradient", "modified", "splitting"):
        raise ValueError(f"against={against!r} is not one of gradient, modified, splitting")
    method = resolve_method(scheme, method)
    lrs = [float(h) for h in np.asarray(lrs, dtype=float).reshape(-1)]
    if len(set(lrs)) < 2:
        raise ValueError(f"compare needs at least two distinct learning rates to fit an order; got {lrs}")
    if not (math.isfinite(t_end) and t_end > 0):
        raise ValueError(f"t_end={t_end} must be positive and finite")
    counts = []
    for h in lrs:
        if not (math.isfinite(h) and h > 0):
            raise ValueError(f"learning rate {h} must be positive and finite")
        n = round(t_end / h)
        if n < 1 or abs(n * h - t_end) > 1e-9 * t_end:
            raise ValueError(f"t_end={t_end} is not a whole number of steps of lr={h}")
        counts.append(n)
    v0 = _flat_start(game, z0)
    m = _checkpoints(counts)
    times = np.linspace(0.0, t_end, m + 1)
    if against == "splitting":
        if not (isinstance(scheme, AGDA) and scheme.n_g == 1 and scheme.n_d == 1):
            raise ValueError(f"against='splitting' compares alternating GDA (one step per player) with its exact "
                             f"sub-flows; got {scheme.name} {scheme.params()}")
        reference = Splitting(order=scheme.order, rates=scheme.rates)
    rows = []
    for h, n in zip(lrs, counts):
        tr = iterate(game, scheme, v0, h, n, save_every=n // m)
        if against == "splitting":
            # The sub-flows of the field the players follow (consensus-regularized when asked).
            sol = iterate(scheme.regularized(game), reference, v0, h, n, save_every=n // m)
            sol = sol._replace(status=COMPLETED if int(sol.status) != DIVERGED else DIVERGED)
        else:
            flow = continuous_limit(game, scheme, h, against, method)
            sol = integrate(flow, v0, t_end, saveat=times, rtol=rtol, atol=atol)
        if int(sol.status) != COMPLETED:
            raise ValueError(f"the {against} flow could not be integrated to t_end={t_end} "
                             f"(status {STATUS[int(sol.status)]}); shorten t_end")
        if int(tr.status) == DIVERGED:
            err = float("inf")
        else:
            err = float(np.max(np.linalg.norm(np.asarray(tr.states) - np.asarray(sol.states), axis=1)))
        rows.append(CompareRow(h, n, err, STATUS[int(tr.status)]))
    evidence = EVIDENCE[method] if against == "modified" else EVIDENCE[against]
    return Comparison(rows, fit_order([r.lr for r in rows], [r.error for r in rows]), against, times, evidence)
