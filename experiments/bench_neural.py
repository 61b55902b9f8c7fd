"""The neural sections of ``gameflow bench``: matrix-free spectra, and training steps, against PyTorch.

Both sections use the ``neural-gan`` game (8 Gaussians, tanh MLPs of depth 2,
the saturating ``gan`` loss, no regularizer, a full batch of ``m = 256``
data points and latents, latent dimension 16) at its initial weights
``game.start()``; the width sets the size: ``n = 2 w² + 25 w + 3`` numbers.

- spectra: the 20 eigenvalues of largest real part of the field's Jacobian
  by [`top_eigenvalues`][]' Arnoldi path (``jax.linearize`` once, a jitted
  Jacobian-vector product per ARPACK iteration), each size in a child process
  of its own that reports its peak resident memory (``VmHWM``; ``ru_maxrss``
  too, which on Linux carries the parent's peak across ``exec``) beside
  ARPACK's basis (``n · ncv · 8`` bytes) and a dense Jacobian (``n² · 8``).
  Against PyTorch (when installed): the same networks in ``torch.nn``
  (float64, weights copied), the fields checked equal, then the time of one
  product ``J u`` (ours: the jitted linearised field, what ARPACK calls) set
  against one double-backward product ``Jᵀ u`` (reverse over reverse: the
  gradient kept with ``create_graph=True``, then ``autograd.grad`` of it
  with ``grad_outputs=u``; the approach of Berard et al. 2020), and at the
  sizes named the eigenvalues of ARPACK run on the PyTorch product
  (``Jᵀ`` has ``J``'s eigenvalues) compared with ours.
- training: full-batch simultaneous GDA at one learning rate, gameflow's
  ``iterate`` (``lax.scan``, jitted; compilation timed apart) against a
  plain PyTorch loop (both players' gradients, in-place update under
  ``torch.no_grad``), after checking that both reach the same parameters.

Every measurement runs in a fresh child process (``python -m
gameflow.experiments.bench_neural TASK CONFIG``) with the environment a user
has: the only thread setting is the one [`top_eigenvalues`][] makes itself
(ARPACK's own vector work on one BLAS thread, so that idle BLAS threads do
not spin against XLA's product; both ARPACK runs, ours and PyTorch's, go
through it).

References: Berard, Gidel, Almahairi, Vincent, Lacoste-Julien (2020), *A
closer look at the optimization landscapes of generative adversarial
networks* (ARPACK on double-backward products).  Lehoucq, Sorensen, Yang
(1998), *ARPACK users' guide*.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

import numpy as np

GAME = {"data": "8gaussians", "latent": 16, "depth": 2, "activation": "tanh", "loss": "gan", "reg": "none",
        "seed": 0}
"""The ``neural-gan`` parameters every neural section uses (the width and ``m`` vary)."""

M = 256
"""The full batch (data points and latents): ``neural-gan``'s default."""

K, WHICH = 20, "LR"
NCV = 2 * K + 1  # scipy's default for k = 20: max(2k + 1, 20)

TARGETS = {"matvec_speedup_vs_torch": 2.0, "eigenvalue_rel_diff": 1e-6, "training_speedup_vs_torch": 1.5,
           "field_rel_diff": 1e-10, "transpose_rel_diff": 1e-10, "training_check_rel_diff": 1e-8}
NEURAL_SIZES = {
    # neural-gan widths (n = 2 w² + 25 w + 3: 102,303 and 997,503), those where ARPACK also runs on the
    # PyTorch product, and training runs as (width, steps).  `bench.SIZES` holds these too.
    "full": {"spectra": (220, 700), "spectra_torch_eigs": (220,), "training": ((20, 1000), (220, 200))},
    "quick": {"spectra": (65,), "spectra_torch_eigs": (65,), "training": ((20, 30),)},
}
LR, CHECK_STEPS = 0.01, 3
CHILD_ENV = {"GAMEFLOW_NO_CACHE": "1"}
TIMEOUT = {"full": 3600.0, "quick": 600.0}


def _note(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def verdict(met: bool | None) -> str:
    """``met`` / ``not met`` (``None``: not measured)."""
    return "not measured" if met is None else ("met" if met else "not met")


def spectra_limit(n: int) -> float:
    """The issue's time limit for the top-20 eigenvalues: 60 s up to ``10⁵``-odd numbers, 300 s at ``10⁶``."""
    return 60.0 if n <= 300_000 else 300.0


def n_params(width: int, depth: int = GAME["depth"], latent: int = GAME["latent"], d: int = 2) -> int:
    """Numbers in both networks: generator ``latent → d``, discriminator ``d → 1``, `depth` hidden layers."""
    hidden = (depth - 1) * (width * width + width)
    return (latent * width + width) + hidden + (width * d + d) + (d * width + width) + hidden + (width + 1)


def torch_module():
    """PyTorch, or ``None`` when it is not installed (the comparisons are then reported as skipped)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def neural_game(width: int, m: int = M):
    """The bench's ``neural-gan`` at `width` and full batch `m`."""
    from gameflow import flows

    return flows.make_game("neural-gan", {**GAME, "width": int(width), "m": int(m)})


# -- PyTorch: the same networks --------------------------------------------------------------------
class TorchGAN:
    """The bench's ``neural-gan`` in PyTorch (float64), with the equinox weights copied in.

    ``torch.nn.Linear`` stores its weight as ``(out, in)``, as equinox does, and its parameters in the
    order weight, bias per layer: the flat parameter vector has gameflow's order.

    **Arguments:**

    - `game`: a ``NeuralGAN`` with the ``gan`` loss, no regularizer, tanh hidden layers.
    """

    def __init__(self, game: Any):
        torch = torch_module()
        if game.loss != "gan" or game.reg != "none":
            raise ValueError(f"the PyTorch baseline implements loss=gan, reg=none; got loss={game.loss}, "
                             f"reg={game.reg}")
        self.torch = torch
        self.nets = [self._copy(game.g0), self._copy(game.d0)]
        self.params = [p for net in self.nets for p in net.parameters()]
        n_g = sum(1 for _ in self.nets[0].parameters())
        self.signs = [-1.0] * n_g + [1.0] * (len(self.params) - n_g)  # F = (-∇_θ V, +∇_ψ V)
        self.sizes = [p.numel() for p in self.params]
        self.data = torch.from_numpy(np.array(game.data, dtype=np.float64))
        self.latents = torch.from_numpy(np.array(game.latents, dtype=np.float64))
        self._grads = None

    def _copy(self, mlp: Any):
        import jax.numpy as jnp

        torch = self.torch
        if mlp.activation is not jnp.tanh:
            raise ValueError("the PyTorch baseline implements activation=tanh only")
        mods = []
        for i, layer in enumerate(mlp.layers):
            W = np.array(layer.weight, dtype=np.float64)  # a writable copy for torch
            lin = torch.nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W))
                lin.bias.copy_(torch.from_numpy(np.array(layer.bias, dtype=np.float64)))
            mods.append(lin)
            if i < len(mlp.layers) - 1:
                mods.append(torch.nn.Tanh())
        return torch.nn.Sequential(*mods)

    def value(self):
        """``V = E log σ(D(x)) + E log(1 - σ(D(G(z))))``, written as gameflow writes it (softplus = logaddexp)."""
        torch = self.torch
        G, D = self.nets
        dr = D(self.data)[:, 0]
        df = D(G(self.latents))[:, 0]
        zero = torch.zeros((), dtype=torch.float64)
        return -torch.logaddexp(-dr, zero).mean() - torch.logaddexp(df, zero).mean()

    def flat(self) -> np.ndarray:
        """The parameters as one vector (gameflow's order)."""
        return np.concatenate([p.detach().numpy().reshape(-1) for p in self.params])

    def field(self) -> np.ndarray:
        """The field ``F = (-∇_θ V, ∇_ψ V)`` as one vector."""
        g = self.torch.autograd.grad(self.value(), self.params)
        return np.concatenate([s * gi.detach().numpy().reshape(-1) for s, gi in zip(self.signs, g)])

    def prepare_rmatvec(self) -> None:
        """Keep the gradient's graph (``create_graph=True``) for the products that follow."""
        self._grads = self.torch.autograd.grad(self.value(), self.params, create_graph=True)

    def rmatvec(self, u: np.ndarray) -> np.ndarray:
        """``Jᵀ u`` by double backward: ``J = S H`` (``S`` the players' signs, ``H`` the Hessian of V), so
        ``Jᵀ u = ∂/∂z (g · S u)`` with ``g = ∇V`` kept from [`prepare_rmatvec`][]."""
        torch = self.torch
        chunks = torch.from_numpy(np.asarray(u, dtype=np.float64)).split(self.sizes)
        outs = [s * c.view_as(p) for s, c, p in zip(self.signs, chunks, self.params)]
        h = torch.autograd.grad(self._grads, self.params, grad_outputs=outs, retain_graph=True,
                                materialize_grads=True)
        return torch.cat([x.reshape(-1) for x in h]).numpy()

    def sgda(self, lr: float, steps: int) -> None:
        """`steps` steps of simultaneous GDA in place: ``θ -= lr ∇_θ V``, ``ψ += lr ∇_ψ V``."""
        torch = self.torch
        for _ in range(steps):
            g = torch.autograd.grad(self.value(), self.params)
            with torch.no_grad():
                for p, gi, s in zip(self.params, g, self.signs):
                    p.add_(gi, alpha=s * lr)

    def set_flat(self, v: np.ndarray) -> None:
        """Load a flat parameter vector."""
        torch = self.torch
        with torch.no_grad():
            for p, c in zip(self.params, torch.from_numpy(np.asarray(v, dtype=np.float64)).split(self.sizes)):
                p.copy_(c.view_as(p))


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    """``|a - b| / max(|a|, |b|)`` (zero when both vanish)."""
    scale = max(float(np.linalg.norm(a)), float(np.linalg.norm(b)))
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b))) / scale if scale > 0 else 0.0


def match_eigenvalues(ours: np.ndarray, theirs: np.ndarray) -> float:
    """Largest relative difference ``|λ - μ| / |λ|`` over the closest one-to-one pairing of two sets."""
    from scipy.optimize import linear_sum_assignment

    ours, theirs = np.asarray(ours, complex), np.asarray(theirs, complex)
    if ours.size == 0 or ours.size != theirs.size:
        return float("inf")
    rows, cols = linear_sum_assignment(np.abs(ours[:, None] - theirs[None, :]))
    return float(np.max(np.abs(ours[rows] - theirs[cols]) / np.maximum(np.abs(ours[rows]), np.finfo(float).tiny)))


def _pairs(w: np.ndarray) -> list[list[float]]:
    return [[float(x.real), float(x.imag)] for x in np.asarray(w, complex)]


def _unpairs(p: list[list[float]]) -> np.ndarray:
    return np.array([complex(a, b) for a, b in p], dtype=complex)


def _ru_maxrss_bytes() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # KiB on Linux


def peak_rss_bytes() -> int:
    """This process's peak resident memory: ``VmHWM`` of ``/proc/self/status``, else ``ru_maxrss``.

    On Linux ``ru_maxrss`` survives ``exec``: a child's starts at its parent's peak at the fork (the
    bench's parent holds JAX and the earlier sections), so it bounds the child's own peak only from
    above.  ``VmHWM`` belongs to the process's own address space, created at ``exec``.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    return _ru_maxrss_bytes()


# -- what the child processes do ------------------------------------------------------------------
def spectra_child(cfg: dict[str, Any]) -> dict[str, Any]:
    """Top-`k` eigenvalues of one network's Jacobian by the Arnoldi path, timed in two parts, with the peak RSS.

    **Arguments:**

    - `cfg`: ``width``, ``m``, and optionally ``k``, ``which``, ``ncv``, ``tol``.

    **Returns:**

    A dict of plain values (sizes, times, ARPACK's status and residuals, eigenvalues as ``[re, im]``,
    memory in bytes).
    """
    import jax
    import jax.numpy as jnp
    from gameflow.flows.eigs import RESIDUAL_CHUNK, _apply, _apply_many, _linearize_field, linear_top_eigenvalues

    rss_import = peak_rss_bytes()
    k, which = int(cfg.get("k", K)), cfg.get("which", WHICH)
    ncv, tol = cfg.get("ncv"), float(cfg.get("tol", 0.0))
    game = neural_game(cfg["width"], cfg["m"])
    z = game.start()
    n = game.n_params
    rss_game = peak_rss_bytes()
    t0 = time.perf_counter()
    y, lin = _linearize_field(game, z)
    jax.block_until_ready(y)
    t1 = time.perf_counter()
    # Compile the product ARPACK calls and the batched one of the residual check before the clock starts.
    jax.block_until_ready(_apply(lin, jnp.zeros(n)))
    jax.block_until_ready(_apply_many(lin, jnp.zeros((min(RESIDUAL_CHUNK, 2 * k), n))))
    t2 = time.perf_counter()
    rss_setup = peak_rss_bytes()
    res = linear_top_eigenvalues(lin, n, k, which, method="arnoldi", ncv=ncv, tol=tol)
    t3 = time.perf_counter()
    eig = np.asarray(res.eigenvalues, complex)
    scale = float(np.max(np.abs(eig))) if eig.size else 0.0
    used_ncv = int(ncv) if ncv is not None else min(n, max(2 * k + 1, 20))
    return {
        "width": int(cfg["width"]), "m": int(cfg["m"]), "n": n, "n_formula": n_params(cfg["width"]),
        "k": k, "which": which, "ncv": used_ncv, "tol": tol,
        "linearize_seconds": t1 - t0, "compile_products_seconds": t2 - t1, "setup_seconds": t2 - t0,
        "arpack_seconds": t3 - t2, "total_seconds": t3 - t0,
        "matvecs": int(res.matvecs), "seconds_per_matvec": (t3 - t2) / max(int(res.matvecs), 1),
        "status": res.status, "method": res.method, "found": int(eig.size),
        "max_residual": float(np.max(res.residuals)) if eig.size else None,
        "max_relative_residual": float(np.max(res.residuals)) / scale if eig.size and scale > 0 else None,
        "spectral_abscissa": float(np.max(eig.real)) if eig.size else None,
        "eigenvalues": _pairs(eig),
        "rss_after_import_bytes": rss_import, "rss_after_game_bytes": rss_game,
        "rss_after_setup_bytes": rss_setup, "peak_rss_bytes": peak_rss_bytes(),
        "ru_maxrss_bytes": _ru_maxrss_bytes(),
        "arpack_basis_bytes": n * used_ncv * 8, "dense_jacobian_bytes": n * n * 8,
    }


def thread_settings(torch: Any) -> list[int]:
    """PyTorch's thread counts to time: its default (``torch.get_num_threads()``) and one thread.

    On a loaded machine the default OpenMP pool can wait on a busy core for most of each call; one
    thread is then much faster.  Both are reported, and each ratio is taken against the faster.
    """
    return sorted({int(torch.get_num_threads()), 1}, reverse=True)


def _interleaved_medians(fns: list, repeats: int, warmup: int = 2) -> list[float]:
    """Median time of each function, calls interleaved so that a change of load touches each alike."""
    for _ in range(warmup):
        for f in fns:
            f()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for i, f in enumerate(fns):
            t = time.perf_counter()
            f()
            times[i].append(time.perf_counter() - t)
    return [statistics.median(t) for t in times]


def _torch_eigs(tg: TorchGAN, n: int, k: int, which: str, seed: int = 0) -> dict[str, Any]:
    """ARPACK (scipy ``eigs``) on the PyTorch product ``Jᵀ u``; residuals recomputed with that product."""
    from gameflow.flows.eigs import _arpack, _order, _status
    from scipy.sparse.linalg import LinearOperator, eigs

    calls = [0]
    norm = [0.0]

    def mv(x):
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        y = tg.rmatvec(x)
        calls[0] += 1
        nx = float(np.linalg.norm(x))
        if nx > 0:
            norm[0] = max(norm[0], float(np.linalg.norm(y)) / nx)
        return y

    op = LinearOperator((n, n), matvec=mv, dtype=np.float64)
    v0 = np.random.default_rng(seed).standard_normal(n)  # the start vector gameflow's eigs uses
    t = time.perf_counter()
    w, V, converged = _arpack(lambda: eigs(op, k=k, which=which, v0=v0, tol=0.0), n, complex)
    seconds = time.perf_counter() - t
    idx = _order(w, which)
    w, V = w[idx], V[:, idx]
    res = np.array([np.linalg.norm((tg.rmatvec(V[:, j].real) + 1j * tg.rmatvec(V[:, j].imag)) - w[j] * V[:, j])
                    / np.linalg.norm(V[:, j]) for j in range(w.size)])
    return {"status": _status(converged, res, w, norm[0], 1e-8, k), "arpack_seconds": seconds, "matvecs": calls[0],
            "max_residual": float(np.max(res)) if res.size else None, "eigenvalues": _pairs(w)}


def matvec_child(cfg: dict[str, Any]) -> dict[str, Any]:
    """One network: fields checked equal, then ours ``J u`` against PyTorch's ``Jᵀ u``, medians; optionally
    ARPACK on PyTorch's product.

    **Arguments:**

    - `cfg`: ``width``, ``m``, ``repeats``, ``eigs`` (bool), ``k``, ``which``.

    **Returns:**

    A dict: the checks (``field_rel_diff``, ``transpose_rel_diff``), and, when they pass, the median
    seconds per product of each and their ratio; with ``eigs``, PyTorch's ARPACK result.  When a check
    fails, ``refused`` says which and nothing is timed.
    """
    import jax
    import jax.numpy as jnp
    from gameflow.flows.eigs import _apply, _linearize_field

    torch = torch_module()
    game = neural_game(cfg["width"], cfg["m"])
    n = game.n_params
    y, lin = _linearize_field(game, game.start())
    ours_field = np.asarray(y, dtype=np.float64)
    tg = TorchGAN(game)
    out: dict[str, Any] = {"width": int(cfg["width"]), "m": int(cfg["m"]), "n": n, "torch": torch.__version__,
                           "torch_default_threads": torch.get_num_threads()}
    out["field_rel_diff"] = rel_diff(tg.field(), ours_field)
    tg.prepare_rmatvec()
    rng = np.random.default_rng(1)
    u, w = rng.standard_normal(n), rng.standard_normal(n)

    def ours(x):
        return np.asarray(_apply(lin, jnp.asarray(x, dtype=jnp.float64)), dtype=np.float64)

    a, b = float(w @ ours(u)), float(u @ tg.rmatvec(w))  # w·(J u) = u·(Jᵀ w)
    out["transpose_rel_diff"] = abs(a - b) / max(abs(a), abs(b), np.finfo(float).tiny)
    if out["field_rel_diff"] > TARGETS["field_rel_diff"] or out["transpose_rel_diff"] > TARGETS["transpose_rel_diff"]:
        out["refused"] = (f"the PyTorch network disagrees with gameflow's (field {out['field_rel_diff']:.1e}, "
                          f"transpose identity {out['transpose_rel_diff']:.1e}, relative; allowed 1e-10)")
        return out
    jax.block_until_ready(_apply(lin, jnp.asarray(u)))
    per_threads = []
    for nt in thread_settings(torch):
        torch.set_num_threads(nt)
        t_ours, t_torch = _interleaved_medians([lambda: ours(u), lambda: tg.rmatvec(u)], int(cfg["repeats"]))
        per_threads.append({"torch_threads": nt, "ours_seconds_per_matvec": t_ours,
                            "torch_seconds_per_matvec": t_torch, "speedup_vs_torch": t_torch / t_ours})
    # The verdict is taken against PyTorch's faster thread setting (the stronger baseline).
    best = min(per_threads, key=lambda r: r["torch_seconds_per_matvec"])
    out.update(best, repeats=int(cfg["repeats"]), per_thread_setting=per_threads)
    out["roofline"] = _roofline(lin, u, best)
    torch.set_num_threads(best["torch_threads"])
    if cfg.get("eigs"):
        out["torch_eigs"] = _torch_eigs(tg, n, int(cfg.get("k", K)), cfg.get("which", WHICH))
    return out


def _roofline(lin: Any, u: np.ndarray, best: dict[str, Any]) -> dict[str, Any]:
    """The product's floating-point work (XLA's cost analysis) as rates, beside this machine's float64 matmul rate.

    Both libraries' products are a few dense matrix products per sample, so their rates are bounded by the
    machine's: a speed-up over PyTorch above ``matmul rate / PyTorch's rate`` is out of reach.
    """
    import jax
    import jax.numpy as jnp
    from gameflow.flows.eigs import _apply

    cost = _apply.lower(lin, jnp.asarray(u)).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    flops = float((cost or {}).get("flops", float("nan")))
    size = 2000
    a = jnp.asarray(np.random.default_rng(2).standard_normal((size, size)))
    mm = jax.jit(lambda x: x @ x)
    jax.block_until_ready(mm(a))
    t_mm = []
    for _ in range(3):
        t0 = time.perf_counter()
        jax.block_until_ready(mm(a))
        t_mm.append(time.perf_counter() - t0)
    matmul = 2 * size**3 / min(t_mm)
    return {"flops_per_matvec": flops, "ours_flops_per_s": flops / best["ours_seconds_per_matvec"],
            "torch_flops_per_s": flops / best["torch_seconds_per_matvec"], "matmul_flops_per_s": matmul,
            "matmul_n": size, "largest_possible_speedup": matmul * best["torch_seconds_per_matvec"] / flops}


def training_child(cfg: dict[str, Any]) -> dict[str, Any]:
    """Full-batch sgda on one network: gameflow's ``iterate`` against a PyTorch loop (when `cfg["torch"]`).

    **Arguments:**

    - `cfg`: ``width``, ``m``, ``steps``, ``lr``, ``torch`` (bool), ``repeats``.

    **Returns:**

    A dict: compile and run seconds, steps per second of each, and the check that both reach the same
    parameters after a few steps (PyTorch's figures only when that check passes).
    """
    import jax
    from gameflow import solvers

    game = neural_game(cfg["width"], cfg["m"])
    steps, lr, repeats = int(cfg["steps"]), float(cfg["lr"]), int(cfg["repeats"])
    z0 = game.start()
    scheme = solvers.SGDA()

    def ours(k):
        return jax.block_until_ready(solvers.iterate(game, scheme, z0, lr, k))

    t = time.perf_counter()
    check = ours(CHECK_STEPS)  # compiles: the step count is traced, so `steps` reuses this compilation
    first = time.perf_counter() - t
    t = time.perf_counter()
    ours(CHECK_STEPS)
    second = time.perf_counter() - t
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        traj = ours(steps)
        runs.append(time.perf_counter() - t)
    t_ours = statistics.median(runs)
    out: dict[str, Any] = {
        "width": int(cfg["width"]), "m": int(cfg["m"]), "n": game.n_params, "steps": steps, "lr": lr,
        "ours_compile_seconds": max(first - second, 0.0), "ours_seconds": t_ours,
        "ours_steps_per_second": steps / t_ours, "ours_status": traj.status_name(), "repeats": repeats,
    }
    if not cfg.get("torch"):
        return out
    torch = torch_module()
    tg = TorchGAN(game)
    start = tg.flat()
    tg.sgda(lr, CHECK_STEPS)
    out["torch_default_threads"] = torch.get_num_threads()
    out["check_steps"] = CHECK_STEPS
    out["check_rel_diff"] = rel_diff(tg.flat(), np.asarray(check.final))
    if out["check_rel_diff"] > TARGETS["training_check_rel_diff"]:
        out["refused"] = (f"PyTorch's parameters after {CHECK_STEPS} steps differ from gameflow's by "
                          f"{out['check_rel_diff']:.1e} (relative; allowed 1e-8)")
        return out
    per_threads = []
    for nt in thread_settings(torch):
        torch.set_num_threads(nt)
        truns = []
        for _ in range(repeats):
            tg.set_flat(start)
            t = time.perf_counter()
            tg.sgda(lr, steps)
            truns.append(time.perf_counter() - t)
        t_torch = statistics.median(truns)
        per_threads.append({"torch_threads": nt, "torch_seconds": t_torch, "torch_steps_per_second": steps / t_torch,
                            "speedup_vs_torch": t_torch / t_ours})
    best = min(per_threads, key=lambda r: r["torch_seconds"])  # the verdict: against PyTorch's faster setting
    out.update(best, per_thread_setting=per_threads, final_rel_diff=rel_diff(tg.flat(), np.asarray(traj.final)))
    return out


TASKS = {"spectra": spectra_child, "matvec": matvec_child, "training": training_child}


def run_child(task: str, cfg: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run one task in a fresh Python process; its result, or ``{"error": ...}`` when it failed.

    **Arguments:**

    - `task`: a key of ``TASKS``; `cfg`: its configuration (JSON-able).
    - `timeout`: seconds before the child is stopped (then the error says so).
    """
    if task not in TASKS:
        raise ValueError(f"task {task!r} is not one of {', '.join(TASKS)}")
    env = {**os.environ, **CHILD_ENV}
    argv = [sys.executable, "-m", "gameflow.experiments.bench_neural", task, json.dumps(cfg)]
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"stopped after {timeout:.0f} s"}
    for line in done.stderr.splitlines():
        if line.startswith("[bench]"):
            print(line, file=sys.stderr, flush=True)
    if done.returncode != 0:
        tail = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
        return {"error": f"exit {done.returncode}: {tail[-1] if tail else 'no message'}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the sections ---------------------------------------------------------------------------------
def _torch_state(use_torch: bool) -> tuple[Any, str | None]:
    """``(torch or None, why skipped)``."""
    if not use_torch:
        return None, "the PyTorch comparisons were skipped (--no-torch)"
    torch = torch_module()
    if torch is None:
        return None, ("the PyTorch comparisons were skipped: torch is not installed "
                      "(pip install -e '.[bench]')")
    return torch, None


def bench_spectra(quick: bool = False, use_torch: bool = True, widths: tuple[int, ...] | None = None,
                  eig_widths: tuple[int, ...] | None = None) -> dict[str, Any]:
    """The spectra section: per width, the Arnoldi run in a child (time, status, memory) and the PyTorch product.

    **Arguments:**

    - `quick`: the quick sizes (one network of about ``10⁴`` numbers).
    - `use_torch`: compare with PyTorch when it is installed.
    - `widths`, `eig_widths`: the widths to run, and those where ARPACK also runs on the PyTorch product
      (default: ``NEURAL_SIZES[mode]``'s ``spectra`` and ``spectra_torch_eigs``).

    **Returns:**

    The section's dict (``rows``: one per width).
    """
    mode = "quick" if quick else "full"
    widths = tuple(NEURAL_SIZES[mode]["spectra"] if widths is None else widths)
    eig_widths = tuple(NEURAL_SIZES[mode]["spectra_torch_eigs"] if eig_widths is None else eig_widths)
    torch, skipped = _torch_state(use_torch)
    rows = []
    for w in widths:
        n = n_params(w)
        _note(f"spectra: top-{K} ({WHICH}) eigenvalues of neural-gan at width {w} (n = {n}), child process")
        row = run_child("spectra", {"width": w, "m": M}, TIMEOUT[mode])
        row.setdefault("width", w)
        row.setdefault("n", n)
        row["limit_seconds"] = spectra_limit(n)
        row["limit_met"] = ("error" not in row and row["status"] == "converged"
                            and row["total_seconds"] < row["limit_seconds"])
        row["limit_verdict"] = verdict(row["limit_met"])
        if torch is not None:
            with_eigs = w in eig_widths
            _note(f"spectra: PyTorch double-backward product at width {w}" + (", ARPACK on it" if with_eigs else ""))
            repeats = 5 if quick else (21 if n < 300_000 else 9)
            cmp = run_child("matvec", {"width": w, "m": M, "repeats": repeats, "eigs": with_eigs}, TIMEOUT[mode])
            if "speedup_vs_torch" in cmp:
                cmp["target"] = TARGETS["matvec_speedup_vs_torch"]
                cmp["met"] = cmp["speedup_vs_torch"] >= cmp["target"]
                cmp["verdict"] = verdict(cmp["met"])
            te = cmp.get("torch_eigs")
            if te is not None and "eigenvalues" in row:
                te["max_rel_diff_vs_ours"] = match_eigenvalues(_unpairs(row["eigenvalues"]),
                                                               _unpairs(te["eigenvalues"]))
                te["target"] = TARGETS["eigenvalue_rel_diff"]
                te["met"] = (row["status"] == "converged" and te["status"] == "converged"
                             and te["max_rel_diff_vs_ours"] <= te["target"])
                te["verdict"] = verdict(te["met"])
            row["torch"] = cmp
        rows.append(row)
    return {"game": {**GAME, "m": M, "point": "game.start() (the initial weights)"}, "k": K, "which": WHICH,
            "arpack_blas_threads": 1,
            "torch": None if torch is None else torch.__version__, "torch_skipped": skipped, "rows": rows}


def bench_training(quick: bool = False, use_torch: bool = True,
                   sizes: tuple[tuple[int, int], ...] | None = None) -> dict[str, Any]:
    """The training section: steps per second of full-batch sgda, gameflow against PyTorch, per network.

    **Arguments:**

    - `quick`: the quick sizes; `use_torch`: compare with PyTorch when installed;
    - `sizes`: pairs ``(width, steps)`` (default: ``NEURAL_SIZES[mode]["training"]``).

    **Returns:**

    The section's dict (``rows``: one per network).
    """
    mode = "quick" if quick else "full"
    sizes = tuple(NEURAL_SIZES[mode]["training"] if sizes is None else sizes)
    torch, skipped = _torch_state(use_torch)
    rows = []
    for w, steps in sizes:
        _note(f"training: {steps} sgda steps at width {w} (n = {n_params(w)}), child process")
        row = run_child("training", {"width": w, "m": M, "steps": steps, "lr": LR, "torch": torch is not None,
                                     "repeats": 1 if quick else 3}, TIMEOUT[mode])
        row.setdefault("width", w)
        row.setdefault("n", n_params(w))
        if "speedup_vs_torch" in row:
            row["target"] = TARGETS["training_speedup_vs_torch"]
            # A run that stopped early (diverged) did not do the steps it is timed for.
            row["met"] = row["speedup_vs_torch"] >= row["target"] and row["ours_status"] == "max-steps"
            row["verdict"] = verdict(row["met"])
        rows.append(row)
    return {"game": {**GAME, "m": M, "start": "game.start()"}, "scheme": "sgda", "lr": LR,
            "torch": None if torch is None else torch.__version__, "torch_skipped": skipped, "rows": rows}


# -- the printed summary --------------------------------------------------------------------------
def _mib(b: float) -> str:
    return f"{b / 2**20:,.0f} MiB" if b < 2**40 else f"{b / 2**40:,.1f} TiB"


def _thread_figures(rows: list[dict[str, Any]], key: str, unit: str, scale: float, digits: int) -> str:
    return ", ".join(f"{r['torch_threads']} thread{'s' if r['torch_threads'] != 1 else ''} "
                     f"{scale * r[key]:.{digits}f} {unit} ({r['speedup_vs_torch']:.2f}x)" for r in rows)


def render_spectra(s: dict[str, Any]) -> list[str]:
    """Lines of the spectra section."""
    g = s["game"]
    lines = [f"spectra: top-{s['k']} ({s['which']}) eigenvalues of the neural-gan Jacobian, matrix-free (ARPACK on "
             f"jitted JVPs), float64; data {g['data']}, m = {g['m']}, depth {g['depth']}, {g['activation']}, loss "
             f"{g['loss']}, at the initial weights; one child process per size, ARPACK's BLAS on "
             f"{s['arpack_blas_threads']} thread"]
    for r in s["rows"]:
        head = f"  width {r['width']}, n = {r['n']:,}"
        if "error" in r:
            lines.append(f"{head}: FAILED ({r['error']}); limit {r['limit_seconds']:.0f} s: {r['limit_verdict']}")
            continue
        rel = r["max_relative_residual"]
        lines += [
            f"{head}: {r['total_seconds']:.1f} s (linearize + compile {r['setup_seconds']:.1f} s, ARPACK "
            f"{r['arpack_seconds']:.1f} s), {r['matvecs']} matvecs, {1e3 * r['seconds_per_matvec']:.1f} ms per matvec "
            f"in ARPACK; limit {r['limit_seconds']:.0f} s: {r['limit_verdict']}",
            f"    status {r['status']} ({r['found']} of {r['k']}), max residual "
            + (f"{r['max_residual']:.1e} ({rel:.1e} of max |lambda|)" if rel is not None else "-")
            + f", ncv {r['ncv']}, tol {r['tol']:g}; spectral abscissa "
            + (f"{r['spectral_abscissa']:.10g}" if r["spectral_abscissa"] is not None else "-"),
            f"    memory: peak RSS {_mib(r['peak_rss_bytes'])} (VmHWM; {_mib(r['rss_after_import_bytes'])} after "
            f"imports, {_mib(r['rss_after_setup_bytes'])} after linearizing and compiling the products; "
            f"ru_maxrss {_mib(r['ru_maxrss_bytes'])} counts the parent's peak at the fork); "
            f"ARPACK basis n*ncv*8 = {_mib(r['arpack_basis_bytes'])}; a dense Jacobian n*n*8 would be "
            f"{_mib(r['dense_jacobian_bytes'])}",
        ]
        t = r.get("torch")
        if t is None:
            continue
        if "error" in t:
            lines.append(f"    PyTorch: FAILED ({t['error']})")
            continue
        if "refused" in t:
            lines.append(f"    PyTorch: comparison refused: {t['refused']}")
            continue
        lines += [
            f"    PyTorch {t['torch']}: fields agree to {t['field_rel_diff']:.1e}, w.(Ju) = u.(J^T w) to "
            f"{t['transpose_rel_diff']:.1e} (relative); per matvec, medians of {t['repeats']}: ours "
            f"{1e3 * t['ours_seconds_per_matvec']:.2f} ms, torch double-backward "
            f"{1e3 * t['torch_seconds_per_matvec']:.2f} ms -> {t['speedup_vs_torch']:.2f}x "
            f"(target {t['target']:g}x: {t['verdict']})",
            "      torch by thread count (default " + str(t["torch_default_threads"]) + "): "
            + _thread_figures(t["per_thread_setting"], "torch_seconds_per_matvec", "ms", 1e3, 2),
        ]
        rf = t.get("roofline")
        if rf is not None:
            lines.append(
                f"      work: {rf['flops_per_matvec'] / 1e6:,.0f} MFlop per product (XLA cost analysis): ours "
                f"{rf['ours_flops_per_s'] / 1e9:.0f} GFlop/s, torch {rf['torch_flops_per_s'] / 1e9:.0f} GFlop/s; "
                f"this machine's float64 matmul (XLA, {rf['matmul_n']}^3) {rf['matmul_flops_per_s'] / 1e9:.0f} "
                f"GFlop/s, so no product can beat torch's by more than {rf['largest_possible_speedup']:.2f}x here")
        te = t.get("torch_eigs")
        if te is None:
            lines.append("    eigenvalues with the PyTorch product: not run at this size (per-matvec ratio only)")
        elif "max_rel_diff_vs_ours" not in te:
            lines.append(f"    eigenvalues with the PyTorch product: status {te['status']}; ours missing, not compared")
        else:
            lines.append(
                f"    eigenvalues with the PyTorch product (ARPACK on J^T u, {t['torch_threads']} thread(s)): "
                f"{te['arpack_seconds']:.1f} s, {te['matvecs']} matvecs, status {te['status']}; max relative "
                f"difference from ours {te['max_rel_diff_vs_ours']:.1e} (target {te['target']:g}: {te['verdict']})")
    if s["torch_skipped"]:
        lines.append(f"  {s['torch_skipped']}")
    return lines


def render_training(s: dict[str, Any]) -> list[str]:
    """Lines of the training section."""
    g = s["game"]
    lines = [f"training: full-batch {s['scheme']} at lr {s['lr']:g} on neural-gan (data {g['data']}, m = {g['m']}, "
             f"depth {g['depth']}, {g['activation']}, loss {g['loss']}), from the initial weights; gameflow "
             "iterate (lax.scan, jitted) against a PyTorch loop"]
    for r in s["rows"]:
        head = f"  width {r['width']}, n = {r['n']:,}"
        if "error" in r:
            lines.append(f"{head}: FAILED ({r['error']})")
            continue
        lines.append(f"{head}, {r['steps']} steps: ours {r['ours_steps_per_second']:.1f} steps/s (median of "
                     f"{r['repeats']}; compile {r['ours_compile_seconds']:.1f} s apart; status {r['ours_status']})")
        if "refused" in r:
            lines.append(f"    PyTorch comparison refused: {r['refused']}")
        elif "speedup_vs_torch" in r:
            lines += [
                f"    torch {r['torch_steps_per_second']:.1f} steps/s -> {r['speedup_vs_torch']:.2f}x (target "
                f"{r['target']:g}x: {r['verdict']}); same parameters after {r['check_steps']} steps to "
                f"{r['check_rel_diff']:.1e}, after {r['steps']} to {r['final_rel_diff']:.1e} (relative)",
                "      torch by thread count (default " + str(r["torch_default_threads"]) + "): "
                + _thread_figures(r["per_thread_setting"], "torch_steps_per_second", "steps/s", 1.0, 1),
            ]
    if s["torch_skipped"]:
        lines.append(f"  {s['torch_skipped']}")
    return lines


def _main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in TASKS:
        print(f"usage: python -m gameflow.experiments.bench_neural {{{','.join(TASKS)}}} CONFIG_JSON", file=sys.stderr)
        return 2
    import gameflow.flows  # noqa: F401  (float64)

    out = TASKS[argv[0]](json.loads(argv[1]))
    print(json.dumps(out, allow_nan=True))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
