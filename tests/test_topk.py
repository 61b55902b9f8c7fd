"""Matrix-free spectra: top-k eigenvalues of fields and update maps, players' Hessian extremes, ``analyze --top-k``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gameflow import flows, solvers
from gameflow.flows.eigs import _order

# A spectrum with conjugate pairs, a cluster (three eigenvalues within 2e-4),
# and well-separated ends for every `which`; the bulk is a disc of radius 0.8.
SPECIAL = [4.0, 3.5 - 1e-4, 3.5, 3.5 + 1e-4, 3 + 2j, 3 - 2j, 2.5 + 4j, 2.5 - 4j, -5.0, -4.5 + 0.5j, -4.5 - 0.5j, -3.0]
# k that never splits a conjugate pair or the cluster (the k-th and (k+1)-th keys differ).
K = {"LR": 6, "LM": 5, "LI": 4, "SR": 4}


def known_matrix(n, seed=0):
    """``M = S B S⁻¹``: real, non-normal, with the eigenvalues SPECIAL and a random bulk."""
    rng = np.random.default_rng(seed)
    eigs = list(SPECIAL)
    while len(eigs) < n:
        r, t = 0.8 * np.sqrt(rng.uniform()), rng.uniform(0, np.pi)
        lam = r * np.exp(1j * t)
        eigs += [lam, np.conj(lam)] if len(eigs) + 2 <= n else [lam.real]
    B = np.zeros((n, n))
    i = 0
    for lam in eigs:
        if i >= n:
            break
        if abs(lam.imag) > 0 and lam.imag > 0:
            B[i:i + 2, i:i + 2] = [[lam.real, -lam.imag], [lam.imag, lam.real]]
            i += 2
        elif lam.imag == 0:
            B[i, i] = lam.real
            i += 1
    S = np.eye(n) + 0.3 * rng.standard_normal((n, n)) / np.sqrt(n)
    M = np.linalg.solve(S.T, (S @ B).T).T  # S B S⁻¹
    return M, np.array(eigs[:n], dtype=complex)


def linear_game(M):
    Mj = jnp.asarray(M)
    n = M.shape[0]
    return flows.FieldGame(lambda x: (Mj @ x,), (jnp.zeros(n),), known_equilibrium=(jnp.zeros(n),))


def expected(eigs, which, k):
    return eigs[_order(eigs, which)[:k]]


def assert_same(got, want, atol):
    got, want = np.asarray(got, complex), np.asarray(want, complex)
    assert got.shape == want.shape, (got, want)
    # Matched one to one (greedy on the distance), then compared.
    left = list(got)
    for w in want:
        j = int(np.argmin([abs(g - w) for g in left]))
        assert abs(left[j] - w) < atol, (w, left[j], got, want)
        left.pop(j)


@pytest.fixture(scope="module")
def mid():
    M, eigs = known_matrix(1200, seed=1)
    return linear_game(M), eigs


@pytest.mark.parametrize("which", ["LR", "LM", "LI", "SR"])
def test_top_k_against_known_eigenvalues(mid, which):
    game, eigs = mid
    k = K[which]
    r = flows.top_eigenvalues(game, None, k, which)
    assert r.method == "arnoldi" and r.status == "converged" and r.n == 1200
    assert_same(r.eigenvalues, expected(eigs, which, k), 1e-8)
    # Sorted by the selection key, largest first.
    np.testing.assert_array_equal(r.eigenvalues, r.eigenvalues[_order(r.eigenvalues, which)])
    assert np.all(r.residuals < 1e-10)
    assert 0 < r.matvecs < 1200  # far fewer products than forming the Jacobian


def test_small_matrix_every_which_dense_path():
    M, eigs = known_matrix(200, seed=2)
    game = linear_game(M)
    for which, k in K.items():
        r = flows.top_eigenvalues(game, None, k, which)
        assert r.method == "dense" and r.status == "converged"
        assert_same(r.eigenvalues, expected(eigs, which, k), 1e-9)
        a = flows.top_eigenvalues(game, None, k, which, method="arnoldi")
        assert a.method == "arnoldi" and a.status == "converged"
        assert_same(a.eigenvalues, r.eigenvalues, 1e-9)


def test_dense_and_arnoldi_agree_on_a_random_matrix():
    # No planted structure: Gaussian entries (the circular law), 600 dims.
    rng = np.random.default_rng(3)
    M = rng.standard_normal((600, 600)) / np.sqrt(600) - 2 * np.eye(600)
    M[0, 0] += 3.0  # one outlier
    game = linear_game(M)
    d = flows.top_eigenvalues(game, None, 4, "LR", method="dense", vectors=True)
    a = flows.top_eigenvalues(game, None, 4, "LR", vectors=True)
    assert (d.method, a.method) == ("dense", "arnoldi")
    assert d.status == a.status == "converged"
    assert_same(a.eigenvalues, d.eigenvalues, 1e-9)
    assert_same(d.eigenvalues, expected(np.linalg.eigvals(M), "LR", 4), 1e-9)
    # The eigenvectors are eigenvectors of M, and the residuals say so.
    for r in (a, d):
        R = M @ r.vectors - r.vectors * r.eigenvalues
        np.testing.assert_allclose(np.linalg.norm(R, axis=0), r.residuals, atol=1e-12)
        assert np.all(r.residuals < 1e-11)


def test_k_close_to_n_falls_back_to_dense_and_bad_input():
    M, eigs = known_matrix(30, seed=4)
    game = linear_game(M)
    r = flows.top_eigenvalues(game, None, 29, "LR", dense_max=5)
    assert r.method == "dense" and r.eigenvalues.size == 29
    with pytest.raises(ValueError, match="ARPACK needs k < n - 1"):
        flows.top_eigenvalues(game, None, 29, "LR", method="arnoldi")
    with pytest.raises(ValueError, match="which='XX' must be one of LR, LM, LI, SR"):
        flows.top_eigenvalues(game, None, 2, "XX")
    with pytest.raises(ValueError, match="k=0 must be an integer between 1 and the dimension 30"):
        flows.top_eigenvalues(game, None, 0)


def test_no_convergence_is_a_status(mid):
    game, eigs = mid
    r = flows.top_eigenvalues(game, None, 6, "LR", maxiter=1)
    assert r.method == "arnoldi" and r.status == "not converged"
    assert r.eigenvalues.size < 6 or np.any(r.residuals > 1e-8 * 5)
    # A residual tolerance nothing meets is not converged either.
    r = flows.top_eigenvalues(game, None, 2, "LM", residual_tol=1e-300)
    assert r.status == "not converged" and r.eigenvalues.size == 2


def test_deterministic(mid):
    game, _ = mid
    a = flows.top_eigenvalues(game, None, 3, "LM")
    b = flows.top_eigenvalues(game, None, 3, "LM")
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
    assert a.matvecs == b.matvecs


def random_quadratic(n, seed):
    """A random linear game: V = ½ xᵀAx + xᵀBy - ½ yᵀCy (A, C positive definite)."""
    rng = np.random.default_rng(seed)
    Ga, Gc = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    A = Ga @ Ga.T / n + 0.5 * np.eye(n)
    C = Gc @ Gc.T / n + 0.5 * np.eye(n)
    B = rng.standard_normal((n, n)) / np.sqrt(n)
    return flows.Quadratic(A=A, B=B, C=C), A, C


@pytest.mark.parametrize("scheme", [solvers.SGDA(), solvers.EG(), solvers.OGDA()], ids=lambda s: s.name)
def test_map_top_k_against_dense_map_spectrum(scheme):
    game, _, _ = random_quadratic(40, seed=5)
    lr = 0.4
    ms = solvers.map_spectrum(game, scheme, lr)
    r = solvers.map_top_eigenvalues(game, scheme, lr, k=4, which="LM", method="arnoldi")
    assert r.method == "arnoldi" and r.status == "converged"
    assert r.n == ms.eigenvalues.size == (160 if scheme.name == "ogda" else 80)  # ogda: (z, previous field)
    assert_same(r.eigenvalues, expected(ms.eigenvalues, "LM", 4), 1e-9)
    assert r.spectral_radius == pytest.approx(ms.spectral_radius, abs=1e-10)
    assert r.converges == ms.converges
    assert np.all(r.residuals < 1e-10)
    # A rate at which sgda diverges is reported as such, matrix-free.
    big = solvers.map_top_eigenvalues(game, scheme, 3.0, k=2, method="arnoldi")
    assert big.converges is False and big.spectral_radius == pytest.approx(
        solvers.map_spectrum(game, scheme, 3.0).spectral_radius, abs=1e-9)


def test_map_top_k_refuses_a_point_that_is_not_fixed():
    game, _, _ = random_quadratic(5, seed=6)
    z = (jnp.ones(5), jnp.zeros(5))
    with pytest.raises(ValueError, match="not a fixed point of sgda"):
        solvers.map_top_eigenvalues(game, solvers.SGDA(), 0.1, z, k=2)


@pytest.mark.parametrize("dense_max", [500, 10])
def test_hessian_extremes_of_a_quadratic_game(dense_max):
    n = 60
    game, A, C = random_quadratic(n, seed=7)
    chk = flows.player_hessian_extremes(game, None, k=2, dense_max=dense_max)
    p0, p1 = chk.players
    assert (p0.loss, p1.loss) == ("V", "-V")
    assert p0.method == ("dense" if dense_max > n else "lanczos") and p0.status == "converged"
    la, lc = np.linalg.eigvalsh(A), np.linalg.eigvalsh(C)
    # Player 0 minimises V: ∇²ₓV = A.  Player 1 minimises -V: ∇²_y(-V) = C.
    np.testing.assert_allclose(p0.min, la[:2], atol=1e-10)
    np.testing.assert_allclose(p0.max, la[::-1][:2], atol=1e-10)
    np.testing.assert_allclose(p1.min, lc[:2], atol=1e-10)
    np.testing.assert_allclose(p1.max, lc[::-1][:2], atol=1e-10)
    assert chk.stationary and chk.local_nash is True and chk.strict
    assert chk.classification == "local Nash equilibrium"


@pytest.mark.parametrize("player", [0, 1])
def test_not_a_local_nash_names_the_player_and_eigenvalue(player):
    n = 30
    game, A, C = random_quadratic(n, seed=8)
    if player == 0:
        A = A - (np.linalg.eigvalsh(A)[0] + 0.25) * np.eye(n)  # smallest eigenvalue -0.25
    else:
        C = C - (np.linalg.eigvalsh(C)[0] + 0.25) * np.eye(n)  # maximiser's ∇²_y V = -C has eigenvalue +0.25
    game = flows.Quadratic(A=A, B=np.asarray(game.B), C=C)
    for dense_max in (500, 10):
        chk = flows.player_hessian_extremes(game, None, dense_max=dense_max)
        assert chk.local_nash is False and not chk.strict
        assert chk.players[player].min[0] == pytest.approx(-0.25, abs=1e-10)
        assert chk.players[1 - player].min[0] > 0
        loss = "V" if player == 0 else "-V"
        assert chk.classification.startswith(f"not a local Nash equilibrium: player {player}'s Hessian of {loss} "
                                              "has eigenvalue -0.25 < 0"), chk.classification


def test_hessians_need_losses_and_a_stationary_point():
    M, _ = known_matrix(6, seed=9)
    with pytest.raises(ValueError, match="raw field: it has no losses"):
        flows.player_hessian_extremes(linear_game(M))
    game, _, _ = random_quadratic(4, seed=10)
    chk = flows.player_hessian_extremes(game, (jnp.ones(4), jnp.zeros(4)))
    assert not chk.stationary and chk.local_nash is False
    assert chk.classification.startswith("not a local Nash equilibrium: not stationary")


USER_GAME = """
import numpy as np
import jax.numpy as jnp
from gameflow import flows

def make(n=3000, seed=0):
    # 2 x 2 rotation-scaling blocks a ± ib, their coordinates scattered by a permutation.
    rng = np.random.default_rng(seed)
    m = n // 2
    a = np.r_[[0.5, 0.3, 0.1], rng.uniform(-3.0, -1.0, m - 3)]
    b = np.r_[[2.0, 1.0, 0.5], rng.uniform(0.1, 2.0, m - 3)]
    perm = jnp.asarray(rng.permutation(n))
    inv = jnp.argsort(perm)
    aj, bj = jnp.asarray(a), jnp.asarray(b)

    def field(x):
        u = x[perm].reshape(m, 2)
        out = jnp.stack([aj * u[:, 0] - bj * u[:, 1], bj * u[:, 0] + aj * u[:, 1]], axis=1)
        return (out.reshape(n)[inv],)

    return flows.FieldGame(field, (jnp.zeros(n),), known_equilibrium=(jnp.zeros(n),))
"""


def test_cli_top_k_on_a_large_user_game(cli, tmp_path):
    path = tmp_path / "big.py"
    path.write_text(USER_GAME)
    r = cli.json("analyze", f"{path}:make", "--top-k", "6")
    assert "jacobian" not in r and "eigenvalues" not in r and "classification" not in r
    assert r["n_params"] == 3000 and r["eigen_method"] == "arnoldi" and r["eigen_status"] == "converged"
    got = np.array([complex(a, b) for a, b in r["top_eigenvalues"]])
    want = np.array([0.5 + 2j, 0.5 - 2j, 0.3 + 1j, 0.3 - 1j, 0.1 + 0.5j, 0.1 - 0.5j])
    assert_same(got, want, 1e-10)
    assert max(r["top_residuals"]) < 1e-10
    assert r["spectral_abscissa"] == pytest.approx(0.5, abs=1e-12)
    assert "player_hessians" not in r  # a raw field has no losses
    code, out, _ = cli.run("analyze", f"{path}:make", "--top-k", "2", "--which", "LI")
    assert code == 0 and "top 2 (LI)" in out and "arnoldi, converged" in out and "0.5 ± 2i" in out


def test_cli_top_k_small_game_keeps_dense_keys_and_adds_hessians(cli):
    r = cli.json("analyze", "quadratic", "--param", "a=-0.5", "--top-k", "2", "--scheme", "ogda", "--lr", "0.1")
    assert "jacobian" in r and r["eigen_method"] == "dense" and r["n_params"] == 2
    lam = [complex(a, b) for a, b in r["eigenvalues"]]
    assert_same([complex(a, b) for a, b in r["top_eigenvalues"]], lam, 1e-12)
    ph = r["player_hessians"]
    assert ph["local_nash"] is False and ph["players"][0]["min"] == pytest.approx(-0.5)
    assert "player 0's Hessian of V has eigenvalue -0.5 < 0" in ph["classification"]
    item = r["schemes"][0]
    assert item["eigen_status"] == "converged"
    mags = sorted(abs(complex(a, b)) for a, b in item["eigenvalues"])[::-1][:2]
    np.testing.assert_allclose(sorted(abs(complex(a, b)) for a, b in item["top_eigenvalues"])[::-1], mags,
                               atol=1e-12)


def test_residual_check_is_each_columns_residual_across_chunks():
    """The residual check goes a few eigenvectors at a time (memory); every column's residual is its own."""
    from gameflow.flows.eigs import RESIDUAL_CHUNK, _residuals

    rng = np.random.default_rng(0)
    n = 30
    A = rng.standard_normal((n, n))
    lin = jax.tree_util.Partial(lambda M, u: M @ u, jnp.asarray(A))
    w, V = np.linalg.eig(A)
    m = 2 * RESIDUAL_CHUNK + 3  # whole chunks and a partial one
    lam = w[:m] + 0.01 * np.arange(1, m + 1) * (1 + 1j)  # wrong by a known amount, column by column
    ref = np.linalg.norm(A @ V[:, :m] - V[:, :m] * lam, axis=0)
    np.testing.assert_allclose(_residuals(lin, lam, V[:, :m]), ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ref, 0.01 * np.sqrt(2) * np.arange(1, m + 1), rtol=1e-9)  # unit eigenvectors
