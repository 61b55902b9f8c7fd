"""Spiral attractors measured from trajectories.

Near a stable spiral with eigenvalues ``α ± iβ`` a trajectory turns at
``β / 2π`` turns per unit time and shrinks by ``exp(2π α / |β|)`` per turn.
[`spiral_stats`][] measures both from a (projected) trajectory, so the
picture can be checked against the spectrum.

References: A. González-Prieto, A. Mozo, E. Talavera, S. Gómez-Canaval,
"Dynamics of Fourier modes in torus generative adversarial networks", 2021.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np


class SpiralStats(NamedTuple):
    """Measured spiral: `turns_per_time` (signed: + counter-clockwise), `contraction_per_turn`, `turns` observed."""

    turns_per_time: float
    contraction_per_turn: float
    turns: float


def spiral_stats(ts: Any, xy: Any, center: Any = (0.0, 0.0)) -> SpiralStats:
    """Rotation number and contraction per turn of a planar trajectory around `center`.

    Fits, by least squares over the whole trajectory, the unwrapped angle and
    the log radius against time.

    **Arguments:**

    - `ts`: times, shape ``(n,)``.
    - `xy`: points, shape ``(n, 2)`` (a 2-D projection for larger games).
    - `center`: the equilibrium.

    **Returns:**

    A [`SpiralStats`][]; ``contraction_per_turn`` is ``nan`` when the
    trajectory does not turn.
    """
    ts = np.asarray(ts, float)
    xy = np.asarray(xy, float) - np.asarray(center, float)
    if xy.ndim != 2 or xy.shape[1] != 2 or xy.shape[0] != ts.shape[0] or ts.size < 3:
        raise ValueError(f"spiral_stats needs times (n,) and points (n, 2) with n >= 3, got {ts.shape}, {xy.shape}")
    r = np.hypot(xy[:, 0], xy[:, 1])
    if np.any(r <= 0) or not np.all(np.isfinite(r)):
        raise ValueError("the trajectory passes through the center or is not finite")
    angle = np.unwrap(np.arctan2(xy[:, 1], xy[:, 0]))
    omega = np.polyfit(ts, angle, 1)[0]
    alpha = np.polyfit(ts, np.log(r), 1)[0]
    turns = abs(angle[-1] - angle[0]) / (2 * math.pi)
    per_turn = math.exp(2 * math.pi * alpha / abs(omega)) if abs(omega) > 0 else float("nan")
    return SpiralStats(omega / (2 * math.pi), per_turn, turns)


def spiral_theory(eigenvalues: Any) -> SpiralStats | None:
    """What a stable spiral's eigenvalues predict (``None`` unless there is a complex pair)."""
    eigs = np.asarray(eigenvalues, complex)
    pair = [e for e in eigs if e.imag > 0]
    if not pair:
        return None
    lam = max(pair, key=lambda e: e.real)  # the slowest pair dominates late times
    return SpiralStats(lam.imag / (2 * math.pi), math.exp(2 * math.pi * lam.real / lam.imag), float("nan"))
