"""``gameflow bench``: timings against baselines run in the same process.

Absolute times on shared machines are noise; the figures that matter are the
ratios to the baselines measured alongside.

- discrete: a vmapped sgda sweep of Dirac-GAN (R1) trajectories against a
  vectorised NumPy loop doing the same work (field, update, divergence guard)
  and against a per-trajectory NumPy loop (the style of a reference notebook)
  timed on a subset and scaled up;
- ode: a batch of starts integrated by vmapped diffrax (Tsit5) against a loop
  of ``scipy.integrate.solve_ivp`` (RK45) at the same tolerances, compile
  time reported apart;
- roofline: the sweep's trajectory-steps per second times XLA's cost of one
  step (flops, transcendentals, bytes) against this machine's measured
  float64 matmul rate, copy bandwidth and ``exp`` rate;
- particles: one step of the MMD particle flow (Gaussian kernel, 2-D, N
  particles against M = N targets: N (N + M) kernel pairs with gradients)
  against the same blocked algorithm in NumPy and in PyTorch on the CPU
  (when ``torch`` is installed: ``pip install -e .[bench]``), its pairs per
  second set against the machine's fused exp-and-sum rate (an XLA loop doing
  one ``exp`` and one add per element), the ceiling for any kernel sum;
- spectra and training (neural-gan networks of ``10⁴``–``10⁶`` numbers): the
  top-20 eigenvalues of the Jacobian by the matrix-free Arnoldi path, time,
  status and peak memory per size in a child process, with the per-matvec
  time against PyTorch's double-backward product and the eigenvalues ARPACK
  finds with it; full-batch sgda steps per second against a PyTorch loop
  (``bench_neural``);
- cli (``gameflow bench --cli``, alone): the everyday commands on the 2-D
  Dirac-GAN, each run as a fresh process (``python -m gameflow ...``) with
  the persistent compilation cache off, cold (an empty cache directory) and
  warm (the same directory, run again), medians of several repetitions,
  beside the startup of ``python -c "import jax"`` measured in the same run;
  and the compile time of one diffrax ``integrate`` (first call minus second,
  in-process, without the cache).
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

from .bench_neural import NEURAL_SIZES

SIZES = {
    "full": {"trajectories": 100_000, "steps": 10_000, "loop_subset": 20, "ode_starts": 1000, "ode_subset": 50,
             "particles": (1_000, 3_000, 10_000),
             # The neural sections' networks (bench_neural.NEURAL_SIZES).  A size table without these keys runs
             # those sections on no network.
             **NEURAL_SIZES["full"]},
    "quick": {"trajectories": 10_000, "steps": 1_000, "loop_subset": 10, "ode_starts": 100, "ode_subset": 20,
              "particles": (500, 2_000), **NEURAL_SIZES["quick"]},
}
SECTIONS = ("discrete", "ode", "roofline", "particles", "spectra", "training")
PAIR_BLOCK = 2**18
GAMMA, BOUND, T_END, TOL = 0.5, 1e8, 10.0, 1e-8


def _note(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def _timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def numpy_sweep(th: np.ndarray, ps: np.ndarray, lr: np.ndarray, steps: int) -> tuple[np.ndarray, ...]:
    """Vectorised NumPy sgda on the R1 Dirac-GAN, with the same divergence guard as the JAX sweep."""
    th, ps = th.copy(), ps.copy()
    running = np.ones(th.shape, bool)
    for _ in range(steps):
        s = 1.0 / (1.0 + np.exp(th * ps))  # f'(θψ) = σ(-θψ)
        t2 = th - lr * ps * s
        p2 = ps + lr * (th * s - GAMMA * ps)
        bad = ~(np.isfinite(t2) & np.isfinite(p2)) | (np.maximum(np.abs(t2), np.abs(p2)) > BOUND)
        take = running & ~bad
        th = np.where(take, t2, th)
        ps = np.where(take, p2, ps)
        running &= ~bad
    return th, ps


def loop_trajectory(th: float, ps: float, lr: float, steps: int) -> np.ndarray:
    """One trajectory with a NumPy state vector, step by step, the way a reference notebook writes it."""
    v = np.array([th, ps])
    for _ in range(steps):
        s = 1.0 / (1.0 + np.exp(v[0] * v[1]))
        field = np.array([-v[1] * s, v[0] * s - GAMMA * v[1]])
        w = v + lr * field
        if not np.all(np.isfinite(w)) or np.max(np.abs(w)) > BOUND:
            break
        v = w
    return v


def handwritten_sweep(th, ps, lr, steps: int):
    """The same update as one hand-fused XLA loop (no guard): a ceiling for the generic sweep."""
    import jax
    import jax.numpy as jnp

    @jax.jit
    def run(th, ps, lr):
        def body(c, _):
            t, p = c
            s = 1.0 / (1.0 + jnp.exp(t * p))
            return (t - lr * p * s, p + lr * (t * s - GAMMA * p)), None

        return jax.lax.scan(body, (th, ps), None, length=steps)[0]

    return run(jnp.asarray(th), jnp.asarray(ps), jnp.asarray(lr))


def bench_discrete(size: dict[str, int]) -> dict[str, Any]:
    import jax
    from gameflow import flows, solvers

    b, k = size["trajectories"], size["steps"]
    rng = np.random.default_rng(0)
    z0 = rng.uniform(-1, 1, (b, 2))
    lrs = rng.uniform(0.01, 0.1, b)
    game = flows.DiracGAN(reg="r1", gamma=GAMMA)
    _note(f"discrete: jax sweep of {b} trajectories x {k} steps (compile + run, then run)")
    first, t_first = _timed(lambda: jax.block_until_ready(solvers.sweep(game, solvers.SGDA(), z0, lrs, k)))
    res, t_jax = _timed(lambda: jax.block_until_ready(solvers.sweep(game, solvers.SGDA(), z0, lrs, k)))
    _note("discrete: hand-fused jax loop (ceiling)")
    jax.block_until_ready(handwritten_sweep(z0[:, 0], z0[:, 1], lrs, k))
    _, t_hand = _timed(lambda: jax.block_until_ready(handwritten_sweep(z0[:, 0], z0[:, 1], lrs, k)))
    _note("discrete: vectorised numpy, same work")
    (th, ps), t_np = _timed(numpy_sweep, z0[:, 0], z0[:, 1], lrs, k)
    agree = float(np.max(np.abs(np.stack([th, ps], 1) - np.asarray(res.final))))
    n_loop = size["loop_subset"]
    _note(f"discrete: per-trajectory numpy loop on {n_loop} trajectories, scaled to {b}")
    _, t_loop_sub = _timed(lambda: [loop_trajectory(z0[i, 0], z0[i, 1], lrs[i], k) for i in range(n_loop)])
    t_loop = t_loop_sub * b / n_loop
    return {
        "trajectories": b, "steps": k, "game": "dirac-gan reg=r1 gamma=0.5", "scheme": "sgda",
        "jax_seconds": t_jax, "jax_compile_and_first_run_seconds": t_first,
        "jax_handwritten_seconds": t_hand, "handwritten_speedup_vs_numpy_vectorised": t_np / t_hand,
        "numpy_vectorised_seconds": t_np, "numpy_loop_seconds_scaled": t_loop,
        "numpy_loop_subset": n_loop, "numpy_loop_subset_seconds": t_loop_sub,
        "speedup_vs_numpy_vectorised": t_np / t_jax, "speedup_vs_numpy_loop": t_loop / t_jax,
        "trajectory_steps_per_second": b * k / t_jax, "max_abs_difference_vs_numpy": agree,
    }


def bench_ode(size: dict[str, int]) -> dict[str, Any]:
    import jax
    import scipy.integrate
    from gameflow import flows, solvers

    n, sub = size["ode_starts"], size["ode_subset"]
    rng = np.random.default_rng(1)
    z0 = rng.uniform(-1, 1, (n, 2))
    flow = flows.GradientFlow(flows.DiracGAN(reg="r1", gamma=GAMMA))
    _note(f"ode: vmapped diffrax (tsit5) on {n} starts to t = {T_END}")
    _, t_first = _timed(lambda: jax.block_until_ready(
        solvers.integrate_batch(flow, z0, T_END, rtol=TOL, atol=TOL)))
    res, t_jax = _timed(lambda: jax.block_until_ready(
        solvers.integrate_batch(flow, z0, T_END, rtol=TOL, atol=TOL)))

    def rhs(t, v):
        th, ps = v
        s = 1.0 / (1.0 + math.exp(th * ps))
        return [-ps * s, th * s - GAMMA * ps]

    _note(f"ode: scipy solve_ivp (RK45) loop on {sub} starts, scaled to {n}")
    sols, t_sub = _timed(lambda: [scipy.integrate.solve_ivp(rhs, (0.0, T_END), z0[i], rtol=TOL, atol=TOL).y[:, -1]
                                  for i in range(sub)])
    agree = float(np.max(np.abs(np.array(sols) - np.asarray(res.final)[:sub])))
    t_scipy = t_sub * n / sub
    return {
        "starts": n, "t_end": T_END, "rtol": TOL, "atol": TOL, "solver": "tsit5 vs RK45",
        "jax_seconds": t_jax, "compile_seconds": max(t_first - t_jax, 0.0),
        "scipy_seconds_scaled": t_scipy, "scipy_subset": sub, "scipy_subset_seconds": t_sub,
        "speedup_vs_scipy": t_scipy / t_jax, "max_abs_difference_vs_scipy": agree,
        "all_completed": bool(np.all(np.asarray(res.status) == 3)),
    }


def _best_of(fn, repeats: int = 5) -> float:
    import jax

    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t)
    return min(times)


def machine_peaks(quick: bool) -> dict[str, float]:
    """Measured rates of this machine: float64 matmul flops/s, copy bytes/s, exp evaluations/s."""
    import jax
    import jax.numpy as jnp

    n = 512 if quick else 1536
    a = jnp.asarray(np.random.default_rng(0).standard_normal((n, n)))
    mm = jax.jit(lambda x: x @ x)
    t_mm = _best_of(lambda: mm(a))
    m = 2**22 if quick else 2**25
    x = jnp.ones(m)
    cp = jax.jit(lambda v: v + 1.0)
    t_cp = _best_of(lambda: cp(x))
    ex = jax.jit(jnp.exp)
    t_ex = _best_of(lambda: ex(x))
    return {"matmul_flops_per_s": 2 * n**3 / t_mm, "copy_bytes_per_s": 2 * 8 * m / t_cp,
            "exp_per_s": m / t_ex, "matmul_n": n, "copy_elements": m}


def step_cost() -> dict[str, float]:
    """XLA's cost analysis of one sgda step of the R1 Dirac-GAN, per trajectory."""
    import jax
    import jax.numpy as jnp
    from gameflow import flows, solvers

    game, scheme, b = flows.DiracGAN(reg="r1", gamma=GAMMA), solvers.SGDA(), 4096
    f = jax.vmap(lambda t, p, lr: scheme.step(game, (t, p), None, jnp.stack([lr, lr]))[0])
    cost = jax.jit(f).lower(jnp.zeros(b), jnp.zeros(b), jnp.zeros(b)).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return {"flops": float(cost.get("flops", 0.0)) / b, "transcendentals": float(cost.get("transcendentals", 0.0)) / b,
            "bytes": float(cost.get("bytes accessed", 0.0)) / b}


def bench_roofline(discrete: dict[str, Any], quick: bool) -> dict[str, Any]:
    """The sweep's throughput against the machine's measured peaks."""
    _note("roofline: measured matmul rate, copy bandwidth and exp rate; XLA's cost of one step")
    peaks = machine_peaks(quick)
    cost = step_cost()
    rate = discrete["trajectory_steps_per_second"]
    return {
        **peaks, "per_trajectory_step": cost, "trajectory_steps_per_second": rate,
        "achieved_flops_per_s": cost["flops"] * rate,
        "fraction_of_matmul_flops": cost["flops"] * rate / peaks["matmul_flops_per_s"],
        "achieved_exp_per_s": cost["transcendentals"] * rate,
        "fraction_of_exp_rate": cost["transcendentals"] * rate / peaks["exp_per_s"],
        "achieved_bytes_per_s_if_unfused": cost["bytes"] * rate,
        "fraction_of_copy_bandwidth_if_unfused": cost["bytes"] * rate / peaks["copy_bytes_per_s"],
    }


def blocked_mmd_velocity(xp, X, Y, scale: float = 1.0, block: int = PAIR_BLOCK):
    """The MMD flow's velocity with array namespace `xp` (numpy or torch), rows in blocks against all centres.

    The same algorithm as ``flows.kernels`` (coordinate-wise squared distances, one kernel matrix per block,
    matrix-vector products for the value and the gradient), so the baselines do the same work.
    """
    Z = xp.concatenate([X, Y])
    w = xp.concatenate([xp.full((len(X),), 1.0 / len(X), dtype=X.dtype), xp.full((len(Y),), -1.0 / len(Y), dtype=X.dtype)])
    rows = max(1, block // len(Z))
    out = xp.empty_like(X)
    c = -0.5 / scale**2
    for i in range(0, len(X), rows):
        xb = X[i : i + rows]
        d2 = (xb[:, 0:1] - Z[None, :, 0]) ** 2
        for k in range(1, X.shape[1]):
            d2 += (xb[:, k : k + 1] - Z[None, :, k]) ** 2
        K = xp.exp(c * d2)
        s = K @ w
        cols = xp.stack([K @ (w * Z[:, k]) for k in range(X.shape[1])], axis=1)
        out[i : i + rows] = -2.0 * c * (xb * s[:, None] - cols)
    return out


def bench_particles(size: dict[str, Any], use_torch: bool = True) -> dict[str, Any]:
    """One MMD-flow step at several N: jax against NumPy and PyTorch, and the fused exp-and-sum ceiling.

    jax is timed twice: compiled as gameflow compiles (``flows.compile.jit``: reassociating options and the
    fused one-pass kernel sums) and under a plain ``jax.jit`` (kernel matrices times the weights).  The ceiling
    is the faster of a fused exp-and-sum compiled either way; ``ceiling_speedup_vs_numpy`` is what a kernel
    that did nothing but one exp and one add per pair would reach against the same NumPy time.
    """
    import jax
    import jax.numpy as jnp
    from gameflow import flows
    from gameflow.flows.compile import COMPILER_OPTIONS, jit

    from .bench_neural import torch_module

    torch = torch_module() if use_torch else None
    torch_version = None if torch is None else torch.__version__
    # The ceiling: a fused exp-and-sum (one exp and one add per element) over 2^23 elements.
    a = jnp.asarray(np.random.default_rng(0).random(2**23))
    exp_sums = [jax.jit(lambda v: jnp.sum(jnp.exp(-v)), compiler_options=opts) for opts in (None, COMPILER_OPTIONS)]
    exp_sum_rate = max(a.size / _best_of(lambda f=f: f(a), 5) for f in exp_sums)
    rows = []
    for n in size["particles"]:
        _note(f"particles: one MMD-flow step at N = M = {n}")
        rng = np.random.default_rng(0)
        X, Y = rng.standard_normal((n, 2)), rng.standard_normal((n, 2)) + 1.0
        game = flows.MMDFlow(X, Y, flows.Kernel("gaussian", 1.0))
        f = jit(lambda x, g=game: g.vector_field((x,))[0])
        plain = jax.jit(lambda x, g=game: g.vector_field((x,))[0])
        xj = jnp.asarray(X)
        t_jax = _best_of(lambda f=f, xj=xj: f(xj), 5)
        t_plain = _best_of(lambda f=plain, xj=xj: f(xj), 3)
        v_np, t_np = _timed(blocked_mmd_velocity, np, X, Y)
        t_np = min(t_np, *(_timed(blocked_mmd_velocity, np, X, Y)[1] for _ in range(2)))
        pairs = n * 2 * n
        row = {"n": n, "pairs": pairs, "jax_seconds": t_jax, "jax_plain_jit_seconds": t_plain, "numpy_seconds": t_np,
               "speedup_vs_numpy": t_np / t_jax, "plain_jit_speedup_vs_numpy": t_np / t_plain,
               "pairs_per_second": pairs / t_jax, "fraction_of_fused_exp_sum": pairs / t_jax / exp_sum_rate,
               "ceiling_speedup_vs_numpy": exp_sum_rate * t_np / pairs,
               "max_abs_difference_vs_numpy": float(np.max(np.abs(np.asarray(f(xj)) - v_np))),
               "max_abs_difference_plain_vs_numpy": float(np.max(np.abs(np.asarray(plain(xj)) - v_np)))}
        if torch is not None:
            Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
            blocked_mmd_velocity(torch, Xt, Yt)
            t_t = min(_timed(blocked_mmd_velocity, torch, Xt, Yt)[1] for _ in range(3))
            row.update(torch_seconds=t_t, speedup_vs_torch=t_t / t_jax)
        rows.append(row)
    return {"kernel": "gaussian", "dim": 2, "block_pairs": flows.kernels.BLOCK, "baseline_block_pairs": PAIR_BLOCK,
            "torch": torch_version, "fused_exp_sum_per_second": exp_sum_rate,
            "torch_threads": None if torch is None else torch.get_num_threads(), "rows": rows}


CLI_COMMANDS = {
    "analyze": ["analyze", "dirac-gan", "--param", "reg=r1"],
    "simulate sgda": ["simulate", "dirac-gan", "--param", "reg=r1", "--scheme", "sgda", "--lr", "0.1",
                      "--steps", "1000"],
    "simulate flow": ["simulate", "dirac-gan", "--param", "reg=r1", "--flow", "gradient", "--t-end", "10"],
    "compare": ["compare", "dirac-gan", "--param", "reg=r1", "--scheme", "agda", "--against", "modified"],
}
CLI_TARGETS = {  # seconds: (cold, warm), from issue 12
    "analyze": (2.0, 1.0), "simulate sgda": (2.0, 1.0), "simulate flow": (2.0, 1.0), "compare": (3.0, 1.5),
}
CLI_REPEATS = {"full": 5, "quick": 1}
DIFFRAX_COMPILE_TARGET = 2.0


def _child_env(cache: str | None) -> dict[str, str]:
    """The environment of a timed command: gameflow's cache in `cache` (None: off), nothing else of JAX's."""
    env = {k: v for k, v in os.environ.items() if k not in ("JAX_COMPILATION_CACHE_DIR", "GAMEFLOW_NO_CACHE")}
    env.pop("GAMEFLOW_CACHE_DIR", None)
    if cache is None:
        env["GAMEFLOW_NO_CACHE"] = "1"
    else:
        env["GAMEFLOW_CACHE_DIR"] = cache
    return env


def _time_process(argv: list[str], env: dict[str, str], cwd: str) -> float:
    """Wall time of one process, start to exit; a failing command is an error of the benchmark."""
    t = time.perf_counter()
    done = subprocess.run([sys.executable, *argv], env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t
    if done.returncode != 0:
        raise RuntimeError(f"bench --cli: `{' '.join(argv)}` exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return elapsed


def _entries(folder: str) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def diffrax_compile() -> dict[str, float]:
    """First call minus second call of one 2-D ``integrate`` (the ``simulate --flow`` solve), in-process."""
    import jax
    from gameflow import flows, solvers

    flow = flows.GradientFlow(flows.DiracGAN(reg="r1", gamma=GAMMA))
    run = lambda: jax.block_until_ready(solvers.integrate(flow, np.array([0.5, 0.5]), T_END,  # noqa: E731
                                                          saveat=np.linspace(0.0, T_END, 101)))
    _, first = _timed(run)
    _, second = _timed(run)
    return {"first_call_seconds": first, "second_call_seconds": second,
            "compile_seconds": max(first - second, 0.0)}


def bench_cli(quick: bool = False) -> dict[str, Any]:
    """The everyday commands as fresh processes: cold and warm cache, and no cache, medians of repetitions.

    Each repetition runs, for each command in turn, a run with the cache off (``GAMEFLOW_NO_CACHE=1``, the
    figures before the cache), a cold run (an empty cache directory of its own) and a warm run (the same
    directory again), then ``python -c "import jax"``: interleaved so that a change of load on a shared
    machine touches every figure alike.
    """
    repeats = CLI_REPEATS["quick" if quick else "full"]
    times: dict[str, dict[str, list[float]]] = {name: {"no_cache": [], "cold": [], "warm": []} for name in CLI_COMMANDS}
    entries: dict[str, list[int]] = {name: [] for name in CLI_COMMANDS}
    added_warm: dict[str, list[int]] = {name: [] for name in CLI_COMMANDS}
    import_jax: list[float] = []
    with tempfile.TemporaryDirectory(prefix="gameflow-bench-cli-") as root:
        for r in range(repeats):
            _note(f"cli: repetition {r + 1} of {repeats}")
            for i, (name, argv) in enumerate(CLI_COMMANDS.items()):
                cache = os.path.join(root, f"cache-{r}-{i}")
                work = os.path.join(root, f"work-{r}-{i}")
                os.makedirs(work)
                cmd = ["-m", "gameflow", *argv]
                times[name]["no_cache"].append(_time_process(cmd, _child_env(None), work))
                times[name]["cold"].append(_time_process(cmd, _child_env(cache), work))
                entries[name].append(_entries(cache))
                times[name]["warm"].append(_time_process(cmd, _child_env(cache), work))
                added_warm[name].append(_entries(cache) - entries[name][-1])
            import_jax.append(_time_process(["-c", "import jax"], _child_env(None), root))
    base = statistics.median(import_jax)
    commands = []
    for name, argv in CLI_COMMANDS.items():
        cold_target, warm_target = CLI_TARGETS[name]
        med = {k: statistics.median(v) for k, v in times[name].items()}
        commands.append({
            "name": name, "command": "gameflow " + " ".join(argv),
            "no_cache_median_seconds": med["no_cache"], "cold_median_seconds": med["cold"],
            "warm_median_seconds": med["warm"], "runs": times[name],
            "cold_over_import_jax": med["cold"] / base, "warm_over_import_jax": med["warm"] / base,
            "cache_entries": max(entries[name]), "entries_added_by_warm_run": max(added_warm[name]),
            "cold_target_seconds": cold_target, "warm_target_seconds": warm_target,
            "cold_target_met": med["cold"] < cold_target, "warm_target_met": med["warm"] < warm_target,
        })
    _note("cli: diffrax compile (one integrate, first call minus second, in-process)")
    dc = diffrax_compile()
    return {"repeats": repeats, "python": sys.executable, "import_jax_median_seconds": base,
            "import_jax_runs": import_jax, "commands": commands,
            "diffrax": {**dc, "target_seconds": DIFFRAX_COMPILE_TARGET,
                        "target_met": dc["compile_seconds"] < DIFFRAX_COMPILE_TARGET}}


def _machine() -> dict[str, Any]:
    import jax
    from gameflow import flows  # noqa: F401  (float64, as every section runs)

    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "jax": jax.__version__, "devices": [str(d) for d in jax.devices()],
            "x64": bool(jax.config.read("jax_enable_x64")),
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}


def run_cli_bench(quick: bool = False) -> dict[str, Any]:
    """Only the cli section (``gameflow bench --cli``); the machine's load average is read before and after."""
    machine = _machine()
    cli = bench_cli(quick)
    machine["load_average_after"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    return {"mode": "quick" if quick else "full", "machine": machine, "cli": cli}


def check_sections(only: Any) -> tuple[str, ...]:
    """The sections to run: all (`only` None) or the names in `only` (a list, or text with commas)."""
    if only is None:
        return SECTIONS
    names = [x.strip() for x in (only.split(",") if isinstance(only, str) else only) if x.strip()]
    bad = [x for x in names if x not in SECTIONS]
    if bad or not names:
        raise ValueError(f"--only {','.join(bad) or only!r}: sections are {', '.join(SECTIONS)} (comma-separated)")
    if "roofline" in names and "discrete" not in names:
        raise ValueError("--only roofline needs discrete too (the roofline rates the discrete sweep)")
    return tuple(x for x in SECTIONS if x in names)


def run_bench(quick: bool = False, only: Any = None, use_torch: bool = True) -> dict[str, Any]:
    """Run the sections; returns the report (also what ``bench.json`` holds).

    **Arguments:**

    - `quick`: the quick sizes (``SIZES["quick"]``).
    - `only`: the sections to run (default: all of ``SECTIONS``).
    - `use_torch`: compare with PyTorch where installed (``False``: those comparisons are reported skipped).
    """
    from . import bench_neural

    sections = check_sections(only)
    size = SIZES["quick" if quick else "full"]
    report: dict[str, Any] = {"mode": "quick" if quick else "full", "sections": list(sections), "machine": _machine()}
    if "discrete" in sections:
        report["discrete"] = bench_discrete(size)
    if "ode" in sections:
        report["ode"] = bench_ode(size)
    if "roofline" in sections:
        report["roofline"] = bench_roofline(report["discrete"], quick)
    if "particles" in sections:
        report["particles"] = bench_particles(size, use_torch)
    if "spectra" in sections:
        report["spectra"] = bench_neural.bench_spectra(quick, use_torch, widths=size.get("spectra", ()),
                                                       eig_widths=size.get("spectra_torch_eigs", ()))
    if "training" in sections:
        report["training"] = bench_neural.bench_training(quick, use_torch, sizes=size.get("training", ()))
    report["machine"]["load_average_after"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    return {
        **report,
        "targets": {"speedup_vs_numpy_vectorised": 8.0, "speedup_vs_numpy_loop": 1e4, "speedup_vs_scipy": 100.0,
                    "compile_seconds": 2.0, "particles_speedup_vs_numpy_at_1e4": 5.0,
                    "particles_fraction_of_fused_exp_sum_at_1e4": 0.6, **bench_neural.TARGETS,
                    "spectra_seconds_at_1e5": 60.0, "spectra_seconds_at_1e6": 300.0},
    }


def _verdict(met: bool) -> str:
    return "met" if met else "NOT MET"


def render_cli(report: dict[str, Any]) -> str:
    """The printed summary of the cli section."""
    c, m = report["cli"], report["machine"]
    load = m.get("load_average")
    lines = [
        f"gameflow bench --cli ({report['mode']}; {m['cpus']} cpus, jax {m['jax']}; medians of {c['repeats']} "
        f"run(s) of each, as fresh processes"
        + (f"; load average {load[0]:.2f} before, {m['load_average_after'][0]:.2f} after)" if load else ")"),
        "",
        f"  python -c 'import jax'   {c['import_jax_median_seconds']:6.2f} s   (the floor of any command)",
        "",
        f"  {'command':<14}  {'no cache':>8}  {'cold':>6}  {'target':>6}  {'':<7}  {'warm':>6}  {'target':>6}  {'':<7}  "
        f"{'warm/jax':>8}  {'entries':>7}",
    ]
    for row in c["commands"]:
        lines.append(
            f"  {row['name']:<14}  {row['no_cache_median_seconds']:7.2f}s  {row['cold_median_seconds']:5.2f}s  "
            f"{row['cold_target_seconds']:5.1f}s  {_verdict(row['cold_target_met']):<7}  "
            f"{row['warm_median_seconds']:5.2f}s  {row['warm_target_seconds']:5.1f}s  "
            f"{_verdict(row['warm_target_met']):<7}  {row['warm_over_import_jax']:7.2f}x  {row['cache_entries']:7d}")
    d = c["diffrax"]
    lines += [
        "",
        f"  diffrax compile (one 2-D integrate, first call {d['first_call_seconds']:.2f} s - second "
        f"{d['second_call_seconds']:.3f} s): {d['compile_seconds']:.2f} s   (target < {d['target_seconds']:.0f} s: "
        f"{_verdict(d['target_met'])})",
        "",
    ]
    lines += [f"  {row['name']:<14}  {row['command']}" for row in c["commands"]]
    return "\n".join(lines)


def render(report: dict[str, Any]) -> str:
    """The printed summary."""
    from .bench_neural import render_spectra, render_training

    if "cli" in report:
        return render_cli(report)
    m = report["machine"]
    load = m.get("load_average")
    lines = [
        f"gameflow bench ({report['mode']}; {m['cpus']} cpus, jax {m['jax']}"
        + (f"; load average {load[0]:.2f} before" if load else "")
        + (f", {m['load_average_after'][0]:.2f} after" if m.get("load_average_after") else "") + ")",
    ]
    if "discrete" in report:
        lines += ["", *_render_discrete(report["discrete"])]
    if "ode" in report:
        lines += ["", *_render_ode(report["ode"])]
    if "roofline" in report:
        lines += ["", *_render_roofline(report["roofline"])]
    if "particles" in report:
        lines += ["", *_render_particles(report["particles"])]
    if "spectra" in report:
        lines += ["", *render_spectra(report["spectra"])]
    if "training" in report:
        lines += ["", *render_training(report["training"])]
    return "\n".join(lines)


def _render_discrete(d: dict[str, Any]) -> list[str]:
    return [
        f"discrete: sgda sweep, {d['trajectories']} Dirac-GAN trajectories x {d['steps']} steps",
        f"  jax (vmap + lax.scan)      {d['jax_seconds']:9.3f} s   (compile + first run {d['jax_compile_and_first_run_seconds']:.2f} s)",
        f"  jax, hand-fused (ceiling)  {d['jax_handwritten_seconds']:9.3f} s   (no guard; numpy / this = {d['handwritten_speedup_vs_numpy_vectorised']:.2f}x)",
        f"  numpy, vectorised          {d['numpy_vectorised_seconds']:9.3f} s   -> jax is {d['speedup_vs_numpy_vectorised']:.2f}x   (target 8x)",
        f"  numpy per-trajectory loop  {d['numpy_loop_seconds_scaled']:9.1f} s   -> jax is {d['speedup_vs_numpy_loop']:.0f}x   (target 1e4x, scaled from {d['numpy_loop_subset']})",
        f"  largest |jax - numpy|      {d['max_abs_difference_vs_numpy']:.1e}",
    ]


def _render_ode(o: dict[str, Any]) -> list[str]:
    return [
        f"ode: {o['starts']} starts to t = {o['t_end']}, rtol = atol = {o['rtol']:g}",
        f"  jax (vmapped diffrax)      {o['jax_seconds']:9.3f} s   (compile {o['compile_seconds']:.2f} s, target < 2 s)",
        f"  scipy solve_ivp, scaled    {o['scipy_seconds_scaled']:9.3f} s   -> jax is {o['speedup_vs_scipy']:.0f}x   (target 100x)",
        f"  largest |jax - scipy|      {o['max_abs_difference_vs_scipy']:.1e}",
    ]


def _render_roofline(r: dict[str, Any]) -> list[str]:
    return [
        "roofline: the sweep's rate against this machine's measured peaks",
        f"  per trajectory-step (XLA)  {r['per_trajectory_step']['flops']:.0f} flops, {r['per_trajectory_step']['transcendentals']:.0f} exp, {r['per_trajectory_step']['bytes']:.0f} bytes if unfused",
        f"  sweep                      {r['trajectory_steps_per_second']:.3g} trajectory-steps/s",
        f"  flops                      {r['achieved_flops_per_s']:.3g}/s = {100 * r['fraction_of_matmul_flops']:.1f}% of float64 matmul ({r['matmul_flops_per_s']:.3g}/s)",
        f"  exp                        {r['achieved_exp_per_s']:.3g}/s = {100 * r['fraction_of_exp_rate']:.0f}% of a bare exp loop ({r['exp_per_s']:.3g}/s)",
        f"  bytes (if unfused)         {r['achieved_bytes_per_s_if_unfused']:.3g}/s = {100 * r['fraction_of_copy_bandwidth_if_unfused']:.0f}% of copy bandwidth ({r['copy_bytes_per_s']:.3g}/s)",
    ]


def _render_particles(p: dict[str, Any]) -> list[str]:
    lines = [
        f"particles: one MMD-flow step, Gaussian kernel, 2-D, M = N targets (torch {p['torch'] or 'not installed'}); "
        f"fused exp-and-sum {p['fused_exp_sum_per_second']:.3g}/s",
        f"  {'N':>6}  {'jax s':>8}  {'numpy s':>8}  {'x numpy':>7}  {'torch s':>8}  {'x torch':>7}  {'pairs/s':>9}  "
        f"{'of exp-sum':>10}  {'plain jit s':>11}  {'ceiling x numpy':>15}",
    ]
    for row in p["rows"]:
        t = f"{row['torch_seconds']:8.3f}  {row['speedup_vs_torch']:7.2f}" if "torch_seconds" in row else f"{'-':>8}  {'-':>7}"
        lines.append(f"  {row['n']:>6}  {row['jax_seconds']:8.3f}  {row['numpy_seconds']:8.3f}  {row['speedup_vs_numpy']:7.2f}  {t}  "
                     f"{row['pairs_per_second']:9.3g}  {100 * row['fraction_of_fused_exp_sum']:9.0f}%  "
                     f"{row['jax_plain_jit_seconds']:11.3f}  {row['ceiling_speedup_vs_numpy']:15.2f}")
    lines.append("  targets at N = 1e4: 5x numpy, 60% of the fused exp-and-sum rate ('ceiling x numpy': the speedup of a")
    lines.append("  kernel doing nothing but one exp and one add per pair; 'plain jit': the same step under jax.jit)")
    return lines
