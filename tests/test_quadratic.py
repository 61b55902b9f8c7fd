"""Quadratic and bilinear games: spectra, critical timescale ratios, duality gaps."""

import jax.numpy as jnp
import numpy as np
import pytest
from gameflow import flows
from gameflow.flows import Bilinear, Quadratic
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize("a,b,c", [(1, 1, 1), (2, 0.5, 0.1), (-1, 2, 1), (1, 3, -0.5), (0.3, 0.1, 2)])
def test_scalar_eigenvalues(a, b, c):
    res = flows.analyze(Quadratic.scalar(a, b, c))
    disc = complex((a - c) ** 2 - 4 * b * b)
    lam = np.array([(-(a + c) + np.sqrt(disc)) / 2, (-(a + c) - np.sqrt(disc)) / 2])
    assert np.max(np.abs(np.sort_complex(res.eigenvalues) - np.sort_complex(lam))) < 1e-10


# Scalar game: stable iff a + τ c > 0 and a c + b² > 0.
@pytest.mark.parametrize("a,b,c,tau_star", [
    (-1.0, 2.0, 1.0, 1.0),          # nonconvex in x: needs τ > -a/c
    (-3.0, 4.0, 0.5, 6.0),
    (-0.01, 1.0, 2.0, 0.005),
    (1.0, 1.0, 1.0, 0.0),           # convex-concave: stable at every ratio
    (-1.0, 0.5, 1.0, None),         # a c + b² < 0: never stable
    (1.0, 2.0, -0.5, None),         # nonconcave in y: only small τ are stable, "never" above
    (-1.0, 1.0, 0.0, None),         # c = 0: a + τ c = a < 0 at every τ
])
def test_critical_ratio_scalar(a, b, c, tau_star):
    got = flows.critical_ratio(Quadratic.scalar(a, b, c))
    if tau_star is None:
        assert got is None
    elif tau_star == 0.0:
        assert got == 0.0
    else:
        assert got == pytest.approx(tau_star, rel=1e-10)


def test_critical_ratio_matrix_form_is_the_worst_coordinate():
    # Decoupled coordinates: τ* = max_i(-a_i / c_i) over the nonconvex ones.
    a, b, c = np.array([-1.0, 2.0, -0.5]), np.array([2.0, 1.0, 3.0]), np.array([1.0, 1.0, 0.1])
    g = Quadratic(np.diag(a), np.diag(b), np.diag(c))
    assert flows.critical_ratio(g) == pytest.approx(5.0, rel=1e-10)


def test_critical_ratio_dirac_gan_never():
    # A centre stays a centre at every ratio.
    assert flows.critical_ratio(flows.DiracGAN()) is None


def gap_closed_form(a, b, c, x, y):
    # max_y' V = (a/2 + b²/(2c))|x|²; min_x' V = -(c/2 + b²/(2a))|y|²
    return (a / 2 + b * b / (2 * c)) * x @ x + (c / 2 + b * b / (2 * a)) * y @ y


@settings(max_examples=10)  # each example compiles its own inner solves
@given(st.floats(0.2, 5), st.floats(-3, 3), st.floats(0.2, 5), st.integers(0, 1000))
def test_duality_gap_closed_form(a, b, c, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    gap = flows.duality_gap(Quadratic.scalar(a, b, c, dim=3), (jnp.asarray(x), jnp.asarray(y)))
    assert gap.status == "ok"
    want = gap_closed_form(a, b, c, x, y)
    assert gap.gap == pytest.approx(want, rel=1e-10, abs=1e-10)


def test_duality_gap_zero_at_equilibrium_and_unbounded_on_bilinear():
    g = Bilinear(np.array([[2.0, 0.0], [1.0, 1.0]]))
    at_eq = flows.duality_gap(g, g.equilibrium())
    assert at_eq.status == "ok" and at_eq.gap == 0.0
    away = flows.duality_gap(g, (jnp.array([0.5, 0.0]), jnp.array([0.0, 0.0])))
    assert away.status == "unbounded" and np.isnan(away.gap)


def test_duality_gap_needs_zero_sum():
    with pytest.raises(ValueError, match="zero-sum"):
        flows.duality_gap(flows.DiracGAN(loss="nsgan"), flows.DiracGAN().template())


@pytest.mark.parametrize("dim,cond,seed", [(1, 1.0, 0), (3, 10.0, 1), (6, 1e3, 7)])
def test_bilinear_random_spectrum(dim, cond, seed):
    A = flows.random_matrix(dim, cond, seed)
    s = np.linalg.svd(A, compute_uv=False)
    np.testing.assert_allclose(s, np.geomspace(1, 1 / cond, dim), rtol=1e-12)
    res = flows.analyze(Bilinear(A))
    # Eigenvalues ±i σ_k(A): a centre.
    np.testing.assert_allclose(np.sort(np.abs(res.eigenvalues.imag)), np.sort(np.concatenate([s, s])), atol=1e-10)
    assert np.max(np.abs(res.eigenvalues.real)) < 1e-10
    assert res.classification == "centre"
    np.testing.assert_array_equal(A, flows.random_matrix(dim, cond, seed))  # reproducible


def test_bilinear_rectangular_and_inconsistent():
    A = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]])  # x ∈ R², y ∈ R³
    res = flows.analyze(Bilinear(A))
    assert res.classification == "degenerate"  # a zero eigenvalue from the null space
    assert Bilinear(A, b=[1.0, 2.0]).equilibrium() is not None  # b in range(A)
    assert Bilinear(A, c=[0.0, 0.0, 1.0]).equilibrium() is None  # c outside range(Aᵀ)


@pytest.mark.parametrize("kwargs,match", [
    ({"A": np.zeros((2, 3)), "B": np.zeros((2, 2)), "C": np.zeros((2, 2))}, "A must be square"),
    ({"A": np.eye(2), "B": np.zeros((2, 3)), "C": np.eye(2)}, r"B has shape \(2, 3\), expected \(2, 2\)"),
    ({"A": np.eye(2) * np.nan, "B": np.eye(2), "C": np.eye(2)}, "A is not finite"),
])
def test_quadratic_bad_matrices(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Quadratic(**kwargs)
