"""Duality gap of a two-player zero-sum game.

    gap(x, y) = max_{y'} V(x, y') - min_{x'} V(x', y)  ≥ 0,

zero exactly at a saddle point of a convex-concave game.  The inner problems
are solved by BFGS (optimistix) started at the current point, so for games
that are not convex-concave the gap is a local one; when an inner problem is
unbounded (bilinear games away from the equilibrium, say) or does not attain
its optimum, the status says so instead of returning a number.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from .game import Game
from .state import State, ravel_state

STATUSES = ("ok", "unbounded", "not converged")


class DualityGap(NamedTuple):
    """Result of [`duality_gap`][].

    **Fields:** `gap` (float, ``nan`` unless `status` is ``"ok"``), `status`
    (``"ok"``, ``"unbounded"`` or ``"not converged"``), `max_value`
    (``max_{y'} V(x, y')``), `min_value` (``min_{x'} V(x', y)``).
    """

    gap: float
    status: str
    max_value: float
    min_value: float


def _inner(obj, v0, *, bound, max_steps, tol):
    sol = optx.minimise(lambda v, _: obj(v), optx.BFGS(rtol=tol, atol=tol), v0,
                        max_steps=max_steps, throw=False)
    v = sol.value
    val = float(obj(v))
    norm = float(jnp.max(jnp.abs(v))) if v.size else 0.0
    if not math.isfinite(val) or not math.isfinite(norm) or norm > bound or abs(val) > bound:
        return val, "unbounded"
    if sol.result == optx.RESULTS.successful:
        return val, "ok"
    # BFGS stalls rather than runs away on a linear objective; follow the ray
    # it was moving along: falling below -bound means unbounded, levelling off
    # means an optimum that is not attained.
    d = v - v0
    dn = float(jnp.linalg.norm(d))
    if dn > 0:
        for s in 10.0 ** np.arange(1, 13):
            far = float(obj(v + (s / dn) * d))
            if not math.isfinite(far) or far < -bound:
                return val, "unbounded"
    return val, "not converged"


def duality_gap(game: Game, z: State, *, bound: float = 1e8, max_steps: int = 1000, tol: float = 1e-12) -> DualityGap:
    """Duality gap ``max_{y'} V(x, y') - min_{x'} V(x', y)`` at ``z = (x, y)``.

    **Arguments:**

    - `game`: a zero-sum game.
    - `z`: the point.
    - `bound`: an inner iterate or value beyond this magnitude is taken as
      evidence that the inner problem is unbounded.
    - `max_steps`: BFGS step limit of each inner problem.
    - `tol`: BFGS relative and absolute tolerance.

    **Returns:**

    A [`DualityGap`][].
    """
    if not game.zero_sum:
        raise ValueError(f"duality gap needs a zero-sum game; {type(game).__name__} is general-sum")
    z = game.check(z, "point")
    x, y = z
    vx, unravel_x = ravel_state((x,))
    vy, unravel_y = ravel_state((y,))

    def neg_v_of_y(v):
        return -game.value((x, unravel_y(v)[0]))

    def v_of_x(v):
        return game.value((unravel_x(v)[0], y))

    neg_max, s1 = _inner(jax.jit(neg_v_of_y), vy, bound=bound, max_steps=max_steps, tol=tol)
    mn, s2 = _inner(jax.jit(v_of_x), vx, bound=bound, max_steps=max_steps, tol=tol)
    mx = -neg_max
    status = "unbounded" if "unbounded" in (s1, s2) else ("not converged" if "not converged" in (s1, s2) else "ok")
    gap = mx - mn if status == "ok" else float("nan")
    return DualityGap(gap=gap, status=status, max_value=mx, min_value=mn)
