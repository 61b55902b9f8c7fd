"""A linear generator on Gaussian data against a second-moment discriminator.

Data ``x ~ N(m, Σ)`` in ``R^d`` with a *circulant* covariance (a stationary,
periodic Gaussian process: ``Σ_ij = ρ^{min(|i-j|, d-|i-j|)}``).  The generator
is ``x = G z + b`` with ``z ~ N(0, I)``; the discriminator is quadratic,
``D(x) = xᵀ W x + vᵀ x``.  In population form the value is exact:

    V = tr(W (Σ + m mᵀ)) + vᵀ m - tr(W (G Gᵀ + b bᵀ)) - vᵀ b - λ/2 (|w|² + |v|²),

with ``w`` the discriminator's parameters of ``W``.  Whether an equilibrium
exists, and whether it is *consistent* (``G Gᵀ = Σ``), depends on the families
of ``G`` and ``W`` — on whether the generator respects the data's translation
symmetry:

- ``circulant`` generator (a convolution) against a ``circulant`` or ``full``
  discriminator: a consistent equilibrium, ``G = Σ^{1/2}``, isolated up to
  the sign of each Fourier mode;
- ``full`` generator: a continuum ``G Q`` (``Q`` orthogonal) of consistent
  equilibria, ``d(d-1)/2`` zero eigenvalues in the Jacobian;
- ``diagonal`` generator against a ``circulant`` discriminator, ``λ = 0``: no
  equilibrium; the lag-``k`` autocovariances it cannot produce make the
  discriminator's weights grow linearly for ever;
- ``diagonal`` generator against a ``diagonal`` discriminator: an equilibrium
  that matches the variances only (not consistent).

Closed forms checked by the tests: with a ``linear`` discriminator
(``W = 0``) the mean obeys ``δ'' + λ δ' + δ = 0`` (``δ = b - m``); in one
dimension at ``λ = 0`` with ``b = m = 0`` the second-moment dynamics
``s' = 4 w s``, ``w' = σ² - s`` (``s = g²``) conserve
``H = 2w² + s - σ² log s``; the Jacobian at the equilibrium has eigenvalues
``(-λ ± sqrt(λ² - 16σ²))/2`` and ``(-λ ± sqrt(λ² - 4))/2``.

References: S. Zhang, "On the Nash equilibrium of moment-matching GANs for
stationary Gaussian processes", 2022 (the setting; the families and
statements here are this library's).
"""

from __future__ import annotations

import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..game import Game
from ..params import Param
from ..state import State

GENERATORS = ("full", "circulant", "diagonal")
DISCRIMINATORS = ("full", "circulant", "diagonal", "linear")


def circulant(c: jax.Array) -> jax.Array:
    """The circulant matrix ``C_ij = c[(i - j) mod d]`` of a vector ``c``."""
    d = c.shape[0]
    idx = (jnp.arange(d)[:, None] - jnp.arange(d)[None, :]) % d
    return c[idx]


def stationary_covariance(d: int, rho: float) -> np.ndarray:
    """``Σ_ij = ρ^{min(|i-j|, d-|i-j|)}``: the periodic AR(1)-like autocovariance."""
    lag = np.arange(d)
    c = rho ** np.minimum(lag, d - lag)
    idx = (lag[:, None] - lag[None, :]) % d
    return c[idx]


class GaussianGAN(Game):
    """Moment-matching GAN: linear generator, quadratic discriminator (population form).

    State ``((g, b), (w, v))``: the generator's parameters ``g`` of ``G`` and
    mean ``b``; the discriminator's parameters ``w`` of ``W`` and linear
    weights ``v``.

    **Arguments:**

    - `d`: dimension (>= 1); `rho`: autocorrelation of neighbours, |ρ| < 1;
      `mean`: data mean ``m`` (default zeros).
    - `gen`: ``full`` (``g`` is ``G``), ``circulant`` (``g`` is ``G``'s first
      column) or ``diagonal``.
    - `disc`: ``full`` (``W = (A + Aᵀ)/2``), ``circulant`` (symmetric part of
      ``circ(w)``), ``diagonal``, or ``linear`` (no ``W``).
    - `lam`: weight decay of the discriminator (>= 0).
    """

    name: ClassVar[str] = "gaussian-gan"
    equilibrium_note: ClassVar[str] = "G = Sigma^(1/2), b = mean, W = 0, v = 0 (none for a diagonal generator)"
    extra_parameters: ClassVar[tuple[Param, ...]] = (
        Param("d", "int", 4, "dimension", low=1),
        Param("rho", "float", 0.5, "autocorrelation of neighbours, |rho| < 1 (Sigma_ij = rho^lag)", low=-1, high=1,
              strict=True),
        Param("mean", "vector", None, "data mean (default zeros)"),
        Param("gen", "choice", "circulant", "generator family", GENERATORS),
        Param("disc", "choice", "circulant", "discriminator family (linear: no W)", DISCRIMINATORS),
        Param("lam", "float", 0.0, "discriminator weight decay", low=0),
    )

    sigma: jax.Array
    mean: jax.Array
    lam: float
    gen: str = eqx.field(static=True)
    disc: str = eqx.field(static=True)

    def __init__(self, d=4, rho=0.5, mean=None, gen="circulant", disc="circulant", lam=0.0):
        if not (isinstance(d, (int, np.integer)) and d >= 1):
            raise ValueError(f"gaussian-gan: d={d} must be an integer >= 1")
        if not (math.isfinite(rho) and abs(rho) < 1):
            raise ValueError(f"gaussian-gan: rho={rho} must satisfy |rho| < 1")
        if gen not in GENERATORS:
            raise ValueError(f"gaussian-gan: gen {gen!r} is not one of {', '.join(GENERATORS)}")
        if disc not in DISCRIMINATORS:
            raise ValueError(f"gaussian-gan: disc {disc!r} is not one of {', '.join(DISCRIMINATORS)}")
        if not (math.isfinite(float(lam)) and float(lam) >= 0):
            raise ValueError(f"gaussian-gan: lam={lam} must be >= 0 and finite")
        sigma = stationary_covariance(int(d), float(rho))
        if np.linalg.eigvalsh(sigma).min() <= 0:
            raise ValueError(f"gaussian-gan: rho={rho} gives a covariance that is not positive definite at d={d}")
        m = np.zeros(d) if mean is None else np.asarray(mean, dtype=float).reshape(-1)
        if m.shape != (d,):
            raise ValueError(f"gaussian-gan: mean has {m.size} entries, expected d={d}")
        self.sigma = jnp.asarray(sigma)
        self.mean = jnp.asarray(m)
        self.gen, self.disc, self.lam = gen, disc, lam

    @property
    def d(self) -> int:
        return self.sigma.shape[0]

    def template(self) -> State:
        d = self.d
        g = jnp.zeros((d, d)) if self.gen == "full" else jnp.zeros((d,))
        w = {"full": jnp.zeros((d, d)), "linear": jnp.zeros((0,))}.get(self.disc, jnp.zeros((d,)))
        return ((g, jnp.zeros((d,))), (w, jnp.zeros((d,))))

    def start(self) -> State:
        """Identity-like generator, zero mean, zero discriminator."""
        d = self.d
        g = jnp.eye(d) if self.gen == "full" else (jnp.ones((d,)) if self.gen == "diagonal" else jnp.eye(d)[0])
        (_, b), (w, v) = self.template()
        return ((g, b), (w, v))

    @property
    def zero_sum(self) -> bool:
        return True

    def generator_matrix(self, g: jax.Array) -> jax.Array:
        """``G`` from its parameters."""
        if self.gen == "full":
            return g
        return circulant(g) if self.gen == "circulant" else jnp.diag(g)

    def discriminator_matrix(self, w: jax.Array) -> jax.Array:
        """``W`` (symmetric) from its parameters."""
        if self.disc == "linear":
            return jnp.zeros((self.d, self.d))
        A = w if self.disc == "full" else (circulant(w) if self.disc == "circulant" else jnp.diag(w))
        return 0.5 * (A + A.T)

    def value(self, z: State) -> jax.Array:
        (g, b), (w, v) = z
        G = self.generator_matrix(g)
        W = self.discriminator_matrix(w)
        data = self.sigma + jnp.outer(self.mean, self.mean)
        model = G @ G.T + jnp.outer(b, b)
        reg = 0.5 * self.lam * (jnp.sum(w * w) + jnp.sum(v * v))
        return jnp.sum(W * (data - model)) + v @ (self.mean - b) - reg

    def equilibrium(self) -> State | None:
        """The consistent equilibrium ``G = Σ^{1/2}`` where the generator family holds it."""
        (g0, _), (w0, v0) = self.template()
        if self.gen == "diagonal":
            return None
        # Σ is symmetric circulant: its square root is the symmetric circulant
        # whose eigenvalues (the DFT of its first column) are the square roots.
        c = np.asarray(self.sigma[:, 0])
        root = np.real(np.fft.ifft(np.sqrt(np.real(np.fft.fft(c)))))
        g = jnp.asarray(root) if self.gen == "circulant" else circulant(jnp.asarray(root))
        return ((g, self.mean), (w0, v0))

    def metrics(self, z: State) -> dict[str, float]:
        """``|G Gᵀ - Σ|_F``, ``|b - m|`` and ``|W|_F``."""
        (g, b), (w, _) = z
        G = self.generator_matrix(jnp.asarray(g))
        return {"cov_error": float(jnp.linalg.norm(G @ G.T - self.sigma)),
                "mean_error": float(jnp.linalg.norm(jnp.asarray(b) - self.mean)),
                "disc_norm": float(jnp.linalg.norm(self.discriminator_matrix(jnp.asarray(w))))}
