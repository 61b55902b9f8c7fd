"""``gameflow demo``: the Dirac-GAN variants at a glance.

For each variant of Mescheder et al. (2018) the demo prints the eigenvalues of
the Jacobian at the equilibrium computed by autodiff beside the closed form of
the paper, and the classification.
"""

from __future__ import annotations

import numpy as np

import flows
from flows.dirac_gan import equilibrium_jacobian

from .format import eig_text, table

VARIANTS: tuple[tuple[str, dict, float], ...] = (
    ("GAN", {"loss": "gan"}, 0.0),
    ("NS-GAN", {"loss": "nsgan"}, 0.0),
    ("WGAN", {"loss": "wgan"}, 0.0),
    ("WGAN, clip=1", {"loss": "wgan", "clip": 1.0}, 0.0),
    ("WGAN-GP, gamma=1", {"loss": "wgan", "reg": "wgan-gp", "gamma": 1.0}, 0.0),
    ("GAN + R1, gamma=0.3", {"reg": "r1", "gamma": 0.3}, 0.0),
    ("GAN + R1, gamma=1 (critical)", {"reg": "r1", "gamma": 1.0}, 0.0),
    ("GAN + R1, gamma=3", {"reg": "r1", "gamma": 3.0}, 0.0),
    ("GAN + R2, gamma=0.3", {"reg": "r2", "gamma": 0.3}, 0.0),
    ("WGAN + R1, gamma=1", {"loss": "wgan", "reg": "r1", "gamma": 1.0}, 0.0),
    ("GAN + noise, sigma=0.5", {"reg": "noise", "sigma": 0.5}, 0.0),
    ("GAN + noise, sigma=1", {"reg": "noise", "sigma": 1.0}, 0.0),
    ("GAN + noise, sigma=2", {"reg": "noise", "sigma": 2.0}, 0.0),
    ("GAN, consensus gamma=1", {"loss": "gan"}, 1.0),
    ("WGAN, consensus gamma=0.5", {"loss": "wgan"}, 0.5),
)


def demo_rows() -> list[dict]:
    """Analyse every variant; each row has the name, eigenvalues, theory and class."""
    rows = []
    for name, params, consensus in VARIANTS:
        game = flows.DiracGAN(**params)
        flow = flows.make_flow(game, "consensus", gamma=consensus) if consensus else flows.GradientFlow(game)
        res = flows.analyze(flow)
        theory = flows.eigenvalues(equilibrium_jacobian(game, consensus))
        rows.append({
            "variant": name,
            "eigenvalues": res.eigenvalues,
            "theory": theory,
            "error": float(np.max(np.abs(res.eigenvalues - theory))),
            "classification": res.classification,
        })
    return rows


def run_demo() -> int:
    """Print the table; returns the exit status (1 if autodiff and theory disagree)."""
    rows = demo_rows()
    print("Dirac-GAN (Mescheder, Geiger, Nowozin 2018): Jacobian eigenvalues at the equilibrium (0, 0)")
    print("autodiff in float64 against the paper's closed forms\n")
    w = max(len(r["variant"]) for r in rows)
    header = f"{'variant':<{w}}  {'eigenvalues (autodiff)':<44}  {'|error|':>8}  classification"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['variant']:<{w}}  {eig_text(r['eigenvalues'], 10):<44}  {r['error']:8.1e}  {r['classification']}")
    worst = max(r["error"] for r in rows)
    print()
    print(table([("largest |autodiff - closed form|", f"{worst:.1e}"),
                 ("try", "gameflow analyze dirac-gan --param reg=r1 --param gamma=0.3"),
                 ("", "gameflow analyze dirac-gan --flow consensus:gamma=1 --json"),
                 ("", "gameflow games")]))
    return 0 if worst < 1e-10 else 1
