"""Alternating gradient descent-ascent.

References: M. Rosca, Y. Wu, B. Dherin, D. Barrett, "Discretization drift in
two-player games", ICML 2021 (its modified flow); G. Gidel et al., "Negative
momentum for improved game dynamics", AISTATS 2019.
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from gameflow import flows
from gameflow.flows.params import param

from .base import Scheme, coord_rates, drift_terms, player_masks, player_step, replace_player, scaled_field


class AGDA(Scheme):
    """Alternating gradient descent-ascent (n_g, n_d inner steps; order xy or yx).

    Players update in `order` (default: 0, 1, ..., n-1), player 0 taking
    `n_g` steps and every other player `n_d`, each seeing the others' latest
    states.  ``order = (1, 0)`` lets the discriminator move first.  Its
    continuous limit is the gradient flow with player 0 at ``n_g`` and the
    others at ``n_d`` times their rates.  Modified flow (one step each): as
    sgda's, but a later player's cross term changes sign,
    ``+ (h/2) D_y J_yx D_x F_x`` instead of ``-(h/2) D_y J_yx D_x F_x``.
    """

    n_g: int = param(1, "inner steps of player 0 (the generator)", low=1)
    n_d: int = param(1, "inner steps of every other player", low=1)
    order: tuple[int, ...] | None = param(None, "update order: xy, yx, or a permutation 0/2/1", kind="order")
    consensus: float = param(0.0, "consensus regularizer: each player follows its part of F - c grad |F|^2/2",
                             low=0)
    name: ClassVar[str] = "agda"

    def regularized(self, game):
        """The game whose field the players follow: `game`, or its consensus-regularized form."""
        if isinstance(self.consensus, (int, float)) and self.consensus == 0:
            return game  # no extra gradient of |F|² for plain agda
        return flows.ConsensusGame(game, self.consensus)

    def player_order(self, n_players: int) -> tuple[int, ...]:
        """The update order for a game of `n_players` players."""
        order = tuple(range(n_players)) if self.order is None else self.order
        if len(order) != n_players:
            raise ValueError(f"agda: order={order} names {len(order)} players, the game has {n_players}")
        return order

    def counts(self, n_players: int) -> tuple[int, ...]:
        """Inner steps per player (``n_g`` for player 0, ``n_d`` for the others)."""
        return (self.n_g,) + (self.n_d,) * (n_players - 1)

    def step(self, game, z, state, lr):
        game = self.regularized(game)
        n = len(z)
        counts = self.counts(n)
        for i in self.player_order(n):
            for _ in range(counts[i]):
                fi = game.vector_field(z)[i]
                z = replace_player(z, i, player_step((z[i],), (fi,), lr[i : i + 1])[0])
        return z, state

    def limit_field(self, game, z):
        n = game.n_players
        scale = self.lr_vector(1.0, n) * jnp.asarray(self.counts(n), dtype=float)
        return scaled_field(self.regularized(game), z, coord_rates(game, self, z, scale))

    def has_hand_modified(self) -> bool:
        return self.n_g == 1 and self.n_d == 1

    def modified_field(self, game, z, h):
        if not self.has_hand_modified():
            return super().modified_field(game, z, h)
        # The hand-derived form holds for any field: here the (regularized) one the players follow.
        v, _, F, df, jdf = drift_terms(self.regularized(game), self, z)
        d = coord_rates(game, self, z)
        # Φ₂ for player i is d_i Σ_{j before i} J_ij d_j F_j.
        masks = player_masks(z)
        phi2 = jnp.zeros_like(v)
        before = jnp.zeros_like(v)
        for k, i in enumerate(self.player_order(len(z))):
            if k > 0:  # the first player to move sees no one's update
                phi2 = phi2 + masks[i] * d * jax.jvp(F, (v,), (before * df,))[1]
            before = before + masks[i]
        return df + h * (phi2 - 0.5 * jdf)
