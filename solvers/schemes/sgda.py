"""Simultaneous gradient descent-ascent, and its two-timescale form.

References: M. Rosca, Y. Wu, B. Dherin, D. Barrett, "Discretization drift in
two-player games", ICML 2021 (its modified flow); M. Heusel et al., "GANs
trained by a two time-scale update rule converge to a local Nash
equilibrium", NeurIPS 2017.
"""

from __future__ import annotations

from typing import ClassVar

from gameflow.flows.params import param

from .base import Scheme, drift_terms, player_step


def _step(self, game, z, state, lr):
    return player_step(z, game.vector_field(z), lr), state


def _has_hand_modified(self) -> bool:
    return True


def _modified_field(self, game, z, h):
    _, _, _, df, jdf = drift_terms(game, self, z)
    return df - 0.5 * h * jdf


class SGDA(Scheme):
    """Simultaneous gradient descent-ascent: ``z_i ← z_i + lr_i F_i(z)``.

    Modified flow: ``DF - (h/2) D J D F`` (``D`` the per-coordinate rates,
    ``J = ∂F``).
    """

    name: ClassVar[str] = "sgda"

    step = _step
    has_hand_modified = _has_hand_modified
    modified_field = _modified_field


class TTUR(Scheme):
    """Two-timescale simultaneous GDA: sgda whose y-rate is `ratio` times the x-rate (default 2)."""

    rates: tuple[float, ...] | None = param(
        (1.0, 2.0), "per-player multipliers of the learning rate (r1/r2/...; two players: ratio=TAU gives 1/TAU)",
        kind="rates", kw_only=True)
    name: ClassVar[str] = "ttur"

    step = _step
    has_hand_modified = _has_hand_modified
    modified_field = _modified_field
