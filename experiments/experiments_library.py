"""The reproducible experiments (registered on import)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from gameflow import flows, solvers
from gameflow.flows.dirac_gan import equilibrium_jacobian

from . import figures, plots
from .runner import ExperimentContext, register

MARGIN = solvers.spectrum.MARGIN


def verdict(rho: float) -> str:
    """converges / cycles / diverges from a spectral radius."""
    if rho < 1 - MARGIN:
        return "converges"
    if rho <= 1 + MARGIN:
        return "cycles"
    return "diverges"


# Mescheder et al. 2018, Sec. 3 and 4: the local behaviour of each variant at
# small learning rates under simultaneous and alternating gradient steps.
DIRAC_VARIANTS = [
    ("GAN", {"loss": "gan"}, None, {"sgda": "diverges", "agda": "cycles"}),
    ("NS-GAN", {"loss": "nsgan"}, None, {"sgda": "diverges", "agda": "cycles"}),
    ("WGAN", {"loss": "wgan"}, None, {"sgda": "diverges", "agda": "cycles"}),
    (
        "WGAN-GP",
        {"loss": "wgan", "reg": "wgan-gp", "gamma": 1.0, "eps": 0.1},
        None,
        {"sgda": "diverges", "agda": "diverges"},
    ),
    ("instance noise", {"reg": "noise", "sigma": 1.0}, None, {"sgda": "converges", "agda": "converges"}),
    ("R1", {"reg": "r1", "gamma": 0.3}, None, {"sgda": "converges", "agda": "converges"}),
    ("R2", {"reg": "r2", "gamma": 0.3}, None, {"sgda": "converges", "agda": "converges"}),
    ("consensus", {"loss": "gan"}, 1.0, {"sgda": "converges", "agda": "converges"}),
]


@register(
    "dirac-gan",
    "which training methods converge on the Dirac-GAN",
    "L. Mescheder, A. Geiger, S. Nowozin, Which training methods for GANs do actually converge?, ICML 2018",
)
def dirac_gan(ctx: ExperimentContext) -> None:
    lr = 0.01
    ctx.config.update(lr=lr, variants=[v[0] for v in DIRAC_VARIANTS])
    rows = {}
    for name, params, consensus, expected in DIRAC_VARIANTS:
        ctx.progress(f"{name}: eigenvalues and update-map spectra")
        game = flows.DiracGAN(**params)
        flow = flows.ConsensusFlow(game, consensus) if consensus else flows.GradientFlow(game)
        res = flows.analyze(flow)
        theory = flows.eigenvalues(equilibrium_jacobian(game, consensus or 0.0))
        err = float(np.max(np.abs(res.eigenvalues - theory)))
        schemes = (
            {"sgda": solvers.Consensus(gamma=consensus), "agda": solvers.Consensus(gamma=consensus)}
            if consensus
            else {"sgda": solvers.SGDA(), "agda": solvers.AGDA()}
        )
        measured = {}
        for label, scheme in schemes.items():
            if consensus and label == "agda":
                continue
            measured[label] = solvers.map_spectrum(game, scheme, lr).spectral_radius
        rows[name] = {
            "eigenvalues": [[e.real, e.imag] for e in res.eigenvalues],
            "classification": res.classification,
            "closed_form_error": err,
            "spectral_radius": measured,
        }
        ctx.claim(
            f"{name}: Jacobian eigenvalues at the equilibrium",
            "paper's closed form",
            f"max error {err:.1e} ({res.classification})",
            err < 1e-10,
        )
        for label, rho in measured.items():
            want = expected[label]
            scheme_name = "consensus" if consensus else label
            ctx.claim(
                f"{name}: {scheme_name} at lr {lr}", want, f"{verdict(rho)} (rho = {rho:.10f})", verdict(rho) == want
            )
    ctx.metrics["variants"] = rows
    ctx.progress("phase portraits")
    steps_t = 15.0 if ctx.quick else 40.0
    # Quick mode draws two panels (each portrait compiles its own runs).
    shown = [DIRAC_VARIANTS[0], DIRAC_VARIANTS[5]] if ctx.quick else DIRAC_VARIANTS
    fig, axs = plt.subplots(
        2 if len(shown) > 2 else 1,
        (len(shown) + 1) // 2 if len(shown) > 2 else 2,
        figsize=(5 * ((len(shown) + 1) // 2 if len(shown) > 2 else 2), 10 if len(shown) > 2 else 5),
    )
    runs = [("sgda", solvers.SGDA(), 0.1), ("agda", solvers.AGDA(), 0.1)]
    for ax, (name, params, consensus, _) in zip(np.ravel(axs), shown):
        game = flows.DiracGAN(**params)
        flow = flows.ConsensusFlow(game, consensus) if consensus else None
        panel_runs = [("consensus", solvers.Consensus(gamma=consensus), 0.1)] if consensus else runs
        figures.portrait_axes(ax, game, panel_runs, np.array([1.0, 1.0]), steps_t, flow, title=name)
    ctx.figure(fig, "portraits.png")


def _bilinear_closed_forms(sig: np.ndarray, h: float) -> dict[str, float]:
    agda = max(float(np.max(np.abs(np.roots([1, -(2 - (h * s) ** 2), 1])))) for s in sig)
    ogda = max(float(np.max(np.abs(np.roots([1, -(1 + 2j * h * s), 1j * h * s])))) for s in sig)
    return {
        "sgda": float(np.max(np.sqrt(1 + (h * sig) ** 2))),
        "agda": agda,
        "eg": float(np.max(np.sqrt((1 - (h * sig) ** 2) ** 2 + (h * sig) ** 2))),
        "ogda": ogda,
    }


@register(
    "bilinear",
    "GDA, alternating GDA, extragradient, optimism and Anderson mixing on bilinear games",
    "closed-form rates; H. He et al., GDA-AM: on the effectiveness of solving minimax optimization via "
    "Anderson mixing, ICLR 2022",
)
def bilinear(ctx: ExperimentContext) -> None:
    dim, cond = (4, 4.0) if ctx.quick else (8, 10.0)
    A = flows.random_matrix(dim, cond, ctx.seed)
    game = flows.Bilinear(A)
    sig = np.linalg.svd(A, compute_uv=False)
    lrs = np.geomspace(0.02, 1.5, 12 if ctx.quick else 40)
    ctx.config.update(dim=dim, cond=cond, lrs=lrs)
    schemes = {"sgda": solvers.SGDA(), "agda": solvers.AGDA(), "eg": solvers.EG(), "ogda": solvers.OGDA()}
    ctx.progress("spectral radii against closed forms")
    fig, axs = plt.subplots(1, 2, figsize=(12, 4.5))
    worst = {}
    for label, scheme in schemes.items():
        rho = solvers.spectral_radii(game, scheme, lrs)
        closed = np.array([_bilinear_closed_forms(sig, h)[label] for h in lrs])
        worst[label] = float(np.max(np.abs(rho - closed)))
        line = axs[0].plot(lrs, closed, "-", label=f"{label} (closed form)")[0]
        axs[0].plot(lrs, rho, "o", color=line.get_color(), markersize=3)
        ctx.claim(
            f"{label}: spectral radius over lr in [{lrs[0]:.2g}, {lrs[-1]:.2g}]",
            "closed form",
            f"max |difference| {worst[label]:.1e}",
            worst[label] < 1e-10,
        )
    axs[0].axhline(1, color="k", lw=0.5)
    axs[0].set_xscale("log")
    axs[0].set_xlabel("learning rate h")
    axs[0].set_ylabel("spectral radius of the update map")
    axs[0].legend(fontsize=8)
    ctx.metrics["max_abs_radius_error"] = worst
    eg = solvers.stable_range(game, solvers.EG())
    og = solvers.stable_range(game, solvers.OGDA())
    ctx.metrics.update(eg_max_stable_lr=eg.max_stable_lr, ogda_max_stable_lr=og.max_stable_lr)
    ctx.claim(
        "eg stops converging at h = 1/sigma_max",
        f"{1 / sig.max():.12f}",
        f"{eg.max_stable_lr:.12f}",
        abs(eg.max_stable_lr - 1 / sig.max()) < 1e-9,
    )
    ctx.claim(
        "ogda stops converging at h = 1/(sqrt(3) sigma_max)",
        f"{1 / (math.sqrt(3) * sig.max()):.12f}",
        f"{og.max_stable_lr:.12f}",
        abs(og.max_stable_lr - 1 / (math.sqrt(3) * sig.max())) < 1e-9,
    )
    ctx.progress("alternating GDA against its splitting")
    agda = solvers.iterate(game, solvers.AGDA(), np.ones(2 * dim), 0.1, 100, save_every=1)
    split = solvers.iterate(game, solvers.Splitting(), np.ones(2 * dim), 0.1, 100, save_every=1)
    gap = float(np.max(np.abs(np.asarray(agda.states) - np.asarray(split.states))))
    ctx.metrics["agda_vs_splitting"] = gap
    ctx.claim("alternating GDA is the exact Lie-Trotter splitting of a bilinear game", "difference 0 (rounding)",
              f"max |difference| over 100 steps {gap:.1e}", gap < 1e-10)
    ctx.progress("Anderson mixing against GDA")
    steps = 300 if ctx.quick else 2000
    z0 = np.ones(2 * dim)
    curves = {}
    for label, scheme in [
        ("sgda", solvers.SGDA()),
        ("agda", solvers.AGDA()),
        ("anderson (m = dim, base agda)", solvers.Anderson(m=2 * dim)),
    ]:
        tr = solvers.iterate(game, scheme, z0, 0.1, steps, save_every=1)
        curves[label] = (np.arange(steps + 1), np.linalg.norm(np.asarray(tr.states), axis=1))
    plots.convergence_plot(axs[1], curves)
    axs[1].set_title("h = 0.1", fontsize=9)
    ctx.figure(fig, "rates.png")
    final = {k: float(v[1][-1]) for k, v in curves.items()}
    ctx.metrics["final_distance"] = final
    d0 = float(np.linalg.norm(z0))
    am = final["anderson (m = dim, base agda)"]
    ctx.claim(
        "Anderson mixing converges where GDA does not",
        "AM -> 0; sgda grows; agda cycles",
        f"AM {am:.1e}, sgda {final['sgda']:.2g}, agda {final['agda']:.2g} (start {d0:.2g})",
        am < 1e-8 and final["sgda"] > d0 and final["agda"] > 0.1 * d0,
    )


def _nonlinear_game() -> flows.Game:
    import jax.numpy as jnp

    l1 = lambda x, y: (x - 1) ** 2 / 2 + jnp.sin(x) * (y + 0.5) ** 2 + 0.3 * x * y  # noqa: E731
    l2 = lambda x, y: (y + 0.5) ** 2 + 0.3 * (x - 1) * (y + 0.5) + 0.1 * (y + 0.5) ** 4  # noqa: E731
    return flows.GeneralGame((l1, l2), (jnp.asarray(0.0), jnp.asarray(0.0)))


@register(
    "drift",
    "discrete schemes against their continuous limits: order 1 and order 2",
    "M. Rosca, Y. Wu, B. Dherin, D. Barrett, Discretization drift in two-player games, ICML 2021",
)
def drift(ctx: ExperimentContext) -> None:
    lrs = [0.04, 0.02, 0.01] if ctx.quick else [0.04, 0.02, 0.01, 0.005]
    t_end = 1.0 if ctx.quick else 2.0
    games = {
        "general-sum": (_nonlinear_game(), [0.4, 0.9]),
        "dirac-gan R1": (flows.DiracGAN(reg="r1", gamma=0.3), [1.0, 1.0]),
    }
    schemes = {
        "sgda": solvers.SGDA(),
        "agda": solvers.AGDA(),
        "eg": solvers.EG(),
        "ogda": solvers.OGDA(),
        "ttur (ratio 2)": solvers.SGDA(rates=(1.0, 2.0)),
    }
    if ctx.quick:  # every learning rate compiles its own run: keep the quick mode to a few
        games = {"dirac-gan R1": games["dirac-gan R1"]}
        schemes = {k: schemes[k] for k in ("sgda", "agda", "eg")}
    ctx.config.update(lrs=lrs, t_end=t_end, games=list(games), schemes=list(schemes))
    fig, axs = plt.subplots(1, len(games), figsize=(6 * len(games), 4.5), squeeze=False)
    orders = {}
    for ax, (gname, (game, z0)) in zip(axs[0], games.items()):
        comps = {}
        for sname, scheme in schemes.items():
            ctx.progress(f"{gname}: {sname}")
            for against, want in (("gradient", 1.0), ("modified", 2.0)):
                comp = solvers.compare(game, scheme, lrs, t_end, z0, against)
                comps[f"{sname} vs {against}"] = comp
                orders[f"{gname} / {sname} / {against}"] = comp.order
                ctx.claim(
                    f"{gname}: {sname} against the {against} flow",
                    f"order {want:.0f}",
                    f"order {comp.order:.3f}",
                    abs(comp.order - want) < 0.15,
                )
        plots.order_plot(ax, comps)
        ax.set_title(gname, fontsize=9)
    ctx.metrics["orders"] = orders
    ctx.figure(fig, "orders.png")


@register(
    "timescale",
    "the critical timescale ratio tau* grows like the condition number",
    "H. Li, F. Farnia, S. Das, A. Jadbabaie, On convergence of gradient descent ascent: a tight local "
    "analysis, ICML 2022",
)
def timescale(ctx: ExperimentContext) -> None:
    # V = -L/2 |x|² + L xᵀy - mu/2 |y|² (rotated): nonconvex in x, mu-strongly concave in y, kappa = L/mu.
    # Stable iff a + tau c > 0 with a = -L, c = mu: tau* = L/mu = kappa exactly.
    kappas = np.geomspace(2, 1e3 if ctx.quick else 1e4, 6 if ctx.quick else 13)
    dim, L = 3, 1.0
    rng = np.random.default_rng(ctx.seed)
    Q = np.linalg.qr(rng.standard_normal((dim, dim)))[0]
    P = np.linalg.qr(rng.standard_normal((dim, dim)))[0]
    ctx.config.update(kappas=kappas, dim=dim, L=L)
    taus, equal_rate = [], []
    for k in kappas:
        mu = L / k
        a = -L * np.linspace(1.0, 0.5, dim)  # the most nonconvex direction sets tau*
        game = flows.Quadratic(Q @ np.diag(a) @ Q.T, Q @ (L * np.eye(dim)) @ P.T, P @ (mu * np.eye(dim)) @ P.T)
        taus.append(flows.critical_ratio(game, hi=1e7))
        equal_rate.append(flows.abscissa_at_ratio(game, 1.0))
    taus = np.array(taus, float)
    slope = float(np.polyfit(np.log(kappas), np.log(taus), 1)[0])
    err = float(np.max(np.abs(taus / kappas - 1)))
    ctx.metrics.update(critical_ratios=taus, slope=slope, equal_rate_abscissa=equal_rate)
    ctx.claim(
        "tau* = Theta(kappa)", "slope 1 of log tau* against log kappa", f"slope {slope:.6f}", abs(slope - 1) < 0.05
    )
    ctx.claim("tau* equals kappa on this family", "tau* / kappa = 1", f"max |tau*/kappa - 1| = {err:.1e}", err < 1e-9)
    ctx.claim(
        "equal learning rates fail",
        "spectral abscissa > 0 at tau = 1 for every kappa > 1",
        f"min abscissa {min(equal_rate):.3g}",
        min(equal_rate) > 0,
    )
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.loglog(kappas, taus, "o", label="tau* (bisection on the spectral abscissa)")
    ax.loglog(kappas, kappas, "-", label="kappa")
    ax.set_xlabel("condition number kappa = L / mu")
    ax.set_ylabel("critical ratio tau*")
    ax.legend(fontsize=8)
    ctx.figure(fig, "critical_ratio.png")


@register(
    "spiral",
    "a two-parameter GAN learning an exponential distribution: a spiral attractor, and how steps perturb it",
    "A. Gonzalez-Prieto, A. Mozo, E. Talavera, S. Gomez-Canaval, Dynamics of Fourier modes in torus generative "
    "adversarial networks, Mathematics 9(4), 2021",
)
def spiral(ctx: ExperimentContext) -> None:
    game = flows.ExpGAN(rate=2.0, centre=0.5)
    flow = flows.GradientFlow(game)
    eq = np.asarray(flows.ravel_state(game.equilibrium())[0])
    an = flows.analyze(flow, game.equilibrium())
    d = game.damping()
    closed = np.array([(-d + 1j * math.sqrt(1 - d * d)) / 2, (-d - 1j * math.sqrt(1 - d * d)) / 2])
    ev = np.asarray(an.eigenvalues)
    err = float(np.max(np.abs(ev[np.argsort(ev.imag)] - closed[np.argsort(closed.imag)])))
    ctx.config.update(rate=2.0, centre=0.5, damping=d)
    ctx.metrics.update(eigenvalues=[[e.real, e.imag] for e in ev], classification=an.classification)
    ctx.claim("the equilibrium (1/rate, 0) is a spiral attractor", "eigenvalues (-d ± i sqrt(1 - d²))/2, d = 1/8",
              f"{an.classification}; max |autodiff - closed form| = {err:.1e}",
              an.classification == "stable spiral" and err < 1e-10)

    # Rotation number and contraction measured on the flow near the equilibrium.
    t_end = 60.0 if ctx.quick else 120.0
    z0 = eq + np.array([0.02, 0.0])
    ts = np.linspace(0, t_end, 2401)
    sol = solvers.integrate(flow, z0, t_end, saveat=ts, rtol=1e-10, atol=1e-12)
    meas = solvers.spiral_stats(ts, np.asarray(sol.states), eq)
    theo = solvers.spiral_theory(ev)
    rot_err = abs(abs(meas.turns_per_time) / theo.turns_per_time - 1)
    con_err = abs(meas.contraction_per_turn / theo.contraction_per_turn - 1)
    ctx.metrics.update(measured=meas._asdict(), theory=theo._asdict())
    ctx.claim("rotation number of the orbit", f"Im(lambda)/2pi = {theo.turns_per_time:.5f} turns per unit time",
              f"{abs(meas.turns_per_time):.5f} over {meas.turns:.1f} turns (rel. error {rot_err:.1e})", rot_err < 1e-2)
    ctx.claim("contraction per turn", f"exp(2pi Re/Im) = {theo.contraction_per_turn:.5f}",
              f"{meas.contraction_per_turn:.5f} (rel. error {con_err:.1e})", con_err < 2e-2)

    # Discrete steps: each sgda step multiplies by 1 + h lambda; the spiral survives below h* = -2 Re/|lambda|².
    lam = closed[0]
    h_star = -2 * lam.real / abs(lam) ** 2
    sr = solvers.stable_range(game, solvers.SGDA(), game.equilibrium())
    ctx.claim("sgda keeps the spiral only for small steps", f"largest stable lr -2Re(lambda)/|lambda|² = {h_star:.6f}",
              f"{sr.max_stable_lr:.6f}", abs(sr.max_stable_lr - h_star) < 1e-6)
    runs, rates = {}, {}
    for h in (0.1, 0.3):
        steps = int(round(t_end / h))
        tr = solvers.iterate(game, solvers.SGDA(), z0, h, steps, save_every=1)
        st = np.asarray(tr.states)
        r = np.linalg.norm(st - eq, axis=1)
        # Per-step contraction at late times against |1 + h lambda|.
        per_step = float(np.exp(np.polyfit(np.arange(len(r))[len(r) // 2:], np.log(r[len(r) // 2:]), 1)[0]))
        runs[h] = st
        rates[h] = (per_step, abs(1 + h * lam))
    ctx.metrics["sgda_per_step"] = {str(h): {"measured": a, "theory": b} for h, (a, b) in rates.items()}
    worst = max(abs(a / b - 1) for a, b in rates.values())
    ctx.claim("the iterates contract by |1 + h lambda| per step",
              ", ".join(f"h={h:g}: {b:.6f}" for h, (a, b) in rates.items()),
              ", ".join(f"h={h:g}: {a:.6f}" for h, (a, b) in rates.items()), worst < 1e-3)
    flow_rate = math.exp(lam.real * 0.3)
    ctx.claim("a larger step slows the spiral's contraction",
              f"per 0.3 time units the flow contracts by {flow_rate:.4f}",
              f"sgda at h = 0.3 by {rates[0.3][0]:.4f} (weaker)", rates[0.3][0] > flow_rate)

    fig, axs = plt.subplots(1, 2, figsize=(12, 5.3))
    half = 0.03
    plots.phase_portrait(axs[0], flow, xlim=(eq[0] - half, eq[0] + half), ylim=(-half, half), base=eq)
    plots.mark_equilibrium(axs[0], flow, eq)
    plots.overlay(axs[0], sol.states, color="k", label="gradient flow")
    for (h, st), color in zip(runs.items(), ("tab:orange", "tab:red")):
        plots.overlay(axs[0], st, color=color, marker=".", markersize=2, lw=0.6, label=f"sgda, h = {h:g}")
    plots.spiral_label(axs[0], ts, sol.states, ev, center=eq)
    axs[0].legend(fontsize=7, loc="upper left")
    axs[0].set_xlabel("theta (generator scale)")
    axs[0].set_ylabel("psi (discriminator)")
    axs[0].set_title("spiral attractor at (1/rate, 0)", fontsize=9)
    plots.convergence_plot(axs[1], {
        "gradient flow": (ts, np.linalg.norm(np.asarray(sol.states) - eq, axis=1)),
        **{f"sgda, h = {h:g}": (np.arange(len(st)) * h, np.linalg.norm(st - eq, axis=1)) for h, st in runs.items()},
    })
    axs[1].set_xlabel("time (steps x h)")
    axs[1].set_title("distance to the equilibrium", fontsize=9)
    ctx.figure(fig, "spiral.png")
