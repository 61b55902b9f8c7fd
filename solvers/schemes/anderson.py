"""GDA-AM: Anderson mixing over a base scheme.

References: H. He, S. Zhao, Y. Xi, J. Ho, Y. Saad, "GDA-AM: on the
effectiveness of solving minimax optimization via Anderson mixing", ICLR 2022;
D. G. Anderson, "Iterative procedures for nonlinear integral equations", 1965.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from gameflow import flows
from gameflow.flows.params import param

from .agda import AGDA
from .base import Scheme
from .consensus import Consensus
from .eg import EG
from .sga import SGA
from .sgda import SGDA

BASES = {"sgda": SGDA, "agda": AGDA, "eg": EG, "consensus": Consensus, "sga": SGA}


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

    m: int = param(5, "depth: how many past differences are mixed", low=1)
    base: str = param("agda", "the stateless base scheme", choices=tuple(BASES))
    reg: float = param(1e-10, "least-squares cut-off, relative to the residual's scale", low=0)
    name: ClassVar[str] = "anderson"
    stateless: ClassVar[bool] = False
    limit_order: ClassVar[int | None] = None
    differentiable: ClassVar[bool] = False  # its least-squares problem degenerates at a fixed point

    def _base(self) -> Scheme:
        return BASES[self.base]()

    def limit_field(self, game, z):
        raise ValueError("anderson: no continuous limit is defined for this scheme (its step mixes a history)")

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
