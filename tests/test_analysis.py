"""Jacobians, eigenvalues, classification, equilibrium finding, flows."""

import jax.numpy as jnp
import numpy as np
import pytest
from gameflow import flows
from gameflow.flows import FieldGame, GeneralGame
from hypothesis import given
from hypothesis import strategies as st


def linear_game(M):
    M = jnp.asarray(M, dtype=float)
    n = M.shape[0] // 2

    def field(x, y):
        v = M @ jnp.concatenate([x, y])
        return (v[:n], v[n:])

    return FieldGame(field, (jnp.zeros(n), jnp.zeros(M.shape[0] - n)), (jnp.zeros(n), jnp.zeros(M.shape[0] - n)))


@pytest.mark.parametrize("eigs,expected", [
    ([-1, -2], "stable node"),
    ([-1 + 2j, -1 - 2j], "stable spiral"),
    ([3j, -3j], "centre"),
    ([1, -1], "saddle"),
    ([1, 2], "unstable node"),
    ([0.5 + 1j, 0.5 - 1j], "unstable spiral"),
    ([0, -1], "degenerate"),
    ([1j, -1j, -1], "degenerate"),
    ([0, 0], "degenerate"),
    ([-1 + 1j, -1 - 1j, 2], "saddle"),
    ([1e-12 + 1j, 1e-12 - 1j], "centre"),
])
def test_classify(eigs, expected):
    assert flows.classify(np.array(eigs, dtype=complex)) == expected


def test_classify_tolerance_is_explicit():
    eigs = np.array([1e-7 + 1j, 1e-7 - 1j])
    assert flows.classify(eigs, tol=1e-9) == "unstable spiral"
    assert flows.classify(eigs, tol=1e-6) == "centre"


@given(st.lists(st.floats(-5, 5), min_size=4, max_size=4))
def test_eig2_closed_form_matches_lapack(entries):
    J = np.array(entries).reshape(2, 2)
    mine = flows.eigenvalues(J)
    ref = np.linalg.eigvals(J)
    # Each eigenvalue of ours is close to one of LAPACK's (well-separated or not).
    scale = 1 + np.abs(J).max()
    for lam in mine:
        assert np.min(np.abs(ref - lam)) < 1e-7 * scale
    np.testing.assert_allclose(np.sum(mine), np.trace(J), atol=1e-12 * scale)
    np.testing.assert_allclose(np.prod(mine).real, np.linalg.det(J), atol=1e-10 * scale**2)


@given(st.integers(1, 5), st.integers(0, 10_000))
def test_jacobian_of_linear_field_is_the_matrix(n, seed):
    M = np.random.default_rng(seed).standard_normal((2 * n, 2 * n))
    g = linear_game(M)
    np.testing.assert_allclose(flows.jacobian(g, g.template()), M, atol=1e-14)
    res = flows.analyze(g)
    np.testing.assert_allclose(np.sort_complex(res.eigenvalues), np.sort_complex(np.linalg.eigvals(M)), atol=1e-10)
    assert res.spectral_abscissa == pytest.approx(np.max(np.linalg.eigvals(M).real), abs=1e-10)


def test_non_stationary_point_says_so():
    res = flows.analyze(flows.DiracGAN(), (jnp.asarray(1.0), jnp.asarray(0.0)))
    assert not res.stationary
    assert res.residual == pytest.approx(0.5, abs=1e-15)  # |F(1, 0)| = |(0, f'(0))|


def nonlinear_game():
    # A general-sum game with a known equilibrium at (1, -0.5).
    l1 = lambda x, y: (x - 1) ** 2 / 2 + jnp.sin(x) * (y + 0.5) ** 2
    l2 = lambda x, y: (y + 0.5) ** 2 + 0.3 * (x - 1) * (y + 0.5) + 0.1 * (y + 0.5) ** 4
    return GeneralGame((l1, l2), (jnp.asarray(0.0), jnp.asarray(0.0)))


def test_find_equilibrium_asserts_the_residual():
    eq = flows.find_equilibrium(nonlinear_game(), (jnp.asarray(0.2), jnp.asarray(0.4)))
    assert eq.converged and eq.residual < 1e-10
    np.testing.assert_allclose(eq.point, [1.0, -0.5], atol=1e-9)


def test_find_equilibrium_bilinear_with_offsets():
    rng = np.random.default_rng(3)
    A, b, c = rng.standard_normal((3, 3)) + 3 * np.eye(3), rng.standard_normal(3), rng.standard_normal(3)
    g = flows.Bilinear(A, b, c)
    eq = flows.find_equilibrium(g)
    assert eq.converged
    x, y = eq.state
    np.testing.assert_allclose(A @ np.asarray(y), -b, atol=1e-10)
    np.testing.assert_allclose(A.T @ np.asarray(x), -c, atol=1e-10)


def test_find_equilibrium_reports_failure():
    # F(x) = 1 + x² has no root: the search must say it did not converge.
    g = FieldGame(lambda x: (1.0 + x**2,), (jnp.asarray(0.0),))
    eq = flows.find_equilibrium(g, (jnp.asarray(0.3),))
    assert not eq.converged and eq.residual >= 1.0 - 1e-12


@pytest.mark.parametrize("gamma", [0.2, 1.0])
def test_consensus_jacobian_is_J_minus_gamma_JtJ(gamma):
    M = np.random.default_rng(1).standard_normal((4, 4))
    g = linear_game(M)
    Jc = flows.jacobian(flows.ConsensusFlow(g, gamma), g.template())
    np.testing.assert_allclose(Jc, M - gamma * M.T @ M, atol=1e-13)


def test_timescale_flow_scales_rows():
    M = np.random.default_rng(2).standard_normal((4, 4))
    g = linear_game(M)
    Jt = flows.jacobian(flows.TimescaleFlow.ratio(g, 3.0), g.template())
    np.testing.assert_allclose(Jt, np.diag([1, 1, 3, 3]) @ M, atol=1e-14)
    # critical_ratio uses D_τ J; it must agree with the autodiff flow's abscissa.
    ev = flows.eigenvalues(Jt)
    assert flows.abscissa_at_ratio(g, 3.0) == pytest.approx(flows.spectral_abscissa(ev), abs=1e-12)


def test_make_flow_errors():
    g = flows.DiracGAN()
    with pytest.raises(ValueError, match="unknown flow 'newton'; choose from gradient, consensus, timescale"):
        flows.make_flow(g, "newton")
    with pytest.raises(ValueError, match="unknown parameter 'tau'; allowed: gamma"):
        flows.make_flow(g, "consensus", tau=2)
    with pytest.raises(ValueError, match="gamma=-1.0 must be >= 0"):
        flows.make_flow(g, "consensus", gamma=-1)
    with pytest.raises(ValueError, match="rate -2.0 must be positive"):
        flows.make_flow(g, "timescale", tau=-2)
    with pytest.raises(ValueError, match="3 rates given for 2 players"):
        flows.make_flow(g, "timescale", rates=[1, 2, 3])


def test_analyze_without_point_needs_an_equilibrium():
    g = FieldGame(lambda x: (x,), (jnp.zeros(2),))
    with pytest.raises(ValueError, match="no known equilibrium"):
        flows.analyze(g)


def test_non_finite_jacobian_is_refused():
    g = FieldGame(lambda x: (jnp.exp(x) * 1e300,), (jnp.asarray(0.0),))
    with pytest.raises(ValueError, match="not finite at this point"):
        flows.analyze(g, (jnp.asarray(800.0),))
