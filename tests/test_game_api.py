"""Property tests of the game API on random shapes and pytrees."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gameflow import flows
from gameflow.flows import FieldGame, GeneralGame, ZeroSumGame
from hypothesis import given
from hypothesis import strategies as st

shapes = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)


@st.composite
def player_states(draw):
    """A player's state: an array, or a dict / list of arrays of random shapes."""
    kind = draw(st.sampled_from(["array", "dict", "list"]))
    if kind == "array":
        return np.zeros(draw(shapes))
    n = draw(st.integers(1, 3))
    leaves = [np.zeros(draw(shapes)) for _ in range(n)]
    return {f"w{i}": a for i, a in enumerate(leaves)} if kind == "dict" else leaves


def sq(tree):
    return sum(jnp.sum(a**2) for a in jax.tree.leaves(tree))


def dot(t1, t2):
    return sum(jnp.sum(a * b) for a, b in zip(jax.tree.leaves(t1), jax.tree.leaves(t2)))


def same_shape(t1, t2):
    return jax.tree.structure(t1) == jax.tree.structure(t2) and all(
        a.shape == b.shape for a, b in zip(jax.tree.leaves(t1), jax.tree.leaves(t2)))


@given(st.lists(player_states(), min_size=1, max_size=4), st.integers(0, 2**31 - 1))
def test_general_game_field_is_minus_own_gradient(template, seed):
    template = tuple(template)
    n = len(template)
    coef = np.random.default_rng(seed).uniform(0.5, 2.0, size=n)
    # L_i = c_i/2 |z_i|² + <z_i, z_{i+1}> when the two players' shapes agree
    # (else c_i/2 |z_i|²): the own gradient is c_i z_i (+ z_{i+1}).
    coupled = [n > 1 and same_shape(template[i], template[(i + 1) % n]) for i in range(n)]

    def make(i):
        def loss(*z):
            cross = dot(z[i], z[(i + 1) % n]) if coupled[i] else 0.0
            return coef[i] / 2 * sq(z[i]) + cross
        return loss

    game = GeneralGame([make(i) for i in range(n)], template)
    vec0, unravel = flows.ravel_state(game.template())
    z = unravel(jnp.asarray(np.random.default_rng(seed + 1).standard_normal(vec0.size)))
    f = game.vector_field(z)
    assert jax.tree.structure(f) == jax.tree.structure(z)
    for i in range(n):
        nxt = jax.tree.leaves(z[(i + 1) % n]) if coupled[i] else [0.0] * len(jax.tree.leaves(z[i]))
        for got, a, b in zip(jax.tree.leaves(f[i]), jax.tree.leaves(z[i]), nxt):
            np.testing.assert_allclose(got, -(coef[i] * a + b), rtol=1e-13, atol=1e-13)
    # Flattening round-trips, and the flat field has the state's dimension.
    v, unr = flows.ravel_state(z)
    assert jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.all(a == b)), unr(v), z))
    assert flows.ravel_field(f).shape == v.shape == (flows.state_size(z),)


@given(player_states(), player_states(), st.integers(0, 2**31 - 1))
def test_zero_sum_field_is_minus_grad_x_plus_grad_y(x0, y0, seed):
    # V = |x|²/2 - |y|²/2 + (Σx)(Σy): F = (-(x + Σy), -y + Σx).
    def V(x, y):
        sx = sum(jnp.sum(a) for a in jax.tree.leaves(x))
        sy = sum(jnp.sum(a) for a in jax.tree.leaves(y))
        return sq(x) / 2 - sq(y) / 2 + sx * sy

    game = ZeroSumGame(V, (x0, y0))
    vec0, unravel = flows.ravel_state(game.template())
    x, y = unravel(jnp.asarray(np.random.default_rng(seed).standard_normal(vec0.size)))
    sx = sum(float(jnp.sum(a)) for a in jax.tree.leaves(x))
    sy = sum(float(jnp.sum(a)) for a in jax.tree.leaves(y))
    fx, fy = game.vector_field((x, y))
    for got, a in zip(jax.tree.leaves(fx), jax.tree.leaves(x)):
        np.testing.assert_allclose(got, -(a + sy), rtol=1e-13, atol=1e-13)
    for got, b in zip(jax.tree.leaves(fy), jax.tree.leaves(y)):
        np.testing.assert_allclose(got, -b + sx, rtol=1e-13, atol=1e-13)
    assert game.losses((x, y))[0] == -game.losses((x, y))[1]


def test_equinox_module_as_a_player():
    # The discriminator is an MLP; its non-array leaves (activations) ride along.
    key = jax.random.PRNGKey(0)
    disc = eqx.nn.MLP(1, 1, 4, 1, key=key)
    real = jnp.array([[0.5], [-0.3]])

    def V(theta, d):
        fake = theta.reshape(1, 1)
        return jnp.mean(jax.nn.log_sigmoid(jax.vmap(d)(fake))) + jnp.mean(jax.nn.log_sigmoid(-jax.vmap(d)(real)))

    game = ZeroSumGame(V, (jnp.zeros(1), disc))
    z = game.template()
    f = game.vector_field(z)
    n = flows.state_size(z)
    assert n == 1 + sum(a.size for a in jax.tree.leaves(eqx.filter(disc, eqx.is_inexact_array)))
    assert flows.ravel_field(f).shape == (n,)
    J = flows.jacobian(game, z)
    assert J.shape == (n, n) and np.all(np.isfinite(J))
    # The discriminator's own gradient equals eqx.filter_grad of V in d.
    gd = eqx.filter_grad(lambda d: V(z[0], d))(disc)
    np.testing.assert_allclose(flows.ravel_field(f[1]), flows.ravel_field(gd), rtol=1e-13)


@given(player_states(), st.integers(0, 3))
def test_check_state_names_the_mismatch(tmpl, extra):
    game = FieldGame(lambda a, b: (a, b), (tmpl, np.zeros(2)))
    good = game.template()
    assert flows.state_size(game.check(good)) == flows.state_size(good)
    with pytest.raises(ValueError, match="players"):
        game.check(good + (np.zeros(1),) * (extra + 1))
    with pytest.raises(ValueError, match=r"leaf \d+ has shape \(3,\), expected \(2,\)"):
        game.check((good[0], np.zeros(3)))
    with pytest.raises(ValueError, match="not finite"):
        game.check((good[0], np.array([0.0, np.nan])))
    with pytest.raises(ValueError, match="must be a tuple"):
        game.check([good[0], good[1]])


def test_state_from_vector():
    g = flows.Bilinear(np.eye(2))
    z = flows.state_from_vector([1, 2, 3, 4], g.template())
    np.testing.assert_array_equal(z[0], [1, 2])
    with pytest.raises(ValueError, match="has 3 entries, the game's state has 4"):
        flows.state_from_vector([1, 2, 3], g.template())
    with pytest.raises(ValueError, match="not finite"):
        flows.state_from_vector([1, 2, np.inf, 4], g.template())


def test_constructor_errors():
    with pytest.raises(ValueError, match="ZeroSumGame: template has 3 players, exactly 2 allowed"):
        ZeroSumGame(lambda x, y: x * y, (0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="2 loss functions for 3 players"):
        GeneralGame([lambda *z: 0.0] * 2, (0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="must be a tuple"):
        FieldGame(lambda x: (x,), [0.0])
