"""The ``drift`` experiment (``gameflow run drift``)."""

from __future__ import annotations

import matplotlib.pyplot as plt
from gameflow import flows, solvers

from .. import plots
from ..context import Experiment, ExperimentContext


def _nonlinear_game() -> flows.Game:
    import jax.numpy as jnp

    l1 = lambda x, y: (x - 1) ** 2 / 2 + jnp.sin(x) * (y + 0.5) ** 2 + 0.3 * x * y  # noqa: E731
    l2 = lambda x, y: (y + 0.5) ** 2 + 0.3 * (x - 1) * (y + 0.5) + 0.1 * (y + 0.5) ** 4  # noqa: E731
    return flows.GeneralGame((l1, l2), (jnp.asarray(0.0), jnp.asarray(0.0)))


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


EXPERIMENT = Experiment(
    name="drift",
    description="discrete schemes against their continuous limits: order 1 and order 2",
    reference="M. Rosca, Y. Wu, B. Dherin, D. Barrett, Discretization drift in two-player games, ICML 2021",
    run=drift,
)
