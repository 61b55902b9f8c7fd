"""Particle games: the generator is a cloud of ``N`` particles.

The generator's state is an ``(N, d)`` array, the empirical measure
``μ = (1/N) Σ δ_{x_i}`` of its samples.  Its vector field is the *Wasserstein*
gradient: the velocity of particle ``i`` is ``-∇ δL/δμ (x_i)``, which is ``N``
times minus the Euclidean gradient of the loss in ``x_i``.  With that scaling
the small-learning-rate limit of particle gradient descent-ascent is the
Wasserstein gradient flow of the particles coupled to the discriminator's own
gradient flow: Turinici's *dual flow*, and every scheme, flow, comparison and
spectrum of the library applies unchanged.

- [`MMDFlow`][]: one player, particles descending ``½ MMD²`` to a fixed target
  sample (Arbel, Korba, Salim, Gretton 2019); kernel sums in blocks, so
  ``N = 10⁵`` particles run in memory ``O(N × block)``.
- [`CriticGAN`][]: particles against a critic ``f``, value
  ``V = E_ν f - E_μ f - R(f)``; the critic is a kernel expansion on fixed
  centres (a finite-dimensional slice of the RKHS, linear in its parameters:
  the dual flow, and the isolated points model of Becker et al. 2022) or an
  MLP with weight decay, an R1 gradient penalty or spectral normalization.
- [`MMDGAN`][]: particles descend the MMD between ``φ_ψ(μ)`` and ``φ_ψ(ν)`` in
  the feature space of a learned MLP ``φ_ψ`` while ``ψ`` ascends it, with an
  optional stabilizer on the discriminator (Chen, Wu, Xiang 2023); with the
  energy kernel this is the Cramér (energy-distance) GAN.

References: G. Turinici, "Convergence dynamics of generative adversarial
networks: the dual metric flows", 2020; M. Arbel, A. Korba, A. Salim,
A. Gretton, "Maximum mean discrepancy gradient flow", NeurIPS 2019; E. Becker,
P. Pandit, S. Rangan, A. Fletcher, "Instability and local minima in GAN
training with kernel discriminators", NeurIPS 2022; Z. Chen, W. Wu, W. Xiang,
"Stability analysis framework for particle-based distance GANs with
Wasserstein gradient flow", 2023; T. Miyato et al., "Spectral normalization
for GANs", ICLR 2018.
"""

from __future__ import annotations

import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .game import Game
from .kernels import BLOCK, Kernel, energy_distance, kernel_sums, mmd2, witness
from .state import State

TARGETS = ("gaussian", "mixture", "ring")
CRITICS = ("kernel", "mlp")
KERNEL_REGS = ("rkhs", "ridge")
MLP_REGS = ("none", "wd", "gp", "sn")
STABILIZERS = ("none", "gp", "wd")


def sample_target(kind: str, m: int, dim: int, seed: int, *, modes: int = 8, radius: float = 4.0,
                  std: float = 0.3) -> np.ndarray:
    """A deterministic target sample of `m` points in `dim` dimensions.

    **Arguments:**

    - `kind`: ``gaussian`` (standard normal), ``mixture`` (`modes` Gaussians of
      std `std` evenly on a circle of radius `radius` in the first two
      coordinates) or ``ring`` (uniform on that circle plus `std` noise).
    - `m`, `dim`, `seed`: size, dimension, seed.

    **Returns:**

    An ``(m, dim)`` float64 array.
    """
    if kind not in TARGETS:
        raise ValueError(f"target {kind!r} is not one of {', '.join(TARGETS)}")
    if m < 1 or dim < 1:
        raise ValueError(f"target needs m >= 1 and dim >= 1, got m={m}, dim={dim}")
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        return rng.standard_normal((m, dim))
    if dim < 2:
        raise ValueError(f"target {kind!r} needs dim >= 2, got dim={dim}")
    if kind == "mixture":
        ang = 2 * np.pi * (np.arange(m) % modes) / modes
    else:
        ang = rng.uniform(0, 2 * np.pi, m)
    out = std * rng.standard_normal((m, dim))
    out[:, 0] += radius * np.cos(ang)
    out[:, 1] += radius * np.sin(ang)
    return out


def mixture_centres(modes: int = 8, radius: float = 4.0) -> np.ndarray:
    """The ``(modes, 2)`` centres of the ``mixture`` target."""
    ang = 2 * np.pi * np.arange(modes) / modes
    return np.stack([radius * np.cos(ang), radius * np.sin(ang)], axis=1)


def mode_coverage(X: Any, centres: Any, radius: float) -> dict[str, Any]:
    """How many mixture modes hold at least one particle within `radius`.

    **Returns:**

    ``{"covered": k, "modes": K, "fractions": [...]}``: the fraction of the
    particles nearest to each mode (within `radius`; the rest are "off").
    """
    X = np.asarray(X)
    C = np.asarray(centres)
    d = np.linalg.norm(X[:, None, :2] - C[None, :, :2], axis=-1)
    near = d.argmin(axis=1)
    close = d.min(axis=1) <= radius
    counts = np.bincount(near[close], minlength=len(C))
    return {"covered": int(np.sum(counts > 0)), "modes": len(C), "fractions": (counts / len(X)).tolist()}


def _wasserstein(gx: jax.Array, n: int) -> jax.Array:
    # The Euclidean gradient of a loss of the empirical measure in x_i is
    # (1/N) of its first variation's gradient; velocity = -N * gradient.
    return -n * gx


def _check_particles(x0: Any, what: str) -> jax.Array:
    x0 = jnp.asarray(x0, dtype=float)
    if x0.ndim != 2 or x0.shape[0] < 1 or x0.shape[1] < 1:
        raise ValueError(f"{what} must be an (N, d) array of particles, got shape {x0.shape}")
    if not bool(jnp.all(jnp.isfinite(x0))):
        raise ValueError(f"{what} has non-finite entries")
    return x0


def _check_pair(x0: Any, target: Any, name: str) -> tuple[jax.Array, jax.Array]:
    """Validated particles and target sample of the same dimension."""
    x0 = _check_particles(x0, f"{name} x0")
    target = _check_particles(target, f"{name} target")
    if target.shape[1] != x0.shape[1]:
        raise ValueError(f"{name}: particles are {x0.shape[1]}-D but the target is {target.shape[1]}-D")
    return x0, target


class MMDFlow(Game):
    """Particles descending ``½ MMD²(μ, ν)`` towards a fixed target sample.

    One player.  The velocity of particle ``x_i`` is ``-∇f(x_i)`` with the
    witness ``f = mean_j k(·, x_j) - mean_m k(·, y_m)``.  By antisymmetry of
    ``∇_x k(x, y)`` the particles' self-interaction does not move their mean:
    ``d/dt mean(x) = mean_{i,m} ∇_x k(x_i, y_m)``.

    **Arguments:**

    - `x0`: ``(N, d)`` initial particles (also the default start).
    - `target`: ``(M, d)`` target sample.
    - `kernel`: a [`Kernel`][].
    - `block`: block size of the kernel sums (``None``: dense).

    References: M. Arbel, A. Korba, A. Salim, A. Gretton, "Maximum mean
    discrepancy gradient flow", NeurIPS 2019.
    """

    x0: jax.Array
    target: jax.Array
    kernel: Kernel
    block: int | None = eqx.field(static=True, default=BLOCK)

    def __init__(self, x0, target, kernel, block=BLOCK):
        self.x0, self.target = _check_pair(x0, target, "MMDFlow")
        self.kernel = kernel
        self.block = block

    def template(self) -> State:
        return (self.x0,)

    def start(self) -> State:
        return (self.x0,)

    def losses(self, z: State) -> tuple[jax.Array, ...]:
        return (0.5 * mmd2(self.kernel, z[0], self.target, block=self.block),)

    def vector_field(self, z: State) -> State:
        X = z[0]
        return (-witness(self.kernel, X, self.target, X, grad=True, block=self.block)[1],)

    def witness_at(self, z: State, T: jax.Array) -> jax.Array:
        """The witness ``f`` of the particles in `z` at points `T` (what the particles descend)."""
        return witness(self.kernel, z[0], self.target, jnp.asarray(T, z[0].dtype), block=self.block)[0]

    def velocity_at(self, X: jax.Array, T: jax.Array) -> jax.Array:
        """The MMD flow's velocity field ``-∇f`` of particles `X`, evaluated at points `T`."""
        return -witness(self.kernel, X, self.target, T, grad=True, block=self.block)[1]

    def metrics(self, z: State) -> dict[str, float]:
        """MMD² (this game's kernel) and energy distance of the particles to the target."""
        X = z[0]
        return {"mmd2": float(mmd2(self.kernel, X, self.target, block=self.block)),
                "energy": float(energy_distance(X, self.target, block=self.block))}


def _mlp(key, d_in: int, d_out: int, width: int, depth: int) -> eqx.nn.MLP:
    return eqx.nn.MLP(d_in, d_out, width, depth, activation=jnp.tanh, key=key)


def _spectral_norm(W: jax.Array) -> jax.Array:
    """The largest singular value, from the top eigenvalue of the smaller Gram matrix.

    ``eigvalsh`` has a finite derivative where an SVD's has ``1/(s_i² - s_j²)``
    terms that give NaN at repeated or zero singular values (a tall first
    layer has zero ones).  The spectral norm itself is not smooth where the
    top singular values of a layer coincide, which normalized training tends
    towards: adaptive ODE solvers can stall there (a ``diverged`` status);
    discrete schemes run.
    """
    G = W @ W.T if W.shape[0] <= W.shape[1] else W.T @ W
    return jnp.sqrt(jnp.linalg.eigvalsh(G)[-1])


def _apply(mlp: eqx.nn.MLP, x: jax.Array, spectral: bool = False) -> jax.Array:
    """The MLP on one point, each weight divided by its spectral norm when `spectral`."""
    h = x
    for i, layer in enumerate(mlp.layers):
        W = layer.weight
        if spectral:
            W = W / _spectral_norm(W)
        h = W @ h + layer.bias
        if i < len(mlp.layers) - 1:
            h = mlp.activation(h)
    return h[0] if mlp.out_size == "scalar" else h


def _sq_norm(tree: Any) -> jax.Array:
    return sum(jnp.sum(a * a) for a in jax.tree.leaves(eqx.filter(tree, eqx.is_inexact_array)))


class CriticGAN(Game):
    """Particles against a critic: ``V(x, ψ) = E_ν f_ψ - E_μ f_ψ - R(ψ)``.

    Zero-sum: the particles minimise ``V`` (each moves up ``∇f``), the critic
    maximises it.  Critics:

    - ``kernel``: ``f(x) = Σ_c a_c k(x, c)`` on fixed centres ``c`` (linear in
      its parameters ``a``: a finite slice of the RKHS); ``R = λ/2 aᵀ K a``
      (``rkhs``, the RKHS norm of ``f``) or ``λ/2 |a|²`` (``ridge``).  The
      fields are evaluated with blocked kernel sums.  Its gradient flow is the
      dual flow of particles and a kernel discriminator.
    - ``mlp``: an equinox MLP ``f_ψ: R^d → R``; ``R`` is weight decay
      ``λ/2 |ψ|²`` (``wd``), the R1 gradient penalty ``λ/2 E_ν|∇f|²``
      (``gp``), spectral normalization of every weight (``sn``: ``f`` is then
      1-Lipschitz, tanh being 1-Lipschitz; no penalty is added, since ``f``
      is invariant to the weights' scale and weight decay would shrink them
      towards the singular point ``W = 0``), or nothing (``none``: the
      critic's values can grow without bound).

    With ``N = M`` the state ``(target, 0)`` of the kernel critic is an
    equilibrium (particles on the data, zero critic).

    **Arguments:**

    - `x0`: ``(N, d)`` initial particles; `target`: ``(M, d)`` data.
    - `critic`: ``kernel`` or ``mlp``; `reg`: the regularizer (see above);
      `lam`: its weight (>= 0).
    - `kernel`, `centres` (``(C, d)``, default the target): kernel critic.
    - `width`, `depth`, `seed`: MLP critic.
    """

    x0: jax.Array
    target: jax.Array
    psi0: Any
    centres: jax.Array | None
    kernel: Kernel | None
    lam: float
    critic: str = eqx.field(static=True)
    reg: str = eqx.field(static=True)
    block: int | None = eqx.field(static=True)

    def __init__(self, x0, target, *, critic="kernel", reg=None, lam=0.1, kernel=None, centres=None,
                 width=32, depth=2, seed=0, block=BLOCK):
        self.x0, self.target = _check_pair(x0, target, "CriticGAN")
        d = self.x0.shape[1]
        if critic not in CRITICS:
            raise ValueError(f"critic {critic!r} is not one of {', '.join(CRITICS)}")
        regs = KERNEL_REGS if critic == "kernel" else MLP_REGS
        reg = regs[0] if reg is None else reg
        if reg not in regs:
            raise ValueError(f"{critic} critic: reg {reg!r} is not one of {', '.join(regs)}")
        if not (math.isfinite(float(lam)) and float(lam) >= 0):
            raise ValueError(f"lam={lam} must be >= 0 and finite")
        self.critic, self.reg, self.lam, self.block = critic, reg, lam, block
        if critic == "kernel":
            self.kernel = Kernel("gaussian") if kernel is None else kernel
            self.centres = self.target if centres is None else _check_particles(centres, "centres")
            if self.centres.shape[1] != d:
                raise ValueError(f"centres are {self.centres.shape[1]}-D, particles {d}-D")
            self.psi0 = jnp.zeros((self.centres.shape[0],))
        else:
            if width < 1 or depth < 1:
                raise ValueError(f"mlp critic needs width >= 1 and depth >= 1, got {width}, {depth}")
            self.kernel, self.centres = None, None
            self.psi0 = _mlp(jax.random.key(seed), d, "scalar", width, depth)

    def template(self) -> State:
        return (self.x0, self.psi0)

    def start(self) -> State:
        return (self.x0, self.psi0)

    @property
    def zero_sum(self) -> bool:
        return True

    def critic_fn(self, psi: Any, T: jax.Array) -> jax.Array:
        """The critic's values at points ``T`` (``(P, d)`` → ``(P,)``)."""
        if self.critic == "kernel":
            return kernel_sums(self.kernel, T, self.centres, psi, block=self.block)[0]
        spectral = self.reg == "sn"
        return jax.vmap(lambda t: _apply(psi, t, spectral))(T)

    def witness_at(self, z: State, T: jax.Array) -> jax.Array:
        """The critic ``f_ψ`` at points `T` (the particles climb it)."""
        return self.critic_fn(z[1], jnp.asarray(T, z[0].dtype))

    def penalty(self, psi: Any) -> jax.Array:
        """The regularizer ``R(ψ)``."""
        if self.critic == "kernel":
            if self.reg == "ridge":
                return 0.5 * self.lam * jnp.sum(psi * psi)
            return 0.5 * self.lam * psi @ kernel_sums(self.kernel, self.centres, self.centres, psi, block=self.block)[0]
        if self.reg == "wd":
            return 0.5 * self.lam * _sq_norm(psi)
        if self.reg == "gp":
            g = jax.vmap(jax.grad(lambda t: _apply(psi, t)))(self.target)
            return 0.5 * self.lam * jnp.mean(jnp.sum(g * g, axis=1))
        return jnp.zeros(())

    def value(self, z: State) -> jax.Array:
        X, psi = z
        return jnp.mean(self.critic_fn(psi, self.target)) - jnp.mean(self.critic_fn(psi, X)) - self.penalty(psi)

    def vector_field(self, z: State) -> State:
        X, psi = z
        if self.critic == "mlp":
            gx, gpsi = eqx.filter_grad(self.value)(z)
            return (_wasserstein(gx, X.shape[0]), gpsi)
        # Kernel critic, in closed form and blocked: particles move up ∇f;
        # dV/da_c = mean_m k(c, y_m) - mean_i k(c, x_i) - λ (K a or a).
        vx = kernel_sums(self.kernel, X, self.centres, psi, grad=True, block=self.block)[1]
        ga = (kernel_sums(self.kernel, self.centres, self.target, block=self.block)[0]
              - kernel_sums(self.kernel, self.centres, X, block=self.block)[0])
        if self.reg == "ridge":
            ga = ga - self.lam * psi
        else:
            ga = ga - self.lam * kernel_sums(self.kernel, self.centres, self.centres, psi, block=self.block)[0]
        return (vx, ga)

    def equilibrium(self) -> State | None:
        if self.critic == "kernel" and self.x0.shape == self.target.shape:
            return (self.target, jnp.zeros_like(self.psi0))
        return None

    def metrics(self, z: State) -> dict[str, float]:
        """MMD² (Gaussian kernel, unit width) and energy distance of particles to data."""
        X = z[0]
        return {"mmd2": float(mmd2(Kernel("gaussian"), X, self.target, block=self.block)),
                "energy": float(energy_distance(X, self.target, block=self.block))}


class MMDGAN(Game):
    """MMD GAN with a learned feature map: particles against features ``φ_ψ``.

    ``L(x, ψ) = MMD²_k(φ_ψ(μ_x), φ_ψ(ν))``: the particles minimise it, the
    feature map maximises ``L - S(ψ, x)`` with the stabilizer ``S``:

    - ``none``;
    - ``gp``: ``γ/2 E_ν |∇w|²``, a gradient penalty on the witness function
      ``w(t) = mean_i k(φ(t), φ(x_i)) - mean_m k(φ(t), φ(y_m))`` at the data;
    - ``wd``: weight decay ``γ/2 |ψ|²``.

    With ``kernel="energy"`` the discrepancy is the energy distance in feature
    space (the Cramér GAN's critic).  Kernel sums are dense (autodiff through
    them stores the ``N × M`` pairs): keep ``N`` in the thousands.

    **Arguments:**

    - `x0`: ``(N, d)`` initial particles; `target`: ``(M, d)`` data.
    - `kernel`: a [`Kernel`][] on feature space.
    - `stabilizer`, `gamma` (>= 0): see above.
    - `features`, `width`, `depth`, `seed`: the MLP ``R^d → R^features``.

    References: Z. Chen, W. Wu, W. Xiang, "Stability analysis framework for
    particle-based distance GANs with Wasserstein gradient flow", 2023;
    C.-L. Li et al., "MMD GAN", NeurIPS 2017; M. Bellemare et al., "The Cramér
    distance as a solution to biased Wasserstein gradients", 2017.
    """

    x0: jax.Array
    target: jax.Array
    psi0: eqx.nn.MLP
    kernel: Kernel
    gamma: float
    stabilizer: str = eqx.field(static=True)

    def __init__(self, x0, target, *, kernel=None, stabilizer="none", gamma=1.0, features=4, width=32, depth=2,
                 seed=0):
        self.x0, self.target = _check_pair(x0, target, "MMDGAN")
        d = self.x0.shape[1]
        if stabilizer not in STABILIZERS:
            raise ValueError(f"stabilizer {stabilizer!r} is not one of {', '.join(STABILIZERS)}")
        if not (math.isfinite(float(gamma)) and float(gamma) >= 0):
            raise ValueError(f"gamma={gamma} must be >= 0 and finite")
        if min(features, width, depth) < 1:
            raise ValueError(f"features, width and depth must be >= 1, got {features}, {width}, {depth}")
        self.kernel = Kernel("gaussian") if kernel is None else kernel
        self.stabilizer, self.gamma = stabilizer, gamma
        self.psi0 = _mlp(jax.random.key(seed), d, features, width, depth)

    def template(self) -> State:
        return (self.x0, self.psi0)

    def start(self) -> State:
        return (self.x0, self.psi0)

    def features(self, psi: eqx.nn.MLP, T: jax.Array) -> jax.Array:
        """``φ_ψ`` at points ``T`` (``(P, d)`` → ``(P, features)``)."""
        return jax.vmap(lambda t: _apply(psi, t))(T)

    def witness_at(self, z: State, T: jax.Array) -> jax.Array:
        """The feature-space witness ``mean_i k(φ(t), φ(x_i)) - mean_m k(φ(t), φ(y_m))`` at points `T`."""
        X, psi = z
        return witness(self.kernel, self.features(psi, X), self.features(psi, self.target),
                       self.features(psi, jnp.asarray(T, X.dtype)), block=None)[0]

    def discrepancy(self, z: State) -> jax.Array:
        """``MMD²_k`` between the particles and the data in feature space."""
        X, psi = z
        return mmd2(self.kernel, self.features(psi, X), self.features(psi, self.target), block=None)

    def stab(self, z: State) -> jax.Array:
        """The stabilizer ``S(ψ, x)``."""
        X, psi = z
        if self.stabilizer == "wd":
            return 0.5 * self.gamma * _sq_norm(psi)
        if self.stabilizer == "gp":
            fx = self.features(psi, X)
            fy = self.features(psi, self.target)

            def w(t):
                ft = _apply(psi, t)[None]
                return (kernel_sums(self.kernel, ft, fx, block=None)[0]
                        - kernel_sums(self.kernel, ft, fy, block=None)[0])[0]

            g = jax.vmap(jax.grad(w))(self.target)
            return 0.5 * self.gamma * jnp.mean(jnp.sum(g * g, axis=1))
        return jnp.zeros(())

    def losses(self, z: State) -> tuple[jax.Array, ...]:
        v = self.discrepancy(z)
        return (v, -v + self.stab(z))

    def vector_field(self, z: State) -> State:
        X, psi = z
        gx = jax.grad(lambda x: self.discrepancy((x, psi)))(X)
        gpsi = eqx.filter_grad(lambda p: self.losses((X, p))[1])(psi)
        return (_wasserstein(gx, X.shape[0]), jax.tree.map(lambda a: -a, gpsi))

    def metrics(self, z: State) -> dict[str, float]:
        """Feature-space MMD², and input-space Gaussian MMD² and energy distance to the data."""
        X = z[0]
        return {"feature_mmd2": float(self.discrepancy(z)),
                "mmd2": float(mmd2(Kernel("gaussian"), X, self.target)),
                "energy": float(energy_distance(X, self.target))}


PARTICLE_GAMES = (MMDFlow, CriticGAN, MMDGAN)
"""Games whose first player is a cloud of exchangeable particles."""
