"""``solvers.train``, ``gap_estimate``, ``path_angle`` and ``gameflow train``: closed forms, identities, resumes."""

import json
import os

import jax.numpy as jnp
import numpy as np
import pytest
from gameflow import flows, solvers

SMALL = {"m": 16, "latent": 3, "width": 6, "depth": 2}
CLI_SMALL = [f"--param={k}={v}" for k, v in SMALL.items()]
A, B, C = 1.5, 2.0, 0.7


def _quad_value(x, y):
    return 0.5 * A * jnp.sum(x**2) + B * jnp.dot(x, y) - 0.5 * C * jnp.sum(y**2)


def _quadratic():
    """``V = a/2 |x|² + b x·y - c/2 |y|²``: strongly convex-concave, saddle at 0."""
    return flows.ZeroSumGame(_quad_value, (jnp.array([0.3, -1.1]), jnp.array([0.8, 0.4])))


def _neural():
    return flows.make_game("neural-gan", SMALL)


def test_gap_estimate_equals_its_closed_form_for_every_k_and_tends_to_the_gap():
    """Inner gradient descent on a quadratic: ``x_k - x* = (1 - η a)^k (x - x*)``, so DG_k is known exactly."""
    game = _quadratic()
    x, y = np.array([0.3, -1.1]), np.array([0.8, 0.4])
    eta = 0.1
    xs, ys = -B * y / A, B * x / C  # each player's best response
    V = lambda x, y: float(_quad_value(x, y))  # noqa: E731
    gap = V(x, ys) - V(xs, y)
    assert gap == pytest.approx(0.5 * (A + B**2 / C) * x @ x + 0.5 * (C + B**2 / A) * y @ y, rel=1e-14)
    for k in (0, 1, 7, 60):
        exact = (gap - 0.5 * A * (1 - eta * A) ** (2 * k) * np.sum((x - xs) ** 2)
                 - 0.5 * C * (1 - eta * C) ** (2 * k) * np.sum((y - ys) ** 2))
        est = solvers.gap_estimate(game, (jnp.asarray(x), jnp.asarray(y)), k, eta)
        assert est == pytest.approx(exact, rel=1e-12, abs=1e-13), k
    errs = [gap - solvers.gap_estimate(game, (jnp.asarray(x), jnp.asarray(y)), k, eta) for k in (50, 100, 200, 800)]
    # Falls to the gap (at k = 800 the exact shortfall is 1.6e-50: what is left is rounding, of either sign).
    assert errs[0] > errs[1] > errs[2] > 0 and abs(errs[-1]) < 1e-14
    # The estimate is the Nikaido-Isoda sum: the same game written as a general-sum game gives the same number.
    gen = flows.GeneralGame([_quad_value, lambda x, y: -_quad_value(x, y)], (jnp.asarray(x), jnp.asarray(y)))
    assert solvers.gap_estimate(gen, (jnp.asarray(x), jnp.asarray(y)), 7, eta) == pytest.approx(
        solvers.gap_estimate(game, (jnp.asarray(x), jnp.asarray(y)), 7, eta), rel=1e-13)


def test_gap_estimate_on_a_matrix_game_reaches_the_exact_gap_by_projected_responses():
    """On simplices the responses are projected steps; a linear loss is minimised at a vertex in finitely many,
    so the estimate equals ``max_j (Aᵀx)_j - min_i (A y)_i`` exactly."""
    game = flows.make_game("matrix-game", {})
    A = np.asarray(game.A)
    x, y = np.array([0.6, 0.3, 0.1]), np.array([0.2, 0.2, 0.6])
    exact = np.max(A.T @ x) - np.min(A @ y)
    assert solvers.gap_estimate(game, np.concatenate([x, y]), 100, 0.5) == pytest.approx(exact, rel=1e-13)
    assert solvers.gap_estimate(game, np.concatenate([x, y]), 1, 0.01) < exact - 0.1


# sgda; a scheme with state (optax's Adam: its moments are carried) at per-player rates.
@pytest.mark.parametrize("scheme", ["sgda", "adam:b1=0.5,rates=1/0.5"])
def test_full_batch_training_equals_iterate(scheme):
    """The same steps as ``iterate``; the two are different compiled programs, and gameflow compiles with
    reassociation and FMA contraction allowed, so they agree to rounding (not necessarily bit for bit)."""
    from gameflow.experiments.parsing import scheme_from_cli

    game, s = _quadratic(), scheme_from_cli(scheme)
    res = solvers.train(game, s, 0.05, 70, eval_every=20, top_k=0, dg_steps=3)
    tr = solvers.iterate(game, s, game.start(), 0.05, 70, save_every=10)
    np.testing.assert_allclose(res.final, tr.final, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(res.states[1:3], np.asarray(tr.states)[[2, 4]], rtol=1e-13, atol=1e-15)
    assert res.status == "completed" and res.step == 70 and res.steps.tolist() == [0, 20, 40, 60, 70]
    v = res.states[-1]
    val = float(_quad_value(v[:2], v[2:]))
    assert res.losses[-1].tolist() == pytest.approx([val, -val], rel=1e-13)
    f = np.asarray(flows.ravel_field(game.vector_field((jnp.asarray(v[:2]), jnp.asarray(v[2:])))))
    np.testing.assert_allclose(res.grad_norms[-1], [np.linalg.norm(f[:2]), np.linalg.norm(f[2:])], rtol=1e-13)


def test_divergence_is_a_status_at_the_step_found():
    """Simultaneous GDA on ``V = x y`` grows by ``sqrt(1 + h²)`` a step: it leaves ``|z_i| ≤ 10`` at a known step."""
    game = flows.ZeroSumGame(lambda x, y: x * y, (jnp.asarray(1.0), jnp.asarray(0.5)))
    h, bound = 0.5, 10.0
    z, k = np.array([1.0, 0.5]), 0
    while np.max(np.abs(z)) <= bound:
        z = np.array([z[0] - h * z[1], z[1] + h * z[0]])
        k += 1
    res = solvers.train(game, solvers.make_scheme("sgda"), h, 200, eval_every=4, top_k=2, dg_steps=2, bound=bound)
    assert res.status == "diverged" and res.step == k - 1 < 200
    assert res.steps[-1] == k - 1 and np.all(np.isfinite(res.states)) and np.all(np.isfinite(res.losses))
    assert np.max(np.abs(res.final)) <= bound


class _Stop(Exception):
    pass


def test_minibatch_training_is_reproducible_and_resumes_bit_for_bit(tmp_path):
    game, s = _neural(), solvers.make_scheme("sgda")
    kw = dict(batch=8, eval_every=10, top_k=0, dg_steps=2)
    a = solvers.train(game, s, 0.05, 30, seed=3, **kw)
    b = solvers.train(game, s, 0.05, 30, seed=3, **kw)
    np.testing.assert_array_equal(a.states, b.states)
    np.testing.assert_array_equal(a.gap, b.gap)

    def interrupt(step, total):  # Ctrl-C after the checkpoint of step 20 was written
        if step == 20:
            raise _Stop

    with pytest.raises(_Stop):
        solvers.train(game, s, 0.05, 30, seed=3, out=str(tmp_path), progress=interrupt, **kw)
    c = solvers.train(game, s, 0.05, 30, seed=3, out=str(tmp_path), **kw)
    assert c.resumed_from == 20 and c.status == "completed"
    np.testing.assert_array_equal(c.states, a.states)
    np.testing.assert_array_equal(c.losses, a.losses)
    np.testing.assert_array_equal(c.metrics["mmd2"], a.metrics["mmd2"])
    other = solvers.train(game, s, 0.05, 30, seed=4, **kw)
    assert np.max(np.abs(other.final - a.final)) > 1e-6
    # Full batch: the mean field, not a sample of it.
    assert a.metrics["modes"][0] == 8 and np.all(np.isfinite(a.metrics["energy"]))
    with pytest.raises(ValueError, match="holds a different run .*seed"):
        solvers.train(game, s, 0.05, 30, seed=5, out=str(tmp_path), **kw)


def test_bad_library_inputs():
    game, s = _quadratic(), solvers.make_scheme("sgda")
    with pytest.raises(ValueError, match="has no minibatch"):
        solvers.train(game, s, 0.1, 10, batch=4)
    with pytest.raises(ValueError, match="steps=0"):
        solvers.train(game, s, 0.1, 0)
    with pytest.raises(ValueError, match="top_k=5 must be at most"):
        solvers.train(game, s, 0.1, 10, top_k=5)
    with pytest.raises(ValueError, match="learning rate"):
        solvers.train(game, s, -0.1, 10)
    with pytest.raises(ValueError, match="no losses"):
        solvers.gap_estimate(flows.FieldGame(lambda x, y: (y, -x), (0.0, 0.0)), (jnp.asarray(1.0), jnp.asarray(1.0)),
                             3, 0.1)


def _cli_run(cli, out, top_k):
    argv = ["train", "neural-gan", *CLI_SMALL, "--scheme", "sgda", "--lr", "0.05", "--steps", "20", "--batch", "8",
            "--eval-every", "10", "--top-k", str(top_k), "--dg-steps", "2", "--seed", "3", "--out", out]
    summary = cli.json(*argv)
    assert summary["status"] == "completed" and summary["step"] == 20 and summary["evaluations"] == 3
    with open(os.path.join(out, "metrics.json")) as f:
        doc = json.load(f)
    assert [e["step"] for e in doc["evaluations"]] == [0, 10, 20] and "not the exact gap" in doc["gap_definition"]
    assert doc["config"]["seed"] == 3 and len(doc["path_angle"]["cosine"]) == 101
    return argv, summary, doc


def test_cli_train_writes_its_files_resumes_and_refuses_another_run(cli, tmp_path):
    out = str(tmp_path / "run")
    argv, summary, doc = _cli_run(cli, out, 0)
    names = sorted(os.listdir(out))
    assert names == sorted(["checkpoint.npz", "metrics.json", "telemetry.png", "samples.png", "path_angle.png"]), names
    # The same run as the library's (same game, scheme, seed and batches).
    lib = solvers.train(_neural(), solvers.make_scheme("sgda"), 0.05, 20, batch=8, eval_every=10, top_k=0,
                        dg_steps=2, seed=3)
    assert summary["losses"] == lib.losses[-1].tolist() and summary["mmd2"] == lib.metrics["mmd2"][-1]
    pa = solvers.path_angle(_neural(), lib.states[0], lib.final)  # its closed forms: tests/test_path_angle.py
    np.testing.assert_allclose(doc["path_angle"]["cosine"], pa.cosine, rtol=1e-12)
    again = cli.json(*argv)
    assert again["resumed_from"] == 20 and again["losses"] == summary["losses"]
    cli.fails([a if a != "0.05" else "0.07" for a in argv], "holds a different run (differs in dg_lr, lr)")


@pytest.mark.slow
def test_cli_train_with_eigenvalues_writes_the_spectral_figures(cli, tmp_path):
    out = str(tmp_path / "run")
    _, summary, doc = _cli_run(cli, out, 2)
    for name in ("eigenvalues.png", "rotation.png"):
        assert os.path.getsize(os.path.join(out, name)) > 1000
    ev = np.array([[complex(*e) for e in row["eigenvalues"]] for row in doc["evaluations"]])
    assert ev.shape == (3, 2) and np.all(np.isfinite(ev))
    assert summary["max_im_over_re"][0] == pytest.approx(np.max(np.abs(ev[0].imag) / np.abs(ev[0].real)))


def test_plot_functions_draw_on_an_ax():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from gameflow.experiments import train_plots as tp

    ev = np.array([[1 + 2j, 1 - 2j, -0.5 + 0j], [0.1 + 3j, 0.1 - 3j, np.nan]])
    np.testing.assert_allclose(tp.rotation_ratio(ev), [2.0, 30.0])
    fig, axs = plt.subplots(1, 5)
    rng = np.random.default_rng(0)
    assert tp.samples_plot(axs[0], rng.standard_normal((20, 2)), rng.standard_normal((20, 2)), title="step 0",
                           lim=(-3, 3)).get_offsets().shape == (20, 2)
    assert tp.eigen_plane_plot(axs[1], ev[0], ev[1]).get_offsets().shape == (2, 2)
    assert len(tp.rotation_plot(axs[2], [0, 10], ev).get_xdata()) == 2
    pa = solvers.PathAngle(np.linspace(-0.2, 1.2, 5), np.linspace(-1, 1, 5), np.linspace(1, 100, 5), 1.0)
    assert len(tp.path_angle_plot(axs[3], pa).get_ydata()) == 5
    assert len(tp.curves_plot(axs[4], [0, 1], {"a": [1.0, 2.0], "b": [3.0, np.nan]}, log=True)) == 2
    plt.close(fig)


@pytest.mark.parametrize("extra,message", [
    (["--lr", "-1"], "must be > 0"),
    (["--lr", "0.1", "--batch", "0"], "must be an integer >= 1"),
    (["--lr", "0.1", "--batch", "17"], "batch 17 must be in [1, 16]"),
    (["--lr", "0.1", "--scheme", "nope"], "unknown scheme"),
    (["--lr", "0.1", "--dg-lr", "0"], "--dg-lr 0.0 must be > 0"),
])
def test_cli_bad_inputs_exit_2_with_one_line(cli, tmp_path, extra, message):
    argv = ["train", "neural-gan", *CLI_SMALL, "--steps", "5", "--out", str(tmp_path / "x"), *extra]
    if "--scheme" not in extra:
        argv += ["--scheme", "sgda"]
    cli.fails(argv, message)
