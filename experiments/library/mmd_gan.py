"""The ``mmd-gan`` experiment (``gameflow run mmd-gan``)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from gameflow import flows, solvers
from gameflow.flows.particles import sample_target

from ..context import Experiment, ExperimentContext
from ._common import variant_figures


def mmd_gan(ctx: ExperimentContext) -> None:
    n = 64
    steps = 1000 if ctx.quick else 2000
    lr = 0.2
    target = sample_target("gaussian", n, 2, ctx.seed)
    x0 = 0.5 * np.random.default_rng(ctx.seed + 1).standard_normal((n, 2)) + np.array([3.0, 0.0])
    variants = {"none": ("none", 0.0), "witness GP (1.0)": ("gp", 1.0), "weight decay (0.1)": ("wd", 0.1)}
    ctx.config.update(n=n, steps=steps, lr=lr, kernel="energy (Cramer-type) on 4 features", mlp="width 16, depth 2",
                      variants=variants)
    res = {}
    for label, (stab, gamma) in variants.items():
        ctx.progress(label)
        g = flows.MMDGAN(x0, target, kernel=flows.Kernel("energy"), stabilizer=stab, gamma=gamma, width=16)
        tr = solvers.iterate(g, solvers.SGDA(), g.start(), lr, steps, save_every=steps // 8)
        unravel = flows.ravel_state(g.template())[1]
        ms = [g.metrics(unravel(jnp.asarray(s))) for s in tr.states]
        norms = [float(np.linalg.norm(np.asarray(s)[2 * n:])) for s in tr.states]
        res[label] = {"status": tr.status_name(), "energy": [m["energy"] for m in ms],
                      "feature_mmd2": [m["feature_mmd2"] for m in ms], "psi_norm": norms,
                      "frames": solvers.particle_states(tr.states, g)}
    ctx.metrics.update({k: {kk: vv for kk, vv in v.items() if kk != "frames"} for k, v in res.items()})

    def growth(label):
        p = res[label]["psi_norm"]
        return p[-1] / p[len(p) // 2] - 1

    none, gp, wd = res["none"], res["witness GP (1.0)"], res["weight decay (0.1)"]
    ctx.claim("without a stabilizer the discriminator drifts off", "|psi| keeps growing; particles do not settle",
              f"|psi| +{100 * growth('none'):.1f}% over the second half; energy distance {none['energy'][-1]:.4f}",
              growth("none") > 0.05 and none["energy"][-1] > 0.01)
    ctx.claim("the witness gradient penalty stabilizes the game", "|psi| settles and the particles reach the data",
              f"|psi| {100 * growth('witness GP (1.0)'):+.2f}% over the second half; energy distance "
              f"{gp['energy'][-1]:.4f}", abs(growth("witness GP (1.0)")) < 0.01 and gp["energy"][-1] < 0.005)
    ctx.claim("too much weight decay kills the discriminator", "features shrink to 0 and the particles stop short",
              f"feature MMD² {wd['feature_mmd2'][-1]:.1e}; energy distance {wd['energy'][-1]:.3f}",
              wd["feature_mmd2"][-1] < 1e-6 and wd["energy"][-1] > 0.02)

    variant_figures(ctx, res, target, steps, ("psi_norm", "discriminator parameter norm |psi|", False),
                     "stability.png")


EXPERIMENT = Experiment(
    name="mmd-gan",
    description=(
        "MMD GAN with a learned feature map: unstable without a stabilizer, stable with a witness gradient "
        "penalty"
    ),
    reference=(
        "Z. Chen, W. Wu, W. Xiang, Stability analysis framework for particle-based distance GANs with "
        "Wasserstein gradient flow, 2023"
    ),
    run=mmd_gan,
)
