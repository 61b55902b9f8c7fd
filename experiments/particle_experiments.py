"""Particle GAN experiments (registered on import): MMD flows, dual flows, learned discriminators."""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from gameflow import flows, solvers
from gameflow.flows.particles import mixture_centres, mode_coverage, sample_target
from jax.scipy.special import expi

from . import plots
from .runner import ExperimentContext, register


def _gif(ctx: ExperimentContext, frames, target, name: str) -> None:
    import os

    fig, ax = plt.subplots(figsize=(5, 5))
    anim = plots.animate_particles(ax, frames, target)
    plots.save_gif(anim, os.path.join(ctx.out, name), fps=8)
    plt.close(fig)
    ctx.figures.append(name)


def _snapshots(ctx, frames, target, times, witness_of, name: str, title: str) -> None:
    picks = np.unique(np.linspace(0, len(frames) - 1, 4).astype(int))
    fig, axs = plt.subplots(1, len(picks), figsize=(4 * len(picks), 4.2))
    allp = np.concatenate([np.asarray(frames).reshape(-1, frames.shape[-1]), np.asarray(target)])[:, :2]
    lo, hi = allp.min(axis=0) - 0.5, allp.max(axis=0) + 0.5
    for ax, i in zip(np.atleast_1d(axs), picks):
        plots.particle_snapshot(ax, frames[i], target, witness=witness_of(i), lim=(lo[0], hi[0], lo[1], hi[1]),
                                title=f"t = {times[i]:.3g}")
    fig.suptitle(title, fontsize=10)
    ctx.figure(fig, name)


def _variant_figures(ctx, res, target, steps, right, name: str) -> None:
    """Energy distance and one discriminator measure against steps for each variant; final particles."""
    key, title, log = right
    fig, axs = plt.subplots(1, 2, figsize=(11, 4))
    xs = np.linspace(0, steps, len(next(iter(res.values()))["energy"]))
    plots.metric_plot(axs[0], xs, {k: v["energy"] for k, v in res.items()}, xlabel="step")
    axs[0].set_title("energy distance to the data", fontsize=9)
    plots.metric_plot(axs[1], xs, {k: v[key] for k, v in res.items()}, xlabel="step", log=log)
    axs[1].set_title(title, fontsize=9)
    ctx.figure(fig, name)
    fig, axs = plt.subplots(1, len(res), figsize=(4 * len(res), 4.2))
    for ax, (label, r) in zip(axs, res.items()):
        plots.particle_snapshot(ax, r["frames"][-1], target, title=f"{label}: step {steps}")
    ctx.figure(fig, "final_particles.png")


@register(
    "mmd-flow",
    "particles descending the MMD: monotone decrease, mode coverage, noise injection, N = 10^5 in blocks",
    "M. Arbel, A. Korba, A. Salim, A. Gretton, Maximum mean discrepancy gradient flow, NeurIPS 2019",
)
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
    d = solvers.discrepancies(run.particles, target, kernel=kernel, sinkhorn=True)
    mmd = np.asarray(d["mmd2"])
    rise = float(np.max(np.diff(mmd) / mmd[:-1]))
    ctx.metrics.update(steps=run.steps, **d)
    ctx.claim("the MMD decreases along the flow", "d/dt ½MMD² = -E_mu |grad f|² <= 0 (small steps)",
              f"largest relative rise between snapshots {rise:.2e}; MMD² {mmd[0]:.3g} -> {mmd[-1]:.2e}", rise <= 1e-9)
    cov = mode_coverage(run.particles[-1], mixture_centres(), 1.0)
    ctx.metrics["coverage"] = cov
    ctx.claim("every mode of the mixture is reached", "8 of 8 modes hold particles",
              f"{cov['covered']} of {cov['modes']}", cov["covered"] == cov["modes"])

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
    ei = np.asarray(expi(jnp.asarray(u)))
    ei_err = float(np.max(np.abs(ei - (float(expi(1.5**2 / 2)) - 2 * np.asarray(sol.ts)))))
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
    big = 20_000 if ctx.quick else 100_000
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
    _snapshots(ctx, run.particles, target, times,
               lambda i: (lambda T: flows.witness(kernel, jnp.asarray(run.particles[i]), tgt, jnp.asarray(T))[0]),
               "snapshots.png", "MMD flow: particles over the witness function")
    fig, axs = plt.subplots(1, 2, figsize=(11, 4))
    plots.metric_plot(axs[0], times, {"MMD² (Gaussian)": d["mmd2"], "energy distance": d["energy"],
                                      "Sinkhorn divergence": d["sinkhorn"]})
    axs[0].set_title("discrepancy to the target", fontsize=9)
    steps_far = ends[0.0].steps
    plots.metric_plot(axs[1], steps_far, {
        f"beta = {b:g}": [float(flows.energy_distance(p, far_t)) for p in r.particles] for b, r in ends.items()
    }, xlabel="step")
    axs[1].set_title("far start: energy distance with and without noise injection", fontsize=9)
    ctx.figure(fig, "metrics.png")
    _gif(ctx, run.particles, target, "particles.gif")


@register(
    "dual-flow",
    "particle GDA against the dual flow of particles and a discriminator: order 1, decrease, local spectrum",
    "G. Turinici, Convergence dynamics of GANs: the dual metric flows, 2020",
)
def dual_flow(ctx: ExperimentContext) -> None:
    n = 16 if ctx.quick else 32
    target = sample_target("gaussian", n, 2, ctx.seed)
    x0 = 0.5 * np.random.default_rng(ctx.seed + 1).standard_normal((n, 2)) + np.array([3.0, 0.0])
    kernel = flows.Kernel("gaussian", 1.0)
    game = flows.CriticGAN(x0, target, critic="kernel", reg="rkhs", lam=0.1, kernel=kernel)
    lrs = [0.04, 0.02, 0.01] if ctx.quick else [0.04, 0.02, 0.01, 0.005]
    ctx.config.update(n=n, critic="kernel expansion on the data, RKHS penalty 0.1", lrs=lrs, t_end=2.0)

    z = game.start()
    f = game.vector_field(z)
    gx, ga = jax.grad(lambda x, a: game.value((x, a)), argnums=(0, 1))(*z)
    gap = max(float(jnp.max(jnp.abs(f[0] + n * gx))), float(jnp.max(jnp.abs(f[1] - ga))))
    ctx.claim("blocked closed-form field = Wasserstein gradient of the value",
              "v_i = -N dV/dx_i, da/dt = dV/da", f"max difference {gap:.1e}", gap < 1e-12)

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
        ctx.claim(f"{label}: particle GDA follows the dual flow", "order 1 in the learning rate",
                  f"order {comp.order:.3f}", abs(comp.order - 1) < 0.15)

    t_end = 40.0
    ts = np.linspace(0, t_end, 21)
    sol = solvers.integrate(flows.GradientFlow(game), z, t_end, saveat=ts)
    frames = solvers.particle_states(sol.states, game)
    d = solvers.discrepancies(frames, target)
    ctx.metrics.update(times=ts, **d)
    ctx.claim("the dual flow brings the particles to the data", "energy distance falls by > 10x by t = 40",
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

    _snapshots(ctx, frames, target, ts, critic_at, "snapshots.png", "dual flow: particles over the critic f")
    fig, axs = plt.subplots(1, 2, figsize=(11, 4))
    plots.order_plot(axs[0], comps)
    plots.metric_plot(axs[1], ts, {"MMD²": d["mmd2"], "energy distance": d["energy"]})
    ctx.figure(fig, "order_and_metrics.png")
    _gif(ctx, frames, target, "dual_flow.gif")


@register(
    "mmd-gan",
    "MMD GAN with a learned feature map: unstable without a stabilizer, stable with a witness gradient penalty",
    "Z. Chen, W. Wu, W. Xiang, Stability analysis framework for particle-based distance GANs with Wasserstein "
    "gradient flow, 2023",
)
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

    _variant_figures(ctx, res, target, steps, ("psi_norm", "discriminator parameter norm |psi|", False),
                     "stability.png")


@register(
    "critic-regularizers",
    "particle GDA against an MLP critic: the R1 gradient penalty settles, spectral normalization keeps the critic "
    "1-Lipschitz but oscillates",
    "T. Furuya, S. Okuda, K. Suetake, Y. Sawada, Convergences for minimax optimization problems over "
    "infinite-dimensional spaces towards stability in adversarial training, arXiv:2312.00991, 2023; "
    "L. Mescheder, A. Geiger, S. Nowozin, Which training methods for GANs do actually converge?, ICML 2018",
)
def critic_regularizers(ctx: ExperimentContext) -> None:
    from gameflow.flows.particles import _apply

    n, lr = 64, 0.05
    steps = 4000 if ctx.quick else 8000
    rng = np.random.default_rng(ctx.seed)
    target = 0.5 * rng.standard_normal((n, 2)) + np.array([2.0, 1.0])
    x0 = 0.5 * rng.standard_normal((n, 2))
    variants = {"none": ("none", 0.0), "spectral norm": ("sn", 0.0), "R1 penalty (10)": ("gp", 10.0)}
    ctx.config.update(n=n, steps=steps, lr=lr, critic="tanh MLP, width 32, depth 2", loss="E_data f - E_particles f",
                      variants=variants)
    res = {}
    for label, (reg, lam) in variants.items():
        ctx.progress(label)
        g = flows.CriticGAN(x0, target, critic="mlp", reg=reg, lam=lam, width=32, depth=2, seed=ctx.seed)
        tr = solvers.iterate(g, solvers.SGDA(), g.start(), lr, steps, save_every=steps // 16)
        unravel = flows.ravel_state(g.template())[1]
        energy, lip = [], []
        for v in np.asarray(tr.states):
            X, psi = unravel(jnp.asarray(v))
            pts = jnp.concatenate([X, jnp.asarray(target)])
            grads = jax.vmap(jax.grad(lambda t, psi=psi, sn=reg == "sn": _apply(psi, t, sn)))(pts)
            energy.append(float(flows.energy_distance(X, target)))
            lip.append(float(jnp.max(jnp.linalg.norm(grads, axis=1))))
        res[label] = {"status": tr.status_name(), "energy": energy, "max_grad_f": lip,
                      "frames": solvers.particle_states(tr.states, g)}
    ctx.metrics.update({k: {kk: vv for kk, vv in v.items() if kk != "frames"} for k, v in res.items()})
    half = len(res["none"]["energy"]) // 2

    gp, sn = res["R1 penalty (10)"], res["spectral norm"]
    late_gp, late_sn = gp["energy"][half:], sn["energy"][half:]
    ctx.claim("with the R1 gradient penalty particle GDA settles on the data",
              "the penalty makes the equilibrium (data, flat critic) locally attracting (Mescheder et al. 2018)",
              f"energy distance over the second half {min(late_gp):.4f}..{max(late_gp):.4f}; "
              f"max |grad f| at the end {gp['max_grad_f'][-1]:.3f}",
              max(late_gp) < 0.03 and gp["max_grad_f"][-1] < 0.05)
    ctx.claim("spectral normalization keeps the critic 1-Lipschitz at every saved step",
              "each layer divided by its spectral norm, tanh 1-Lipschitz: |grad f| <= 1",
              f"largest |grad f| on particles and data over the run {max(sn['max_grad_f']):.3f}",
              max(sn["max_grad_f"]) <= 1.0)
    ctx.claim("but with spectral normalization alone the particles keep oscillating",
              "a Lipschitz bound alone does not make the equilibrium attracting (WGAN-type critics, Mescheder "
              "et al. 2018)",
              f"energy distance over the second half {min(late_sn):.3f}..{max(late_sn):.3f} "
              f"(R1: below {max(late_gp):.3f})",
              max(late_sn) - min(late_sn) > 0.1 and min(late_sn) > 2 * max(late_gp))

    _variant_figures(ctx, res, target, steps, ("max_grad_f", "critic: largest |grad f| on particles and data", True),
                     "regularizers.png")


@register(
    "isolated-points",
    "isolated true points and a kernel discriminator: the good minimum, approximate mode collapse, divergence",
    "E. Becker, P. Pandit, S. Rangan, A. Fletcher, Instability and local minima in GAN training with kernel "
    "discriminators, NeurIPS 2022",
)
def isolated_points(ctx: ExperimentContext) -> None:
    Y = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    m = len(Y)
    kernel = flows.Kernel("gaussian", 1.0)
    starts = {"good": Y + np.array([[0.5, 0.3], [-0.4, 0.6], [0.3, -0.5]]),
              "collapse": np.array([[0.5, 0.3], [-0.4, -0.6], [10.3, -0.5]])}
    lr = 0.1
    steps = 10_000 if ctx.quick else 20_000
    t = lr * steps
    ctx.config.update(true_points=Y, kernel_width=1.0, lr=lr, steps=steps, starts=starts)
    out = {}
    for case, lam in (("good", 0.1), ("collapse", 0.1), ("collapse", 0.0)):
        ctx.progress(f"{case}, lambda = {lam}")
        g = flows.CriticGAN(starts[case], Y, critic="kernel", reg="rkhs", lam=lam, kernel=kernel)
        tr = solvers.iterate(g, solvers.SGDA(), g.start(), lr, steps, save_every=steps // 50)
        unravel = flows.ravel_state(g.template())[1]
        zf = unravel(jnp.asarray(tr.final))
        out[(case, lam)] = {"frames": solvers.particle_states(tr.states, g), "a": np.asarray(zf[1]),
                            "metrics": g.metrics(zf), "residual": flows.residual(g, zf)}
    ctx.metrics.update({f"{c}, lambda={lam}": {"critic": v["a"], **v["metrics"], "residual": v["residual"]}
                        for (c, lam), v in out.items()})

    def nearest(X):
        return np.linalg.norm(X[:, None] - Y[None], axis=-1).min(axis=0)

    good = out[("good", 0.1)]
    gap = float(nearest(good["frames"][-1]).max())
    ctx.claim("particles near distinct true points converge to them", "the good minimum: every true point covered",
              f"largest distance from a true point to its nearest particle {gap:.3f}; MMD² "
              f"{good['metrics']['mmd2']:.1e}", gap < 0.1)
    col = out[("collapse", 0.1)]
    far = nearest(col["frames"][-1])
    ctx.claim("two particles in one basin: approximate mode collapse",
              "a stationary point with one true point uncovered and MMD² near 2/9",
              f"uncovered point at distance {far.max():.2f}; MMD² {col['metrics']['mmd2']:.3f}; residual "
              f"{col['residual']:.1e}", far.max() > 5 and col["metrics"]["mmd2"] > 0.2)
    a_star = 1 / (m * 0.1)
    ctx.claim("the critic's weight on the uncovered point", "a* = 1/(M lambda) (isolated: a' = 1/M - lambda a)",
              f"{col['a'][2]:.6f} against {a_star:.6f}", abs(col["a"][2] / a_star - 1) < 1e-3)
    div = out[("collapse", 0.0)]
    rate = div["a"][2] / t
    ctx.claim("without regularization the critic diverges", "a grows linearly at rate 1/M = 1/3",
              f"a/t = {rate:.6f} at t = {t:g}", abs(rate * m - 1) < 1e-3)
    lost = float(nearest(div["frames"][-1]).max())
    ctx.claim("and the uncovered point stays uncovered", "no particle is in its basin, whatever the critic does",
              f"nearest particle at distance {lost:.2f}", lost > 5)

    fig, axs = plt.subplots(1, 3, figsize=(13, 4.3))
    for ax, ((case, lam), v) in zip(axs, out.items()):
        F = v["frames"]
        for i in range(F.shape[1]):
            ax.plot(F[:, i, 0], F[:, i, 1], "-", lw=1)
        plots.particle_snapshot(ax, F[-1], Y, lim=(-3, 13, -3, 13), title=f"{case} start, lambda = {lam:g}")
    ctx.figure(fig, "isolated_points.png")


@register(
    "gaussian-gan",
    "linear generator, quadratic discriminator on a stationary Gaussian: symmetry decides the equilibrium",
    "S. Zhang, On the Nash equilibrium of moment-matching GANs for stationary Gaussian processes, 2022",
)
def gaussian_gan(ctx: ExperimentContext) -> None:
    d, rho = 4, 0.5
    ctx.config.update(d=d, rho=rho)

    # Mean dynamics with a linear discriminator: δ'' + λδ' + δ = 0.
    lam = 0.5
    mean = np.array([1.0, -0.5, 0.25, 2.0])
    g = flows.GaussianGAN(d, rho, mean, gen="circulant", disc="linear", lam=lam)
    z0 = g.start()
    ts = np.linspace(0, 10, 11)
    sol = solvers.integrate(flows.GradientFlow(g), z0, 10.0, saveat=ts, rtol=1e-12, atol=1e-12)
    b = np.stack([np.asarray(flows.ravel_state(g.template())[1](jnp.asarray(s))[0][1]) for s in np.asarray(sol.states)])
    w = np.sqrt(1 - lam**2 / 4)
    d0 = -mean  # b(0) = 0, b'(0) = v(0) = 0
    closed = mean + np.exp(-lam * ts / 2)[:, None] * (np.cos(w * ts)[:, None] * d0
                                                      + (lam / (2 * w)) * np.sin(w * ts)[:, None] * d0)
    err = float(np.max(np.abs(b - closed)))
    ctx.claim("mean dynamics (linear discriminator)", "b - m solves delta'' + lambda delta' + delta = 0",
              f"max |b(t) - closed form| = {err:.1e}", err < 1e-8)

    # One dimension, λ = 0: H = 2w² + s - log s is conserved (σ² = 1).
    g1 = flows.GaussianGAN(1, 0.0, gen="circulant", disc="circulant", lam=0.0)
    z1 = ((jnp.array([1.6]), jnp.zeros(1)), (jnp.array([0.2]), jnp.zeros(1)))
    sol1 = solvers.integrate(flows.GradientFlow(g1), z1, 20.0, saveat=np.linspace(0, 20, 41), rtol=1e-12, atol=1e-12)
    S = np.asarray(sol1.states)
    s, wv = S[:, 0] ** 2, S[:, 2]
    H = 2 * wv**2 + s - np.log(s)
    drift = float(np.max(np.abs(H - H[0])))
    ctx.claim("second moments cycle without regularization", "H = 2w² + s - log s conserved (s = g²)",
              f"max |H(t) - H(0)| = {drift:.1e} over t in [0, 20]", drift < 1e-9)

    gl = flows.GaussianGAN(1, 0.0, gen="circulant", disc="full", lam=lam)
    ev = np.asarray(flows.analyze(gl, gl.equilibrium()).eigenvalues)
    theory = np.array([(-lam + sign * np.sqrt(complex(lam**2 - q))) / 2 for q in (16.0, 4.0) for sign in (1, -1)])
    # All real parts are -lam/2: order both by imaginary part.
    ev, theory = ev[np.argsort(ev.imag)], theory[np.argsort(theory.imag)]
    eerr = float(np.max(np.abs(ev - theory)))
    ctx.claim("Jacobian at the equilibrium (d = 1)", "(-lam ± sqrt(lam² - 16))/2 and (-lam ± sqrt(lam² - 4))/2",
              f"max deviation {eerr:.1e}", eerr < 1e-10)

    cases = {}
    pairs = (("circulant", "circulant"), ("full", "full"), ("diagonal", "circulant"), ("diagonal", "diagonal"))
    for gen, disc in pairs:
        ctx.progress(f"generator {gen}, discriminator {disc}")
        lam_c = 0.0 if (gen, disc) == ("diagonal", "circulant") else 0.5
        gc = flows.GaussianGAN(d, rho, gen=gen, disc=disc, lam=lam_c)
        sol_c = solvers.integrate(flows.GradientFlow(gc), gc.start(), 60.0, saveat=np.linspace(0, 60, 61))
        unravel = flows.ravel_state(gc.template())[1]
        traj = [gc.metrics(unravel(jnp.asarray(st))) for st in np.asarray(sol_c.states)]
        info = {"lam": lam_c, "status": sol_c.status_name(), "final": traj[-1],
                "cov_error": [m["cov_error"] for m in traj], "disc_norm": [m["disc_norm"] for m in traj]}
        eq = gc.equilibrium()
        if eq is not None:
            an = flows.analyze(gc, eq)
            info["residual"] = an.residual
            info["zero_eigenvalues"] = int(np.sum(np.abs(np.asarray(an.eigenvalues)) < 1e-9))
        cases[f"{gen}/{disc}"] = info
    ctx.metrics["cases"] = cases
    cc = cases["circulant/circulant"]
    ctx.claim("circulant generator: a consistent equilibrium", "G = Sigma^(1/2) stationary; GDA flow reaches it",
              f"residual {cc['residual']:.1e}; |GG^T - Sigma| at t = 60: {cc['final']['cov_error']:.1e}",
              cc["residual"] < 1e-12 and cc["final"]["cov_error"] < 1e-3)
    ff = cases["full/full"]
    ctx.claim("full generator: a continuum of equilibria", f"d(d-1)/2 = {d * (d - 1) // 2} zero eigenvalues (G -> GQ)",
              f"{ff['zero_eigenvalues']} zero eigenvalues; residual {ff['residual']:.1e}",
              ff["zero_eigenvalues"] == d * (d - 1) // 2)
    sig = flows.gaussian_gan.stationary_covariance(d, rho)
    lag = np.array([sig[0, k] for k in range(1, d)])
    # The discriminator's lag-k weights grow at d * c_k whatever the diagonal generator does.
    gcirc = flows.GaussianGAN(d, rho, gen="diagonal", disc="circulant", lam=0.0)
    wt = np.asarray(solvers.integrate(flows.GradientFlow(gcirc), gcirc.start(), 60.0,
                                      saveat=np.array([0.0, 60.0])).states)[:, d + d:d + d + d]
    lag_growth = (wt[1, 1:] - wt[0, 1:]) / 60.0
    gerr = float(np.max(np.abs(lag_growth - d * lag)))
    ctx.claim("diagonal generator vs circulant discriminator: no equilibrium",
              "lag-k discriminator weights grow linearly at d c_k for ever",
              f"growth rates {np.round(lag_growth, 6).tolist()} against {np.round(d * lag, 6).tolist()} "
              f"(max error {gerr:.1e})", gerr < 1e-8)
    dd = cases["diagonal/diagonal"]
    off = float(np.linalg.norm(sig - np.diag(np.diag(sig))))
    ctx.claim("diagonal generator vs diagonal discriminator: an inconsistent equilibrium",
              f"variances matched, correlations missed: |GG^T - Sigma| -> {off:.4f}",
              f"{dd['final']['cov_error']:.4f}", abs(dd["final"]["cov_error"] - off) < 1e-3)

    fig, axs = plt.subplots(1, 3, figsize=(14, 4))
    tt = np.linspace(0, 60, 61)
    plots.metric_plot(axs[0], tt, {k: v["cov_error"] for k, v in cases.items()})
    axs[0].set_title("|GG^T - Sigma|_F along the GDA flow", fontsize=9)
    plots.metric_plot(axs[1], tt, {k: v["disc_norm"] for k, v in cases.items()}, log=False)
    axs[1].set_title("|W|_F: bounded, or growing without an equilibrium", fontsize=9)
    axs[2].plot(S[:, 0] ** 2, S[:, 2], "-", label="lambda = 0: closed orbit (H conserved)")
    axs[2].set_xlabel("s = g²")
    axs[2].set_ylabel("w")
    axs[2].legend(fontsize=7)
    axs[2].set_title("second-moment dynamics, d = 1", fontsize=9)
    ctx.figure(fig, "gaussian_gan.png")
