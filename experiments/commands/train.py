"""``gameflow train``: train a game with telemetry, checkpoints (resumable) and figures written to ``--out``."""

from __future__ import annotations

import argparse
import os
import sys

from ..parsing import (
    GAME_HELP,
    PARAM_HELP,
    STEP_BUDGET,
    UsageError,
    check_budget,
    game_from_cli,
    int_at_least,
    once,
    parse_lr,
    parse_params,
    scheme_from_cli,
)

OWN_PROGRESS = True  # draws its own progress bar; the CLI adds no ticker

NAME = "train"
HELP = "train a game (e.g. neural-gan) with telemetry, resumable checkpoints and figures"

FIGURES = ("telemetry.png", "samples.png", "eigenvalues.png", "rotation.png", "path_angle.png")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    t = parser
    t.add_argument("game", help=GAME_HELP)
    t.add_argument("--param", action="append", metavar="NAME=VALUE", help=PARAM_HELP)
    t.add_argument("--scheme", action=once(), required=True, metavar="NAME[:k=v,...]",
                   help="the training scheme (required, once; see gameflow schemes), e.g. sgda, eg, adam:b1=0.5")
    t.add_argument("--lr", required=True, metavar="H", help="learning rate, > 0 (required)")
    t.add_argument("--steps", type=int_at_least(1), required=True, metavar="N",
                   help=f"training steps, >= 1 (required; beyond {STEP_BUDGET:.0e} needs --force); a rerun with a "
                        "larger N continues the run in --out")
    t.add_argument("--batch", type=int_at_least(1), metavar="B",
                   help="minibatch size per step (games with minibatches, e.g. neural-gan); default: full batch")
    t.add_argument("--eval-every", type=int_at_least(1), default=100, metavar="K",
                   help="steps between evaluations and checkpoints (default 100)")
    t.add_argument("--seed", type=int_at_least(0), default=0, help="seed of the minibatch draws (default 0)")
    t.add_argument("--top-k", type=int_at_least(0), default=6, metavar="K",
                   help="eigenvalues of largest magnitude of the field's Jacobian at each evaluation (default 6; "
                        "0: none)")
    t.add_argument("--dg-steps", type=int_at_least(0), default=20, metavar="K",
                   help="inner gradient steps of each player's worst-case response in the duality-gap estimate "
                        "(default 20; 0: none)")
    t.add_argument("--dg-lr", metavar="H", help="learning rate of those inner steps (default --lr)")
    t.add_argument("--bound", type=float, default=1e8,
                   help="a state entry beyond this in absolute value stops the run as diverged (default 1e8)")
    t.add_argument("--force", action="store_true", help="run beyond the step budget")
    t.add_argument("--out", required=True, metavar="DIR",
                   help="the run's folder (required): checkpoint.npz (every evaluation), metrics.json, figures; "
                        "rerunning the same command resumes from the checkpoint")
    t.add_argument("--json", action="store_true", help="print one JSON object (a summary)")


def _progress(step: int, total: int) -> None:
    width = 30
    bar = "#" * (width * step // total) + "." * (width - width * step // total)
    print(f"\r[{bar}] step {step}/{total}", end="" if step < total else "\n", file=sys.stderr, flush=True)


def _snapshots(n: int, most: int = 5) -> list[int]:
    """Up to `most` evaluation indices, evenly spread, first and last included."""
    import numpy as np

    return sorted(set(np.linspace(0, n - 1, min(n, most)).round().astype(int).tolist()))


def _figures(game, result, out: str, pa) -> list[str]:
    """Write the run's figures; returns their paths."""
    import jax.numpy as jnp
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from gameflow import flows

    from .. import train_plots as tp
    from ..figures import save

    written = []
    name = getattr(type(game), "name", None) or type(game).__name__
    steps = result.steps
    # Telemetry: losses, gradient norms, the gap estimate, the sample metrics.
    fig, axs = plt.subplots(2, 2, figsize=(10, 6.4))
    n = result.losses.shape[1]
    tp.curves_plot(axs[0, 0], steps, {f"player {i + 1}": result.losses[:, i] for i in range(n)}, ylabel="loss")
    axs[0, 0].set_title("each player's loss (full batch)", fontsize=9)
    tp.curves_plot(axs[0, 1], steps, {f"player {i + 1}": result.grad_norms[:, i] for i in range(n)},
                   ylabel="|F_i(z)|", log=True)
    axs[0, 1].set_title("each player's gradient norm", fontsize=9)
    tp.curves_plot(axs[1, 0], steps, {"estimate": result.gap}, ylabel="duality-gap estimate", log=True)
    axs[1, 0].set_title("duality-gap estimate (k inner steps; not the exact gap)", fontsize=9)
    shown = {k: v for k, v in result.metrics.items() if k in ("mmd2", "energy")}
    if shown:
        tp.curves_plot(axs[1, 1], steps, {{"mmd2": "MMD²", "energy": "energy distance"}[k]: v
                                          for k, v in shown.items()}, ylabel="distance to the data", log=True)
        title = "generated samples vs data"
        if "modes_covered" in result.metrics:
            title += f" (modes covered at the end: {result.metrics['modes_covered'][-1]:.0f}/"
            title += f"{result.metrics['modes'][-1]:.0f})"
        axs[1, 1].set_title(title, fontsize=9)
    else:
        axs[1, 1].set_axis_off()
        axs[1, 1].text(0.5, 0.5, f"{name} has no sample metrics", ha="center", va="center")
    fig.suptitle(f"{name}: training telemetry ({result.status} at step {result.step})", fontsize=10)
    fig.tight_layout()
    save(fig, p := os.path.join(out, "telemetry.png"))
    written.append(p)
    # Samples against the data over time (generator games on data of two or more dimensions).
    data = getattr(game, "data", None)
    if callable(getattr(game, "generate", None)) and data is not None and np.ndim(data) == 2 and data.shape[1] >= 2:
        idx = _snapshots(len(steps))
        fig, axs = plt.subplots(1, len(idx), figsize=(2.9 * len(idx), 3.1), squeeze=False)
        _, unravel = flows.ravel_state(game.template())
        gen = [np.asarray(game.generate(unravel(jnp.asarray(result.states[i]))[0])) for i in idx]
        pts = np.concatenate([np.asarray(data)[:, :2]] + [g[:, :2] for g in gen])
        pts = pts[np.all(np.isfinite(pts), axis=1)]
        lo, hi = float(pts.min()), float(pts.max())
        pad = 0.05 * (hi - lo) + 1e-9
        for j, (ax, i) in enumerate(zip(axs[0], idx)):
            tp.samples_plot(ax, data, gen[j], title=f"step {int(steps[i])}", legend=j == 0, lim=(lo - pad, hi + pad))
            if j:
                ax.set_ylabel("")
        fig.suptitle(f"{name}: generated points against the data over training", fontsize=10)
        fig.tight_layout()
        save(fig, p := os.path.join(out, "samples.png"))
        written.append(p)
    if result.eigenvalues.shape[1]:
        k = result.eigenvalues.shape[1]
        fig, ax = plt.subplots(figsize=(5, 4.2))
        tp.eigen_plane_plot(ax, result.eigenvalues[0], result.eigenvalues[-1],
                            labels=(f"step {int(steps[0])}", f"step {int(steps[-1])}"))
        ax.set_title(f"top-{k} eigenvalues (largest |λ|) of the field's Jacobian", fontsize=9)
        fig.tight_layout()
        save(fig, p := os.path.join(out, "eigenvalues.png"))
        written.append(p)
        fig, ax = plt.subplots(figsize=(5, 3.6))
        tp.rotation_plot(ax, steps, result.eigenvalues)
        ax.set_title(f"rotation of the top-{k} eigenvalues over training", fontsize=9)
        fig.tight_layout()
        save(fig, p := os.path.join(out, "rotation.png"))
        written.append(p)
    if pa is not None:
        fig, ax = plt.subplots(figsize=(5.6, 3.8))
        tp.path_angle_plot(ax, pa)
        ax.set_title(f"path angle: step {int(steps[0])} (α=0) to step {int(steps[-1])} (α=1)", fontsize=9)
        fig.tight_layout()
        save(fig, p := os.path.join(out, "path_angle.png"))
        written.append(p)
    return written


def run(args: argparse.Namespace) -> int:
    """Train, checkpointing into ``--out``; write metrics.json and the figures."""
    import json

    import numpy as np
    from gameflow import flows, solvers

    from ..format import clean, emit_json, num, table
    from ..io import write_atomic
    from ..train_plots import rotation_ratio

    game, params = game_from_cli(args.game, parse_params(args.param))
    scheme = scheme_from_cli(args.scheme)
    lr = parse_lr(args.lr)
    dg_lr = None if args.dg_lr is None else parse_lr(args.dg_lr, "--dg-lr")
    if not args.bound > 0:
        raise UsageError(f"--bound {args.bound} must be > 0")
    dim = flows.state_size(game.template())
    check_budget(args.steps, dim, f"--steps {args.steps}", args.force)
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot use --out {args.out!r} as the run's folder: {e.strerror}") from None
    spec = {"game": args.game, "params": params, "scheme_text": args.scheme}
    result = solvers.train(game, scheme, lr, args.steps, batch=args.batch, eval_every=args.eval_every,
                           seed=args.seed, out=args.out, top_k=args.top_k, dg_steps=args.dg_steps, dg_lr=dg_lr,
                           bound=args.bound, config=spec, progress=None if args.json else _progress)
    pa = None
    if result.step > 0 and np.any(result.states[-1] != result.states[0]):
        pa = solvers.path_angle(game, result.states[0], result.states[-1])
    ratio = rotation_ratio(result.eigenvalues) if result.eigenvalues.shape[1] else None
    gap_label = (f"duality-gap estimate: sum over players of L_i(z) - L_i(best response after {args.dg_steps} "
                 f"gradient steps at rate {dg_lr if dg_lr is not None else lr}); a lower estimate, not the exact gap")
    evals = []
    for i, s in enumerate(result.steps):
        row = {"step": int(s), "losses": result.losses[i], "grad_norms": result.grad_norms[i],
               "gap_estimate": result.gap[i], **{k: v[i] for k, v in result.metrics.items()}}
        if ratio is not None:
            row["eigenvalues"] = [[float(e.real), float(e.imag)] for e in result.eigenvalues[i]]
            row["max_im_over_re"] = ratio[i]
        evals.append(row)
    doc = {"config": {**spec, "scheme": scheme.name, "scheme_params": scheme.params(), "lr": lr,
                      "steps": args.steps, "batch": args.batch, "eval_every": args.eval_every, "seed": args.seed,
                      "top_k": args.top_k, "dg_steps": args.dg_steps, "dg_lr": dg_lr, "bound": args.bound},
           "status": result.status, "step": result.step, "resumed_from": result.resumed_from, "dimension": dim,
           "gap_definition": gap_label, "eigenvalues": "top-k by largest |λ| of the Jacobian of the full-batch field "
           "(nan: the eigensolver did not converge)", "evaluations": evals}
    if pa is not None:
        doc["path_angle"] = {"alpha": pa.alpha, "cosine": pa.cosine, "norm": pa.norm, "distance": pa.distance}
    write_atomic(os.path.join(args.out, "metrics.json"), lambda f: f.write(json.dumps(clean(doc), indent=1).encode()))
    figures = _figures(game, result, args.out, pa)
    last = evals[-1]
    summary = {"out": args.out, "status": result.status, "step": result.step, "resumed_from": result.resumed_from,
               "evaluations": len(evals), "losses": last["losses"], "grad_norms": last["grad_norms"],
               "gap_estimate": last["gap_estimate"],
               **{k: last[k] for k in result.metrics if k in ("mmd2", "energy", "modes_covered", "modes")},
               "max_im_over_re": None if ratio is None else [ratio[0], ratio[-1]],
               "files": [os.path.join(args.out, "checkpoint.npz"), os.path.join(args.out, "metrics.json"), *figures]}
    if args.json:
        emit_json(clean(summary))
        return 0
    rows = [("run", f"{result.status} at step {result.step}" + (f" (resumed from step {result.resumed_from})"
                                                                if result.resumed_from else "")),
            ("losses", ", ".join(num(float(v), 6) for v in last["losses"])),
            ("gradient norms", ", ".join(num(float(v), 6) for v in last["grad_norms"])),
            (f"gap estimate (k={args.dg_steps})", num(float(last["gap_estimate"]), 6))]
    for k in ("mmd2", "energy"):
        if k in last:
            rows.append((k, num(float(last[k]), 6)))
    if "modes_covered" in last:
        rows.append(("modes covered", f"{last['modes_covered']:.0f}/{last['modes']:.0f}"))
    if ratio is not None:
        rows.append(("max |Im|/|Re| (start, end)", f"{num(ratio[0], 4)}, {num(ratio[-1], 4)}"))
    rows.append(("written", ", ".join(os.path.basename(f) for f in summary["files"])))
    print(table(rows))
    return 0
