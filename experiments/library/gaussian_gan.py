"""The ``gaussian-gan`` experiment (``gameflow run gaussian-gan``)."""

from __future__ import annotations

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from gameflow import flows, solvers

from .. import plots
from ..context import Experiment, ExperimentContext


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
    # Saved finely for the figure's orbit; the claim reads every 20th state (t = 0, 0.5, ..., 20).  The saved
    # times do not steer the adaptive steps, so the states are those of a solve saved at the 41 times alone.
    fine = np.asarray(solvers.integrate(flows.GradientFlow(g1), z1, 20.0, saveat=np.linspace(0, 20, 801), rtol=1e-12,
                                        atol=1e-12).states)
    S = fine[::20]
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
        info = {"lam": lam_c}
        # The full/full claim rests on the spectrum alone; its trajectory is only drawn, and each flow compiles
        # its own solve: quick mode leaves it out of the figure.
        if not (ctx.quick and (gen, disc) == ("full", "full")):
            sol_c = solvers.integrate(flows.GradientFlow(gc), gc.start(), 60.0, saveat=np.linspace(0, 60, 61))
            unravel = flows.ravel_state(gc.template())[1]
            traj = [gc.metrics(unravel(jnp.asarray(st))) for st in np.asarray(sol_c.states)]
            info.update(status=sol_c.status_name(), final=traj[-1], cov_error=[m["cov_error"] for m in traj],
                        disc_norm=[m["disc_norm"] for m in traj])
        eq = gc.equilibrium()
        if eq is not None:
            an = flows.analyze(gc, eq)
            info["residual"] = an.residual
            info["zero_eigenvalues"] = int(np.sum(np.abs(np.asarray(an.eigenvalues)) < 1e-9))
        if (gen, disc) == ("diagonal", "circulant"):
            lag_states = np.asarray(sol_c.states)
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
    sig = flows.games.gaussian_gan.stationary_covariance(d, rho)
    lag = np.array([sig[0, k] for k in range(1, d)])
    # The discriminator's lag-k weights grow at d * c_k whatever the diagonal generator does (read from the run
    # of that case above, at t = 0 and t = 60).
    wt = lag_states[[0, -1], d + d:d + d + d]
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

    fig, axs = plt.subplots(1, 3, figsize=(15, 4.6), layout="constrained")
    tt = np.linspace(0, 60, 61)
    drawn = {k: v for k, v in cases.items() if "cov_error" in v}
    names = {k: f"{k.replace('/', ' / ')} (λ = {v['lam']:g})" for k, v in drawn.items()}
    plots.metric_plot(axs[0], tt, {names[k]: v["cov_error"] for k, v in drawn.items()},
                      ylabel=r"$\|GG^\top - \Sigma\|_F$")
    axs[0].set_title(r"covariance error $\|GG^\top - \Sigma\|_F$ along the GDA flow"
                     + (" (quick mode: full / full not run)" if ctx.quick else ""), fontsize=9)
    axs[0].legend(fontsize=7, title="generator / discriminator", title_fontsize=7)
    # |W| is 0 at every time for diagonal / diagonal: a log axis cannot show it, the legend says so.
    plots.metric_plot(axs[1], tt, {names[k] + (" : |W| = 0 for all t" if max(v["disc_norm"]) == 0 else ""):
                                   v["disc_norm"] for k, v in drawn.items()}, ylabel=r"$\|W\|_F$")
    axs[1].set_title(r"discriminator $\|W\|_F$: decays, or grows without an equilibrium", fontsize=9)
    axs[1].legend(fontsize=7, title="generator / discriminator", title_fontsize=7)
    # The orbit drawn finely (the claim above reads the coarser samples).
    axs[2].plot(fine[:, 0] ** 2, fine[:, 2], "-", color="tab:blue", lw=1.2)
    axs[2].plot(fine[:1, 0] ** 2, fine[:1, 2], "o", color="tab:blue", label="start")
    k = len(fine) // 40
    axs[2].annotate("", (fine[k + 1, 0] ** 2, fine[k + 1, 2]), (fine[k, 0] ** 2, fine[k, 2]),
                    arrowprops={"arrowstyle": "-|>", "color": "tab:blue"})
    axs[2].set_xlabel("s = g² (generator variance)")
    axs[2].set_ylabel("w (discriminator weight)")
    axs[2].legend(fontsize=7, loc="upper right")
    axs[2].set_title("d = 1, λ = 0: a closed orbit, H = 2w² + s - log s conserved", fontsize=9)
    fig.suptitle(f"Gaussian GAN: linear generator G, quadratic discriminator W, stationary Gaussian data "
                 f"(d = {d}, ρ = {rho:g})", fontsize=10)
    ctx.figure(fig, "gaussian_gan.png")


EXPERIMENT = Experiment(
    name="gaussian-gan",
    description="linear generator, quadratic discriminator on a stationary Gaussian: symmetry decides the equilibrium",
    reference="S. Zhang, On the Nash equilibrium of moment-matching GANs for stationary Gaussian processes, 2022",
    run=gaussian_gan,
)
