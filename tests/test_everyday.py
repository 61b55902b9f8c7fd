"""Everyday commands tell the truth about how a run ended, refuse runaway work, and stop on Ctrl-C.

Each test here failed before the fix it checks (issue: everyday commands).
"""

import signal
import subprocess
import sys
import time

import jax.numpy as jnp
import numpy as np
import pytest
from gameflow import flows, solvers


def test_a_flow_out_of_step_budget_says_so_and_keeps_the_state_reached():
    # The R1 Dirac-GAN flow decays like exp(-t/2)-ish; an explicit solver crossing t = 1e12 runs out of its
    # budget long before.  Before: status "diverged", and at 1e12 `final` was the start (1, 1).
    flow = flows.GradientFlow(flows.DiracGAN(reg="r1"))
    for t_end in (1e6, 1e12):
        tr = solvers.integrate(flow, [1.0, 1.0], t_end, saveat=np.linspace(0, t_end, 6), max_steps=20_000)
        assert tr.status_name() == "max-steps"
        assert 0 < float(tr.t_final) < t_end
        # The state reached is the one the solver had at t_final: the flow has long settled there.
        assert float(np.linalg.norm(tr.final)) < 1e-8
    # The same budget with an implicit solver reaches the end.
    tr = solvers.integrate(flow, [1.0, 1.0], 1e6, solver="kvaerno5", max_steps=20_000)
    assert tr.status_name() == "completed" and float(tr.t_final) == 1e6
    assert float(np.linalg.norm(tr.final)) < 1e-12


def test_a_flow_stops_at_a_stationary_point_with_a_tolerance():
    flow = flows.GradientFlow(flows.DiracGAN(reg="r1"))
    tr = solvers.integrate(flow, [1.0, 1.0], 1e6, saveat=np.linspace(0, 1e6, 4), tol=1e-9)
    assert tr.status_name() == "converged"
    assert float(jnp.linalg.norm(flows.ravel_field(flow.field(flows.state_from_vector(
        np.asarray(tr.final), flow.game.template()))))) <= 1e-9
    assert 0 < float(tr.t_final) < 1e3
    # Saved rows after the stop hold the state reached, not the start, not NaN.
    np.testing.assert_array_equal(np.asarray(tr.states[-1]), np.asarray(tr.final))


def test_a_blow_up_reports_the_time_of_the_last_good_state():
    g = flows.FieldGame(lambda x: (x**2,), (jnp.asarray(0.0),))
    tr = solvers.integrate(flows.GradientFlow(g), [1.0], 2.0, saveat=np.linspace(0, 2, 5))
    assert tr.status_name() == "diverged"
    # z = 1 / (1 - t): the last saved good state is z(0.5) = 2, and t_final is its time.
    assert float(tr.t_final) == 0.5
    np.testing.assert_allclose(np.asarray(tr.final), [2.0], rtol=1e-8)


def test_simulate_flow_reports_max_steps(cli):
    out = cli.json("simulate", "dirac-gan", "--param", "reg=r1", "--flow", "gradient", "--t-end", "1e12",
                   "--max-steps", "5000")
    assert out["status"] == "max-steps" and 0 < out["t_final"] < 1e12
    assert np.linalg.norm(out["final"]) < 1e-3
    code, text, _ = cli.run("simulate", "dirac-gan", "--param", "reg=r1", "--flow", "gradient", "--t-end", "1e12",
                            "--max-steps", "5000")
    assert code == 0 and "raise --max-steps" in text
    out = cli.json("simulate", "dirac-gan", "--param", "reg=r1", "--flow", "gradient", "--t-end", "1e6",
                   "--tol", "1e-9")
    assert out["status"] == "converged" and out["residual"] <= 1e-9


def test_runaway_step_counts_are_refused_unless_forced(cli):
    code, _, err = cli.run("simulate", "dirac-gan", "--scheme", "sgda", "--lr", "0.01", "--steps", str(10**12))
    assert code == 2 and "--force" in err and err.count("\n") == 1
    code, _, err = cli.run("compare", "dirac-gan", "--scheme", "sgda", "--lrs", "1e-9,2e-9")
    assert code == 2 and "--force" in err and "3e+09" in err
    code, _, err = cli.run("simulate", "dirac-gan", "--flow", "gradient", "--t-end", "inf")
    assert code == 2 and "--t-end" in err


# As a terminal starts it: SIGINT at its default.  A job started in the background by a non-interactive shell
# (`make test &`, nohup) inherits SIGINT ignored, and Python, like any program, leaves an ignored SIGINT
# ignored; a signal disposition survives exec only when it is "ignore", so resetting it here and exec'ing
# gives the command a user's terminal.
_AS_FROM_A_TERMINAL = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                       "os.execv(sys.executable, [sys.executable] + sys.argv[1:])")


def test_ctrl_c_stops_a_long_compiled_run_within_a_second(tmp_path):
    # A 6·10^8-step scheme run is one compiled loop (about a minute): Python's own SIGINT handling would wait
    # for it to end.  (A run of a few seconds could end on its own before the signal counts.)
    cmd = [sys.executable, "-c", _AS_FROM_A_TERMINAL, "-m", "gameflow", "compare", "dirac-gan", "--scheme", "sgda",
           "--lrs", "1e-7,2e-7", "--t-end", "40", "--force"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        time.sleep(4.0)
        assert p.poll() is None, "the run ended before it could be interrupted"
        p.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        out, err = p.communicate(timeout=30)
        waited = time.monotonic() - t0
    finally:
        p.kill()  # never leave a minute-long run behind a failed check
    assert p.returncode == 130, (out.decode(), err.decode())
    assert waited < 1.5
    assert err.decode().strip() == "gameflow: interrupted"
    assert "Traceback" not in err.decode()


def _shifted_game(names=None):
    # V = ½(x-1)² + (x-1)(y-2) - ½(y-2)²: a stable spiral at (1, 2), not declared to the game.
    return flows.ZeroSumGame(lambda x, y: 0.5 * (x - 1) ** 2 + (x - 1) * (y - 2) - 0.5 * (y - 2) ** 2,
                             (jnp.asarray(0.0), jnp.asarray(0.0)), names=names)


def test_convergence_pictures_measure_to_a_stationary_point_or_say_residual():
    from gameflow.experiments import figures

    # Before: the distance to the origin, labelled "distance to equilibrium", for a game whose equilibrium is (1, 2).
    ref = figures.reference(_shifted_game(), np.zeros(2))
    np.testing.assert_allclose(ref.point, [1.0, 2.0], atol=1e-10)
    assert "found" in ref.label
    fig = figures.convergence_figure(_shifted_game(), [("sgda", solvers.SGDA(), 0.1)], np.zeros(2), 200)
    ax = fig.axes[0]
    assert "stationary point (1, 2) found" in ax.get_ylabel()
    # The plotted distance is to (1, 2): it falls to rounding, not to the constant |(1, 2)|.
    assert ax.lines[0].get_ydata()[-1] < 1e-8
    # A field with no stationary point anywhere: the residual, said on the axis.
    drift = flows.FieldGame(lambda x, y: (1.0 + 0 * x, -y), (0.0, 0.0))
    ref = figures.reference(drift, np.zeros(2))
    assert ref.point is None and ref.label.startswith("residual")
    fig = figures.convergence_figure(drift, [("sgda", solvers.SGDA(), 0.1)], np.zeros(2), 20)
    assert fig.axes[0].get_ylabel().startswith("residual |F(z)|")
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata()[-1], 1.0, rtol=1e-6)


def test_portraits_use_coordinate_names_and_say_when_they_are_slices():
    import matplotlib.pyplot as plt
    from gameflow.experiments import plots

    fig, ax = plt.subplots()
    plots.phase_portrait(ax, _shifted_game(names=("x", "y")), xlim=(0, 2), ylim=(1, 3), n=11)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "y")
    assert not [t for t in ax.texts if "slice" in t.get_text()]
    fig, ax = plt.subplots()
    plots.phase_portrait(ax, flows.DiracGAN(), xlim=(-1, 1), ylim=(-1, 1), n=11)
    assert ax.get_xlabel().startswith("θ") and ax.get_ylabel().startswith("ψ")
    fig, ax = plt.subplots()
    g = flows.make_game("quadratic", {"dim": 3})
    plots.phase_portrait(ax, g, xlim=(-1, 1), ylim=(-1, 1), n=11, where="the equilibrium")
    notes = [t.get_text() for t in ax.texts if "slice" in t.get_text()]
    assert notes == ["2-D slice of a 6-number state; other coordinates at the equilibrium"]
    plt.close("all")


def test_sweep_verdicts_are_one_definition():
    from gameflow.experiments import figures
    from gameflow.solvers.grid import GridResult, verdicts
    from gameflow.solvers.trajectory import CONVERGED, DIVERGED, MAX_STEPS

    # Four runs at each of 2 x 1 grid points: ran out of steps at |F| = 1e-7 (converged by the residual, which the
    # old summary missed), at 1e-3 (neither), stopped at its tolerance, diverged.
    status = np.array([[[MAX_STEPS, MAX_STEPS, CONVERGED, DIVERGED]], [[MAX_STEPS, MAX_STEPS, MAX_STEPS, MAX_STEPS]]])
    residual = np.array([[[1e-7, 1e-3, 1e-9, 1e9]], [[1e-7, 1e-8, 1e-12, 0.0]]])
    res = GridResult(status, np.ones_like(status), np.ones(status.shape), np.full(status.shape, np.nan), residual,
                     [("lr", np.array([0.1, 0.2])), ("gamma", np.array([1.0]))])
    np.testing.assert_array_equal(verdicts(res), [[[0, 1, 0, 2]], [[0, 0, 0, 0]]])
    np.testing.assert_array_equal(verdicts(res, tol=1e-2), [[[0, 0, 0, 2]], [[0, 0, 0, 0]]])
    fig = figures.grid_figure(res)
    mesh = fig.axes[0].collections[0]
    # Point (lr 0.1): one run diverged -> diverged (2); point (lr 0.2): all converged (0).
    np.testing.assert_array_equal(np.asarray(mesh.get_array()).ravel(), [2, 0])


def test_sweep_summary_counts_what_the_picture_shows(cli, tmp_path):
    from gameflow.solvers.grid import read_grid, verdicts

    out = cli.json("sweep", "dirac-gan", "--param", "reg=r1", "--scheme", "sgda", "--grid", "lr=0.05:2:5",
                   "--grid", "gamma=0:2:3", "--steps", "200", "--out", str(tmp_path / "sw"))
    result, _ = read_grid(out["file"])
    v = verdicts(result)
    assert out["verdicts"] == {"converged": int(np.sum(v == 0)), "neither": int(np.sum(v == 1)),
                               "diverged": int(np.sum(v == 2))}
    # No --tol: no run stops early, so the status never says converged, but runs do end at |F| <= 1e-6.
    assert "converged" not in out["status_counts"] and out["verdicts"]["converged"] > 0


def test_rate_colours_are_not_set_by_one_outlier():
    import matplotlib.pyplot as plt
    from gameflow.experiments import plots

    values = np.linspace(0.0, 1.0, 100).reshape(10, 10)
    values[3, 4] = 1e6
    fig, ax = plt.subplots()
    mesh = plots.sweep_heatmap(ax, values, np.arange(10) + 1.0, np.arange(10.0), xlabel="x", ylabel="y",
                               robust=True)
    lo, hi = mesh.get_clim()
    assert hi < 1.0 and lo > 0.0
    plt.close(fig)


def test_weight_clipping_clips_every_iterate_of_every_scheme():
    # Before: clipping zeroed the field's outward component only once |psi| >= clip, so a step from inside
    # overshot the box (sgda from psi = 0.4 reached |psi| > 0.5).
    g = flows.DiracGAN(loss="wgan", clip=0.5)
    touched = []
    for name in solvers.scheme_names():
        scheme = solvers.make_scheme(name)
        if scheme.geometry == "simplex":  # declared: mixed strategies only (tests/test_matrix_games.py)
            continue
        tr = solvers.iterate(g, scheme, [1.0, 0.4], 0.1, 300, save_every=1)
        psi = np.abs(np.asarray(tr.states)[:, 1])
        assert psi.max() <= 0.5, name
        touched.append(psi.max() == 0.5)
    assert sum(touched) >= len(touched) // 2  # the box is active, so the check is not vacuous


def test_clipped_iterates_follow_the_projected_flow_at_order_one():
    g = flows.DiracGAN(loss="wgan", clip=0.5)
    comp = solvers.compare(g, solvers.SGDA(), [0.02, 0.01, 0.005, 0.0025], 4.0, [1.0, 0.4])
    # Measured: 1.003, errors 1.0e-2 ... 1.25e-3; the flow spends most of [0, 4] on the boundary psi = 0.5.
    assert abs(comp.order - 1) < 0.02
    flow = solvers.integrate(flows.GradientFlow(g), [1.0, 0.4], 4.0, saveat=np.linspace(0, 4, 41))
    assert np.sum(np.isclose(np.asarray(flow.states)[:, 1], 0.5, atol=1e-9)) > 10


def test_starts_outside_the_clip_box_are_refused(cli):
    g = flows.DiracGAN(loss="wgan", clip=0.5)
    for run in (lambda: solvers.iterate(g, solvers.SGDA(), [1.0, 0.7], 0.1, 5),
                lambda: solvers.integrate(flows.GradientFlow(g), [1.0, -0.7], 1.0),
                lambda: solvers.sweep(g, solvers.SGDA(), np.array([[0.0, 0.0], [1.0, 0.7]]), np.array([0.1, 0.1]), 5)):
        try:
            run()
        except ValueError as e:
            assert "outside dirac-gan's feasible set" in str(e) and "0.7" in str(e)
        else:
            raise AssertionError("a start outside the clip box was accepted")
    code, _, err = cli.run("simulate", "dirac-gan", "--param", "loss=wgan", "--param", "clip=0.5", "--scheme", "sgda",
                           "--lr", "0.1", "--steps", "10", "--point", "1,0.7")
    assert code == 2 and err.count("\n") == 1 and "feasible set" in err


NOISY = '''
import os
import jax.numpy as jnp
import pytest
from gameflow import flows
print("hello from the user file")
os.write(1, b"raw write to descriptor 1\\n")
def make():
    print("the factory talks too")
    return flows.ZeroSumGame(lambda x, y: x * y + 0.1 * x**2 - 0.1 * y**2, (jnp.asarray(0.0), jnp.asarray(0.0)),
                             known_equilibrium=(jnp.asarray(0.0), jnp.asarray(0.0)))
'''


def test_json_stdout_holds_one_object_even_when_user_code_prints(tmp_path):
    import json

    (tmp_path / "noisy.py").write_text(NOISY)
    p = subprocess.run([sys.executable, "-m", "gameflow", "analyze", "noisy.py:make", "--json"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("\n") == 1
    assert json.loads(p.stdout)["classification"] == "stable spiral"
    # Nothing is lost: the user's output went to stderr.
    assert "hello from the user file" in p.stderr and "raw write to descriptor 1" in p.stderr
    assert "the factory talks too" in p.stderr


def test_json_stdout_in_process(cli, tmp_path):
    (tmp_path / "noisy.py").write_text(NOISY)
    out = cli.json("analyze", f"{tmp_path}/noisy.py:make")  # asserts exactly one line on stdout
    assert out["classification"] == "stable spiral"


BAD_GAMES = {
    "exits": ("import sys\nsys.exit(0)\n", "called sys.exit(0)"),
    "exits_in_factory": ("import sys\ndef make():\n    sys.exit(3)\n", "called sys.exit(3)"),
    "branches": ("import jax.numpy as jnp\nfrom gameflow import flows\n"
                 "def v(x, y):\n    return x * y if x > 0 else -x * y\n"
                 "def make():\n    return flows.ZeroSumGame(v, (jnp.asarray(0.0), jnp.asarray(0.0)))\n",
                 "branches in Python on a traced value"),
    "vector_value": ("import jax.numpy as jnp\nfrom gameflow import flows\n"
                     "def make():\n    return flows.ZeroSumGame(lambda x, y: x * y, (jnp.zeros(2), jnp.zeros(3)))\n",
                     "fails at the template"),
    "short_field": ("import jax.numpy as jnp\nfrom gameflow import flows\n"
                    "def make():\n"
                    "    return flows.FieldGame(lambda x, y: (-y,), (jnp.asarray(0.0), jnp.asarray(0.0)))\n",
                    "one entry per player (2), got 1"),
    "wrong_shape": ("import jax.numpy as jnp\nfrom gameflow import flows\n"
                    "def make():\n"
                    "    return flows.FieldGame(lambda x, y: (-y, jnp.zeros(3)), (jnp.zeros(2), jnp.zeros(2)))\n",
                    "player 1 has shapes [(3,)]"),
    "bad_equilibrium": ("import jax.numpy as jnp\nfrom gameflow import flows\n"
                        "def make():\n    return flows.ZeroSumGame(lambda x, y: x @ y, (jnp.zeros(2), jnp.zeros(2)),\n"
                        "                             known_equilibrium=(jnp.zeros(3), jnp.zeros(2)))\n",
                        "known equilibrium"),
}


def test_faulty_user_games_are_named_in_one_line(cli, tmp_path):
    for name, (code_text, expected) in BAD_GAMES.items():
        (tmp_path / f"{name}.py").write_text(code_text)
        attr = "make" if "def make" in code_text else "anything"
        code, out, err = cli.run("analyze", f"{tmp_path}/{name}.py:{attr}")
        assert code == 2, (name, out, err)
        assert err.count("\n") == 1 and expected in err, (name, err)
        assert "Traceback" not in err


def test_an_experiment_swaps_its_outputs_in_only_when_finished(tmp_path, monkeypatch):
    import json

    from gameflow.experiments import runner
    from gameflow.experiments.context import Experiment

    out = tmp_path / "res"
    out.mkdir()
    # A previous (full) run: its report, results and a figure the new run does not draw.
    (out / "results.json").write_text(json.dumps({"figures": ["full_only.png", "shared.png"]}))
    (out / "report.md").write_text("old report")
    (out / "full_only.png").write_bytes(b"old")
    (out / "shared.png").write_bytes(b"old")
    (out / "notes.txt").write_text("the user's own file")

    def interrupted(ctx):
        import matplotlib.pyplot as plt

        ctx.figure(plt.figure(), "shared.png")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runner.run_experiment(Experiment("x", "test", "none", interrupted), str(out), quick=True)
    # Killed mid-run: the previous results are untouched, no new figure beside the old report.
    assert (out / "shared.png").read_bytes() == b"old" and (out / "report.md").read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]  # the staging folder is gone

    def finished(ctx):
        import matplotlib.pyplot as plt

        ctx.figure(plt.figure(), "shared.png")
        ctx.claim("c", "t", "m", True)

    ctx = runner.run_experiment(Experiment("x", "test", "none", finished), str(out), quick=True)
    assert ctx.out == str(out)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["notes.txt", "report.md", "results.json", "shared.png"]
    assert (out / "shared.png").read_bytes() != b"old"
    assert json.loads((out / "results.json").read_text())["mode"] == "quick"


# Slow set: PDF/SVG rendering; the PNG path is checked by every picture test.
@pytest.mark.slow
def test_figures_in_vector_formats_and_at_a_chosen_resolution(cli, tmp_path):
    code, _, err = cli.run("plot", "dirac-gan", "--param", "reg=r1", "--t-end", "5", "-o", str(tmp_path / "p.pdf"))
    assert code == 0, err
    assert (tmp_path / "p.pdf").read_bytes()[:5] == b"%PDF-"
    code, _, err = cli.run("plot", "dirac-gan", "--kind", "convergence", "-o", str(tmp_path / "c.svg"))
    assert code == 0, err
    assert b"<svg" in (tmp_path / "c.svg").read_bytes()[:1000]
    from PIL import Image

    sizes = []
    for dpi in ("50", "100"):
        path = tmp_path / f"p{dpi}.png"
        assert cli.run("plot", "dirac-gan", "--t-end", "5", "--dpi", dpi, "-o", str(path))[0] == 0
        sizes.append(Image.open(path).size[0])
    assert 1.8 < sizes[1] / sizes[0] < 2.2


def test_sizes_that_cannot_fit_in_memory_are_one_line(cli):
    code, _, err = cli.run("analyze", "mmd-flow", "--param", f"n={10**12}")
    # Refused before anything is allocated, with what it needs and what there is.
    assert code == 2 and err.count("\n") == 1 and "TiB of memory, more than the" in err and "available" in err


def test_output_paths_that_are_folders_or_other_files_are_refused(cli, tmp_path):
    (tmp_path / "keep.py").write_text("precious = 1\n")
    for out in (str(tmp_path), str(tmp_path / "keep.py")):
        code, _, err = cli.run("simulate", "dirac-gan", "--scheme", "sgda", "--lr", "0.1", "--steps", "5", "--out", out)
        assert code == 2 and "must name a .npz file" in err
    assert (tmp_path / "keep.py").read_text() == "precious = 1\n"
    (tmp_path / "d.png").mkdir()
    code, _, err = cli.run("plot", "dirac-gan", "--t-end", "2", "-o", str(tmp_path / "d.png"))
    assert code == 2 and "it is a folder" in err
    code, _, err = cli.run("sweep", "dirac-gan", "--scheme", "sgda", "--grid", "lr=0.1:1:2", "--steps", "5", "--out",
                           str(tmp_path / "keep.py"))
    assert code == 2 and "cannot use --out" in err


def test_a_long_command_shows_it_is_working_and_erases_the_line():
    import io

    from gameflow.experiments.cli import Ticker

    stream = io.StringIO()
    with Ticker("gameflow simulate", stream=stream, after=0.05, every=0.05):
        time.sleep(0.3)
    text = stream.getvalue()
    assert "gameflow simulate: working," in text and "(Ctrl-C stops it)" in text
    assert text.endswith("\r")  # erased at the end
    quiet = io.StringIO()
    with Ticker("gameflow analyze", stream=quiet, after=5.0):
        pass
    assert quiet.getvalue() == ""  # a quick command prints nothing


def test_a_truncated_chunk_of_a_resumed_sweep_is_recomputed(cli, tmp_path):
    from gameflow.solvers.grid import read_grid

    argv = ["sweep", "dirac-gan", "--scheme", "sgda", "--grid", "lr=0.1:1:20", "--steps", "50", "--chunk", "8",
            "--out", str(tmp_path / "sw")]
    first = cli.json(*argv)
    whole = read_grid(first["file"])[0]
    chunk = tmp_path / "sw" / "chunks" / "chunk_00000.npz"
    chunk.write_bytes(chunk.read_bytes()[:100])  # a run killed mid-write by something other than gameflow
    (tmp_path / "sw" / "sweep.npz").unlink()
    again = cli.json(*argv)
    redone = read_grid(again["file"])[0]
    np.testing.assert_array_equal(redone.rate, whole.rate)
    np.testing.assert_array_equal(redone.status, whole.status)


@pytest.mark.filterwarnings("ignore:Animation was deleted without rendering anything")
def test_animation_frames_are_titled_with_the_time():
    import matplotlib.pyplot as plt
    from gameflow.experiments import plots

    fig, ax = plt.subplots()
    ts = np.linspace(0.0, 5.0, 11)
    anim = plots.animate(ax, {"a": np.c_[ts, ts]}, frames=11, times=ts, title="dirac-gan")
    anim._func(6)
    assert ax.get_title() == "dirac-gan: t = 2.5"
    fig2, ax2 = plt.subplots()
    frames = np.zeros((3, 4, 2))
    anim2 = plots.animate_particles(ax2, frames, times=[0.0, 0.5, 1.0])
    anim2._func(2)
    assert ax2.get_title() == "t = 1"
    plt.close("all")


def test_results_record_every_parameter_of_a_user_factory(cli, tmp_path):
    (tmp_path / "mg.py").write_text(
        "from gameflow import flows\n"
        "print('loaded')\n"
        "def make(k=1.0, shift=0.5, label='a'):\n"
        "    return flows.ZeroSumGame(lambda x, y: k * x * y - 0.5 * y**2, (0.0, 0.0), known_equilibrium=(0.0, 0.0))\n")
    code, out, err = cli.run("analyze", f"{tmp_path}/mg.py:make", "--param", "k=2", "--json")
    assert code == 0, err
    import json

    assert json.loads(out)["params"] == {"k": 2, "shift": 0.5, "label": "a"}
    assert err.count("loaded") == 1  # the file ran once


def test_game_sizes_are_checked_before_the_game_is_built(cli):
    from gameflow.experiments.resources import check_memory

    # Before: quadratic dim=30000 was killed by the operating system while building its matrices.
    assert flows.game_class("quadratic").footprint({"dim": 30000}) > 25 * 2**30
    assert flows.game_class("mmd-flow").footprint({"n": 10**6, "m": 256, "dim": 2}) < 2**30
    with pytest.raises(ValueError, match=r"needs about 8.0 GiB of memory, more than the 4.0 GiB available"):
        check_memory(8 * 2**30, "x", available=4 * 2**30)
    check_memory(2 * 2**30, "x", available=4 * 2**30)
    code, _, err = cli.run("analyze", "quadratic", "--param", "dim=100000")
    assert code == 2 and "quadratic with dim=100000 needs about 298.0 GiB" in err
    code, _, err = cli.run("analyze", "mmd-flow", "--param", "n=100000")
    assert code == 2 and "the dense Jacobian of a 200000-number state needs about" in err


def test_results_omit_parameters_the_chosen_form_does_not_use(cli):
    # Before: a bilinear game given its matrix A was reported with dim=2, cond=1, seed=0 beside a 3 x 3 A.
    out = cli.json("analyze", "bilinear", "--param", "A=1,0,0;0,2,0;0,0,3")
    assert "dim" not in out["params"] and out["params"]["A"] == [[1, 0, 0], [0, 2, 0], [0, 0, 3]]
    out = cli.json("analyze", "bilinear", "--param", "dim=3")
    assert out["params"]["dim"] == 3 and out["params"]["A"] is None
    out = cli.json("analyze", "quadratic", "--param", "dim=2")
    assert "A" not in out["params"] and out["params"]["dim"] == 2


def test_a_field_that_is_not_finite_where_the_solve_stands_is_a_failure_not_a_budget():
    """A NaN field makes the step controller shrink until the budget runs out: reported as failed, not max-steps."""
    g = flows.FieldGame(lambda z: (jnp.log(z[0] - 2.0),), (jnp.asarray([1.0]),))
    tr = solvers.integrate(flows.GradientFlow(g), (jnp.asarray([1.0]),), 1.0, max_steps=1000)
    assert tr.status_name() == "failed" and float(tr.t_final) == 0.0
