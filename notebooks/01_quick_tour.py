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
# # gameflow: a quick tour
#
# A game is a vector field. We write one, look at its equilibrium, run two
# discrete optimizers on it, and compare them with their continuous limit.
# (`GAMEFLOW_NOTEBOOK_SMALL=1` shrinks every size; the test suite runs it so.)

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
from gameflow import flows, solvers
from gameflow.experiments import plots

SMALL = os.environ.get("GAMEFLOW_NOTEBOOK_SMALL") == "1"
OUT = os.environ.get("GAMEFLOW_NOTEBOOK_OUT", "results/notebooks")
os.makedirs(OUT, exist_ok=True)

# %% [markdown]
# ## A game of your own
# `V(x, y) = x y + 0.1 x² - 0.2 y²`: `x` minimises, `y` maximises.

# %%
game = flows.ZeroSumGame(lambda x, y: x * y + 0.1 * x**2 - 0.2 * y**2, (0.0, 0.0), known_equilibrium=(0.0, 0.0))
res = flows.analyze(game)
print(res.classification, res.eigenvalues)
# Closed form: J = [[-0.2, -1], [1, -0.4]], λ = -0.3 ± i sqrt(1 - 0.01)
assert np.allclose(res.eigenvalues, [-0.3 + 1j * np.sqrt(0.99), -0.3 - 1j * np.sqrt(0.99)], atol=1e-12)

# %% [markdown]
# ## Two optimizers and the flow

# %%
z0 = [1.0, 1.0]
steps = 60 if SMALL else 300
sgda = solvers.iterate(game, solvers.SGDA(), z0, 0.2, steps, save_every=1)
agda = solvers.iterate(game, solvers.AGDA(), z0, 0.2, steps, save_every=1)
flow = solvers.integrate(flows.GradientFlow(game), z0, 0.2 * steps, saveat=np.linspace(0, 0.2 * steps, 400))
print(sgda.status_name(), agda.status_name(), flow.status_name())

fig, ax = plt.subplots(figsize=(5, 5))
plots.phase_portrait(ax, game, xlim=(-1.5, 1.5), ylim=(-1.5, 1.5), n=31 if SMALL else 61)
plots.mark_equilibrium(ax, game)
plots.overlay(ax, flow.states, color="k", label="flow")
plots.overlay(ax, sgda.states, color="tab:red", marker=".", label="sgda")
plots.overlay(ax, agda.states, color="tab:purple", marker=".", label="agda")
ax.legend()
fig.savefig(os.path.join(OUT, "tour_portrait.png"))

# %% [markdown]
# ## How fast, and at which learning rates?

# %%
for scheme in (solvers.SGDA(), solvers.AGDA(), solvers.EG()):
    ms = solvers.map_spectrum(game, scheme, 0.2)
    sr = solvers.stable_range(game, scheme, grid=61 if SMALL else 241)
    print(f"{scheme.name}: rho(0.2) = {ms.spectral_radius:.6f}, max stable lr {sr.max_stable_lr}, best lr {sr.best_lr}")

# %% [markdown]
# ## Discrete against continuous: order 1, and order 2 against the modified flow

# %%
lrs = [0.04, 0.02, 0.01]
for against in ("gradient", "modified"):
    comp = solvers.compare(game, solvers.SGDA(), lrs, 1.0, z0, against)
    print(against, [f"{r.error:.2e}" for r in comp.rows], f"order {comp.order:.3f}")
