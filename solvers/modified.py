"""Continuous limits of discrete schemes: leading-order and modified flows.

For a one-step scheme ``z_{k+1} = Φ_h(z_k) = z + h Φ₁(z) + h² Φ₂(z) + O(h³)``
the iterates follow, to ``O(h)``, the flow ``ż = Φ₁`` (the *leading-order*
flow: the game's field scaled by the per-player rates and inner step counts)
and, to ``O(h²)``, the *modified* flow (backward error analysis)

    ż = Φ₁ + h (Φ₂ - ½ (∂Φ₁) Φ₁),

whose time-``h`` map matches ``Φ_h`` to third order.  [`ModifiedFlow`][]
computes ``Φ₁`` and ``Φ₂`` automatically by differentiating the jitted step
map in ``h`` (forward mode, twice), for any stateless scheme.  The
hand-derived forms (``D`` the per-coordinate rates, ``J = ∂F``) are

- sgda: ``DF - (h/2) D J D F``;
- agda (one step each, player order ``x`` then ``y``): the same, but the
  later player's cross term changes sign: ``+ (h/2) D_y J_yx D_x F_x``
  instead of ``-(h/2) D_y J_yx D_x F_x``;
- eg and ogda: ``DF + (h/2) D J D F`` (for ogda along the principal root of
  the two-step recursion).

References: M. Rosca, Y. Wu, B. Dherin, D. Barrett, "Discretization drift in
two-player games", ICML 2021; E. Hairer, C. Lubich, G. Wanner, "Geometric
numerical integration", ch. IX.
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from gameflow import flows
from gameflow.flows import Game, State

from .schemes import Scheme

METHODS = ("auto", "hand")


def step_map(game: Game, scheme: Scheme) -> Any:
    """The flat step map ``(v, h) -> Φ_h(v)`` of a stateless scheme."""
    if not scheme.stateless:
        raise ValueError(f"{scheme.name} carries state between steps: it has no one-step map Φ_h(z)")
    _, unravel = flows.ravel_state(game.template())

    def phi(v, h):
        z = unravel(v)
        z2, _ = scheme.step(game, z, scheme.init(game, z), scheme.lr_vector(h, game.n_players))
        return flows.ravel_state(z2)[0]

    return phi


def taylor_coefficients(game: Game, scheme: Scheme, v: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(Φ₁(v), Φ₂(v))``: first and second Taylor coefficients of the step map in ``h`` at 0."""
    phi = step_map(game, scheme)
    zero = jnp.zeros((), v.dtype)
    one = jnp.ones((), v.dtype)

    def d1(h):
        return jax.jvp(lambda hh: phi(v, hh), (h,), (one,))[1]

    p1, p2 = jax.jvp(d1, (zero,), (one,))
    return p1, 0.5 * p2


def _leading_auto(game, scheme, v):
    phi = step_map(game, scheme)
    return jax.jvp(lambda hh: phi(v, hh), (jnp.zeros((), v.dtype),), (jnp.ones((), v.dtype),))[1]


def leading_auto(game: Game, scheme: Scheme, v: jax.Array) -> jax.Array:
    """``Φ₁(v)``: the derivative in ``h`` at 0 of a stateless scheme's step map (flat).

    Used to *check* each scheme's declared continuous limit (they must agree
    to rounding), never as the limit a scheme is compared against.
    """
    phi = step_map(game, scheme)
    return jax.jvp(lambda hh: phi(v, hh), (jnp.zeros((), v.dtype),), (jnp.ones((), v.dtype),))[1]


class LeadingFlow(flows.Flow):
    """``ż = G(z)``: the scheme's *declared* continuous limit (error ``O(h)``).

    ``G`` is [`Scheme.limit_field`][gameflow.solvers.Scheme.limit_field], built from the game alone: the game's
    field at the per-player rates (times the inner step counts of alternating
    GDA, over ``1 - β`` for heavy-ball momentum), or the consensus or SGA
    field.  It is never derived from the scheme's own step, so a scheme that
    does not move like its declaration fails the comparison.
    """

    game: Game
    scheme: Scheme
    name: ClassVar[str] = "gradient"

    def __check_init__(self):
        self.scheme.limit_field(self.game, self.game.template())  # raises where no limit is declared

    def field(self, z: State) -> State:
        return self.scheme.limit_field(self.game, z)

    def params(self) -> dict[str, Any]:
        return {"scheme": self.scheme.name, **self.scheme.params()}


class ModifiedFlow(flows.Flow):
    """The modified flow of a scheme at learning rate `h` (error ``O(h²)``).

    **Arguments:**

    - `game`, `scheme`: the game and the scheme.
    - `h`: the base learning rate.
    - `method`: ``"auto"`` (Taylor expansion of the step map; stateless
      schemes) or ``"hand"`` (the closed forms of the module docstring:
      sgda, agda with one step per player, eg, ogda).  ``"auto"`` falls back
      to the hand form for ogda, which carries state.
    """

    game: Game
    scheme: Scheme
    h: float
    method: str = "auto"
    name: ClassVar[str] = "modified"

    def __check_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"modified flow: method={self.method!r} is not one of {', '.join(METHODS)}")
        if self.method == "hand" or not self.scheme.stateless:
            if not self.scheme.has_hand_modified():
                kind = "hand-derived" if self.scheme.stateless else "one-step (stateless)"
                raise ValueError(f"modified flow: {self.scheme.name} {self.scheme.params()} has no {kind} form; "
                                 "hand forms exist for sgda, ttur, agda (n_g = n_d = 1), eg, ogda")

    def field(self, z: State) -> State:
        v, unravel = flows.ravel_state(z)
        if self.method == "auto" and self.scheme.stateless:
            p1, p2 = taylor_coefficients(self.game, self.scheme, v)
            _, jp1 = jax.jvp(lambda u: leading_auto(self.game, self.scheme, u), (v,), (p1,))
            return unravel(p1 + self.h * (p2 - 0.5 * jp1))
        return unravel(self.scheme.modified_field(self.game, z, self.h))

    def params(self) -> dict[str, Any]:
        return {"scheme": self.scheme.name, "h": float(self.h), "method": self.method, **self.scheme.params()}


def continuous_limit(game: Game, scheme: Scheme, h: float, against: str = "gradient",
                     method: str = "auto") -> flows.Flow:
    """The flow a scheme is compared against: ``"gradient"`` (leading order) or ``"modified"``."""
    if against == "gradient":
        return LeadingFlow(game, scheme)
    if against == "modified":
        # h as an array: traced, so the flows at several step sizes share one compiled solve.
        return ModifiedFlow(game, scheme, jnp.asarray(h, dtype=float), method)
    raise ValueError(f"against={against!r} is not one of gradient, modified")


__all__ = ["LeadingFlow", "ModifiedFlow", "continuous_limit", "leading_auto", "step_map", "taylor_coefficients"]
