"""Extending gameflow without touching its files: a game and a scheme declared here.

`Rotation` and `Heun` are what a user (or a contributor, before adding one
line to an index) writes.  They get parsing, validation, analysis, update-map
spectra, comparison with the continuous limit, and the command line.
"""

import json
import os
import subprocess
import sys
from typing import ClassVar

import jax.numpy as jnp
import numpy as np
import pytest
from gameflow import flows, solvers
from gameflow.solvers.schemes.base import player_step

HERE = os.path.abspath(__file__)


class Rotation(flows.Game):
    """A rotation with friction: F = (-a x - b y, b x - a y), eigenvalues -a ± i b."""

    name: ClassVar[str] = "rotation"
    equilibrium_note: ClassVar[str] = "(0, 0)"

    a: float = flows.param(0.1, "friction", low=0)
    b: float = flows.param(1.0, "rotation speed")

    def template(self):
        return (jnp.zeros(()), jnp.zeros(()))

    def vector_field(self, z):
        x, y = z
        return (-self.a * x - self.b * y, self.b * x - self.a * y)

    def equilibrium(self):
        return self.template()


class Heun(solvers.Scheme):
    """Heun's method (explicit trapezoid): z + h/2 (F(z) + F(z + h F(z))), second order."""

    name: ClassVar[str] = "heun"
    limit_order: ClassVar[int] = 2  # it follows the gradient flow itself to O(h²)

    def step(self, game, z, state, lr):
        f0 = game.vector_field(z)
        f1 = game.vector_field(player_step(z, f0, lr))
        mean = tuple(0.5 * (u + v) for u, v in zip(f0, f1))
        return player_step(z, mean, lr), state


def test_declared_parameters_are_parsed_validated_and_sweepable():
    g = flows.make_game(Rotation, {"a": 0.25})
    assert (g.a, g.b) == (0.25, 1.0)
    assert Rotation.sweepable() == ("a", "b")
    assert [p["name"] for p in flows.registry.describe(Rotation)["params"]] == ["a", "b"]
    with pytest.raises(ValueError, match="rotation: a=-1.0 must be a finite number >= 0"):
        Rotation(a=-1.0)
    with pytest.raises(ValueError, match="rotation: unknown parameter 'c'; allowed: a, b"):
        flows.make_game(Rotation, {"c": 1.0})


def test_analysis_and_spectra_against_closed_forms():
    a, b, h = 0.3, 2.0, 0.1
    res = flows.analyze(Rotation(a=a, b=b))
    ev = sorted(res.eigenvalues, key=lambda e: e.imag)
    np.testing.assert_allclose([ev[0], ev[1]], [-a - 1j * b, -a + 1j * b], atol=1e-13)
    assert res.classification == "stable spiral"
    # Heun's amplification factor on λ: 1 + hλ + (hλ)²/2.
    lam = -a + 1j * b
    ms = solvers.map_spectrum(Rotation(a=a, b=b), Heun(), h)
    assert abs(ms.spectral_radius - abs(1 + h * lam + (h * lam) ** 2 / 2)) < 1e-13


def test_the_declared_order_is_measured():
    game = Rotation(a=0.2, b=1.0)
    res = solvers.compare(game, Heun(), [0.04, 0.02, 0.01, 0.005], 2.0, (1.0, 0.5), "gradient")
    assert abs(res.order - Heun.limit_order) < 0.1, res.order
    # The same machinery rejects a scheme that declares the wrong limit: sgda is first order.
    res = solvers.compare(game, solvers.SGDA(), [0.04, 0.02, 0.01, 0.005], 2.0, (1.0, 0.5), "gradient")
    assert abs(res.order - 1.0) < 0.1


def test_the_command_line_takes_them_from_this_file():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.path.dirname(HERE),
                                                                        os.environ.get("PYTHONPATH")]))}
    argv = [sys.executable, "-m", "gameflow", "compare", f"{HERE}:Rotation", "--param", "a=0.2",
            "--scheme", f"{HERE}:Heun", "--lrs", "0.04,0.02,0.01", "--t-end", "2", "--point", "1,0.5", "--json"]
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    out = json.loads(p.stdout)
    assert abs(out["order"] - 2.0) < 0.1, out
    p = subprocess.run([sys.executable, "-m", "gameflow", "analyze", f"{HERE}:Rotation", "--param", "b=3",
                        "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    ev = sorted(json.loads(p.stdout)["eigenvalues"], key=lambda e: e[1])
    np.testing.assert_allclose(ev, [[-0.1, -3.0], [-0.1, 3.0]], atol=1e-13)
    p = subprocess.run([sys.executable, "-m", "gameflow", "analyze", f"{HERE}:Rotation", "--scheme",
                        f"{HERE}:Heun:beta=1", "--lr", "0.1"], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
    assert "unknown parameter 'beta'; allowed: rates" in p.stderr
