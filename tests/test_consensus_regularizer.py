"""Consensus as a regularizer of alternating GDA (``agda:consensus=c``): closed forms and orders."""

import jax
import numpy as np
import pytest
from gameflow import flows, solvers
from gameflow.flows.games.dirac_gan import equilibrium_jacobian


def alternating_map(A: np.ndarray, h: float) -> np.ndarray:
    """One alternating step of ``dz/dt = A z`` on two scalar players: x first, then y at the new x."""
    x_row = np.array([1 + h * A[0, 0], h * A[0, 1]])
    y_row = np.array([h * A[1, 0], 1 + h * A[1, 1]]) + h * A[1, 0] * (x_row - np.array([1.0, 0.0]))
    return np.vstack([x_row, y_row])


def test_the_step_is_the_alternating_map_of_the_consensus_jacobian():
    game, c = flows.DiracGAN(reg="r1", gamma=0.5), 0.7
    A = equilibrium_jacobian(game, consensus=c)  # J - c JᵀJ: the regularized field's Jacobian at (0, 0)
    for h in (0.05, 0.3):
        M = solvers.map_jacobian(game, solvers.AGDA(consensus=c), h)
        np.testing.assert_allclose(M, alternating_map(A, h), rtol=0, atol=1e-13)
    # Its limit field is the consensus flow's, whose Jacobian is the closed form.
    scheme = solvers.AGDA(consensus=c)
    z = game.equilibrium()
    v, unravel = flows.ravel_state(z)
    Jl = jax.jacfwd(lambda u: flows.ravel_field(scheme.limit_field(game, unravel(u))))(v)
    np.testing.assert_allclose(np.asarray(Jl), A, rtol=0, atol=1e-13)


def test_consensus_turns_agdas_centre_into_a_contraction():
    # Unregularized Dirac-GAN: J = [[0, -a], [a, 0]], agda's map has det 1 (a centre, |μ| = 1);
    # with consensus c the map's radius is that of the closed form above, below 1.
    game, h = flows.DiracGAN(), 0.2
    plain = np.abs(np.linalg.eigvals(solvers.map_jacobian(game, solvers.AGDA(), h)))
    np.testing.assert_allclose(plain, 1.0, atol=1e-13)
    rho = np.max(np.abs(np.linalg.eigvals(alternating_map(equilibrium_jacobian(game, consensus=1.0), h))))
    assert rho < 0.99
    got = solvers.map_spectrum(game, solvers.AGDA(consensus=1.0), h)
    assert abs(got.spectral_radius - rho) < 1e-13


def test_iterates_approach_the_independently_integrated_consensus_flow_at_order_one_and_two():
    game, c, z0, t_end = flows.DiracGAN(reg="r1", gamma=0.3), 0.5, np.array([0.6, -0.4]), 1.0
    ref = solvers.integrate(flows.ConsensusFlow(game, c), z0, t_end, rtol=1e-12, atol=1e-12)
    z_end = np.asarray(ref.states[-1])
    lrs = np.array([0.04, 0.02, 0.01])
    errs = [np.linalg.norm(np.asarray(solvers.iterate(game, solvers.AGDA(consensus=c), z0, h, round(t_end / h))
                                      .states[-1]) - z_end) for h in lrs]
    slope = np.polyfit(np.log(lrs), np.log(errs), 1)[0]
    assert abs(slope - 1.0) < 0.1, (slope, errs)
    # The hand-derived modified flow of agda, applied to the regularized field: second order.
    res = solvers.compare(game, solvers.AGDA(consensus=c), lrs, t_end, z0, "modified", method="hand")
    assert abs(res.order - 2.0) < 0.15, res.order


@pytest.mark.slow
def test_the_splitting_reference_splits_the_regularized_field():
    # Each player's exact sub-flow of the regularized field (diffrax solves inside every step: slow).
    game, c, z0, t_end = flows.DiracGAN(reg="r1", gamma=0.3), 0.5, np.array([0.6, -0.4]), 1.0
    lrs = np.array([0.04, 0.02, 0.01])
    res = solvers.compare(game, solvers.AGDA(consensus=c), lrs, t_end, z0, "splitting")
    # (Sub-flows of the plain field would leave an O(1) gap: order near 0.)
    assert abs(res.order - 1.0) < 0.15, res.order


def test_zero_weight_is_plain_agda_and_a_negative_one_is_refused():
    game, z0 = flows.DiracGAN(reg="r1"), np.array([0.6, -0.4])
    a = solvers.iterate(game, solvers.AGDA(), z0, 0.1, 50).states[-1]
    b = solvers.iterate(game, solvers.AGDA(consensus=0.0), z0, 0.1, 50).states[-1]
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(ValueError, match="consensus"):
        solvers.AGDA(consensus=-1.0)
    with pytest.raises(ValueError, match="gamma=-1"):
        flows.ConsensusGame(game, -1.0)
