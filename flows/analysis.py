"""Local analysis of a vector field: Jacobian, spectrum, classification.

Everything here takes a *field source*: a [`Game`][] (its own vector field),
a [`Flow`][], or a plain function ``G(z) -> state``.  Jacobians come from
forward-mode autodiff of the flattened field; eigenvalues are computed in
float64 on the host (LAPACK, or the closed form for 2 × 2 matrices, which is
exact at critical damping where a general eigensolver loses half the digits).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .compile import jit
from .flow import Flow
from .game import Game
from .state import State, ravel_field, ravel_state

CLASSES = (
    "stable node",
    "stable spiral",
    "centre",
    "saddle",
    "unstable node",
    "unstable spiral",
    "degenerate",
)


def field_of(source: Game | Flow | Callable[[State], State]) -> Callable[[State], State]:
    """The state-to-velocity function of a game, a flow or a plain callable."""
    if isinstance(source, Game):
        return source.vector_field
    if isinstance(source, Flow):
        return source.field
    if callable(source):
        return source
    raise ValueError(f"expected a Game, a Flow or a callable field, got {type(source).__name__}")


def game_of(source: Any) -> Game | None:
    """The game behind a field source, if there is one."""
    if isinstance(source, Game):
        return source
    if isinstance(source, Flow):
        return source.game
    return None


def flat_field(source: Any, z: State) -> tuple[Callable[[jax.Array], jax.Array], jax.Array]:
    """The field as a map ``R^n -> R^n`` on flattened states, and the flat `z`."""
    field = field_of(source)
    v0, unravel = ravel_state(z)

    def f(v):
        return ravel_field(field(unravel(v)))

    return f, v0


def jacobian(source: Any, z: State) -> np.ndarray:
    """Jacobian of the field at `z` by forward-mode autodiff.

    **Arguments:**

    - `source`: a Game, a Flow, or a callable ``G(z) -> state``.
    - `z`: the state at which to differentiate.

    **Returns:**

    The ``n × n`` Jacobian of the flattened field as a float64 NumPy array
    (row ``i``: derivative of velocity component ``i``).
    """
    f, v0 = flat_field(source, z)
    return np.asarray(jit(jax.jacfwd(f))(v0), dtype=np.float64)


def residual(source: Any, z: State) -> float:
    """Euclidean norm of the field at `z` (zero at a stationary point)."""
    f, v0 = flat_field(source, z)
    return float(jnp.linalg.norm(jit(f)(v0)))


def _eig2(J: np.ndarray) -> np.ndarray:
    (a, b), (c, d) = J
    half_tr = 0.5 * (a + d)
    # (a - d)²/4 + bc equals tr²/4 - det without the cancellation.
    disc = 0.25 * (a - d) ** 2 + b * c
    if disc < 0:
        s = math.sqrt(-disc)
        return np.array([complex(half_tr, s), complex(half_tr, -s)])
    s = math.sqrt(disc)
    l1 = half_tr + math.copysign(s, half_tr)  # the larger in magnitude, no cancellation
    det = a * d - b * c
    l2 = det / l1 if l1 != 0 else 0.0
    return np.array([complex(l1), complex(l2)])


def _sort(eigs: np.ndarray) -> np.ndarray:
    eigs = np.asarray(eigs, dtype=complex)
    return eigs[np.lexsort((-eigs.imag, -eigs.real))]


def eigenvalues(J: Any) -> np.ndarray:
    """Eigenvalues of a square matrix, sorted by real part then imaginary part (descending).

    **Arguments:**

    - `J`: a real square matrix.

    **Returns:**

    Complex NumPy array.  2 × 2 matrices use the closed form (exact for a
    defective matrix such as the critically damped Dirac-GAN), larger ones
    LAPACK's ``geev`` in float64.
    """
    J = np.asarray(J, dtype=np.float64)
    if J.ndim != 2 or J.shape[0] != J.shape[1]:
        raise ValueError(f"eigenvalues need a square matrix, got shape {J.shape}")
    if J.shape == (1, 1):
        return np.array([complex(J[0, 0])])
    if J.shape == (2, 2):
        return _sort(_eig2(J))
    return _sort(np.linalg.eigvals(J))


def spectral_abscissa(eigs: Any) -> float:
    """Largest real part of the eigenvalues (negative: locally stable flow)."""
    return float(np.max(np.real(eigs)))


def classify(eigs: Any, tol: float = 1e-9) -> str:
    """Classify an equilibrium of a flow from the Jacobian's eigenvalues.

    **Arguments:**

    - `eigs`: the eigenvalues.
    - `tol`: relative tolerance: a real or imaginary part below
      ``tol * max(1, max |λ|)`` in magnitude counts as zero.

    **Returns:**

    One of ``stable node``, ``stable spiral``, ``centre``, ``saddle``,
    ``unstable node``, ``unstable spiral``, ``degenerate``.  Hyperbolic points
    (no eigenvalue on the imaginary axis) are nodes, spirals (some complex
    pair) or saddles (both signs); a spectrum entirely on the imaginary axis
    with no zero eigenvalue is a centre; any other non-hyperbolic case
    (a zero eigenvalue, or some but not all eigenvalues on the axis) is
    degenerate.
    """
    eigs = np.asarray(eigs, dtype=complex)
    if eigs.size == 0:
        raise ValueError("classify needs at least one eigenvalue")
    if not np.all(np.isfinite(eigs)):
        return "degenerate"
    atol = tol * max(1.0, float(np.max(np.abs(eigs))))
    re, im = eigs.real, eigs.imag
    on_axis = np.abs(re) <= atol
    if np.any(on_axis):
        if np.all(on_axis) and np.all(np.abs(im) > atol):
            return "centre"
        return "degenerate"
    spiral = bool(np.any(np.abs(im) > atol))
    if np.all(re < 0):
        return "stable spiral" if spiral else "stable node"
    if np.all(re > 0):
        return "unstable spiral" if spiral else "unstable node"
    return "saddle"


class Analysis(NamedTuple):
    """Local analysis of a field at a point.

    **Fields:** `point` (flat state), `residual` (|G(z)|), `stationary`
    (residual within tolerance), `jacobian`, `eigenvalues` (sorted),
    `classification`, `spectral_abscissa`.
    """

    point: np.ndarray
    residual: float
    stationary: bool
    jacobian: np.ndarray
    eigenvalues: np.ndarray
    classification: str
    spectral_abscissa: float


def analyze(source: Any, z: State | None = None, *, tol: float = 1e-9, stationary_tol: float = 1e-8) -> Analysis:
    """Jacobian, spectrum and classification of a field at a point.

    **Arguments:**

    - `source`: a Game, a Flow or a callable field.
    - `z`: the point; default: the game's known equilibrium.
    - `tol`: relative tolerance of [`classify`][].
    - `stationary_tol`: the point counts as stationary when ``|G(z)| ≤
      stationary_tol``.  A non-stationary point is still analysed (the
      linearisation is then of the field, not of an equilibrium) and
      `stationary` says so.

    **Returns:**

    An [`Analysis`][].
    """
    game = game_of(source)
    if z is None:
        if game is None or game.equilibrium() is None:
            raise ValueError("no point given and the game has no known equilibrium; pass a point")
        z = game.equilibrium()
    elif game is not None:
        z = game.check(z, "point")
    J = jacobian(source, z)
    res = residual(source, z)
    if not (np.all(np.isfinite(J)) and np.isfinite(res)):
        raise ValueError("the field or its Jacobian is not finite at this point (overflow, or a parameter "
                         "out of range); nothing to analyse there")
    eigs = eigenvalues(J)
    return Analysis(
        point=np.asarray(ravel_state(z)[0], dtype=np.float64),
        residual=res,
        stationary=bool(res <= stationary_tol),
        jacobian=J,
        eigenvalues=eigs,
        classification=classify(eigs, tol),
        spectral_abscissa=spectral_abscissa(eigs),
    )
