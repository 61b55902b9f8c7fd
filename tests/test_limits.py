"""Discrete schemes against their continuous limits: measured orders and identities."""

import diffrax
import jax.numpy as jnp
import numpy as np
import pytest
from gameflow import flows, solvers
from gameflow.solvers import AGDA, EG, OGDA, SGDA, ModifiedFlow

LRS = [0.04, 0.02, 0.01, 0.005]


def nonlinear_game():
    """A general-sum game whose field has no symmetry to hide behind."""
    l1 = lambda x, y: (x - 1) ** 2 / 2 + jnp.sin(x) * (y + 0.5) ** 2 + 0.3 * x * y
    l2 = lambda x, y: (y + 0.5) ** 2 + 0.3 * (x - 1) * (y + 0.5) + 0.1 * (y + 0.5) ** 4 - 0.2 * jnp.cos(x) * y
    return flows.GeneralGame((l1, l2), (jnp.asarray(0.0), jnp.asarray(0.0)))


GAMES = {
    "general-sum": (nonlinear_game(), [0.4, 0.9]),
    "dirac-gan": (flows.DiracGAN(), [1.0, 1.0]),
    "dirac-gan-r1": (flows.DiracGAN(reg="r1", gamma=0.3), [0.8, -0.5]),
}


@pytest.mark.parametrize("game_name", list(GAMES))
@pytest.mark.parametrize("scheme", [SGDA(), AGDA()], ids=["sgda", "agda"])
@pytest.mark.parametrize("against,order", [("gradient", 1.0), ("modified", 2.0)])
def test_measured_order(game_name, scheme, against, order):
    game, z0 = GAMES[game_name]
    res = solvers.compare(game, scheme, LRS, 2.0, z0, against)
    assert abs(res.order - order) < 0.15, (res.order, [r.error for r in res.rows])
    assert all(r.status == "max-steps" for r in res.rows)


@pytest.mark.parametrize("scheme", [EG(), OGDA(), SGDA(rates=(1.0, 3.0)), AGDA(n_g=1, n_d=3)],
                         ids=["eg", "ogda", "ttur", "agda-1-3"])
def test_modified_flow_order_two_for_other_schemes(scheme):
    game, z0 = GAMES["general-sum"]
    res = solvers.compare(game, scheme, LRS, 1.0, z0, "modified")
    assert abs(res.order - 2.0) < 0.15, res.order


@pytest.mark.parametrize("scheme", [SGDA(), SGDA(rates=(0.5, 2.0)), AGDA(), AGDA(order=(1, 0)),
                                    AGDA(rates=(2.0, 0.5)), EG(), EG(rates=(1.0, 2.0))],
                         ids=["sgda", "ttur", "agda", "agda-yx", "agda-rates", "eg", "eg-rates"])
@pytest.mark.parametrize("game_name", ["general-sum", "dirac-gan-r1"])
def test_hand_forms_equal_automatic_taylor_expansion(scheme, game_name):
    game, _ = GAMES[game_name]
    rng = np.random.default_rng(0)
    for _ in range(3):
        z = flows.state_from_vector(rng.standard_normal(2), game.template())
        auto = flows.ravel_field(ModifiedFlow(game, scheme, 0.07, "auto").field(z))
        hand = flows.ravel_field(ModifiedFlow(game, scheme, 0.07, "hand").field(z))
        np.testing.assert_allclose(auto, hand, rtol=1e-12, atol=1e-13)


def test_agda_cross_term_has_the_opposite_sign():
    # On V = x y (F = (-y, x)): sgda's drift is -(h/2) J F, agda's y-drift flips the cross term.
    g = flows.ZeroSumGame(lambda x, y: x * y, (0.0, 0.0))
    z = (jnp.asarray(0.3), jnp.asarray(0.7))
    h = 0.1
    s = flows.ravel_field(ModifiedFlow(g, SGDA(), h).field(z))
    a = flows.ravel_field(ModifiedFlow(g, AGDA(), h).field(z))
    # J F = (-x, -y): sgda adds +(h/2)(x, y); agda adds +(h/2) x to x' and -(h/2) y to y'.
    np.testing.assert_allclose(s, [-0.7 + 0.5 * h * 0.3, 0.3 + 0.5 * h * 0.7], atol=1e-15)
    np.testing.assert_allclose(a, [-0.7 + 0.5 * h * 0.3, 0.3 - 0.5 * h * 0.7], atol=1e-15)


def test_taylor_coefficients():
    game, _ = GAMES["general-sum"]
    v = jnp.array([0.3, -0.2])
    z = flows.state_from_vector(v, game.template())
    F = flows.ravel_field(game.vector_field(z))
    J = flows.jacobian(game, z)
    p1, p2 = solvers.taylor_coefficients(game, SGDA(), v)
    np.testing.assert_allclose(p1, F, atol=1e-15)
    np.testing.assert_allclose(p2, 0.0, atol=1e-15)
    p1, p2 = solvers.taylor_coefficients(game, EG(), v)
    np.testing.assert_allclose(p2, J @ F, atol=1e-14)


@pytest.mark.parametrize("game_name", ["general-sum", "dirac-gan"])
def test_diffrax_euler_steps_equal_sgda(game_name):
    game, z0 = GAMES[game_name]
    h, n = 0.05, 200
    ts = jnp.linspace(0.0, h * n, n + 1)
    z0s = flows.state_from_vector(z0, game.template())
    # The flow is called on the pytree state directly, with diffrax's signature.
    sol = diffrax.diffeqsolve(diffrax.ODETerm(flows.GradientFlow(game)), diffrax.Euler(), t0=0.0, t1=h * n,
                              dt0=None, y0=z0s, stepsize_controller=diffrax.StepTo(ts=ts),
                              saveat=diffrax.SaveAt(ts=ts))
    euler = np.stack([np.asarray(a) for a in sol.ys], axis=1)
    tr = solvers.iterate(game, SGDA(), z0, h, n, save_every=1)
    np.testing.assert_allclose(np.asarray(tr.states), euler, rtol=0, atol=1e-14)


def test_integrate_against_closed_form_and_scipy():
    # Quadratic game: linear flow ż = J z, solution expm(tJ) z0.
    import scipy.integrate
    import scipy.linalg

    g = flows.Quadratic.scalar(0.3, 1.0, 0.5)
    z0 = np.array([1.0, -0.5])
    J = flows.jacobian(g, g.template())
    ts = np.linspace(0, 5, 6)
    tr = solvers.integrate(flows.GradientFlow(g), z0, 5.0, saveat=ts, rtol=1e-12, atol=1e-12)
    want = np.stack([scipy.linalg.expm(t * J) @ z0 for t in ts])
    np.testing.assert_allclose(np.asarray(tr.states), want, atol=1e-10)
    assert tr.status_name() == "completed"
    dg = flows.DiracGAN(reg="r1")
    rhs = lambda t, v: np.asarray(flows.ravel_field(dg.vector_field(tuple(jnp.asarray(a) for a in v))))
    ref = scipy.integrate.solve_ivp(rhs, (0, 5), [1.0, 1.0], rtol=1e-12, atol=1e-12, t_eval=ts).y.T
    ours = solvers.integrate(flows.GradientFlow(dg), [1.0, 1.0], 5.0, saveat=ts, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(ours.states), ref, atol=1e-9)


def test_blow_up_is_a_status_not_a_crash():
    # ż = z² from z0 = 1 blows up at t = 1.
    g = flows.FieldGame(lambda x: (x**2,), (jnp.asarray(0.0),))
    # z = 1/(1 - t) passes the bound 1e8 at t = 1 - 1e-8, within the step limit (it takes 935 steps):
    # the status is "diverged", not "failed".
    tr = solvers.integrate(flows.GradientFlow(g), [1.0], 2.0, saveat=np.linspace(0, 2, 5), max_steps=4096)
    assert tr.status_name() == "diverged" and int(tr.steps) < 4096
    assert np.all(np.isfinite(np.asarray(tr.states)))
    batch = solvers.integrate_batch(flows.GradientFlow(g), np.array([[1.0], [-1.0]]), 2.0, max_steps=4096)
    names = batch.status_name()
    assert names[0] == "diverged" and names[1] == "completed"
    assert np.all(np.isfinite(np.asarray(batch.final)))
    np.testing.assert_allclose(batch.final[1], [-1.0 / 3.0], atol=1e-8)  # z(t) = -1/(1 + t)


def test_compare_errors():
    g = flows.DiracGAN()
    with pytest.raises(ValueError, match="not a whole number of steps of lr=0.03"):
        solvers.compare(g, SGDA(), [0.03, 0.01], 1.0, [1.0, 1.0])
    with pytest.raises(ValueError, match="against='euler' is not one of gradient, modified, splitting"):
        solvers.compare(g, SGDA(), [0.01], 1.0, [1.0, 1.0], "euler")
    with pytest.raises(ValueError, match="has no hand-derived form"):
        ModifiedFlow(g, solvers.SGA(), 0.1, "hand")
    with pytest.raises(ValueError, match="no continuous limit"):
        solvers.LeadingFlow(g, solvers.make_scheme("adam"))


def test_fit_order():
    assert solvers.fit_order([0.1, 0.05, 0.025], [1e-2, 2.5e-3, 6.25e-4]) == pytest.approx(2.0, abs=1e-12)
    assert np.isnan(solvers.fit_order([0.1, 0.05], [1e-2, np.inf]))


def test_agda_is_the_exact_splitting_on_bilinear_games():
    # F_x = -A y does not depend on x: an Euler step of each sub-flow is exact.
    g = flows.Bilinear(flows.random_matrix(3, 4.0, 0), b=[0.1, -0.2, 0.3])
    a = solvers.iterate(g, AGDA(), np.ones(6), 0.1, 50, save_every=1)
    s = solvers.iterate(g, solvers.Splitting(), np.ones(6), 0.1, 50, save_every=1)
    np.testing.assert_allclose(np.asarray(a.states), np.asarray(s.states), rtol=0, atol=1e-12)
    # The gradient flow's Euler steps (sgda) are not: they spiral out.
    sg = solvers.iterate(g, SGDA(), np.ones(6), 0.1, 50)
    assert float(np.max(np.abs(np.asarray(sg.final) - np.asarray(a.final)))) > 0.1


def test_agda_against_its_splitting_is_order_one_in_general():
    game, z0 = GAMES["dirac-gan-r1"]
    res = solvers.compare(game, AGDA(), LRS[:3], 1.0, z0, "splitting")
    assert abs(res.order - 1.0) < 0.15
    with pytest.raises(ValueError, match="against='splitting' compares alternating GDA"):
        solvers.compare(game, SGDA(), LRS[:2], 1.0, z0, "splitting")


def test_sga_adjusted_field_closed_form_on_bilinear_and_quadratic_games():
    # V = xᵀ A y: F = (-A y, Aᵀ x), J = [[0, -A], [Aᵀ, 0]] is antisymmetric, so the adjusted field
    # F + (λ/2)(J - Jᵀ) F is F + λ J F = (-A y - λ A Aᵀ x, Aᵀ x - λ Aᵀ A y).  Measured: at most 1.3e-15
    # (fields up to 2.8 in size).
    rng = np.random.default_rng(11)
    A = rng.standard_normal((2, 3))
    x, y = rng.standard_normal(2), rng.standard_normal(3)
    g = flows.Bilinear(A)
    z = (jnp.asarray(x), jnp.asarray(y))
    for lam in (0.3, 1.7):
        want = np.concatenate([-A @ y - lam * A @ A.T @ x, A.T @ x - lam * A.T @ A @ y])
        sga = solvers.SGA(lam=lam)
        np.testing.assert_allclose(flows.ravel_field(sga.limit_field(g, z)), want, rtol=0, atol=3e-14)
        z1, _ = sga.step(g, z, None, jnp.array([0.1, 0.1]))
        np.testing.assert_allclose(flows.ravel_state(z1)[0], np.concatenate([x, y]) + 0.1 * want, rtol=0,
                                   atol=3e-14)
    # V = a x²/2 + b x y - c y²/2: J = [[-a, -b], [b, -c]] is not antisymmetric; only its antisymmetric
    # part [[0, -b], [b, 0]] adjusts the field.
    a, b, c, lam = 0.7, 1.3, -0.4, 0.9
    x0, y0 = 0.8, -0.3
    F = np.array([-a * x0 - b * y0, b * x0 - c * y0])
    want = F + lam * np.array([-b * F[1], b * F[0]])
    got = solvers.SGA(lam=lam).limit_field(flows.Quadratic.scalar(a, b, c), (jnp.asarray([x0]), jnp.asarray([y0])))
    np.testing.assert_allclose(flows.ravel_field(got), want, rtol=0, atol=3e-14)
