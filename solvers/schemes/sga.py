"""Symplectic gradient adjustment.

References: D. Balduzzi, S. Racanière, J. Martens, J. Foerster, K. Tuyls,
T. Graepel, "The mechanics of n-player differentiable games", ICML 2018.
"""

from __future__ import annotations

from typing import ClassVar

import jax
from gameflow import flows
from gameflow.flows.params import param

from .base import Scheme, coord_rates, player_step, scaled_field


def adjusted_field(game, z, lam):
    """``F + (λ/2)(J - Jᵀ) F`` (flat), with ``J = ∂F`` at `z`."""
    v, unravel = flows.ravel_state(z)

    def F(u):
        return flows.ravel_field(game.vector_field(unravel(u)))

    f_flat = F(v)
    _, jf = jax.jvp(F, (v,), (f_flat,))
    _, vjp = jax.vjp(F, v)
    (jtf,) = vjp(f_flat)
    return f_flat + 0.5 * lam * (jf - jtf)


class SGA(Scheme):
    """Symplectic gradient adjustment: ``z ← z + lr (F + λ Aᵀξ)``, ``ξ = -F``.

    With ``A = ½(∇ξ - ∇ξᵀ)`` the antisymmetric part of the game Jacobian, the
    adjusted direction is ``F + (λ/2)(J - Jᵀ) F`` with ``J = ∂F`` (fixed
    ``λ``; the sign-alignment heuristic of Balduzzi et al. is not applied).
    Its continuous limit is the flow of the adjusted field.
    """

    lam: float = param(1.0, "weight of the adjustment")
    name: ClassVar[str] = "sga"

    def step(self, game, z, state, lr):
        _, unravel = flows.ravel_state(z)
        return player_step(z, unravel(adjusted_field(game, z, self.lam)), lr), state

    def limit_field(self, game, z):
        _, unravel = flows.ravel_state(z)
        return scaled_field(game, z, coord_rates(game, self, z), unravel(adjusted_field(game, z, self.lam)))
