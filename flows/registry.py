"""Named games: parameter specifications, parsing, and users' game files.

The CLI and scripts build games by name with string or Python parameters:
``make_game("dirac-gan", {"reg": "r1", "gamma": "0.3"})``.  A name of the form
``path/to/file.py:factory`` loads a user's file and calls ``factory(**params)``,
which must return a [`Game`][].
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .bilinear import Bilinear, random_matrix
from .dirac_gan import LOSSES, REGS, DiracGAN
from .exp_gan import ExpGAN
from .game import Game
from .gaussian_gan import DISCRIMINATORS, GENERATORS, GaussianGAN
from .kernels import BLOCK, KERNELS, Kernel
from .particles import KERNEL_REGS, MLP_REGS, MMDGAN, STABILIZERS, TARGETS, CriticGAN, MMDFlow, sample_target
from .quadratic import Quadratic


@dataclass(frozen=True)
class Param:
    """One documented game parameter.

    `kind` is ``float``, ``int``, ``choice``, ``vector`` or ``matrix``;
    matrices are written ``1,2;3,4`` (rows separated by ``;``), vectors ``1,2``.
    """

    name: str
    kind: str
    default: Any
    doc: str
    choices: tuple[str, ...] = ()

    def parse(self, game: str, raw: Any) -> Any:
        """Convert a CLI string (or a Python value) to this parameter's type."""
        where = f"{game}: {self.name}={raw!r}"
        if self.kind == "choice":
            if raw not in self.choices:
                raise ValueError(f"{where} is not one of {', '.join(self.choices)}")
            return raw
        if self.kind == "int":
            try:
                val = int(raw) if not isinstance(raw, float) or raw.is_integer() else None
            except (TypeError, ValueError):
                val = None
            if val is None:
                raise ValueError(f"{where} is not an integer")
            return val
        if self.kind == "float":
            try:
                val = float(raw)
            except (TypeError, ValueError):
                raise ValueError(f"{where} is not a number") from None
            if math.isnan(val):
                raise ValueError(f"{where} is not a number")
            return val
        if self.kind in ("vector", "matrix"):
            try:
                if isinstance(raw, str):
                    rows = [r for r in raw.replace(" ", "").split(";") if r != ""]
                    arr = np.array([[float(v) for v in r.split(",")] for r in rows], dtype=float)
                else:
                    arr = np.asarray(raw, dtype=float)
            except (TypeError, ValueError):
                fmt = "1,2;3,4" if self.kind == "matrix" else "1,2,3"
                raise ValueError(f"{where} is not a {self.kind} (write it like {fmt})") from None
            if self.kind == "vector":
                if arr.ndim > 1 and min(arr.shape) > 1:
                    raise ValueError(f"{where} is not a vector (write it like 1,2,3)")
                arr = arr.reshape(-1)
            elif arr.ndim != 2:
                arr = np.atleast_2d(arr)
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{where} has non-finite entries")
            return arr
        raise AssertionError(self.kind)  # specs are ours; an unknown kind is a bug


@dataclass(frozen=True)
class GameSpec:
    """A built-in game: its name, a one-line description, its parameters and factory."""

    name: str
    description: str
    params: tuple[Param, ...]
    build: Callable[[dict[str, Any], set[str]], Game]
    equilibrium: str

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        allowed = ", ".join(p.name for p in self.params)
        raise ValueError(f"{self.name}: unknown parameter {name!r}; allowed: {allowed}")


def _build_dirac(p: dict[str, Any], given: set[str]) -> Game:
    return DiracGAN(**p)


def _build_bilinear(p: dict[str, Any], given: set[str]) -> Game:
    if p["A"] is not None:
        clash = sorted(given & {"dim", "cond", "seed"})
        if clash:
            raise ValueError(f"bilinear: give A or dim/cond/seed, not both (got A and {clash[0]})")
        A = p["A"]
    else:
        A = random_matrix(p["dim"], p["cond"], p["seed"])
    return Bilinear(A, p["b"], p["c"])


def _build_quadratic(p: dict[str, Any], given: set[str]) -> Game:
    mats = [k for k in ("A", "B", "C") if p[k] is not None]
    if mats:
        if len(mats) != 3:
            missing = sorted({"A", "B", "C"} - set(mats))
            raise ValueError(f"quadratic: matrix form needs A, B and C; missing {', '.join(missing)}")
        clash = sorted(given & {"a", "b", "c", "dim"})
        if clash:
            raise ValueError(f"quadratic: give a/b/c/dim or A/B/C, not both (got {clash[0]} with matrices)")
        return Quadratic(p["A"], p["B"], p["C"])
    if p["dim"] < 1:
        raise ValueError(f"quadratic: dim={p['dim']} must be >= 1")
    return Quadratic.scalar(p["a"], p["b"], p["c"], p["dim"])


def _particles(p: dict[str, Any], name: str) -> tuple[np.ndarray, np.ndarray]:
    """Initial particles ``N(shift e_1, spread²)`` and a target sample, both seeded."""
    for k in ("n", "m", "dim"):
        if p[k] < 1:
            raise ValueError(f"{name}: {k}={p[k]} must be >= 1")
    if not p["spread"] > 0:
        raise ValueError(f"{name}: spread={p['spread']} must be > 0")
    target = sample_target(p["target"], p["m"], p["dim"], p["seed"])
    rng = np.random.default_rng(p["seed"] + 1)
    x0 = p["spread"] * rng.standard_normal((p["n"], p["dim"]))
    x0[:, 0] += p["shift"]
    return x0, target


def _block(p: dict[str, Any], name: str) -> int:
    if p["block"] < 1:
        raise ValueError(f"{name}: block={p['block']} must be >= 1")
    return p["block"]


def _build_mmd_flow(p: dict[str, Any], given: set[str]) -> Game:
    x0, target = _particles(p, "mmd-flow")
    return MMDFlow(x0, target, Kernel(p["kernel"], p["scale"]), block=_block(p, "mmd-flow"))


def _build_critic_gan(p: dict[str, Any], given: set[str]) -> Game:
    x0, target = _particles(p, "critic-gan")
    reg = None if p["reg"] == "auto" else p["reg"]
    return CriticGAN(x0, target, critic=p["critic"], reg=reg, lam=p["lam"], kernel=Kernel(p["kernel"], p["scale"]),
                     width=p["width"], depth=p["depth"], seed=p["seed"], block=_block(p, "critic-gan"))


def _build_mmd_gan(p: dict[str, Any], given: set[str]) -> Game:
    x0, target = _particles(p, "mmd-gan")
    return MMDGAN(x0, target, kernel=Kernel(p["kernel"], p["scale"]), stabilizer=p["stabilizer"],
                  gamma=p["gamma"], features=p["features"], width=p["width"], depth=p["depth"], seed=p["seed"])


def _build_gaussian_gan(p: dict[str, Any], given: set[str]) -> Game:
    return GaussianGAN(p["d"], p["rho"], p["mean"], p["gen"], p["disc"], p["lam"])


def _particle_params(n: int, kernel_scale: float = 1.0) -> tuple[Param, ...]:
    return (
        Param("n", "int", n, "number of particles N"),
        Param("m", "int", n, "size M of the target sample"),
        Param("dim", "int", 2, "dimension of the particles"),
        Param("target", "choice", "gaussian", "target sample: standard normal, 8-mode mixture on a circle, ring",
              TARGETS),
        Param("shift", "float", 3.0, "initial particles ~ N(shift e_1, spread^2 I)"),
        Param("spread", "float", 0.5, "initial spread of the particles, > 0"),
        Param("seed", "int", 0, "seed of the target sample (particles use seed + 1)"),
        Param("kernel", "choice", "gaussian", "kernel", KERNELS),
        Param("scale", "float", kernel_scale, "kernel bandwidth, > 0 (unused by energy)"),
    )


GAMES: dict[str, GameSpec] = {
    "dirac-gan": GameSpec(
        "dirac-gan",
        "Dirac-GAN of Mescheder et al. 2018: generator delta_theta, data delta_0, discriminator psi*x",
        (
            Param("loss", "choice", "gan", "generator/discriminator loss", LOSSES),
            Param("reg", "choice", "none", "regularizer: R1/R2 gradient penalty, WGAN-GP, instance noise", REGS),
            Param("gamma", "float", 1.0, "penalty weight (r1, r2, wgan-gp), >= 0"),
            Param("sigma", "float", 1.0, "instance-noise std (noise), > 0; exact Gauss-Hermite expectation"),
            Param("clip", "float", math.inf, "WGAN weight clipping |psi| <= clip (wgan only; inf = none)"),
            Param("g0", "float", 1.0, "target gradient norm of wgan-gp"),
            Param("eps", "float", 1e-3, "smoothing of |psi| in wgan-gp: sqrt(psi^2 + eps^2)"),
            Param("n_quad", "int", 32, "Gauss-Hermite nodes for instance noise, 2..200"),
        ),
        _build_dirac,
        "(theta, psi) = (0, 0)",
    ),
    "bilinear": GameSpec(
        "bilinear",
        "V = x^T A y + b^T x + c^T y; A given or random with singular values 1 .. 1/cond",
        (
            Param("A", "matrix", None, "coupling matrix, rows separated by ';' (default: random, see dim/cond/seed)"),
            Param("b", "vector", None, "linear term of x (default zeros)"),
            Param("c", "vector", None, "linear term of y (default zeros)"),
            Param("dim", "int", 2, "dimension of x and y for a random A, >= 1"),
            Param("cond", "float", 1.0, "condition number of a random A, >= 1"),
            Param("seed", "int", 0, "seed of a random A"),
        ),
        _build_bilinear,
        "A y = -b, A^T x = -c (least squares; none if inconsistent)",
    ),
    "quadratic": GameSpec(
        "quadratic",
        "V = a/2 |x|^2 + b x^T y - c/2 |y|^2, or 1/2 x^T A x + x^T B y - 1/2 y^T C y",
        (
            Param("a", "float", 1.0, "curvature in x (a < 0: nonconvex)"),
            Param("b", "float", 1.0, "coupling"),
            Param("c", "float", 1.0, "curvature in y (c < 0: nonconcave)"),
            Param("dim", "int", 1, "dimension of x and y, >= 1"),
            Param("A", "matrix", None, "matrix form: x-curvature (with B and C)"),
            Param("B", "matrix", None, "matrix form: coupling (with A and C)"),
            Param("C", "matrix", None, "matrix form: y-curvature (with A and B)"),
        ),
        _build_quadratic,
        "(x, y) = (0, 0)",
    ),
    "exp-gan": GameSpec(
        "exp-gan",
        "generator theta*z (z ~ Exp(1)) vs logistic discriminator sigma(psi (x - c)), data Exp(rate): a spiral",
        (
            Param("rate", "float", 2.0, "rate of the exponential data, > 0 (mean 1/rate)"),
            Param("centre", "float", 0.5, "the discriminator's centre c"),
            Param("n_quad", "int", 64, "Gauss-Laguerre nodes, 2..200"),
        ),
        lambda p, given: ExpGAN(p["rate"], p["centre"], p["n_quad"]),
        "(theta, psi) = (1/rate, 0)",
    ),
    "mmd-flow": GameSpec(
        "mmd-flow",
        "N particles descending 1/2 MMD^2 to a target sample (Wasserstein gradient flow; one player)",
        _particle_params(256)
        + (Param("block", "int", BLOCK, "pairs formed at once by the blocked kernel sums (memory O(block))"),),
        _build_mmd_flow,
        "none known (particles on the target sample when N = M)",
    ),
    "critic-gan": GameSpec(
        "critic-gan",
        "particles vs a critic f (kernel expansion on the data, or an MLP): V = E_data f - E_particles f - R",
        _particle_params(64) + (
            Param("critic", "choice", "kernel", "critic: kernel expansion (linear in its weights) or MLP",
                  ("kernel", "mlp")),
            Param("reg", "choice", "auto", "critic regularizer (kernel: rkhs|ridge; mlp: none|wd|gp|sn); "
                  "auto = rkhs or none", ("auto",) + KERNEL_REGS + MLP_REGS),
            Param("lam", "float", 0.1, "regularizer weight, >= 0"),
            Param("width", "int", 32, "MLP critic width"),
            Param("depth", "int", 2, "MLP critic depth"),
            Param("block", "int", BLOCK, "pairs formed at once by the blocked kernel sums"),
        ),
        _build_critic_gan,
        "(particles, critic) = (data, 0) for the kernel critic when n = m",
    ),
    "mmd-gan": GameSpec(
        "mmd-gan",
        "particles vs a learned MLP feature map phi: MMD^2_k(phi(particles), phi(data)), optional stabilizer",
        _particle_params(128) + (
            Param("stabilizer", "choice", "none", "discriminator stabilizer: witness gradient penalty, weight decay",
                  STABILIZERS),
            Param("gamma", "float", 1.0, "stabilizer weight, >= 0"),
            Param("features", "int", 4, "feature dimension of phi"),
            Param("width", "int", 32, "MLP width"),
            Param("depth", "int", 2, "MLP depth"),
        ),
        _build_mmd_gan,
        "none known",
    ),
    "gaussian-gan": GameSpec(
        "gaussian-gan",
        "linear generator Gz+b on stationary Gaussian data vs quadratic discriminator x^T W x + v^T x",
        (
            Param("d", "int", 4, "dimension, >= 1"),
            Param("rho", "float", 0.5, "autocorrelation of neighbours, |rho| < 1 (Sigma_ij = rho^lag)"),
            Param("mean", "vector", None, "data mean (default zeros)"),
            Param("gen", "choice", "circulant", "generator family", GENERATORS),
            Param("disc", "choice", "circulant", "discriminator family (linear: no W)", DISCRIMINATORS),
            Param("lam", "float", 0.0, "discriminator weight decay, >= 0"),
        ),
        _build_gaussian_gan,
        "G = Sigma^(1/2), b = mean, W = 0, v = 0 (none for a diagonal generator)",
    ),
}


def is_user_game(name: str) -> bool:
    """Whether `name` refers to a user's file, ``path/to/file.py:factory``."""
    path, sep, factory = name.rpartition(":")
    return bool(sep) and path.endswith(".py") and factory.isidentifier()


def _literal(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    for conv in (int, float):
        try:
            return conv(raw)
        except ValueError:
            pass
    return raw


def load_user_game(name: str, params: dict[str, Any] | None = None) -> Game:
    """Load ``path/to/file.py:factory`` and call ``factory(**params)``.

    String parameters are passed as int or float where they parse as such.

    **Raises:**

    `ValueError` when the file is missing or fails to import, the factory is
    missing or raises, or it returns something other than a [`Game`][].
    """
    path, _, factory = name.rpartition(":")
    if not os.path.isfile(path):
        raise ValueError(f"user game file {path!r} does not exist")
    modname = "gameflow_user_" + os.path.splitext(os.path.basename(path))[0].replace("-", "_")
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"cannot load user game file {path!r}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # the user's code: any failure is a bad input
        raise ValueError(f"cannot load user game file {path!r}: {type(e).__name__}: {e}") from None
    fn = getattr(module, factory, None)
    if not callable(fn):
        raise ValueError(f"user game file {path!r} has no callable {factory!r}")
    kwargs = {k: _literal(v) for k, v in (params or {}).items()}
    try:
        game = fn(**kwargs)
    except ValueError:
        raise
    except Exception as e:
        raise ValueError(f"{path}:{factory}({kwargs}) failed: {type(e).__name__}: {e}") from None
    if not isinstance(game, Game):
        raise ValueError(f"{path}:{factory} returned {type(game).__name__}, expected a flows.Game")
    return game


def resolve_params(name: str, params: dict[str, Any] | None = None) -> tuple[dict[str, Any], set[str]]:
    """Parse `params` against the spec of built-in game `name`, filling defaults.

    **Returns:**

    ``(values, given)``: every parameter's value, and the names the caller set.
    """
    spec = GAMES[name]
    given = set(params or {})
    values = {p.name: p.default for p in spec.params}
    for k, raw in (params or {}).items():
        values[k] = spec.param(k).parse(name, raw)
    return values, given


def make_game(name: str, params: dict[str, Any] | None = None) -> Game:
    """Build a game by name.

    **Arguments:**

    - `name`: a built-in name (see [`GAMES`][]) or ``path/to/file.py:factory``.
    - `params`: parameter values, as strings (CLI) or Python values.

    **Returns:**

    The [`Game`][].

    **Raises:**

    `ValueError` naming an unknown game or parameter, or a bad value and what
    is allowed.
    """
    if is_user_game(name):
        return load_user_game(name, params)
    if name not in GAMES:
        raise ValueError(
            f"unknown game {name!r}; choose from {', '.join(GAMES)}, or give path/to/file.py:factory"
        )
    values, given = resolve_params(name, params)
    return GAMES[name].build(values, given)


def jsonable(value: Any) -> Any:
    """A parameter value as JSON: arrays become lists, non-finite floats strings."""
    if isinstance(value, np.ndarray) or hasattr(value, "__array__") and not isinstance(value, (str, bytes)):
        return jsonable(np.asarray(value).tolist())
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def describe_games() -> list[dict[str, Any]]:
    """Every built-in game with its parameters, defaults and description."""
    return [
        {
            "name": s.name,
            "description": s.description,
            "equilibrium": s.equilibrium,
            "params": [
                {"name": p.name, "type": p.kind, "default": jsonable(p.default), "doc": p.doc,
                 **({"choices": list(p.choices)} if p.choices else {})}
                for p in s.params
            ],
        }
        for s in GAMES.values()
    ]
