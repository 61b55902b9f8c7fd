"""Matrix-free spectra: a few eigenvalues of a game's Jacobian, and each player's Hessian extremes.

The dense analysis ([`analyze`][]) forms the ``n × n`` Jacobian; a neural
game with ``10⁵``–``10⁶`` parameters cannot.  Here the field is linearised
once at the point (``jax.linearize``: the residuals of one forward pass are
kept, ``O(n)`` memory), the linear map is jitted, and ARPACK (scipy's
``eigs``/``eigsh``, implicitly restarted Arnoldi/Lanczos) asks it for
Jacobian-vector products, one per iteration, in float64.  Memory is
``O(k n)`` (ARPACK's ``ncv ≈ max(2k + 1, 20)`` basis vectors), never
``O(n²)``.  Small problems (``n ≤ DENSE_MAX``, or ``k`` too close to ``n`` for
ARPACK) use the dense path instead: the Jacobian from the same linear map
applied to the identity (what ``jax.jacfwd`` does), then LAPACK, selecting
the same eigenvalues.

Each eigenpair's residual ``|J v - λ v| / |v|`` is recomputed with the
Jacobian-vector product (not ARPACK's own estimate), and the status says
whether the result was earned: ``converged`` when the eigensolver converged
and every residual is below ``residual_tol`` times the spectral scale;
otherwise ``not converged``, with whatever partial results there are.

References: Berard, Gidel, Almahairi, Vincent, Lacoste-Julien (2020), *A
closer look at the optimization landscapes of generative adversarial
networks* (top-k eigenvalues by ARPACK on Jacobian-vector products; local
Nash by the players' Hessians).  Lehoucq, Sorensen, Yang (1998), *ARPACK
users' guide*.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .analysis import flat_field, game_of, residual
from .compile import COMPILER_OPTIONS, jit
from .game import Game
from .state import State, ravel_state

WHICH = ("LR", "LM", "LI", "SR")
"""Which eigenvalues: largest real part, largest magnitude, largest imaginary part (in magnitude, as
ARPACK selects for a real matrix: conjugate pairs together), smallest real part."""

DENSE_MAX = 500
"""Up to this many coordinates the dense path (form the Jacobian, LAPACK) is used by default."""

STATUSES = ("converged", "not converged")


def _arpack(solve, n, dtype):
    """Run an ARPACK call: ``(values, vectors, converged)``; a non-converged run keeps its partial results.

    ARPACK's own vector work runs on one BLAS thread: it is light (``O(n · ncv)`` per iteration), and
    idle BLAS threads spinning beside XLA's product slow each Jacobian-vector product instead (measured:
    top-20 eigenvalues of a 102,303-number `neural-gan` Jacobian in 39 s with scipy's default threads,
    18 s with one, same 607 products).
    """
    from scipy.sparse.linalg import ArpackError, ArpackNoConvergence
    from threadpoolctl import threadpool_limits

    try:
        with threadpool_limits(limits=1, user_api="blas"):
            w, V = solve()
        return w, V, True
    except ArpackNoConvergence as err:
        return (np.asarray(err.eigenvalues, dtype=dtype).reshape(-1),
                np.asarray(err.eigenvectors, dtype=dtype).reshape(n, -1), False)
    except ArpackError:
        return np.zeros(0, dtype), np.zeros((n, 0), dtype), False


class TopEigen(NamedTuple):
    """A few eigenvalues of a linear map, with the evidence for them.

    **Fields:**

    - `eigenvalues`: complex array of the ``k`` selected eigenvalues, sorted by
      the selection key (largest first; for ``SR`` the smallest real part first).
    - `residuals`: ``|J v - λ v| / |v|`` for each, by Jacobian-vector products.
    - `vectors`: the ``n × k`` complex eigenvectors (columns) when asked for, else ``None``.
    - `method`: ``"dense"`` or ``"arnoldi"``.
    - `status`: ``"converged"`` or ``"not converged"`` (then the arrays hold
      ARPACK's partial results, possibly fewer than ``k``).
    - `n`: the dimension.
    - `matvecs`: Jacobian-vector products used (the eigensolver's and the
      residual checks'; the dense path counts the ``n`` that form the matrix).
    """

    eigenvalues: np.ndarray
    residuals: np.ndarray
    vectors: np.ndarray | None
    method: str
    status: str
    n: int
    matvecs: int


class PlayerHessian(NamedTuple):
    """Extremes of one player's Hessian of its own loss in its own variables.

    **Fields:** `player`, `n` (its number of coordinates), `min` and `max`
    (arrays of the ``k`` smallest, ascending, and ``k`` largest, descending,
    eigenvalues), `min_residuals`, `max_residuals`, `method`, `status`,
    `matvecs`, `loss` (what it minimises: ``"V"``, ``"-V"`` or ``"L_i"``).
    """

    player: int
    n: int
    min: np.ndarray
    max: np.ndarray
    min_residuals: np.ndarray
    max_residuals: np.ndarray
    method: str
    status: str
    matvecs: int
    loss: str


class NashCheck(NamedTuple):
    """Result of [`player_hessian_extremes`][].

    **Fields:** `players` (one [`PlayerHessian`][] each), `stationary` (``|F(z)|
    ≤ stationary_tol``), `residual` (``|F(z)|``), `local_nash` (``True``,
    ``False``, or ``None`` when an eigensolver did not converge and no negative
    curvature was certified), `strict` (every player's Hessian positive
    definite, beyond the tolerance), `classification` (a sentence: ``local
    Nash equilibrium``, or ``not a local Nash equilibrium: ...`` naming the
    player and the eigenvalue).
    """

    players: tuple[PlayerHessian, ...]
    stationary: bool
    residual: float
    local_nash: bool | None
    strict: bool
    classification: str


# The linear map travels as a `jax.tree_util.Partial` (what `jax.linearize`
# returns): its residuals are arguments of these jitted functions, not
# constants baked into them, and one compilation serves every matvec.  The
# product ARPACK calls in its loop is a plain `jax.jit` (with gameflow's
# compiler options): equinox's filtering costs about 0.2 ms a call.
@functools.partial(jax.jit, compiler_options=COMPILER_OPTIONS)
def _apply(lin, u):
    return lin(u)


@jit
def _apply_many(lin, U):
    return jax.vmap(lin)(U)


@jit
def _linearize_field(source, z):
    f, v0 = flat_field(source, z)
    y, lin = jax.linearize(f, v0)
    return y, lin


def _key(eigs: np.ndarray, which: str) -> np.ndarray:
    return {"LR": eigs.real, "SR": -eigs.real, "LM": np.abs(eigs), "LI": np.abs(eigs.imag)}[which]


def _order(eigs: np.ndarray, which: str) -> np.ndarray:
    """Indices sorting `eigs` by the selection key, largest first; ties: positive imaginary part first."""
    return np.lexsort((-eigs.imag, -_key(eigs, which)))


def _check_which(which: str) -> str:
    if which not in WHICH:
        raise ValueError(f"which={which!r} must be one of {', '.join(WHICH)}")
    return which


def _check_k(k: Any, n: int) -> int:
    if isinstance(k, bool) or int(k) != k or not 1 <= int(k) <= n:
        raise ValueError(f"k={k} must be an integer between 1 and the dimension {n}")
    return int(k)


class _Counter:
    """The matvec handed to ARPACK: counts calls, tracks ``max |J x| / |x|`` (a lower bound on ``‖J‖``)."""

    def __init__(self, lin: Any, n: int, what: str):
        self.lin, self.n, self.what = lin, n, what
        self.calls = 0
        self.norm = 0.0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x).reshape(-1)
        if np.iscomplexobj(x):  # never from a real operator, but cheap to honour
            return self(x.real) + 1j * self(x.imag)
        y = np.asarray(_apply(self.lin, jnp.asarray(x, dtype=jnp.float64)), dtype=np.float64)
        self.calls += 1
        if not np.all(np.isfinite(y)):
            raise ValueError(f"the {self.what} is not finite at this point (overflow, or a parameter out of "
                             "range); nothing to analyse there")
        nx = float(np.linalg.norm(x))
        if nx > 0:
            self.norm = max(self.norm, float(np.linalg.norm(y)) / nx)
        return y


RESIDUAL_CHUNK = 8
"""Real products per vmapped call when checking residuals: each product in flight holds its own
intermediates (about 50 MB on a network of 10⁶ numbers), so the ``2k`` products of a residual check go
``RESIDUAL_CHUNK`` at a time (``RESIDUAL_CHUNK / 2`` eigenvectors; one compilation)."""


def _residuals(lin: Any, eigs: np.ndarray, V: np.ndarray) -> np.ndarray:
    """``|J v - λ v| / |v|`` for each column `v` of `V`, a few columns at a time (memory ``O(n · chunk)``)."""
    m = eigs.size
    if m == 0:
        return np.zeros(0)
    per = max(RESIDUAL_CHUNK // 2, 1)
    out = np.empty(m)
    for j in range(0, m, per):
        Vj = V[:, j:j + per]
        c = Vj.shape[1]
        block = np.zeros((2 * per, V.shape[0]))  # a whole chunk always: one shape, one compilation
        block[:c], block[per:per + c] = Vj.real.T, Vj.imag.T
        JV = np.asarray(_apply_many(lin, jnp.asarray(block, dtype=jnp.float64)), dtype=np.float64)
        R = (JV[:c] + 1j * JV[per:per + c]).T - Vj * eigs[None, j:j + c]
        out[j:j + c] = np.linalg.norm(R, axis=0) / np.maximum(np.linalg.norm(Vj, axis=0), np.finfo(float).tiny)
    return out


def _dense_matrix(lin: Any, n: int, what: str) -> np.ndarray:
    # Columns J e_j, as jax.jacfwd builds them (a vmapped JVP over the identity).
    J = np.asarray(_apply_many(lin, jnp.eye(n, dtype=jnp.float64)), dtype=np.float64).T
    if not np.all(np.isfinite(J)):
        raise ValueError(f"the {what} is not finite at this point (overflow, or a parameter out of range); "
                         "nothing to analyse there")
    return J


def _status(converged: bool, res: np.ndarray, eigs: np.ndarray, norm: float, residual_tol: float, k: int) -> str:
    scale = max(norm, float(np.max(np.abs(eigs))) if eigs.size else 0.0, np.finfo(float).tiny)
    ok = converged and eigs.size >= k and bool(np.all(res <= residual_tol * scale))
    return "converged" if ok else "not converged"


def linear_top_eigenvalues(lin: Callable[[jax.Array], jax.Array], n: int, k: int = 6, which: str = "LR", *,
                           method: str = "auto", dense_max: int = DENSE_MAX, tol: float = 0.0,
                           maxiter: int | None = None, ncv: int | None = None, residual_tol: float = 1e-8,
                           seed: int = 0, vectors: bool = False, what: str = "Jacobian-vector product"
                           ) -> TopEigen:
    """A few eigenvalues of a linear map on ``R^n`` given only by its products.

    **Arguments:**

    - `lin`: the linear map ``u -> J u`` (preferably the ``jax.tree_util.Partial``
      that ``jax.linearize`` returns, so that its residuals are arguments of
      the jitted product and one compilation serves every call).
    - `n`: the dimension.
    - `k`: how many eigenvalues.
    - `which`: ``LR``, ``LM``, ``LI`` or ``SR``.
    - `method`: ``auto`` (dense when ``n ≤ dense_max`` or ``k ≥ n - 1``, where
      ARPACK cannot run), ``dense`` or ``arnoldi``.
    - `tol`, `maxiter`, `ncv`: ARPACK's (``tol=0``: machine precision).
    - `residual_tol`: a residual counts as small below ``residual_tol`` times
      the spectral scale (the largest of ``|λ|`` found and ``|J x| / |x|``
      seen during the iteration).
    - `seed`: seeds ARPACK's start vector (results are deterministic).
    - `vectors`: also return the eigenvectors.

    **Returns:**

    A [`TopEigen`][].  ARPACK's failure to converge is a status, not an exception.
    """
    from scipy.sparse.linalg import LinearOperator
    from scipy.sparse.linalg import eigs as arpack_eigs

    which = _check_which(which)
    n = int(n)
    k = _check_k(k, n)
    if method not in ("auto", "dense", "arnoldi"):
        raise ValueError(f"method={method!r} must be one of auto, dense, arnoldi")
    if method == "arnoldi" and k >= n - 1:
        raise ValueError(f"ARPACK needs k < n - 1; got k={k}, n={n}: use method='dense'")
    if method == "dense" or (method == "auto" and (n <= dense_max or k >= n - 1)):
        J = _dense_matrix(lin, n, what)
        w, V = np.linalg.eig(J)
        idx = _order(w, which)[:k]
        w, V = w[idx], V[:, idx]
        res = _residuals(lin, w, V)
        # The scale ARPACK's products would see: the largest column norm |J e_j| (and |λ|, in _status).
        norm = float(np.max(np.linalg.norm(J, axis=0)))
        return TopEigen(w, res, V if vectors else None, "dense",
                        _status(True, res, w, norm, residual_tol, k), n, n + 2 * k)
    mv = _Counter(lin, n, what)
    op = LinearOperator((n, n), matvec=mv, dtype=np.float64)
    v0 = np.random.default_rng(seed).standard_normal(n)
    w, V, converged = _arpack(lambda: arpack_eigs(op, k=k, which=which, v0=v0, tol=tol, maxiter=maxiter, ncv=ncv),
                              n, complex)
    idx = _order(w, which)
    w, V = w[idx], V[:, idx]
    res = _residuals(lin, w, V)
    status = _status(converged, res, w, mv.norm, residual_tol, k)
    return TopEigen(w, res, V if vectors else None, "arnoldi", status, n, mv.calls + 2 * w.size)


def _point(source: Any, z: State | None) -> State:
    game = game_of(source)
    if z is None:
        if game is None or game.equilibrium() is None:
            raise ValueError("no point given and the game has no known equilibrium; pass a point")
        return game.equilibrium()
    return game.check(z, "point") if game is not None else z


def top_eigenvalues(source: Any, z: State | None = None, k: int = 6, which: str = "LR", **options) -> TopEigen:
    """A few eigenvalues of a field's Jacobian at `z`, without forming it (above `dense_max` coordinates).

    **Arguments:**

    - `source`: a Game, a Flow or a callable field ``G(z) -> state``.
    - `z`: the point; default: the game's known equilibrium.
    - `k`: how many eigenvalues.
    - `which`: ``LR`` (largest real part: the spectral abscissa decides local
      stability of the flow), ``LM``, ``LI`` or ``SR``.
    - `options`: passed to [`linear_top_eigenvalues`][] (`method`,
      `dense_max`, `tol`, `maxiter`, `ncv`, `residual_tol`, `seed`, `vectors`).

    **Returns:**

    A [`TopEigen`][].

    **Example:** ``top_eigenvalues(game, z, k=10, which="LR").eigenvalues[0].real``
    is the spectral abscissa when the status is ``converged``.
    """
    z = _point(source, z)
    _, lin = _linearize_field(source, z)
    n = int(ravel_state(z)[0].size)
    return linear_top_eigenvalues(lin, n, k, which, **options)


@jit
def _linearize_hessian(game, z, i):
    vi, unravel = ravel_state((z[i],))

    def own_loss(v):
        return game.losses(z[:i] + (unravel(v)[0],) + z[i + 1:])[i]

    # Forward over reverse: the gradient by reverse mode, its linearisation forward.
    g, lin = jax.linearize(jax.grad(own_loss), vi)
    return g, lin


def has_losses(game: Game) -> bool:
    """Whether the game defines a loss per player (zero-sum, or ``losses`` overridden), not only a raw field."""
    return bool(game.zero_sum) or type(game).losses is not Game.losses


def _symmetric_ends(lin: Any, n: int, k: int, *, dense_max: int, tol: float, maxiter: int | None,
                    residual_tol: float, seed: int):
    """``(smallest k ascending, largest k descending, their residuals, method, status, matvecs)``."""
    from scipy.sparse.linalg import LinearOperator, eigsh

    what = "Hessian-vector product"
    if n <= dense_max or 2 * k >= n:
        H = _dense_matrix(lin, n, what)
        w, V = np.linalg.eigh(0.5 * (H + H.T))
        lo, hi = np.arange(min(k, n)), np.arange(n - 1, n - 1 - min(k, n), -1)
        res = _residuals(lin, w.astype(complex), V.astype(complex)).real
        scale = max(float(np.max(np.abs(w))), np.finfo(float).tiny)
        ok = bool(np.all(res[np.r_[lo, hi]] <= residual_tol * scale))
        return w[lo], w[hi], res[lo], res[hi], "dense", "converged" if ok else "not converged", n + n
    mv = _Counter(lin, n, what)
    op = LinearOperator((n, n), matvec=mv, dtype=np.float64)
    v0 = np.random.default_rng(seed).standard_normal(n)
    # Both ends in one Lanczos run: k from each end.
    w, V, converged = _arpack(lambda: eigsh(op, k=2 * k, which="BE", v0=v0, tol=tol, maxiter=maxiter), n, float)
    order = np.argsort(w)
    w, V = w[order], V[:, order]
    res = _residuals(lin, w.astype(complex), V.astype(complex)).real
    m = w.size
    lo = np.arange(min(k, m))
    hi = np.arange(m - 1, m - 1 - min(k, m), -1)
    scale = max(mv.norm, float(np.max(np.abs(w))) if m else 0.0, np.finfo(float).tiny)
    ok = converged and m >= 2 * k and bool(np.all(res <= residual_tol * scale))
    return w[lo], w[hi], res[lo], res[hi], "lanczos", "converged" if ok else "not converged", mv.calls + m


def player_hessian_extremes(game: Game, z: State | None = None, k: int = 1, *, tol: float = 1e-9,
                            stationary_tol: float = 1e-8, dense_max: int = DENSE_MAX, arpack_tol: float = 0.0,
                            maxiter: int | None = None, residual_tol: float = 1e-8, seed: int = 0) -> NashCheck:
    """Each player's extreme curvatures of its own loss, and whether `z` is a local Nash equilibrium.

    Player ``i`` minimises its loss ``L_i`` over its own ``z_i`` (a zero-sum
    game's losses are ``(V, -V)``: the minimiser's Hessian of ``V``, and
    minus the maximiser's).  `z` is a local Nash equilibrium when it is
    stationary and every ``∇²_{z_i} L_i`` is positive semidefinite (smallest
    eigenvalue ``≥ -tol · scale``, ``scale = max(1, largest |λ|)``); a
    negative eigenvalue is reported only when certified (for a symmetric
    matrix an eigenpair with residual ``r`` lies within ``r`` of an
    eigenvalue).  Products are Hessian-vector products by forward over
    reverse mode, one linearisation per player; ARPACK's Lanczos (``eigsh``,
    both ends) above `dense_max` coordinates, LAPACK's ``eigh`` below.

    **Arguments:**

    - `game`: a game with losses (zero-sum, or one loss per player).
    - `z`: the point; default: the game's known equilibrium.
    - `k`: how many eigenvalues at each end.
    - `tol`, `stationary_tol`: as in [`analyze`][].
    - `dense_max`, `arpack_tol`, `maxiter`, `residual_tol`, `seed`: as in
      [`linear_top_eigenvalues`][].

    **Returns:**

    A [`NashCheck`][].

    **References:** Berard et al. 2020, *A closer look at the optimization
    landscapes of generative adversarial networks*, section 3.
    """
    if not isinstance(game, Game):
        raise ValueError(f"player_hessian_extremes needs a Game, got {type(game).__name__}")
    if not has_losses(game):
        raise ValueError(f"{type(game).__name__} is defined by a raw field: it has no losses, so no player Hessians")
    if isinstance(k, bool) or int(k) != k or int(k) < 1:
        raise ValueError(f"k={k} must be a positive integer")
    k = int(k)
    z = _point(game, z)
    players = []
    for i in range(game.n_players):
        n_i = int(ravel_state((z[i],))[0].size)
        if n_i == 0:
            continue
        kk = min(k, n_i)
        _, lin = _linearize_hessian(game, z, i)
        lo, hi, rlo, rhi, method, status, calls = _symmetric_ends(
            lin, n_i, kk, dense_max=dense_max, tol=arpack_tol, maxiter=maxiter, residual_tol=residual_tol,
            seed=seed + i)
        loss = ("V" if i == 0 else "-V") if game.zero_sum else f"L_{i}"
        players.append(PlayerHessian(i, n_i, lo, hi, rlo, rhi, method, status, calls, loss))
    res = residual(game, z)
    stationary = bool(res <= stationary_tol)
    ends = [abs(float(v)) for p in players for v in np.r_[p.min, p.max]]
    atol = tol * max(1.0, max(ends, default=0.0))
    negative = [(p, float(p.min[0]), float(p.min_residuals[0])) for p in players
                if p.min.size and p.min[0] + p.min_residuals[0] < -atol]
    if negative:
        p, lam, _ = min(negative, key=lambda t: t[1])
        what = f"player {p.player}'s Hessian of {p.loss} has eigenvalue {lam:.6g} < 0"
        local_nash: bool | None = False
        text = f"not a local Nash equilibrium: {what}"
    elif not stationary:
        local_nash = False
        text = f"not a local Nash equilibrium: not stationary (|F| = {res:.3g})"
    elif any(p.status != "converged" for p in players):
        local_nash = None
        text = "undetermined: an eigensolver did not converge and no negative curvature was certified"
    else:
        local_nash = True
        text = "local Nash equilibrium"
    strict = bool(local_nash) and all(p.min.size and p.min[0] - p.min_residuals[0] > atol for p in players)
    if not stationary and negative:
        text += f"; not stationary either (|F| = {res:.3g})"
    return NashCheck(tuple(players), stationary, res, local_nash, strict, text)
