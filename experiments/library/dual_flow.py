"""The ``dual-flow`` experiment (``gameflow run dual-flow``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from gameflow import flows, solvers
from gameflow.flows.particles import sample_target

from .. import plots
from ..context import Experiment, ExperimentContext
from ._common import gif, snapshots


def dual_flow(ctx: ExperimentContext) -> None:
    n = 16 if ctx.quick else 32
    target = sample_target("gaussian", n, 2, ctx.seed)
    x0 = 0.5 * np.random.default_rng(ctx.seed + 1).standard_normal((n, 2)) + np.array([3.0, 0.0])
    kernel = flows.Kernel("gaussian", 1.0)
    game = flows.CriticGAN(x0, target, critic="kernel", reg="rkhs", lam=0.1, kernel=kernel)
    lrs = [0.04, 0.02, 0.01] if ctx.quick else [0.04, 0.02, 0.01, 0.005]
    ctx.config.update(n=n, critic="kernel expansion on the data, RKHS penalty 0.1", lrs=lrs, t_end=2.0)

    z = game.start()
    # The physics: the closed-form blocked field is the Wasserstein gradient of the value.  Checked at a
    # random non-zero critic (at the start the critic is 0 and the particles' half would read 0 = 0).
    zr = (z[0], jnp.asarray(np.random.default_rng(ctx.seed + 2).standard_normal(z[1].shape)))
    f = game.vector_field(zr)
    gx, ga = jax.grad(lambda x, a: game.value((x, a)), argnums=(0, 1))(*zr)
    gap = max(float(jnp.max(jnp.abs(f[0] + n * gx))), float(jnp.max(jnp.abs(f[1] - ga))))
    size = float(jnp.max(jnp.abs(f[0])))
    ctx.claim("blocked closed-form field = Wasserstein gradient of the value (at a random critic)",
              "v_i = -N dV/dx_i, da/dt = dV/da", f"max difference {gap:.1e} (largest particle velocity {size:.2f})",
              gap < 1e-12 and size > 1e-3)

    comps = {}
    # The MLP critic moves fast at first (its weights are unconstrained): a shorter horizon and
    # smaller steps keep the comparison in the asymptotic regime.
    for label, g, hs, t_cmp in (
            ("kernel critic", game, lrs, 2.0),
            ("MLP critic (wd)", flows.CriticGAN(x0, target, critic="mlp", reg="wd", lam=0.1, width=16),
             [h / 2 for h in lrs], 0.5)):
        ctx.progress(f"{label}: particle GDA against the dual flow")
        comp = solvers.compare(g, solvers.SGDA(), hs, t_cmp, g.start(), "gradient")
        comps[f"{label}: sgda vs dual flow"] = comp
        ctx.metrics[f"order {label}"] = comp.order
        # Euler steps converge at order 1 to the flow of whatever field they step: this checks the
        # integration (iterate against diffrax), not the physics, which the field check above carries.
        ctx.claim(f"{label}: particle GDA follows the dual flow (an integrator check)", "order 1 in the learning rate",
                  f"order {comp.order:.3f}", abs(comp.order - 1) < 0.15)

    # Full mode has twice the particles and converges more slowly: at t = 40 its energy distance had fallen
    # 5.3x only (4.202 -> 0.788; 14x by t = 80, 44x by t = 160), so its horizon is 160.
    t_end = 40.0 if ctx.quick else 160.0
    if ctx.quick:
        # The same field as the full mode's GradientFlow: sgda's declared limit at rates (1, 1) is the game's
        # field.  Built as the kernel comparison above built it, with its number of saved times (11) and its
        # tolerances, this solve reuses that comparison's compiled code instead of compiling its own.
        ts = np.linspace(0, t_end, 11)
        sol = solvers.integrate(solvers.continuous_limit(game, solvers.SGDA(), lrs[0], "gradient"), z, t_end,
                                saveat=ts, rtol=1e-12, atol=1e-12)
    else:
        ts = np.linspace(0, t_end, 21)
        sol = solvers.integrate(flows.GradientFlow(game), z, t_end, saveat=ts)
    frames = solvers.particle_states(sol.states, game)
    d = solvers.discrepancies(frames, target)
    ctx.metrics.update(times=ts, **d)
    ctx.claim("the dual flow brings the particles to the data", f"energy distance falls by > 10x by t = {t_end:g}",
              f"{d['energy'][0]:.3f} -> {d['energy'][-1]:.4f} ({sol.status_name()})",
              d["energy"][-1] < 0.1 * d["energy"][0] and sol.status_name() == "completed")

    an = flows.analyze(game, game.equilibrium())
    ev = np.asarray(an.eigenvalues)
    ctx.metrics.update(equilibrium_abscissa=float(ev.real.max()), equilibrium_class=an.classification)
    ctx.claim("no unstable direction at (particles = data, critic = 0)", "max Re(lambda) <= 0",
              f"max Re(lambda) = {ev.real.max():.1e}; {int(np.sum(np.abs(ev) < 1e-9))} zero eigenvalues "
              f"({an.classification})", ev.real.max() <= 1e-10)

    unravel = flows.ravel_state(game.template())[1]

    def critic_at(i):
        a = unravel(jnp.asarray(np.asarray(sol.states)[i]))[1]
        return lambda T: game.critic_fn(a, jnp.asarray(T))

    snapshots(ctx, frames, target, ts, critic_at, "snapshots.png",
              f"dual flow: N = {n} particles and a kernel critic (Gaussian, width 1, RKHS penalty 0.1) over the "
              "critic f", witness_label="critic f(x)")
    fig, axs = plt.subplots(1, 2, figsize=(11, 4.3), layout="constrained")
    # Short labels: the legend then fits beside the lines.
    plots.order_plot(axs[0], {k.split(":")[0]: v for k, v in comps.items()})
    axs[0].set_title("particle GDA (sgda) against the dual flow", fontsize=9)
    plots.metric_plot(axs[1], ts, {"MMD²": d["mmd2"], "energy distance": d["energy"]},
                      ylabel="discrepancy to the data")
    axs[1].set_title(f"kernel critic: the dual flow up to t = {t_end:g}", fontsize=9)
    fig.suptitle(f"dual flow of N = {n} particles and a discriminator (Turinici 2020)", fontsize=10)
    ctx.figure(fig, "order_and_metrics.png")
    # Quick mode: every other saved state in the GIF (t = 0, 8, ..., 40); its frames cost more than the claims' runs.
    every = 2 if ctx.quick else 1
    gif(ctx, frames[::every], target, "dual_flow.gif", times=ts[::every], title=f"dual flow, N = {n}, kernel critic")


EXPERIMENT = Experiment(
    name="dual-flow",
    description=(
        "particle GDA against the dual flow of particles and a discriminator: order 1, decrease, local "
        "spectrum"
    ),
    reference="G. Turinici, Convergence dynamics of GANs: the dual metric flows, 2020",
    run=dual_flow,
)
