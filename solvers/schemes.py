"""Discrete schemes: pure ``init`` / ``step`` pairs on any game.

A scheme maps ``(z_k, state_k) -> (z_{k+1}, state_{k+1})`` at a learning rate.
``step(game, z, state, lr)`` receives `lr` as a **per-player vector** (shape
``(n_players,)``, a traced array, never a static float): the driver multiplies
the base learning rate by the scheme's `rates`, so two-timescale updates
(``ttur``) are one field away from any scheme and a sweep over learning rates
never recompiles.

Every scheme works on tuples of pytrees; the field is the game's descent
direction ``F`` (see ``flows.Game.vector_field``).

References:
- Extragradient: G. Korpelevich, 1976.  Optimistic GDA: C. Daskalakis,
  A. Ilyas, V. Syrgkanis, H. Zeng, "Training GANs with optimism", ICLR 2018.
- Consensus: L. Mescheder, S. Nowozin, A. Geiger, "The numerics of GANs", 2017.
- SGA: D. Balduzzi et al., "The mechanics of n-player differentiable games", 2018.
- Negative momentum: G. Gidel et al., "Negative momentum for improved game
  dynamics", AISTATS 2019.
- GDA-AM: H. He, S. Zhao, Y. Xi, J. Ho, Y. Saad, "GDA-AM: on the effectiveness
  of solving minimax optimization via Anderson mixing", ICLR 2022.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from gameflow import flows
from gameflow.flows import Game, State


def _axpy(a, x, y):
    """``y + a x`` over matching pytrees (``None`` leaves skipped)."""
    return jax.tree.map(lambda xi, yi: yi + a * xi, x, y)


def _player_step(z: State, f: State, lr: jax.Array) -> State:
    """``z_i + lr_i f_i`` for every player, only on floating leaves."""
    out = []
    for i, (zi, fi) in enumerate(zip(z, f)):
        dyn, static = eqx.partition(zi, eqx.is_inexact_array)
        out.append(eqx.combine(_axpy(lr[i], eqx.filter(fi, eqx.is_inexact_array), dyn), static))
    return tuple(out)


def _concrete(v: Any) -> bool:
    return not isinstance(v, jax.core.Tracer)


def _with(z: State, i: int, zi: Any) -> State:
    return z[:i] + (zi,) + z[i + 1 :]


class Scheme(eqx.Module):
    """A discrete scheme: ``init(game, z) -> state`` and ``step(game, z, state, lr)``.

    Subclasses are final and declare, as their last field, `rates`: per-player
    multipliers of the base learning rate (``None``: all 1).  (It is not
    declared here so that it stays last in every constructor.)
    """

    name: ClassVar[str]
    # Whether the step depends on z alone (no carried state): such schemes
    # get their modified flow derived automatically.
    stateless: ClassVar[bool] = True

    def init(self, game: Game, z: State) -> Any:
        """The scheme's extra state at the start (``None`` for one-step schemes)."""
        return None

    @abc.abstractmethod
    def step(self, game: Game, z: State, state: Any, lr: jax.Array) -> tuple[State, Any]:
        """One update at per-player learning rates `lr` (shape ``(n_players,)``)."""

    def lr_vector(self, lr: Any, n_players: int) -> jax.Array:
        """The per-player learning rates: the base `lr` times `rates`."""
        lr = jnp.asarray(lr, dtype=float)
        rates = getattr(self, "rates", None)
        if rates is None:
            return jnp.broadcast_to(lr, (n_players,)) if lr.ndim == 0 else lr
        if len(rates) != n_players:
            raise ValueError(f"{self.name}: {len(rates)} rates for {n_players} players")
        return lr * jnp.asarray(rates, dtype=float)

    def params(self) -> dict[str, Any]:
        """The scheme's parameters, for reports."""
        out = {}
        for field in dataclasses.fields(self):
            k, v = field.name, getattr(self, field.name)
            if k == "rates" and v is None:
                continue
            out[k] = list(v) if isinstance(v, tuple) else v
        return out


class SGDA(Scheme):
    """Simultaneous gradient descent-ascent: ``z_i ← z_i + lr_i F_i(z)``."""

    rates: tuple[float, ...] | None = None
    name: ClassVar[str] = "sgda"

    def step(self, game, z, state, lr):
        return _player_step(z, game.vector_field(z), lr), state


class AGDA(Scheme):
    """Alternating gradient descent-ascent.

    Players update in `order` (default: 0, 1, ..., n-1), player 0 taking
    `n_g` steps and every other player `n_d`, each seeing the others' latest
    states.  ``order = (1, 0)`` lets the discriminator move first.
    """

    n_g: int = 1
    n_d: int = 1
    order: tuple[int, ...] | None = None
    rates: tuple[float, ...] | None = None
    name: ClassVar[str] = "agda"

    def __check_init__(self):
        if not (isinstance(self.n_g, int) and isinstance(self.n_d, int) and self.n_g >= 1 and self.n_d >= 1):
            raise ValueError(f"agda: n_g={self.n_g}, n_d={self.n_d} must be integers >= 1")
        if self.order is not None and sorted(self.order) != list(range(len(self.order))):
            raise ValueError(f"agda: order={self.order} must be a permutation of the players 0..n-1")

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
        n = len(z)
        counts = self.counts(n)
        for i in self.player_order(n):
            for _ in range(counts[i]):
                fi = game.vector_field(z)[i]
                z = _with(z, i, _player_step((z[i],), (fi,), lr[i : i + 1])[0])
        return z, state


class EG(Scheme):
    """Extragradient: ``z ← z + lr F(z + lr F(z))``.

    With ``alternating=True`` the extrapolation is an alternating sweep
    (players in order, each seeing the others' extrapolated states) and the
    update is taken from ``z`` with the field at the extrapolated point.
    """

    alternating: bool = False
    rates: tuple[float, ...] | None = None
    name: ClassVar[str] = "eg"

    def step(self, game, z, state, lr):
        if self.alternating:
            zh = z
            for i in range(len(z)):
                zh = _with(zh, i, _player_step((zh[i],), (game.vector_field(zh)[i],), lr[i : i + 1])[0])
        else:
            zh = _player_step(z, game.vector_field(z), lr)
        return _player_step(z, game.vector_field(zh), lr), state


class OGDA(Scheme):
    """Optimistic GDA: ``z_{k+1} = z_k + lr (2 F(z_k) - F(z_{k-1}))``.

    The state is the previous field; it starts at ``F(z_0)``, so the first
    step is plain GDA.
    """

    rates: tuple[float, ...] | None = None
    name: ClassVar[str] = "ogda"
    stateless: ClassVar[bool] = False

    def init(self, game, z):
        return game.vector_field(z)

    def step(self, game, z, state, lr):
        f = game.vector_field(z)
        g = jax.tree.map(lambda a, b: 2 * a - b, f, state)
        return _player_step(z, g, lr), f


class Consensus(Scheme):
    """Consensus optimization: ``z ← z + lr (F - γ ∇ ½|F|²)``."""

    gamma: float = 1.0
    rates: tuple[float, ...] | None = None
    name: ClassVar[str] = "consensus"

    def __check_init__(self):
        if _concrete(self.gamma) and not float(self.gamma) >= 0:
            raise ValueError(f"consensus: gamma={self.gamma} must be >= 0")

    def step(self, game, z, state, lr):
        return _player_step(z, flows.ConsensusFlow(game, self.gamma).field(z), lr), state


class SGA(Scheme):
    """Symplectic gradient adjustment: ``z ← z + lr (F + λ Aᵀξ)``, ``ξ = -F``.

    With ``A = ½(∇ξ - ∇ξᵀ)`` the antisymmetric part of the game Jacobian, the
    adjusted direction is ``F + (λ/2)(J - Jᵀ) F`` with ``J = ∂F``.  (Fixed
    ``λ``; the sign-alignment heuristic of Balduzzi et al. is not applied.)
    """

    lam: float = 1.0
    rates: tuple[float, ...] | None = None
    name: ClassVar[str] = "sga"

    def step(self, game, z, state, lr):
        f_flat, unravel_f = _flat_field_at(game, z)
        v, unravel = flows.ravel_state(z)

        def F(u):
            return flows.ravel_field(game.vector_field(unravel(u)))

        _, jf = jax.jvp(F, (v,), (f_flat,))
        _, vjp = jax.vjp(F, v)
        (jtf,) = vjp(f_flat)
        adj = f_flat + 0.5 * self.lam * (jf - jtf)
        return _player_step(z, unravel_f(adj), lr), state


def _flat_field_at(game, z):
    v, unravel = flows.ravel_state(z)
    return flows.ravel_field(game.vector_field(z)), unravel


class Momentum(Scheme):
    """Heavy-ball GDA: ``v ← β v + F(z)``, ``z ← z + lr v`` (``β < 0``: negative momentum)."""

    beta: float = 0.5
    rates: tuple[float, ...] | None = None
    name: ClassVar[str] = "momentum"
    stateless: ClassVar[bool] = False

    def __check_init__(self):
        if _concrete(self.beta) and not -1 < float(self.beta) < 1:
            raise ValueError(f"momentum: beta={self.beta} must lie in (-1, 1)")

    def init(self, game, z):
        return jax.tree.map(jnp.zeros_like, eqx.filter(game.vector_field(z), eqx.is_inexact_array))

    def step(self, game, z, state, lr):
        v = jax.tree.map(lambda a, b: self.beta * a + b, state, game.vector_field(z))
        return _player_step(z, v, lr), v


class AndersonState(eqx.Module):
    """History of Anderson mixing: the last ``m + 1`` iterates and base images."""

    xs: jax.Array  # (m + 1, n) flat iterates, newest last
    gs: jax.Array  # (m + 1, n) base-scheme images
    count: jax.Array  # how many rows are filled


class Anderson(Scheme):
    """GDA-AM: type-II Anderson mixing of depth `m` over a base scheme.

    With ``g`` one step of the base scheme and residuals ``f_j = g(x_j) - x_j``,
    the next iterate is ``g(x_k) - ΔG γ`` where ``γ`` minimises
    ``|f_k - ΔF γ|`` over the last `m` differences (Tikhonov-regularised by
    a least-squares solve that drops singular values below `reg` times the
    larger of ``|ΔF|`` and ``|f_k|``, so the step is defined at start-up, near
    convergence and when the history repeats a point).  The base scheme must be stateless.

    The default base is alternating GDA.  Over simultaneous GDA on a bilinear
    game the first mixing step is exactly ``γ = 1`` (``F₁ - F₀ = hJF₀ ⟂ F₀``
    for skew ``J``) and the next iterate repeats the last one: the known
    breakdown of Anderson mixing when GMRES stagnates: it repeats the point for ``m`` steps, then (its history all
    duplicates) takes one plain GDA step, and so moves like GDA slowed
    ``(m + 1)``-fold.  Over alternating GDA (or extragradient) with ``m`` at least
    the dimension it converges where the base cycles.
    """

    m: int = 5
    base: str = "agda"
    reg: float = 1e-10
    rates: tuple[float, ...] | None = None
    name: ClassVar[str] = "anderson"
    stateless: ClassVar[bool] = False

    def __check_init__(self):
        if not (isinstance(self.m, int) and self.m >= 1):
            raise ValueError(f"anderson: m={self.m} must be an integer >= 1")
        if self.base not in ("sgda", "agda", "eg", "consensus", "sga"):
            raise ValueError(f"anderson: base={self.base!r} must be one of sgda, agda, eg, consensus, sga")

    def _base(self) -> Scheme:
        return {"sgda": SGDA, "agda": AGDA, "eg": EG, "consensus": Consensus, "sga": SGA}[self.base]()

    def init(self, game, z):
        v, _ = flows.ravel_state(z)
        zeros = jnp.zeros((self.m + 1, v.size), v.dtype)
        return AndersonState(zeros, zeros, jnp.zeros((), jnp.int32))

    def step(self, game, z, state, lr):
        v, unravel = flows.ravel_state(z)
        gz, _ = self._base().step(game, z, None, lr)
        g = flows.ravel_state(gz)[0]
        xs = jnp.roll(state.xs, -1, axis=0).at[-1].set(v)
        gs = jnp.roll(state.gs, -1, axis=0).at[-1].set(g)
        count = jnp.minimum(state.count + 1, self.m + 1)
        fs = gs - xs
        dF = (fs[1:] - fs[:-1]).T  # (n, m): newest differences last
        dG = (gs[1:] - gs[:-1]).T
        # Differences that reach into unfilled rows are masked out.
        valid = jnp.arange(self.m) >= (self.m + 1 - count)
        dF = dF * valid
        dG = dG * valid
        # Least squares by SVD.  The cut-off is relative to the residual's own
        # scale, not only to ΔF's: when the history repeats a point, ΔF is
        # rounding noise and must not be inverted.  Masked (zero) columns and
        # a degenerate history give coefficient 0, not 0/0.
        u, sv, vt = jnp.linalg.svd(dF, full_matrices=False)
        cut = self.reg * jnp.maximum(sv[0], jnp.linalg.norm(fs[-1]))
        keep = sv > cut
        inv = jnp.where(keep, 1.0 / jnp.where(keep, sv, 1.0), 0.0)
        coef = vt.T @ (inv * (u.T @ fs[-1]))
        new = g - dG @ coef
        return unravel(new), AndersonState(xs, gs, count)


OPTAX = {
    "adam": optax.adam,
    "rmsprop": optax.rmsprop,
    "sgd": optax.sgd,
    "oadam": optax.optimistic_adam_v2,
    "ogd": optax.optimistic_gradient_descent,
}


class Optax(Scheme):
    """Any optax optimizer, run per player on the gradient of its own loss.

    Each player gets its own optimizer state; the transformation is built at
    each step with the traced learning rate.  `options` are keyword arguments
    of the optax factory
    (``b1``, ``b2``, ``eps``, ``decay``, ``momentum``, ...).
    """

    optimizer: str = "adam"
    options: tuple[tuple[str, float], ...] = ()
    rates: tuple[float, ...] | None = None
    name: ClassVar[str] = "optax"
    stateless: ClassVar[bool] = False

    def __check_init__(self):
        if self.optimizer not in OPTAX:
            raise ValueError(f"optax: optimizer={self.optimizer!r} is not one of {', '.join(OPTAX)}")

    def _tx(self, lr):
        return OPTAX[self.optimizer](learning_rate=lr, **dict(self.options))

    def init(self, game, z):
        return tuple(self._tx(1.0).init(eqx.filter(zi, eqx.is_inexact_array)) for zi in z)

    def step(self, game, z, state, lr):
        f = game.vector_field(z)
        new_z, new_state = [], []
        for i, (zi, fi, si) in enumerate(zip(z, f, state)):
            # Built per step with the traced rate: optax states hold no learning
            # rate, so the state stays free of it and nothing recompiles.
            params = eqx.filter(zi, eqx.is_inexact_array)
            grads = jax.tree.map(lambda a: -a, eqx.filter(fi, eqx.is_inexact_array))
            updates, si = self._tx(lr[i]).update(grads, si, params)
            new_z.append(eqx.apply_updates(zi, updates))
            new_state.append(si)
        return tuple(new_z), tuple(new_state)

    def params(self) -> dict[str, Any]:
        out = {"optimizer": self.optimizer, **dict(self.options)}
        if self.rates is not None:
            out["rates"] = list(self.rates)
        return out


class Splitting(Scheme):
    """Lie–Trotter splitting: each player follows its own exact flow in turn.

    Player ``i`` (in `order`) moves along ``ż_i = F_i(z)`` with the others
    frozen for time ``lr_i`` (integrated by diffrax's Tsit5 at `rtol`,
    `atol`), seeing the others' latest states.  This is the continuous
    counterpart of alternating GDA, which takes one Euler step of each
    sub-flow instead: on a bilinear game, where ``F_x`` does not depend on
    ``x``, the two coincide exactly; in general they differ by ``O(h²)`` per
    step.  Like alternating GDA it is symplectic on bilinear games (its
    orbits cycle), unlike the gradient flow's Euler steps.

    References: E. Hairer, C. Lubich, G. Wanner, "Geometric numerical
    integration", ch. II.5 (splitting methods).
    """

    order: tuple[int, ...] | None = None
    rtol: float = 1e-11
    atol: float = 1e-13
    rates: tuple[float, ...] | None = None
    name: ClassVar[str] = "splitting"

    def step(self, game, z, state, lr):
        import diffrax

        order = tuple(range(len(z))) if self.order is None else self.order
        for i in order:
            dyn, static = eqx.partition(z[i], eqx.is_inexact_array)

            def rhs_dyn(t, d, args, i=i, static=static, z=z):
                return eqx.filter(game.vector_field(_with(z, i, eqx.combine(d, static)))[i], eqx.is_inexact_array)

            sol = diffrax.diffeqsolve(
                diffrax.ODETerm(rhs_dyn), diffrax.Tsit5(), t0=0.0, t1=lr[i], dt0=None, y0=dyn,
                stepsize_controller=diffrax.PIDController(rtol=self.rtol, atol=self.atol),
                saveat=diffrax.SaveAt(t1=True), max_steps=4096, throw=False,
            )
            z = _with(z, i, eqx.combine(jax.tree.map(lambda a: a[-1], sol.ys), static))
        return z, state
