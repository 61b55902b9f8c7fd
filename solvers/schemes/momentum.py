"""Heavy-ball gradient descent-ascent, negative momentum included.

References: G. Gidel, R. Askari Hemmat, M. Pezeshki, R. Le Priol, G. Huang,
S. Lacoste-Julien, I. Mitliagkas, "Negative momentum for improved game
dynamics", AISTATS 2019.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from gameflow.flows.params import param

from .base import Scheme, coord_rates, player_step, scaled_field


class Momentum(Scheme):
    """Heavy-ball GDA: ``v ← β v + F(z)``, ``z ← z + lr v`` (``β < 0``: negative momentum).

    Its continuous limit is the gradient flow sped up by ``1 / (1 - β)``.
    """

    beta: float = param(0.5, "momentum (< 0: negative momentum)", low=-1, high=1, strict=True)
    name: ClassVar[str] = "momentum"
    stateless: ClassVar[bool] = False

    def init(self, game, z):
        return jax.tree.map(jnp.zeros_like, eqx.filter(game.vector_field(z), eqx.is_inexact_array))

    def step(self, game, z, state, lr):
        v = jax.tree.map(lambda a, b: self.beta * a + b, state, game.vector_field(z))
        return player_step(z, v, lr), v

    def limit_field(self, game, z):
        return scaled_field(game, z, coord_rates(game, self, z) / (1.0 - self.beta))
