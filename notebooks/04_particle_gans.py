# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Particle GANs: MMD flows and dual flows
#
# The generator is a cloud of particles. Its field is the Wasserstein
# gradient (N times minus the Euclidean gradient of the loss), so particle
# gradient descent-ascent is an ordinary scheme on an ordinary game, and its
# small-step limit — particles and discriminator evolving together, the dual
# flow — is an ordinary gradient flow. (`GAMEFLOW_NOTEBOOK_SMALL=1` shrinks
# every size; the test suite runs it so.)

# %%
import os

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from gameflow import flows, solvers
from gameflow.experiments import plots
from gameflow.flows.particles import mixture_centres, mode_coverage, sample_target

SMALL = os.environ.get("GAMEFLOW_NOTEBOOK_SMALL") == "1"
OUT = os.environ.get("GAMEFLOW_NOTEBOOK_OUT", "results/notebooks")
os.makedirs(OUT, exist_ok=True)
N = 120 if SMALL else 600

# %% [markdown]
# ## The MMD flow to a mixture of eight Gaussians
# Particles start in a blob at the centre and descend ½MMD² (Gaussian kernel,
# unit width). The witness function — what the particles descend — is the
# background.

# %%
target = sample_target("mixture", N, 2, seed=0)
x0 = 0.5 * np.random.default_rng(1).standard_normal((N, 2))
kernel = flows.Kernel("gaussian", 1.0)
game = flows.MMDFlow(x0, target, kernel)
steps = 300 if SMALL else 2000
tr = solvers.iterate(game, solvers.SGDA(), game.start(), 1.0, steps, save_every=steps // 10)
frames = solvers.particle_states(tr.states, game)
d = solvers.discrepancies(frames, target, kernel=kernel)
print("MMD²:", " -> ".join(f"{v:.2e}" for v in d["mmd2"][::5]))
print("modes covered:", mode_coverage(frames[-1], mixture_centres(), 1.0)["covered"], "of 8")

fig, axs = plt.subplots(1, 3, figsize=(13, 4))
for ax, i in zip(axs[:2], (0, len(frames) - 1)):
    z = (jnp.asarray(frames[i]),)
    plots.particle_snapshot(ax, frames[i], target, witness=lambda T, z=z: game.witness_at(z, T), n=60,
                            title=f"step {i * (steps // 10)}")
plots.metric_plot(axs[2], np.asarray(tr.ts), {"MMD²": d["mmd2"], "energy distance": d["energy"]})
fig.savefig(os.path.join(OUT, "mmd_flow.png"), dpi=80)

# %% [markdown]
# ## Particle GDA against the dual flow
# A kernel critic `f = Σ a_c k(·, c)` on the data, with an RKHS penalty,
# against the particles. The discrete iterates converge to the ODE at order 1
# in the learning rate.

# %%
n = 10 if SMALL else 32
tgt = sample_target("gaussian", n, 2, seed=0)
start = 0.5 * np.random.default_rng(2).standard_normal((n, 2)) + np.array([3.0, 0.0])
dual = flows.CriticGAN(start, tgt, critic="kernel", reg="rkhs", lam=0.1)
comp = solvers.compare(dual, solvers.SGDA(), [0.04, 0.02, 0.01], 1.0, dual.start(), "gradient")
print(f"measured order {comp.order:.3f} (theory 1)")
an = flows.analyze(dual, dual.equilibrium())
print("at (particles = data, critic = 0):", an.classification, f"max Re = {an.spectral_abscissa:.1e}")

fig, ax = plt.subplots(figsize=(5, 4))
plots.order_plot(ax, {"sgda vs dual flow": comp})
fig.savefig(os.path.join(OUT, "dual_flow_order.png"), dpi=80)
