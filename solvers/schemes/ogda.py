"""Optimistic gradient descent-ascent.

References: C. Daskalakis, A. Ilyas, V. Syrgkanis, H. Zeng, "Training GANs
with optimism", ICLR 2018; M. Rosca, Y. Wu, B. Dherin, D. Barrett,
"Discretization drift in two-player games", ICML 2021.
"""

from __future__ import annotations

from typing import ClassVar

import jax

from .base import Scheme, drift_terms, player_step


class OGDA(Scheme):
    """Optimistic GDA: ``z_{k+1} = z_k + lr (2 F(z_k) - F(z_{k-1}))``.

    The state is the previous field; it starts at ``F(z_0)``, so the first
    step is plain GDA.  Modified flow along the principal root of the
    two-step recursion: ``DF + (h/2) D J D F``.
    """

    name: ClassVar[str] = "ogda"
    stateless: ClassVar[bool] = False

    def init(self, game, z):
        return game.vector_field(z)

    def step(self, game, z, state, lr):
        f = game.vector_field(z)
        g = jax.tree.map(lambda a, b: 2 * a - b, f, state)
        return player_step(z, g, lr), f

    def has_hand_modified(self) -> bool:
        return True

    def modified_field(self, game, z, h):
        _, _, _, df, jdf = drift_terms(game, self, z)
        return df + 0.5 * h * jdf
