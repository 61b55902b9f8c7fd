"""Integrating flows with diffrax, one start or a vmapped batch.

A thin wrapper over ``diffrax.diffeqsolve`` in float64 with ``throw=False``:
a failed or blown-up solve comes back as a status, never as an exception.
"""

from __future__ import annotations

from typing import Any

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
from gameflow import flows
from gameflow.flows import Flow
from gameflow.flows.compile import jit

from .iterate import _flat_start
from .trajectory import COMPLETED, DIVERGED, FAILED, Trajectory

SOLVERS = {
    "tsit5": diffrax.Tsit5,
    "dopri5": diffrax.Dopri5,
    "dopri8": diffrax.Dopri8,
    "bosh3": diffrax.Bosh3,
    "heun": diffrax.Heun,
    "midpoint": diffrax.Midpoint,
    "euler": diffrax.Euler,
    "kvaerno5": diffrax.Kvaerno5,
}


def _solve_impl(flow, v0, ts, solver, rtol, atol, dt0, max_steps, bound):
    _, unravel = flows.ravel_state(flow.game.template())

    def rhs(t, v, args):
        return flows.ravel_field(flow.field(unravel(v)))

    if dt0 is None:
        controller = diffrax.PIDController(rtol=rtol, atol=atol)
    else:
        controller = diffrax.ConstantStepSize()
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(rhs), solver, t0=ts[0], t1=ts[-1], dt0=dt0, y0=v0,
        saveat=diffrax.SaveAt(ts=ts), stepsize_controller=controller,
        max_steps=max_steps, throw=False,
    )
    ys = sol.ys
    ok_rows = jnp.all(jnp.isfinite(ys), axis=1) & (jnp.max(jnp.abs(jnp.where(jnp.isfinite(ys), ys, 0.0)), axis=1)
                                                   <= bound)
    # Rows after a failure are not finite: repeat the last good row instead.
    idx = jnp.arange(ys.shape[0])
    last_good = jax.lax.cummax(jnp.where(ok_rows, idx, 0), axis=0)
    ys_clean = ys[last_good]
    success = sol.result == diffrax.RESULTS.successful
    status = jnp.where(success & jnp.all(ok_rows), COMPLETED, jnp.where(jnp.all(ok_rows), FAILED, DIVERGED))
    return Trajectory(ts, ys_clean, sol.stats["num_accepted_steps"], status, ys_clean[-1])


_solve_jit = jit(_solve_impl)
_solve_batch_jit = jit(
    lambda flow, v0s, ts, solver, rtol, atol, dt0, max_steps, bound: jax.vmap(
        lambda v0: _solve_impl(flow, v0, ts, solver, rtol, atol, dt0, max_steps, bound))(v0s))


def _prepare(flow, t1, saveat, solver, t0):
    if not isinstance(flow, Flow):
        raise ValueError(f"integrate needs a flows.Flow (e.g. flows.GradientFlow(game)), got {type(flow).__name__}")
    if solver not in SOLVERS:
        raise ValueError(f"unknown ODE solver {solver!r}; choose from {', '.join(SOLVERS)}")
    if not (np.isfinite(t1) and t1 > t0):
        raise ValueError(f"t1={t1} must be finite and greater than t0={t0}")
    ts = np.array([t0, t1], dtype=float) if saveat is None else np.asarray(saveat, dtype=float).reshape(-1)
    if ts.size < 1 or np.any(np.diff(ts) < 0) or ts[0] < t0 or ts[-1] > t1 + 1e-12 * abs(t1):
        raise ValueError(f"saveat must be increasing times within [{t0}, {t1}]")
    if ts[0] != t0:
        ts = np.concatenate([[t0], ts])
    if ts[-1] != t1:
        ts = np.concatenate([ts, [t1]])
    return jnp.asarray(ts), SOLVERS[solver]()


def integrate(
    flow: Flow,
    z0: Any,
    t1: float,
    *,
    saveat: Any = None,
    solver: str = "tsit5",
    rtol: float = 1e-10,
    atol: float = 1e-10,
    dt0: float | None = None,
    max_steps: int = 100_000,
    bound: float = 1e8,
    t0: float = 0.0,
) -> Trajectory:
    """Integrate ``dz/dt = G(z)`` from `z0` over ``[t0, t1]``.

    **Arguments:**

    - `flow`: a ``flows.Flow`` (gradient, consensus, timescale, modified, ...).
    - `z0`: a state, or its flat vector.
    - `t1`: end time.
    - `saveat`: increasing times to save at (``t0`` and ``t1`` are added);
      default ``[t0, t1]``.
    - `solver`: a diffrax solver name (tsit5 default; kvaerno5 for stiff flows).
    - `rtol`, `atol`: adaptive step tolerances.
    - `dt0`: a fixed step instead of adaptive stepping.
    - `max_steps`: solver step limit (exceeding it: status ``failed``).
    - `bound`: a state entry beyond this magnitude counts as ``diverged``.

    **Returns:**

    A [`Trajectory`][] with status ``completed``, ``failed`` or ``diverged``.

    References: P. Kidger, "On neural differential equations", 2021 (diffrax).
    """
    ts, solver_obj = _prepare(flow, t1, saveat, solver, t0)
    v0 = _flat_start(flow.game, z0)
    return _solve_jit(flow, v0, ts, solver_obj, float(rtol), float(atol), dt0, int(max_steps), float(bound))


def integrate_batch(flow: Flow, z0s: Any, t1: float, **kwargs: Any) -> Trajectory:
    """[`integrate`][] vmapped over flat starts ``z0s`` of shape ``(B, dim)``."""
    saveat = kwargs.pop("saveat", None)
    solver = kwargs.pop("solver", "tsit5")
    t0 = kwargs.pop("t0", 0.0)
    ts, solver_obj = _prepare(flow, t1, saveat, solver, t0)
    v0s = jnp.asarray(z0s, dtype=float)
    dim = flows.state_size(flow.game.template())
    if v0s.ndim != 2 or v0s.shape[1] != dim:
        raise ValueError(f"z0s has shape {tuple(v0s.shape)}, expected (B, {dim})")
    if not bool(jnp.all(jnp.isfinite(v0s))):
        raise ValueError("z0s has non-finite entries")
    return _solve_batch_jit(flow, v0s, ts, solver_obj, float(kwargs.pop("rtol", 1e-10)),
                            float(kwargs.pop("atol", 1e-10)), kwargs.pop("dt0", None),
                            int(kwargs.pop("max_steps", 100_000)), float(kwargs.pop("bound", 1e8)))
