"""Experiments: quick modes reproduce their claims and write complete, atomic outputs."""

import json

import pytest
from gameflow.experiments.context import Experiment, ExperimentContext
from gameflow.experiments.runner import experiments, run_experiment

EXPERIMENTS = experiments()


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_quick_mode_reproduces_every_claim(name, tmp_path):
    out = tmp_path / name
    ctx = run_experiment(name, str(out), quick=True)
    failed = [c for c in ctx.claims if not c.passed]
    assert ctx.claims and not failed, failed
    results = json.loads((out / "results.json").read_text())
    assert results["verdict"] == {"passed": len(ctx.claims), "total": len(ctx.claims)}
    assert results["versions"]["jax"] and results["seed"] == 0 and results["mode"] == "quick"
    for claim in results["claims"]:
        assert set(claim) == {"claim", "theory", "measured", "passed"}
    report = (out / "report.md").read_text()
    assert f"{len(ctx.claims)} of {len(ctx.claims)} claims reproduced" in report
    for fig in results["figures"]:
        magic = b"GIF8" if fig.endswith(".gif") else b"\x89PNG"
        assert (out / fig).read_bytes()[:4] == magic
    assert not list(out.glob(".tmp-*"))


def test_an_interrupted_run_leaves_no_half_written_result(tmp_path):
    def broken(ctx: ExperimentContext) -> None:
        ctx.claim("first", "x", "x", True)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_experiment(Experiment("broken", "fails half way", "none", broken), str(tmp_path / "b"), quick=True)
    assert list((tmp_path / "b").iterdir()) == []


def test_cli_run(cli, tmp_path):
    code, out, _ = cli.run("run", "--list")
    assert code == 0 and all(name in out for name in EXPERIMENTS)
    # Descriptions start in one column, however long the names.
    lines = out.strip().splitlines()
    assert len({line.index(EXPERIMENTS[line.split()[0]].description) for line in lines}) == 1
    r = cli.json("run", "timescale", "--quick", "--out", str(tmp_path / "t"))
    assert r["passed"] == r["total"] == 3
    code, out, err = cli.run("run", "nosuch")
    assert code == 2 and "unknown experiment 'nosuch'; choose from" in err
    code, out, err = cli.run("run")
    assert code == 2 and "name an experiment" in err
