"""Consensus as a field and as a regularizer of a game.

Consensus optimization (Mescheder, Nowozin, Geiger 2017) replaces a game's
field ``F`` by ``F - γ ∇_z ½|F(z)|²``: every player also descends the common
potential ``½|F|²``.  [`consensus_field`][] computes it; [`ConsensusGame`][]
is the game whose field it is, so that any scheme — alternating gradient
descent-ascent in particular, whose players each see the others' latest
state — can use consensus as a regularizer of the players' fields instead of
as its own simultaneous scheme.  At an equilibrium (``F = 0``) its Jacobian
is ``J - γ JᵀJ``.

References: L. Mescheder, S. Nowozin, A. Geiger, "The numerics of GANs",
NeurIPS 2017 (section 3.2, consensus optimization; the regularizer
``L = ½|v|²`` added to both players' losses).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from .game import Game
from .state import State


def consensus_field(game: Game, z: State, gamma: Any) -> State:
    """``F(z) - γ ∇_z ½|F(z)|²`` as a state.

    **Arguments:**

    - `game`: the game (its field ``F``).
    - `z`: the state.
    - `gamma`: the consensus weight ``γ ≥ 0`` (may be traced).

    **Returns:**

    The regularized field, with the structure of `z`.
    """

    def half_sq_norm(z_):
        f = game.vector_field(z_)
        return 0.5 * sum(jnp.sum(a**2) for a in jax.tree.leaves(eqx.filter(f, eqx.is_array)))

    f = game.vector_field(z)
    g = eqx.filter_grad(half_sq_norm)(z)
    return jax.tree.map(lambda fi, gi: fi - gamma * gi, f, g)


class ConsensusGame(Game):
    """A game with the consensus term added to every player's field.

    The players, constraints, equilibria and metrics are the wrapped game's;
    only the field changes: ``F - γ ∇ ½|F|²``.  Schemes that take one
    player's field at a time (``agda``) see each player's regularized
    component at the latest state.

    **Arguments:**

    - `game`: the game to regularize.
    - `gamma`: the consensus weight ``γ ≥ 0``.
    """

    game: Game
    gamma: Any = 1.0

    def __check_init__(self):
        if not isinstance(self.gamma, jax.core.Tracer) and not float(self.gamma) >= 0:
            raise ValueError(f"consensus: gamma={self.gamma} must be >= 0")

    def template(self) -> State:
        return self.game.template()

    def vector_field(self, z: State) -> State:
        return consensus_field(self.game, z, self.gamma)

    def equilibrium(self) -> State | None:
        return self.game.equilibrium()

    def start(self) -> State | None:
        return self.game.start()

    @property
    def constrained(self) -> bool:
        return self.game.constrained

    def project(self, z: State) -> State:
        return self.game.project(z)

    def coordinate_names(self) -> tuple[str, ...]:
        return self.game.coordinate_names()

    def metrics(self, z: State) -> dict[str, float]:
        return self.game.metrics(z)
