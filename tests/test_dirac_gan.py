"""Dirac-GAN eigenvalues against the closed forms of Mescheder et al. (2018)."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.special
from gameflow import flows
from gameflow.flows import DiracGAN

TOL = 1e-10


def roots(tr, det):
    """Roots of λ² - tr λ + det, as a sorted complex array."""
    disc = complex(tr * tr / 4 - det)
    r = np.array([tr / 2 + np.sqrt(disc), tr / 2 - np.sqrt(disc)])
    return r[np.lexsort((-r.imag, -r.real))]


def assert_eigs(res, expected):
    assert np.max(np.abs(np.asarray(res.eigenvalues) - expected)) < TOL, (res.eigenvalues, expected)


@pytest.mark.parametrize("loss,a", [("gan", 0.5), ("nsgan", 0.5), ("wgan", 1.0)])
def test_unregularized_is_a_centre(loss, a):
    res = flows.analyze(DiracGAN(loss=loss))
    assert_eigs(res, np.array([1j * a, -1j * a]))
    assert res.classification == "centre"
    assert res.stationary and res.residual == 0.0
    np.testing.assert_allclose(res.jacobian, [[0, -a], [a, 0]], atol=1e-15)


@pytest.mark.parametrize("reg", ["r1", "r2"])
@pytest.mark.parametrize("loss,a", [("gan", 0.5), ("wgan", 1.0)])
@pytest.mark.parametrize("gamma_over_critical", [0.1, 0.3, 0.6, 1.0, 1.5, 4.0])
def test_gradient_penalties(reg, loss, a, gamma_over_critical):
    # J = [[0, -a], [a, -γ]]: λ = (-γ ± sqrt(γ² - 4a²))/2; γ = 2a is critical damping.
    gamma = gamma_over_critical * 2 * a
    res = flows.analyze(DiracGAN(loss=loss, reg=reg, gamma=gamma))
    lam = np.array([(-gamma + np.sqrt(complex(gamma**2 - 4 * a * a))) / 2,
                    (-gamma - np.sqrt(complex(gamma**2 - 4 * a * a))) / 2])
    assert_eigs(res, lam[np.lexsort((-lam.imag, -lam.real))])
    expected = {True: "stable spiral", False: "stable node"}[gamma_over_critical < 1]
    assert res.classification == expected


def test_critical_damping_is_exact():
    res = flows.analyze(DiracGAN(reg="r1", gamma=1.0))
    assert list(res.eigenvalues) == [-0.5, -0.5]


@pytest.mark.parametrize("sigma", [0.1, 0.5, 1.0, 1.3, 1.9, 2.5, 4.0])
def test_instance_noise(sigma):
    # J = [[0, -f'(0)], [f'(0), 2σ² f''(0)]], f'(0) = 1/2, f''(0) = -1/4.
    res = flows.analyze(DiracGAN(reg="noise", sigma=sigma))
    assert_eigs(res, roots(tr=-sigma**2 / 2, det=0.25))
    assert res.classification == ("stable spiral" if sigma**2 < 2 else "stable node")


def test_instance_noise_field_is_the_exact_expectation():
    # Away from the equilibrium the Gauss–Hermite field equals the integral.
    theta, psi, sigma = 0.7, -0.4, 0.8
    game = DiracGAN(reg="noise", sigma=sigma)
    ft, fp = game.vector_field((jnp.asarray(theta), jnp.asarray(psi)))
    fprime = lambda t: scipy.special.expit(-t)  # f(t) = -log(1 + e^{-t})
    pdf = lambda e: math.exp(-e * e / (2 * sigma**2)) / math.sqrt(2 * math.pi * sigma**2)
    E = lambda g: scipy.integrate.quad(lambda e: g(e) * pdf(e), -np.inf, np.inf, epsabs=1e-14, epsrel=1e-14)[0]
    want_t = -E(lambda e: psi * fprime(psi * (theta + e)))
    want_p = E(lambda e: (theta + e) * fprime(psi * (theta + e))) - E(lambda e: e * fprime(-psi * e))
    assert abs(float(ft) - want_t) < TOL and abs(float(fp) - want_p) < TOL


@pytest.mark.parametrize("loss,a", [("gan", 0.5), ("wgan", 1.0)])
@pytest.mark.parametrize("gamma", [0.1, 0.5, 1.0, 3.0])
def test_consensus_flow(loss, a, gamma):
    # J - γ JᵀJ with J = [[0, -a], [a, 0]]: λ = -γ a² ± i a.
    res = flows.analyze(flows.ConsensusFlow(DiracGAN(loss=loss), gamma))
    assert_eigs(res, np.array([-gamma * a * a + 1j * a, -gamma * a * a - 1j * a]))
    assert res.classification == "stable spiral"


def test_wgan_gp_is_not_locally_convergent():
    gamma, g0, eps = 2.0, 1.0, 1e-2
    res = flows.analyze(DiracGAN(loss="wgan", reg="wgan-gp", gamma=gamma, g0=g0, eps=eps))
    d = gamma * (g0 / eps - 1)  # d/dψ of -γ (sqrt(ψ²+ε²) - g0) ψ / sqrt(ψ²+ε²) at 0
    assert_eigs(res, roots(tr=d, det=1.0))
    assert res.classification == "unstable node"


@pytest.mark.parametrize("theta,psi", [(0.3, -1.2), (-2.0, 0.5), (1.5, 1.5)])
def test_fields_match_hand_derivation(theta, psi):
    fprime = lambda t: scipy.special.expit(-t)
    z = (jnp.asarray(theta), jnp.asarray(psi))
    ft, fp = DiracGAN(loss="gan").vector_field(z)
    np.testing.assert_allclose([ft, fp], [-psi * fprime(psi * theta), theta * fprime(psi * theta)], rtol=1e-13)
    # Non-saturating: the generator minimises -f(-ψθ), so its field is -ψ f'(-ψθ).
    ft, fp = DiracGAN(loss="nsgan").vector_field(z)
    np.testing.assert_allclose([ft, fp], [-psi * fprime(-psi * theta), theta * fprime(psi * theta)], rtol=1e-13)
    ft, fp = DiracGAN(loss="wgan").vector_field(z)
    np.testing.assert_allclose([ft, fp], [-psi, theta], rtol=1e-13)


def test_nsgan_is_general_sum():
    g = DiracGAN(loss="nsgan")
    assert not g.zero_sum
    with pytest.raises(ValueError, match="not a zero-sum game"):
        g.value(g.template())


def test_weight_clipping_projects_the_field():
    g = DiracGAN(loss="wgan", clip=0.5)
    # On the upper boundary with θ > 0 the discriminator would leave the box.
    _, fp = g.vector_field((jnp.asarray(1.0), jnp.asarray(0.5)))
    assert float(fp) == 0.0
    # Pointing inward it is left alone.
    _, fp = g.vector_field((jnp.asarray(-1.0), jnp.asarray(0.5)))
    assert float(fp) == -1.0
    _, fp = g.vector_field((jnp.asarray(1.0), jnp.asarray(0.2)))
    assert float(fp) == 1.0


@pytest.mark.parametrize("kwargs,match", [
    ({"loss": "lsgan"}, "dirac-gan: loss='lsgan' must be one of gan, nsgan, wgan"),
    ({"reg": "r3"}, "reg='r3' must be one of"),
    ({"gamma": -1.0}, "gamma=-1.0 must be a finite number >= 0"),
    ({"gamma": float("inf")}, "gamma=inf must be a finite number"),
    ({"sigma": float("inf")}, "sigma=inf must be a finite number"),
    ({"sigma": 0.0}, "sigma=0.0 must be a finite number > 0"),
    ({"clip": 1.0}, "clip=1.0 applies to loss=wgan only"),
    ({"gamma": float("nan")}, "gamma=nan"),
    ({"n_quad": 1}, "n_quad=1"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DiracGAN(**kwargs)


@pytest.mark.parametrize("kwargs", [{}, {"loss": "wgan"}, {"reg": "r1", "gamma": 0.3}, {"reg": "r2", "gamma": 2.0},
                                    {"reg": "noise", "sigma": 0.7}, {"loss": "wgan", "reg": "wgan-gp", "gamma": 0.5},
                                    {"loss": "nsgan", "reg": "r1", "gamma": 1.5}])
@pytest.mark.parametrize("consensus", [0.0, 0.4])
def test_the_demos_closed_form_jacobian_is_the_autodiff_one(kwargs, consensus):
    """The demo and the dirac-gan experiment print equilibrium_jacobian beside autodiff: they must agree."""
    from gameflow.flows.games.dirac_gan import equilibrium_jacobian

    game = DiracGAN(**kwargs)
    flow = flows.ConsensusFlow(game, consensus) if consensus else flows.GradientFlow(game)
    np.testing.assert_allclose(flows.jacobian(flow, game.equilibrium()), equilibrium_jacobian(game, consensus),
                               rtol=1e-12, atol=1e-12)
