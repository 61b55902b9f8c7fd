"""Critical timescale ratios of two-player games.

With the second player (the maximiser) moving ``τ`` times faster than the
first, the flow ``dx/dt = F_x, dy/dt = τ F_y`` has Jacobian ``D_τ J`` with
``D_τ = diag(I, τ I)``.  The critical ratio is the smallest ``τ*`` such that
the flow is locally stable (spectral abscissa < 0) for every ``τ > τ*``.

References: T. Fiez, L. Ratliff, "Local convergence analysis of gradient
descent ascent with finite timescale separation", ICLR 2021; H. Li, F. Farnia,
S. Das, A. Jadbabaie, "On convergence of gradient descent ascent: a tight
local analysis", ICML 2022 (``τ* = Θ(κ)`` on quadratic games).
"""

from __future__ import annotations

import numpy as np

from .analysis import eigenvalues, jacobian, spectral_abscissa
from .game import Game
from .state import State, ravel_state


def _scaled_abscissa(J: np.ndarray, n_x: int, tau: float) -> float:
    d = np.ones(J.shape[0])
    d[n_x:] = tau
    return spectral_abscissa(eigenvalues(d[:, None] * J))


def critical_ratio(
    game: Game,
    z: State | None = None,
    *,
    lo: float = 1e-6,
    hi: float = 1e6,
    grid: int = 121,
    rtol: float = 1e-14,
) -> float | None:
    """The smallest ``τ`` above which the ``τ``-scaled flow is locally stable.

    The spectral abscissa of ``D_τ J`` is scanned on a log grid of `grid`
    points in ``[lo, hi]``, then the last unstable-to-stable crossing is
    refined by bisection to relative width `rtol`.

    **Arguments:**

    - `game`: a two-player game.
    - `z`: the equilibrium (default: the game's known one).
    - `lo`, `hi`: the range of ratios searched.
    - `grid`: number of log-spaced scan points.
    - `rtol`: relative width at which bisection stops.

    **Returns:**

    ``τ*`` as a float; ``0.0`` when the flow is stable for every ``τ`` in the
    range (no separation needed); ``None`` ("never") when it is unstable at
    ``τ = hi``.
    """
    if game.n_players != 2:
        raise ValueError(f"critical ratio needs a two-player game, this one has {game.n_players}")
    if z is None:
        z = game.equilibrium()
        if z is None:
            raise ValueError("no point given and the game has no known equilibrium; pass a point")
    else:
        z = game.check(z, "point")
    if not 0 < lo < hi:
        raise ValueError(f"critical ratio: need 0 < lo < hi, got lo={lo}, hi={hi}")
    J = jacobian(game, z)
    n_x = int(ravel_state((z[0],))[0].size)

    def stable(tau: float) -> bool:
        return _scaled_abscissa(J, n_x, tau) < 0

    taus = np.geomspace(lo, hi, grid)
    ok = np.array([stable(t) for t in taus])
    if not ok[-1]:
        return None
    if ok.all():
        return 0.0
    last_bad = int(np.nonzero(~ok)[0][-1])
    a, b = float(taus[last_bad]), float(taus[last_bad + 1])  # a unstable, b stable
    while b - a > rtol * b:
        m = 0.5 * (a + b)
        if m <= a or m >= b:
            break
        if stable(m):
            b = m
        else:
            a = m
    return b


def abscissa_at_ratio(game: Game, tau: float, z: State | None = None) -> float:
    """Spectral abscissa of the ``τ``-scaled flow at `z` (default: the equilibrium)."""
    z = game.equilibrium() if z is None else game.check(z, "point")
    J = jacobian(game, z)
    n_x = int(ravel_state((z[0],))[0].size)
    return _scaled_abscissa(J, n_x, float(tau))


__all__ = ["critical_ratio", "abscissa_at_ratio"]


