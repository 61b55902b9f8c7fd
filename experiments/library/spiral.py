"""The ``spiral`` experiment (``gameflow run spiral``)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from gameflow import flows, solvers

from .. import plots
from ..context import Experiment, ExperimentContext


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

    # Rotation number and contraction measured on the flow near the equilibrium.  The orbit starts 0.02 away,
    # where the nonlinear terms still shift both by a little (measured: 8e-6 and 5e-6 relative over t = 60,
    # 3e-5 and 7e-4 over t = 120, whose fit weighs the early turns differently): claims at 2e-3.
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
              f"{abs(meas.turns_per_time):.5f} over {meas.turns:.1f} turns (rel. error {rot_err:.1e})", rot_err < 2e-3)
    ctx.claim("contraction per turn", f"exp(2pi Re/Im) = {theo.contraction_per_turn:.5f}",
              f"{meas.contraction_per_turn:.5f} (rel. error {con_err:.1e})", con_err < 2e-3)

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


EXPERIMENT = Experiment(
    name="spiral",
    description=(
        "a two-parameter GAN learning an exponential distribution: a spiral attractor, and how steps perturb "
        "it"
    ),
    reference=(
        "A. Gonzalez-Prieto, A. Mozo, E. Talavera, S. Gomez-Canaval, Dynamics of Fourier modes in torus "
        "generative adversarial networks, Mathematics 9(4), 2021"
    ),
    run=spiral,
)
