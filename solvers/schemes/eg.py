"""Extragradient, simultaneous or with an alternating extrapolation.

References: G. Korpelevich, "The extragradient method for finding saddle
points and other problems", 1976; M. Rosca, Y. Wu, B. Dherin, D. Barrett,
"Discretization drift in two-player games", ICML 2021.
"""

from __future__ import annotations

from typing import ClassVar

from gameflow.flows.params import param

from .base import Scheme, drift_terms, player_step, replace_player


class EG(Scheme):
    """Extragradient: ``z ← z + lr F(z + lr F(z))``.

    With ``alternating=True`` the extrapolation is an alternating sweep
    (players in order, each seeing the others' extrapolated states) and the
    update is taken from ``z`` with the field at the extrapolated point.
    Modified flow (simultaneous form): ``DF + (h/2) D J D F``.
    """

    alternating: bool = param(False, "alternating extrapolation (players in turn)")
    name: ClassVar[str] = "eg"

    def step(self, game, z, state, lr):
        if self.alternating:
            zh = z
            for i in range(len(z)):
                zh = replace_player(zh, i, player_step((zh[i],), (game.vector_field(zh)[i],), lr[i : i + 1])[0])
        else:
            zh = player_step(z, game.vector_field(z), lr)
        return player_step(z, game.vector_field(zh), lr), state

    def has_hand_modified(self) -> bool:
        return not self.alternating

    def modified_field(self, game, z, h):
        if self.alternating:
            return super().modified_field(game, z, h)
        _, _, _, df, jdf = drift_terms(game, self, z)
        return df + 0.5 * h * jdf
