"""Table-driven tests over the registries: every game, every scheme, their declarations.

The registries are derived from the classes (``flows/games/__init__.py`` and
``solvers/schemes/__init__.py`` list them); these tests check that each
declaration holds: games build at their defaults and have finite fields,
stated equilibria are stationary, declared defaults match the constructors,
every scheme follows its *declared* continuous limit at its declared order,
and the automatic expansion of each stateless step agrees with that
declaration.
"""

import dataclasses
import inspect

import jax.numpy as jnp
import numpy as np
import pytest
from gameflow import flows, solvers
from gameflow.flows.params import Param, field_parameters

GAME_CLASSES = list(flows.GAMES.values())
SCHEME_CLASSES = list(solvers.SCHEMES.values())


def small(name):
    """Defaults, shrunk for particle games so that the table runs in seconds."""
    cls = flows.GAMES[name]
    names = {p.name for p in cls.parameters()}
    return {k: v for k, v in {"n": 16, "m": 16}.items() if k in names}


@pytest.mark.parametrize("name", list(flows.GAMES))
def test_every_game_builds_with_a_finite_field_and_a_stationary_equilibrium(name):
    game = flows.make_game(name, small(name))
    assert type(game).name == name
    z = game.start() or game.equilibrium() or game.template()
    f = flows.ravel_field(game.vector_field(z))
    assert f.size == flows.state_size(game.template()) and bool(jnp.all(jnp.isfinite(f)))
    eq = game.equilibrium()
    if eq is not None:
        assert float(flows.residual(game, eq)) < 1e-9, name
    if not type(game).exchangeable:
        assert game.metrics(z) == {} or all(np.isfinite(v) for v in game.metrics(z).values())


@pytest.mark.parametrize("cls", GAME_CLASSES, ids=lambda c: c.name)
def test_game_declarations_match_the_constructors(cls):
    """The registry and the classes cannot drift apart: one declaration, checked against the signature."""
    params = cls.parameters()
    names = [p.name for p in params]
    assert len(set(names)) == len(names), names
    assert all(isinstance(p, Param) and p.doc for p in params)
    # Where construction goes through the constructor itself, its defaults must be the declared ones.
    direct = cls.from_params.__func__ is flows.Game.from_params.__func__
    sig = inspect.signature(cls.__init__).parameters if direct else {}
    for p in params:
        if p.name in sig and sig[p.name].default is not inspect.Parameter.empty:
            d = sig[p.name].default
            same = np.array_equal(d, p.default) if d is not None and p.default is not None else d is p.default
            assert same, f"{cls.name}: {p.name} defaults to {d!r} in the constructor, {p.default!r} declared"
        if p.kind == "choice":
            assert p.default in p.choices, p
        elif p.default is not None:
            p.check(cls.name, p.default)  # every default is allowed by its own declaration
    described = {g["name"]: g for g in flows.describe_games()}[cls.name]
    assert [q["name"] for q in described["params"]] == names
    assert set(cls.sweepable()) <= set(names)


def test_bad_values_are_named_with_their_declared_rule():
    with pytest.raises(ValueError, match=r"dirac-gan: n_quad=1 must be an integer in \[2, 200\]"):
        flows.make_game("dirac-gan", {"n_quad": 1})
    with pytest.raises(ValueError, match=r"gaussian-gan: rho=1.5 must be a finite number in \(-1, 1\)"):
        flows.make_game("gaussian-gan", {"rho": 1.5})
    with pytest.raises(ValueError, match="exp-gan: unknown parameter 'gamma'; allowed: rate, centre, n_quad"):
        flows.make_game("exp-gan", {"gamma": 1.0})
    with pytest.raises(ValueError, match="unknown game 'nope'; choose from dirac-gan"):
        flows.make_game("nope")
    with pytest.raises(ValueError, match="unknown scheme 'nope'; choose from sgda, ttur"):
        solvers.make_scheme("nope")
    with pytest.raises(ValueError,
                       match="scheme agda: unknown parameter 'beta'; allowed: n_g, n_d, order, consensus, rates"):
        solvers.make_scheme("agda", beta=0.1)
    with pytest.raises(ValueError, match=r"consensus: gamma=-1.0 must be a finite number >= 0"):
        solvers.make_scheme("consensus", gamma=-1.0)


@pytest.mark.parametrize("cls", SCHEME_CLASSES, ids=lambda c: c.name)
def test_scheme_declarations(cls):
    scheme = cls()
    assert scheme.name == cls.name and solvers.SCHEMES[cls.name] is cls
    opts = cls.options()
    assert opts[-1].name == "rates"
    fields = {f.name for f in dataclasses.fields(cls)}
    assert {p.name for p in opts} == fields, "every option is declared with flows.param"
    for p in opts:
        if p.default is not None and p.kind != "choice":
            p.check(cls.name, p.default)
    assert cls.limit_order in (1, 2, None)
    assert isinstance(scheme.has_hand_modified(), bool)
    game = flows.DiracGAN()
    if cls.geometry == "simplex":  # declared: it runs on mixed strategies only (mwu, omwu, mirror-prox)
        with pytest.raises(ValueError, match="geometry simplex"):
            scheme.limit_field(game, game.template())
        game = flows.MatrixGame.rps()
    if cls.limit_order is None:  # no declared limit: asking for one is refused
        with pytest.raises(ValueError, match="no continuous limit"):
            scheme.limit_field(game, game.template())
    else:
        scheme.limit_field(game, game.template())


# The games every scheme is run on: nonlinear, two players, a known start.
def _general_sum():
    l1 = lambda x, y: (x - 1) ** 2 / 2 + jnp.sin(x) * (y + 0.5) ** 2 + 0.3 * x * y
    l2 = lambda x, y: (y + 0.5) ** 2 + 0.3 * (x - 1) * (y + 0.5) + 0.1 * (y + 0.5) ** 4 - 0.2 * jnp.cos(x) * y
    return flows.GeneralGame((l1, l2), (jnp.asarray(0.0), jnp.asarray(0.0)))


TABLE = {
    "dirac-gan-r1": (flows.DiracGAN(reg="r1", gamma=0.3), [0.8, -0.5]),
    "general-sum": (_general_sum(), [0.4, 0.9]),
}
LRS = [0.02, 0.01, 0.005, 0.0025]
NO_LIMIT = {c.name for c in SCHEME_CLASSES if c.limit_order is None}  # e.g. anderson: no flow declared


# One nonlinear game keeps the table fast; tests/test_limits.py measures sgda and agda on three.
@pytest.mark.parametrize("game_name", ["general-sum"])
@pytest.mark.parametrize("cls", SCHEME_CLASSES, ids=lambda c: c.name)
def test_every_scheme_follows_its_declared_limit_at_its_declared_order(cls, game_name):
    game, z0 = TABLE[game_name]
    scheme = cls()
    if cls.zero_sum_only and not game.zero_sum:  # declared: it needs the value V (e.g. gmn)
        with pytest.raises(ValueError, match="zero-sum"):
            solvers.compare(game, scheme, LRS, 1.0, z0, "gradient")
        game, z0 = TABLE["dirac-gan-r1"]  # its order is measured on the nonlinear zero-sum game instead
    if cls.geometry == "simplex":  # declared: it runs on mixed strategies only (mwu, omwu, mirror-prox)
        with pytest.raises(ValueError, match="geometry simplex"):
            solvers.compare(game, scheme, LRS, 1.0, z0, "gradient")
        game = flows.MatrixGame.rps()  # its order (against the replicator flow) is measured on simplices
        z0 = flows.ravel_state(game.start())[0]
    if cls.name in NO_LIMIT:
        with pytest.raises(ValueError, match="no continuous limit"):
            solvers.compare(game, scheme, LRS, 1.0, z0, "gradient")
        return
    res = solvers.compare(game, scheme, LRS, 1.0, z0, "gradient")
    assert abs(res.order - cls.limit_order) < 0.15, (cls.name, res.order, [r.error for r in res.rows])
    if scheme.has_hand_modified():
        res = solvers.compare(game, scheme, LRS, 1.0, z0, "modified", method="hand")
        assert abs(res.order - 2.0) < 0.15, (cls.name, res.order)


@pytest.mark.parametrize("game_name", list(TABLE))
# Splitting's step solves ODEs with diffrax, whose adjoint has no forward-mode derivative in h.
@pytest.mark.parametrize("cls", [c for c in SCHEME_CLASSES if c.stateless and c.name != "splitting"],
                         ids=lambda c: c.name)
def test_the_step_expands_to_the_declared_limit(cls, game_name):
    """Φ₁ (the h-derivative of the jitted step) equals the declared limit field at random points."""
    game, _ = TABLE[game_name]
    scheme = cls() if cls.name == "ttur" else cls(rates=(1.0, 1.7))
    if cls.zero_sum_only and not game.zero_sum:  # declared: it needs the value V (e.g. gmn)
        with pytest.raises(ValueError, match="zero-sum"):
            solvers.leading_auto(game, scheme, jnp.zeros(2))
        return
    rng = np.random.default_rng(1)
    points = [rng.standard_normal(2) for _ in range(3)]
    if cls.geometry == "simplex":  # declared: it runs on mixed strategies only (mwu, mirror-prox)
        with pytest.raises(ValueError, match="geometry simplex"):
            solvers.leading_auto(game, scheme, jnp.zeros(2))
        game = flows.MatrixGame.random(2, 3, 1)  # its expansion is checked at points of the simplices
        points = [np.r_[rng.dirichlet(np.ones(2)), rng.dirichlet(np.ones(3))] for _ in range(3)]
    for v in points:
        v = jnp.asarray(v)
        z = flows.state_from_vector(v, game.template())
        declared = flows.ravel_field(scheme.limit_field(game, z))
        np.testing.assert_allclose(solvers.leading_auto(game, scheme, v), declared, rtol=1e-12, atol=1e-12)


def test_limits_of_stateful_schemes_by_their_own_recursions():
    """OGDA and momentum carry state: their declared limits are DF and DF/(1 - β)."""
    game, z0 = TABLE["general-sum"]
    z = flows.state_from_vector(jnp.asarray(z0), game.template())
    f = flows.ravel_field(game.vector_field(z))
    ogda = flows.ravel_field(solvers.OGDA(rates=(1.0, 2.0)).limit_field(game, z))
    np.testing.assert_allclose(ogda, f * jnp.array([1.0, 2.0]), rtol=1e-14)
    mom = flows.ravel_field(solvers.Momentum(beta=-0.3).limit_field(game, z))
    np.testing.assert_allclose(mom, f / 1.3, rtol=1e-14)


def test_a_new_learning_rate_does_not_retrace():
    """Learning rates are traced: a second run at another rate traces the game's field no more."""
    traces = []

    def field(x, y):
        traces.append(1)
        return (-y - 0.1 * x, x - 0.1 * y)

    game = flows.FieldGame(field, (0.0, 0.0))
    for cls in (solvers.SGDA, solvers.AGDA, solvers.EG, solvers.OGDA):
        solvers.iterate(game, cls(), (1.0, 1.0), 0.1, 50)
        after_first = len(traces)
        solvers.iterate(game, cls(), (1.0, 1.0), 0.037, 50)
        assert len(traces) == after_first, cls.name


def test_field_parameters_are_the_sweepable_floats():
    assert flows.DiracGAN.sweepable() == ("gamma", "sigma", "clip", "g0", "eps")
    assert [p.name for p in field_parameters(flows.DiracGAN)][:2] == ["loss", "reg"]
    assert flows.Bilinear.sweepable() == ()


def _readme_block(tag):
    import pathlib
    import re

    text = (pathlib.Path(__file__).resolve().parent.parent / "README.md").read_text()
    m = re.search(rf"<!-- {tag}: [^>]*-->\n(.*?)\n<!-- /{tag} -->", text, re.S)
    assert m, f"README has no {tag} block"
    return m.group(1)


@pytest.mark.parametrize("command", ["games", "schemes"])
def test_readme_tables_are_the_declarations(cli, command):
    """The README's tables are derived: regenerate with `gameflow games --markdown` (or schemes)."""
    code, out, _ = cli.run(command, "--markdown")
    assert code == 0
    assert _readme_block(f"{command}-table") == out.strip(), f"README is stale: run gameflow {command} --markdown"
    code, out, _ = cli.run(command, "--json")
    names = [g["name"] for g in __import__("json").loads(out)]
    assert names == (list(flows.GAMES) if command == "games" else list(solvers.scheme_names()))
