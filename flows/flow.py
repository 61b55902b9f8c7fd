"""Continuous-time flows derived from a game.

A flow is an ODE ``dz/dt = G(z)`` on the game's state.  Each flow is an
``equinox`` module holding its game and its own parameters, callable with
diffrax's signature ``G(t, z, args)``, so it can be integrated directly and
analysed (Jacobian, spectrum) like any vector field.

- [`GradientFlow`][]: ``G = F``, the small-learning-rate limit of
  simultaneous gradient descent-ascent.
- [`ConsensusFlow`][]: ``G = F - γ ∇(|F|²/2) = F - γ Jᵀ F`` (Mescheder,
  Nowozin, Geiger 2017, "The numerics of GANs").
- [`TimescaleFlow`][]: ``G_i = τ_i F_i``, per-player learning-rate ratios
  (two-timescale updates).
"""

from __future__ import annotations

import abc
import math
from typing import Any, ClassVar

import equinox as eqx
import jax

from .consensus import consensus_field
from .game import Game
from .state import State


class Flow(eqx.Module):
    """A vector field ``G(z)`` built from a game; callable as ``G(t, z, args)``."""

    game: eqx.AbstractVar[Game]
    name: ClassVar[str]
    #: One line for ``gameflow`` help texts and the README.
    description: ClassVar[str] = ""
    #: The flow's parameters: ``{name: help}`` (``--flow NAME:k=v,...``).
    options: ClassVar[dict[str, str]] = {}

    @classmethod
    def build(cls, game: Game, **params: Any) -> Flow:
        """The flow of `game` with `params` (already checked against ``options``); override to convert."""
        return cls(game, **params)

    @abc.abstractmethod
    def field(self, z: State) -> State:
        """The flow's velocity at state `z` (same structure as `z`)."""

    def __call__(self, t: Any, z: State, args: Any = None) -> State:
        return self.field(z)

    def params(self) -> dict[str, Any]:
        """The flow's own parameters, for reports."""
        return {}


class GradientFlow(Flow):
    """``dz/dt = F(z)``: the game's own vector field."""

    game: Game
    name: ClassVar[str] = "gradient"
    description: ClassVar[str] = "dz/dt = F(z), the small-learning-rate limit of simultaneous GDA"

    def field(self, z: State) -> State:
        return self.game.vector_field(z)


class ConsensusFlow(Flow):
    """``dz/dt = F(z) - γ ∇_z ½|F(z)|²`` (consensus optimization).

    At an equilibrium the Jacobian is ``J - γ JᵀJ``; for the Dirac-GAN the
    centre ``±i a`` becomes the stable spiral ``-γ a² ± i a``.

    References: L. Mescheder, S. Nowozin, A. Geiger, "The numerics of GANs",
    NeurIPS 2017.
    """

    game: Game
    gamma: float = 1.0
    name: ClassVar[str] = "consensus"
    description: ClassVar[str] = "dz/dt = F - gamma * grad |F|^2/2 (params: gamma, default 1)"
    options: ClassVar[dict[str, str]] = {"gamma": "consensus weight, >= 0 (default 1)"}

    @classmethod
    def build(cls, game: Game, gamma: float = 1.0) -> ConsensusFlow:
        return cls(game, float(gamma))

    def __check_init__(self):
        if not isinstance(self.gamma, jax.core.Tracer) and not float(self.gamma) >= 0:
            raise ValueError(f"consensus: gamma={self.gamma} must be >= 0")

    def field(self, z: State) -> State:
        return consensus_field(self.game, z, self.gamma)

    def params(self) -> dict[str, Any]:
        return {"gamma": float(self.gamma)}


class TimescaleFlow(Flow):
    """``dz_i/dt = τ_i F_i(z)``: each player moves at its own rate.

    For two players ``rates = (1, τ)`` with ``τ`` the ratio of the second
    player's (the maximiser's) learning rate to the first's.
    """

    game: Game
    rates: tuple[float, ...] = (1.0, 1.0)
    name: ClassVar[str] = "timescale"
    description: ClassVar[str] = "dz_i/dt = tau_i F_i (params: tau = y-rate/x-rate, or rates=r1/r2/...)"
    options: ClassVar[dict[str, str]] = {"tau": "second player's rate over the first's (two players)",
                                         "rates": "one rate per player, r1/r2/..."}

    @classmethod
    def build(cls, game: Game, **params: Any) -> TimescaleFlow:
        if "rates" in params and "tau" in params:
            raise ValueError("flow timescale: give tau or rates, not both")
        if "rates" in params:
            rates = params["rates"]
            rates = tuple(float(r) for r in (rates if isinstance(rates, (list, tuple)) else [rates]))
            return cls(game, rates)
        return cls.ratio(game, float(params.get("tau", 1.0)))

    def __check_init__(self):
        n = self.game.n_players
        if len(self.rates) != n:
            raise ValueError(f"timescale: {len(self.rates)} rates given for {n} players")
        for r in self.rates:
            if not isinstance(r, jax.core.Tracer) and not (float(r) > 0 and math.isfinite(float(r))):
                raise ValueError(f"timescale: rate {r} must be positive and finite")

    @classmethod
    def ratio(cls, game: Game, tau: float) -> TimescaleFlow:
        """Two players, the second moving `tau` times faster than the first."""
        if game.n_players != 2:
            raise ValueError(f"timescale: tau needs a two-player game, this one has {game.n_players}")
        return cls(game, (1.0, tau))

    def field(self, z: State) -> State:
        f = self.game.vector_field(z)
        return tuple(jax.tree.map(lambda a, r=r: r * a, fi) for fi, r in zip(f, self.rates))

    def params(self) -> dict[str, Any]:
        if len(self.rates) == 2 and not isinstance(self.rates[0], jax.core.Tracer) and float(self.rates[0]) == 1.0:
            return {"tau": float(self.rates[1])}
        return {"rates": [float(r) for r in self.rates]}
