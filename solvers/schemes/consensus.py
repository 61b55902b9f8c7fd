"""Consensus optimization.

References: L. Mescheder, S. Nowozin, A. Geiger, "The numerics of GANs", NeurIPS 2017.
"""

from __future__ import annotations

from typing import ClassVar

from gameflow import flows
from gameflow.flows.params import param

from .base import Scheme, coord_rates, player_step, scaled_field


class Consensus(Scheme):
    """Consensus optimization: ``z ← z + lr (F - γ ∇ ½|F|²)``; its limit is the consensus flow."""

    gamma: float = param(1.0, "weight of the consensus term", low=0)
    name: ClassVar[str] = "consensus"

    def step(self, game, z, state, lr):
        return player_step(z, flows.ConsensusFlow(game, self.gamma).field(z), lr), state

    def limit_field(self, game, z):
        return scaled_field(game, z, coord_rates(game, self, z), flows.ConsensusFlow(game, self.gamma).field(z))
