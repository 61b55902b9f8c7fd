"""The ``dirac-gan`` experiment (``gameflow run dirac-gan``)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from gameflow import flows, solvers
from gameflow.flows.games.dirac_gan import equilibrium_jacobian

from .. import figures
from ..context import Experiment, ExperimentContext

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
    # Quick mode draws one panel, the plain GAN: each portrait compiles its own flow and runs (and a stable
    # spiral one more solve for its tail), and no claim reads the portraits.
    shown = [DIRAC_VARIANTS[0]] if ctx.quick else DIRAC_VARIANTS
    rows, cols = (2, (len(shown) + 1) // 2) if len(shown) > 2 else (1, len(shown))
    # Constrained layout keeps each portrait's colour bar clear of the next panel's axis label.
    fig, axs = plt.subplots(rows, cols, figsize=(max(5.5 * cols, 7.0), 10 if rows > 1 else 6.0),
                            layout="constrained", squeeze=False)
    runs = [("sgda", solvers.SGDA(), 0.1), ("agda", solvers.AGDA(), 0.1)]
    for ax, (name, params, consensus, _) in zip(np.ravel(axs), shown):
        game = flows.DiracGAN(**params)
        flow = flows.ConsensusFlow(game, consensus) if consensus else None
        panel_runs = [("consensus", solvers.Consensus(gamma=consensus), 0.1)] if consensus else runs
        figures.portrait_axes(ax, game, panel_runs, np.array([1.0, 1.0]), steps_t, flow,
                              title=variant_title(name, params, consensus))
    for ax in np.ravel(axs)[len(shown):]:
        ax.set_visible(False)  # an odd number of variants leaves one panel empty
    fig.suptitle(f"Dirac-GAN (Mescheder et al. 2018): streamlines of the gradient flow,{' ' if cols > 1 else chr(10)}"
                 f"the flow and the iterates (h = 0.1) from (θ, ψ) = (1, 1) up to t = {steps_t:g}", fontsize=10)
    ctx.figure(fig, "portraits.png")


_SYMBOLS = {"gamma": "γ", "eps": "ε", "sigma": "σ", "clip": "clip"}


def variant_title(name: str, params: dict, consensus: float | None) -> str:
    """A panel title naming the variant and its parameters: ``Dirac-GAN, R1 (γ = 0.3)``."""
    values = [f"{_SYMBOLS.get(k, k)} = {v:g}" for k, v in params.items() if k not in ("loss", "reg")]
    if consensus:
        values.append(f"γ = {consensus:g}")
    loss = params.get("loss", "gan")
    what = name if name not in ("GAN", "NS-GAN", "WGAN") else f"{name} loss"
    if name in ("instance noise", "R1", "R2", "consensus"):
        what = f"{'GAN' if loss == 'gan' else loss.upper()} + {name}"
    return f"Dirac-GAN, {what}" + (f" ({', '.join(values)})" if values else "")


EXPERIMENT = Experiment(
    name="dirac-gan",
    description="which training methods converge on the Dirac-GAN",
    reference=(
        "L. Mescheder, A. Geiger, S. Nowozin, Which training methods for GANs do actually converge?, ICML "
        "2018"
    ),
    run=dirac_gan,
)
