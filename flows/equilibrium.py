"""Finding equilibria (stationary points of a field) by root finding."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from .analysis import flat_field, game_of
from .state import State, ravel_state


class Equilibrium(NamedTuple):
    """Result of [`find_equilibrium`][].

    **Fields:** `state` (the point found), `point` (flattened), `residual`
    (|G| there), `converged` (residual within tolerance), `steps`, `solver`
    (which solver produced the point).
    """

    state: State
    point: np.ndarray
    residual: float
    converged: bool
    steps: int
    solver: str


def find_equilibrium(source: Any, z0: State | None = None, *, tol: float = 1e-10, max_steps: int = 256) -> Equilibrium:
    """Find a stationary point ``G(z) = 0`` near `z0`.

    Newton's method (optimistix) first; if it fails, Levenberg–Marquardt on
    ``|G|²``, which also handles singular Jacobians.  The residual is always
    reported, so a failed search is visible rather than silent.

    **Arguments:**

    - `source`: a Game, a Flow or a callable field.
    - `z0`: the start; default: the game's template (all zeros).
    - `tol`: the search counts as converged when ``|G(z)| ≤ tol``.
    - `max_steps`: step limit for each solver.

    **Returns:**

    An [`Equilibrium`][].

    References: optimistix ``root_find`` and ``least_squares``.
    """
    game = game_of(source)
    if z0 is None:
        if game is None:
            raise ValueError("find_equilibrium needs a start point for a bare field")
        z0 = game.template()
    elif game is not None:
        z0 = game.check(z0, "start point")
    f, v0 = flat_field(source, z0)
    _, unravel = ravel_state(z0)
    fn = jax.jit(f)

    def fn_args(v, _):
        return f(v)

    tries = [
        ("newton", lambda: optx.root_find(fn_args, optx.Newton(rtol=1e-13, atol=tol * 1e-3), v0,
                                          max_steps=max_steps, throw=False)),
        ("levenberg-marquardt", lambda: optx.least_squares(
            fn_args, optx.LevenbergMarquardt(rtol=1e-13, atol=tol * 1e-3), v0,
            max_steps=max_steps, throw=False)),
    ]
    best = None
    for name, run in tries:
        sol = run()
        v = sol.value
        res = float(jnp.linalg.norm(fn(v)))
        if not np.isfinite(res):
            res = float("inf")
        cand = (res, name, v, int(sol.stats["num_steps"]))
        if best is None or res < best[0]:
            best = cand
        if res <= tol:
            break
    res, name, v, steps = best
    return Equilibrium(
        state=unravel(v),
        point=np.asarray(v, dtype=np.float64),
        residual=res,
        converged=bool(res <= tol),
        steps=steps,
        solver=name,
    )
