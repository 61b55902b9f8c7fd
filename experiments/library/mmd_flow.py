"""The ``mmd-flow`` experiment (``gameflow run mmd-flow``)."""

from __future__ import annotations

import time

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from gameflow import flows, solvers
from gameflow.flows.particles import mixture_centres, mode_coverage, sample_target
from jax.scipy.special import expi

from .. import plots
from ..context import Experiment, ExperimentContext
from ._common import gif, snapshots


def mmd_flow(ctx: ExperimentContext) -> None:
    n = 200 if ctx.quick else 600
    steps, lr = (1000, 1.0) if ctx.quick else (2000, 1.0)
    kernel = flows.Kernel("gaussian", 1.0)
    target = sample_target("mixture", n, 2, ctx.seed)
    x0 = 0.5 * np.random.default_rng(ctx.seed + 1).standard_normal((n, 2))
    game = flows.MMDFlow(x0, target, kernel)
    ctx.config.update(n=n, target="8-mode mixture, radius 4, std 0.3", kernel="gaussian, width 1", lr=lr, steps=steps)

    ctx.progress(f"{n} particles, {steps} steps")
    run = solvers.noisy_descent(game, lr, steps, save_every=steps // 20)
    # The Sinkhorn divergence is only drawn (no claim reads it) and costs most of the quick run (hundreds of
    # Sinkhorn iterations per snapshot at epsilon 0.05): quick mode computes it at six snapshots, denser early
    # where it falls fastest.
    d = solvers.discrepancies(run.particles, target, kernel=kernel, sinkhorn=not ctx.quick)
    if ctx.quick:
        picked = np.unique(np.round(np.geomspace(1, len(run.particles), 6)).astype(int) - 1)
        d["sinkhorn"] = [float(flows.sinkhorn_divergence(run.particles[i], target)) if i in picked else float("nan")
                         for i in range(len(run.particles))]
        ctx.config["sinkhorn_snapshots"] = picked.tolist()
    mmd = np.asarray(d["mmd2"])
    rise = float(np.max(np.diff(mmd) / mmd[:-1]))
    # (in quick mode the snapshots without a Sinkhorn value hold None)
    ctx.metrics.update(steps=run.steps, **{k: [None if np.isnan(x) else x for x in v] for k, v in d.items()})
    ctx.claim("the MMD decreases along the flow", "d/dt ½MMD² = -E_mu |grad f|² <= 0 (small steps)",
              f"largest relative rise between snapshots {rise:.2e}; MMD² {mmd[0]:.3g} -> {mmd[-1]:.2e}", rise <= 1e-9)
    cov = mode_coverage(run.particles[-1], mixture_centres(), 1.0)
    ctx.metrics["coverage"] = cov
    # The target puts exactly n/8 points on each mode: mass 1/8 each. Where the flow has matched the
    # target, each mode holds its mass up to the particles still in transit (those off every mode).
    weights = np.bincount(np.arange(n) % 8, minlength=8) / n
    frac = np.asarray(cov["fractions"])
    off = 1.0 - frac.sum()
    dev = float(np.abs(frac - weights).max())
    ctx.claim("every mode of the mixture is reached, with its weight", "8 of 8 modes hold particles; each mode's "
              "share of the particles equals its weight 1/8 up to the share still off every mode",
              f"{cov['covered']} of {cov['modes']}; shares {np.round(frac, 4).tolist()}; largest deviation {dev:.4f}; "
              f"off every mode {off:.4f}", cov["covered"] == cov["modes"] and dev <= off + 1.0 / n)

    # The self-interaction of the particles is antisymmetric: it cannot move their mean.
    X = jnp.asarray(x0)
    v = game.vector_field((X,))[0]
    cross = flows.kernel_sums(kernel, X, jnp.asarray(target), grad=True)[1]
    err = float(jnp.max(jnp.abs(v.mean(axis=0) - cross.mean(axis=0))))
    ctx.claim("the particles' mean moves by the cross term alone", "mean velocity = mean_i,m grad_x k(x_i, y_m)",
              f"max difference {err:.1e}", err < 1e-13)

    # One particle, one target point, 1-D: Ei(δ²/2σ²) falls linearly at rate 2/σ².
    one = flows.MMDFlow(np.array([[1.5]]), np.array([[0.0]]), kernel)
    t1 = 3.0
    sol = solvers.integrate(flows.GradientFlow(one), np.array([1.5]), t1, saveat=np.linspace(0, t1, 7), rtol=1e-12,
                            atol=1e-12)
    u = np.asarray(sol.states)[:, 0] ** 2 / 2
    # One call for the trajectory and the start value: jax's expi compiles once per shape.
    ei = np.asarray(expi(jnp.asarray(np.append(u, 1.5**2 / 2))))
    ei, ei0 = ei[:-1], float(ei[-1])
    ei_err = float(np.max(np.abs(ei - (ei0 - 2 * np.asarray(sol.ts)))))
    ctx.claim("one particle against one target point", "Ei(delta(t)^2/2) = Ei(delta0^2/2) - 2t (Gaussian kernel)",
              f"max deviation {ei_err:.1e}", ei_err < 1e-9)

    # Noise injection from a start far from a Gaussian target, where the flow stalls.
    nf = 150 if ctx.quick else 300
    far_t = sample_target("gaussian", nf, 2, ctx.seed)
    far_x = 0.5 * np.random.default_rng(ctx.seed + 2).standard_normal((nf, 2)) + np.array([7.0, 0.0])
    far = flows.MMDFlow(far_x, far_t, kernel)
    ends = {}
    for beta in (0.0, 3.0):
        ctx.progress(f"far start, noise {beta}")
        r = solvers.noisy_descent(far, 1.0, 2000, noise=beta, seed=ctx.seed, save_every=100)
        ends[beta] = r
    e0 = float(flows.energy_distance(ends[0.0].particles[-1], far_t))
    e3 = float(flows.energy_distance(ends[3.0].particles[-1], far_t))
    ctx.metrics.update(noise_energy={"beta=0": e0, "beta=3": e3})
    ctx.claim("noise injection escapes where the flow stalls", "lower energy distance with noise (Arbel et al. Sec. 4)",
              f"energy distance after 2000 steps: {e0:.3f} without, {e3:.3f} with beta = 3", e3 < 0.5 * e0)

    # Scale: blocked kernel sums, memory O(N x block).
    big = 10_000 if ctx.quick else 100_000  # quick: still 48 blocks of 2^20 pairs (kernels.BLOCK)
    ctx.progress(f"one step at N = {big}")
    Xb = jnp.asarray(np.random.default_rng(3).standard_normal((big, 2)))
    gb = flows.MMDFlow(Xb, Xb[: big // 2] + 1.0, kernel)
    f = flows.compile.jit(lambda x: gb.vector_field((x,))[0])  # as the solvers compile it
    f(Xb).block_until_ready()
    t0 = time.perf_counter()
    vb = f(Xb).block_until_ready()
    secs = time.perf_counter() - t0
    sub = 2000
    dense = flows.MMDFlow(Xb[:sub], Xb[: sub // 2] + 1.0, kernel, block=None).vector_field((Xb[:sub],))[0]
    blocked = flows.MMDFlow(Xb[:sub], Xb[: sub // 2] + 1.0, kernel, block=4096).vector_field((Xb[:sub],))[0]
    agree = float(jnp.max(jnp.abs(dense - blocked)))
    ctx.metrics.update(big_n=big, big_step_seconds=secs, blocked_vs_dense=agree)
    ctx.claim(f"N = {big} particles in 2-D, blocked", "finite velocities; blocked = dense to 1e-12",
              f"one step {secs:.2f} s, finite: {bool(jnp.all(jnp.isfinite(vb)))}; |blocked - dense| = {agree:.1e}",
              bool(jnp.all(jnp.isfinite(vb))) and agree < 1e-12)

    times = run.steps * lr
    tgt = jnp.asarray(target)
    snapshots(ctx, run.particles, target, times,
               lambda i: (lambda T: flows.witness(kernel, jnp.asarray(run.particles[i]), tgt, jnp.asarray(T))[0]),
               "snapshots.png", f"MMD flow (Gaussian kernel, width 1), N = {n} particles to an 8-mode mixture, "
               f"h = {lr:g}: particles over the witness function", witness_label="MMD witness f(x)")
    fig, axs = plt.subplots(1, 2, figsize=(11, 4.3), layout="constrained")
    sinkhorn_label = "Sinkhorn divergence" + (" (6 snapshots)" if ctx.quick else "")
    plots.metric_plot(axs[0], times, {"MMD² (Gaussian)": d["mmd2"], "energy distance": d["energy"],
                                      sinkhorn_label: d["sinkhorn"]}, ylabel="discrepancy to the target")
    axs[0].set_title(f"N = {n} particles to the 8-mode mixture, h = {lr:g}", fontsize=9)
    steps_far = ends[0.0].steps
    plots.metric_plot(axs[1], steps_far, {
        f"β = {b:g}" + (" (no noise)" if b == 0 else ""): [float(flows.energy_distance(p, far_t)) for p in r.particles]
        for b, r in ends.items()
    }, xlabel="step", ylabel="energy distance to the target")
    axs[1].set_title(f"far start (N = {nf}, 7 away from a Gaussian target), h = 1: noise injection of level β",
                     fontsize=9)
    fig.suptitle("MMD gradient flow (Arbel et al. 2019)", fontsize=10)
    ctx.figure(fig, "metrics.png")
    # Quick mode: every other snapshot in the GIF (its frames cost more than the rest of the figures).
    every = 2 if ctx.quick else 1
    gif(ctx, run.particles[::every], target, "particles.gif", times=times[::every], title=f"MMD flow, N = {n}")


EXPERIMENT = Experiment(
    name="mmd-flow",
    description="particles descending the MMD: monotone decrease, mode coverage, noise injection, N = 10^5 in blocks",
    reference="M. Arbel, A. Korba, A. Salim, A. Gretton, Maximum mean discrepancy gradient flow, NeurIPS 2019",
    run=mmd_flow,
)
