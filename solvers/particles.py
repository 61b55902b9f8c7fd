"""Particle descent with noise injection, and metrics along particle trajectories.

Plain particle gradient descent is [`iterate`][solvers.iterate] with ``sgda``
on an [`MMDFlow`][flows.MMDFlow]; this module adds the noisy variant of Arbel,
Korba, Salim and Gretton (2019), which evaluates the witness gradient at
perturbed positions,

    x_{n+1} = x_n - h ∇f_{μ_n}(x_n + β u_n),     u_n ~ N(0, I),

so particles stuck where the flow's velocity vanishes still feel the target.
The noise is drawn inside the compiled loop from a key; a run is reproducible
from its seed.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from gameflow import flows
from gameflow.flows.compile import jit


class ParticleRun(NamedTuple):
    """Saved particle positions of a run: ``steps`` ``(S,)`` and ``particles`` ``(S, N, d)``."""

    steps: np.ndarray
    particles: np.ndarray


@jit
def _noisy_descent(game, X0, lr, noise, key, n_save, every):
    def step(carry, _):
        X, k = carry
        k, sub = jax.random.split(k)
        T = X + noise * jax.random.normal(sub, X.shape, X.dtype)
        return (X + lr * game.velocity_at(X, T), k), None

    def chunk(carry, _):
        carry = jax.lax.scan(step, carry, None, length=every)[0]
        return carry, carry[0]

    _, saved = jax.lax.scan(chunk, (X0, key), None, length=n_save)
    return saved


def noisy_descent(game: flows.MMDFlow, lr: float, steps: int, *, noise: float = 0.0, seed: int = 0,
                  save_every: int | None = None, x0: Any = None) -> ParticleRun:
    """MMD particle descent with noise injection (``noise = 0``: plain descent).

    **Arguments:**

    - `game`: an [`MMDFlow`][flows.MMDFlow].
    - `lr`: step size ``h`` (> 0); `steps`: number of steps.
    - `noise`: the injection level ``β`` (>= 0), constant over the run.
    - `seed`: seed of the noise.
    - `save_every`: save the particles every so many steps (default: 20
      snapshots); must divide `steps`.
    - `x0`: initial particles (default the game's own).

    **Returns:**

    A [`ParticleRun`][] with the start and every saved state.

    References: M. Arbel, A. Korba, A. Salim, A. Gretton, "Maximum mean
    discrepancy gradient flow", NeurIPS 2019, Sec. 4 (noise injection).
    """
    if not isinstance(game, flows.MMDFlow):
        raise ValueError(f"noisy_descent runs an MMDFlow game, got {type(game).__name__}")
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr={lr} must be positive and finite")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise={noise} must be >= 0 and finite")
    every = save_every or max(1, steps // 20)
    if steps < 1 or steps % every:
        raise ValueError(f"steps={steps} must be >= 1 and a multiple of save_every={every}")
    X0 = game.x0 if x0 is None else game.check((x0,), "x0")[0]
    saved = _noisy_descent(game, X0, jnp.asarray(lr, X0.dtype), jnp.asarray(noise, X0.dtype),
                           jax.random.key(seed), steps // every, every)
    particles = np.concatenate([np.asarray(X0)[None], np.asarray(saved)], axis=0)
    return ParticleRun(np.arange(particles.shape[0]) * every, particles)


def particle_states(states: Any, game: flows.Game) -> np.ndarray:
    """The particle arrays ``(S, N, d)`` from a trajectory's flat saved states."""
    unravel = flows.ravel_state(game.template())[1]
    return np.stack([np.asarray(unravel(jnp.asarray(s))[0]) for s in np.asarray(states)])


def discrepancies(frames: Any, target: Any, *, kernel: flows.Kernel | None = None, sinkhorn: bool = False,
                  epsilon: float = 0.05) -> dict[str, list[float]]:
    """MMD², energy distance (and optionally the Sinkhorn divergence) of each frame to `target`.

    **Arguments:**

    - `frames`: ``(S, N, d)`` particle snapshots; `target`: ``(M, d)``.
    - `kernel`: the MMD's kernel (default Gaussian, unit width).
    - `sinkhorn`: also compute the debiased Sinkhorn divergence (ott-jax).

    **Returns:**

    ``{"mmd2": [...], "energy": [...]}`` (and ``"sinkhorn"``), one value per frame.
    """
    kernel = kernel or flows.Kernel("gaussian")
    out: dict[str, list[float]] = {"mmd2": [], "energy": []}
    if sinkhorn:
        out["sinkhorn"] = []
    for X in np.asarray(frames):
        out["mmd2"].append(float(flows.mmd2(kernel, X, target)))
        out["energy"].append(float(flows.energy_distance(X, target)))
        if sinkhorn:
            out["sinkhorn"].append(float(flows.sinkhorn_divergence(X, target, epsilon)))
    return out
