"""A two-parameter GAN learning an exponential distribution: a spiral attractor.

Data ``x ~ Exp(λ)`` (mean ``1/λ``); the generator scales unit exponential
noise, ``G_θ(z) = θ z`` with ``z ~ Exp(1)``; the discriminator is a logistic
unit with a fixed centre ``c``, ``D_ψ(x) = σ(ψ (x - c))``.  The value is the
original GAN objective

    V(θ, ψ) = E_x log D_ψ(x) + E_z log(1 - D_ψ(θ z)),

minimised by ``θ``, maximised by ``ψ``; both expectations are taken exactly by
Gauss–Laguerre quadrature.  The equilibrium is ``(θ, ψ) = (1/λ, 0)``, where
the Jacobian of the gradient field is

    J = [[0, 1/2], [-1/2, -d]],   d = (1/λ² + (1/λ - c)²) / 2,

with eigenvalues ``(-d ± sqrt(d² - 1))/2``: a stable spiral whenever
``d < 1``.  Unlike the Dirac-GAN (a centre), the discriminator's own
curvature damps the rotation, so the orbits are slowly contracting spirals
(González-Prieto et al.: convergent GAN orbits are perturbed periodic orbits,
the equilibrium a spiral attractor).

References: A. González-Prieto, A. Mozo, E. Talavera, S. Gómez-Canaval,
"Dynamics of Fourier modes in torus generative adversarial networks",
Mathematics 9(4), 2021 (the setting: a two-parameter GAN learning an
exponential distribution; the parametrization here is this library's).
"""

from __future__ import annotations

import functools
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from ..game import Game
from ..params import param
from ..state import State
from .dirac_gan import log_sigmoid


@functools.cache
def _laguerre(n: int) -> tuple[np.ndarray, np.ndarray]:
    # E[g(z)], z ~ Exp(1): the Gauss–Laguerre rule, exact for polynomials of degree < 2n.
    return np.polynomial.laguerre.laggauss(n)


class ExpGAN(Game):
    """Generator ``θ z`` against a logistic discriminator, data ``Exp(rate)``.

    **Arguments:**

    - `rate`: the data's rate ``λ`` (> 0; mean ``1/λ``).
    - `centre`: the discriminator's centre ``c``.
    - `n_quad`: Gauss–Laguerre nodes, 2..200.
    """

    name: ClassVar[str] = "exp-gan"
    equilibrium_note: ClassVar[str] = "(theta, psi) = (1/rate, 0)"

    rate: float = param(2.0, "rate of the exponential data (mean 1/rate)", low=0, strict=True)
    centre: float = param(0.5, "the discriminator's centre c")
    n_quad: int = param(64, "Gauss-Laguerre nodes", low=2, high=200, static=True)

    def template(self) -> State:
        return (jnp.zeros(()), jnp.zeros(()))

    @property
    def zero_sum(self) -> bool:
        return True

    def value(self, z: State) -> jax.Array:
        theta, psi = z
        u, w = (jnp.asarray(a) for a in _laguerre(self.n_quad))
        x = u / self.rate  # Exp(λ) nodes
        real = jnp.sum(w * log_sigmoid(psi * (x - self.centre)))
        fake = jnp.sum(w * log_sigmoid(-psi * (theta * u - self.centre)))
        return real + fake

    def equilibrium(self) -> State:
        return (jnp.asarray(1.0 / self.rate), jnp.zeros(()))

    def damping(self) -> float:
        """``d = (1/λ² + (1/λ - c)²) / 2``, the discriminator's curvature at the equilibrium."""
        m = 1.0 / self.rate
        return 0.5 * (m * m + (m - self.centre) ** 2)

    def equilibrium_jacobian(self) -> np.ndarray:
        """The closed-form Jacobian ``[[0, 1/2], [-1/2, -d]]`` at the equilibrium."""
        return np.array([[0.0, 0.5], [-0.5, -self.damping()]])
