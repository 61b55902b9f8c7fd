"""Resumable, chunked, sharded grid sweeps."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import flows
import solvers

AXES = [("lr", np.geomspace(0.02, 4.0, 9)), ("gamma", np.linspace(0.0, 1.5, 7))]
STARTS = np.array([[1.0, 1.0], [0.3, -0.6]])


def run(out, **kw):
    return solvers.run_grid(flows.DiracGAN(reg="r1"), solvers.SGDA(), AXES, STARTS, 150, str(out), chunk=20, **kw)


def test_interrupted_and_resumed_equals_uninterrupted(tmp_path):
    whole = run(tmp_path / "whole")
    assert run(tmp_path / "parts", stop_after=2) is None  # interrupted after two chunks
    assert len(list((tmp_path / "parts" / "chunks").glob("*.npz"))) == 2
    # A chunk cut short by a crash (not renamed yet) is invisible; a corrupt one is recomputed.
    (tmp_path / "parts" / "chunks" / "chunk_00001.npz").write_bytes(b"not an npz")
    resumed = run(tmp_path / "parts")
    for k in solvers.grid.FIELDS:
        np.testing.assert_array_equal(getattr(resumed, k), getattr(whole, k), err_msg=k)
    assert whole.status.shape == (9, 7, 2)


def test_diverged_points_have_finite_rates(tmp_path):
    res = run(tmp_path / "g")
    diverged = res.status == 2
    assert diverged.any() and (res.status == 0).any()
    assert np.all(np.isfinite(res.rate)) and np.all(res.rate[diverged] < 0)
    assert np.all(np.isfinite(res.distance))
    # The grid point agrees with a single run of its own.
    i, j, k = np.argwhere(diverged)[0]
    alone = solvers.iterate(flows.DiracGAN(reg="r1", gamma=AXES[1][1][j]), solvers.SGDA(), STARTS[k],
                            AXES[0][1][i], 150)
    assert alone.status_name() == "diverged" and int(alone.steps) == res.steps[i, j, k]


def test_grid_errors(tmp_path):
    g = flows.DiracGAN()
    with pytest.raises(ValueError, match="neither lr nor a parameter of DiracGAN"):
        solvers.run_grid(g, solvers.SGDA(), [("beta", [1.0])], STARTS, 5, str(tmp_path))
    with pytest.raises(ValueError, match="give an lr axis, or a fixed positive lr"):
        solvers.run_grid(g, solvers.SGDA(), [("gamma", [1.0])], STARTS, 5, str(tmp_path))
    with pytest.raises(ValueError, match="repeat a name"):
        solvers.run_grid(g, solvers.SGDA(), [("lr", [0.1]), ("lr", [0.2])], STARTS, 5, str(tmp_path))
    with pytest.raises(ValueError, match=r"starts must be finite with shape \(n, 2\)"):
        solvers.run_grid(g, solvers.SGDA(), [("lr", [0.1])], np.ones((2, 3)), 5, str(tmp_path))


SHARDED = textwrap.dedent("""
    import os, sys
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    import jax, numpy as np, flows, solvers
    axes = [("lr", np.geomspace(0.02, 4.0, 9)), ("gamma", np.linspace(0.0, 1.5, 7))]
    starts = np.array([[1.0, 1.0], [0.3, -0.6], [-0.2, 0.9]])
    g = flows.DiracGAN(reg="r1")
    a = solvers.run_grid(g, solvers.SGDA(), axes, starts, 150, sys.argv[1] + "/a", chunk=37, shard=True)
    b = solvers.run_grid(g, solvers.SGDA(), axes, starts, 150, sys.argv[1] + "/b", chunk=37, shard=False)
    same = all(np.array_equal(getattr(a, k), getattr(b, k), equal_nan=True) for k in solvers.grid.FIELDS)
    print(jax.local_device_count(), same)
""")


def test_sharded_equals_unsharded_bit_for_bit(tmp_path):
    script = tmp_path / "sharded.py"
    script.write_text(SHARDED)
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    p = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, env=env,
                       timeout=300, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.split() == ["4", "True"]


def test_cli_sweep_resume_and_plot(cli, tmp_path):
    out = tmp_path / "sw"
    argv = ["sweep", "dirac-gan", "--param", "reg=r1", "--scheme", "sgda", "--grid", "lr=0.05:3:6:log",
            "--grid", "gamma=0:1:4", "--inits", "2", "--steps", "100", "--chunk", "16", "--out", str(out)]
    first = cli.json(*argv)
    assert first["shape"] == [6, 4, 2] and sum(first["status_counts"].values()) == 48
    with np.load(out / "sweep.npz") as d:
        saved = {k: d[k] for k in ("status", "rate", "axis_lr", "axis_gamma")}
        assert list(d["axis_names"]) == ["lr", "gamma"] and json.loads(str(d["meta"]))["steps"] == 100
    (out / "chunks" / "chunk_00001.npz").unlink()  # as if interrupted there
    again = cli.json(*argv)
    assert again == first
    with np.load(out / "sweep.npz") as d:
        for k, v in saved.items():
            np.testing.assert_array_equal(d[k], v)
    code, _, err = cli.run(*argv[:-4], "--steps", "101", "--chunk", "16", "--out", str(out))
    assert code == 2 and "holds a different sweep" in err
    code, stdout, err = cli.run("plot", "--kind", "sweep", "--from", str(out), "-o", str(tmp_path / "s.png"))
    assert code == 0, err
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("argv,message", [
    (["sweep", "dirac-gan", "--scheme", "sgda", "--grid", "lr=1:2", "--steps", "5", "--out", "x"], "LO:HI:N[:log]"),
    (["sweep", "dirac-gan", "--scheme", "sgda", "--grid", "gamma=0:1:3", "--steps", "5", "--out", "x"],
     "give an lr axis"),
    (["sweep", "dirac-gan", "--scheme", "sgda", "--grid", "beta=0:1:3", "--lr", "0.1", "--steps", "5", "--out", "x"],
     "neither lr nor a parameter"),
    (["sweep", "dirac-gan", "--scheme", "sgda", "--grid", "lr=0:1:3:log", "--steps", "5", "--out", "x"],
     "need 0 < LO < HI"),
    (["plot", "--kind", "sweep", "--from", "/nonexistent", "-o", "x.png"], "does not exist: run gameflow sweep"),
    (["plot", "-o", "x.png"], "name a game"),
])
def test_cli_sweep_bad_input(cli, argv, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli.run(*argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err, err
