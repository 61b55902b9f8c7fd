"""The neural sections of ``gameflow bench`` (``experiments/bench_neural.py``): the PyTorch network is the
same network (field, transposed Jacobian, sgda steps), the spectra section's child process, skipped
comparisons without torch, and the command line's section selection.

Timings are never asserted (a shared machine's noise); structure and the correctness checks are.
"""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def tiny():
    from gameflow.experiments.bench_neural import neural_game

    return neural_game(8, m=16)  # 331 numbers: the dense Jacobian is cheap


def test_parameter_count_formula(tiny):
    from gameflow.experiments.bench_neural import n_params

    assert n_params(8) == tiny.n_params == 331
    # The bench's sizes: about 1e4, 1e5 and 1e6 numbers.
    assert (n_params(65), n_params(220), n_params(700)) == (10_078, 102_303, 997_503)


def test_torch_network_is_gameflows_network(tiny):
    """Field, the whole transposed Jacobian by double backward, and three sgda steps, against gameflow's."""
    pytest.importorskip("torch")
    from gameflow import flows, solvers
    from gameflow.experiments.bench_neural import TorchGAN, rel_diff
    from gameflow.flows.eigs import _dense_matrix, _linearize_field

    z = tiny.start()
    tg = TorchGAN(tiny)
    v0 = np.asarray(flows.ravel_state(z)[0])
    np.testing.assert_array_equal(tg.flat(), v0)  # same parameters in the same order
    F, lin = _linearize_field(tiny, z)  # the field and the product the spectra section uses
    assert rel_diff(tg.field(), np.asarray(F)) < 1e-10
    n = tiny.n_params
    J = _dense_matrix(lin, n, "Jacobian-vector product")
    tg.prepare_rmatvec()
    JT = np.stack([tg.rmatvec(e) for e in np.eye(n)], axis=1)  # column j: J^T e_j
    assert np.linalg.norm(JT - J.T) < 1e-10 * np.linalg.norm(J)
    assert np.linalg.norm(J - J.T) > 1e-3 * np.linalg.norm(J)  # J is not symmetric: the transpose was tested
    rng = np.random.default_rng(3)
    u, w = rng.standard_normal(n), rng.standard_normal(n)
    a, b = w @ (J @ u), u @ tg.rmatvec(w)
    assert abs(a - b) < 1e-10 * max(abs(a), abs(b))
    traj = solvers.iterate(tiny, solvers.SGDA(), z, 0.05, 3)
    tg.sgda(0.05, 3)
    moved = rel_diff(tg.flat(), v0)
    assert moved > 1e-4 and rel_diff(tg.flat(), np.asarray(traj.final)) < 1e-12


def test_torch_baseline_refuses_other_games(tiny):
    pytest.importorskip("torch")
    from gameflow.experiments.bench_neural import TorchGAN
    from gameflow.flows import NeuralGAN

    game = NeuralGAN(tiny.data, tiny.latents, loss="hinge", width=8, depth=2)
    with pytest.raises(ValueError, match="loss=gan, reg=none; got loss=hinge"):
        TorchGAN(game)


def test_eigenvalue_matching():
    from gameflow.experiments.bench_neural import match_eigenvalues

    lam = np.array([2.0, 1 + 1j, 1 - 1j, -0.5])
    assert match_eigenvalues(lam, lam[::-1]) == 0.0
    assert match_eigenvalues(lam, lam[[1, 0, 3, 2]] * (1 + 1e-9)) == pytest.approx(1e-9, rel=1e-6)
    assert match_eigenvalues(lam, lam[:3]) == np.inf  # a missing eigenvalue is no agreement


def _check_spectra_without_torch(monkeypatch, widths):
    """The spectra section in a child per width with torch absent: converged, small residuals, memory
    reported, and the comparison reported skipped (not attempted)."""
    from gameflow.experiments import bench_neural

    monkeypatch.setattr(bench_neural, "torch_module", lambda: None)
    sec = bench_neural.bench_spectra(quick=True, widths=widths)
    (row,) = sec["rows"]
    assert "error" not in row, row.get("error")
    assert row["n"] == row["n_formula"]  # the child's game.n_params, and the formula tested on `tiny`
    assert row["status"] == "converged" and row["method"] == "arnoldi" and row["found"] == 20
    assert row["max_relative_residual"] < 1e-8
    eig = np.array([complex(a, b) for a, b in row["eigenvalues"]])
    assert row["spectral_abscissa"] == eig.real.max() and np.all(np.diff(eig.real) <= 0)
    assert row["matvecs"] > 20 and row["total_seconds"] >= row["arpack_seconds"] > 0
    assert 0 < row["rss_after_import_bytes"] <= row["peak_rss_bytes"] and row["ru_maxrss_bytes"] > 0
    assert row["arpack_basis_bytes"] == row["n"] * 41 * 8 and row["dense_jacobian_bytes"] == row["n"] ** 2 * 8
    assert row["limit_verdict"] in ("met", "not met") and "torch" not in row
    assert sec["torch"] is None and "torch is not installed" in sec["torch_skipped"]
    text = "\n".join(bench_neural.render_spectra(sec))
    assert "status converged" in text and "torch is not installed" in text and "x (target" not in text
    # The training section says the same, with no network to run.
    tr = bench_neural.bench_training(quick=True, sizes=())
    assert "torch is not installed" in tr["torch_skipped"]
    assert "torch is not installed" in "\n".join(bench_neural.render_training(tr))
    return row


def test_spectra_in_child_without_torch(monkeypatch):
    """The quick mode's path on a network of 1,303 numbers (the quick size itself: the slow test below)."""
    row = _check_spectra_without_torch(monkeypatch, (20,))
    assert row["n"] == 1_303 and row["m"] == 256


@pytest.mark.slow
def test_spectra_quick_mode_in_child_without_torch(monkeypatch):
    from gameflow.experiments import bench

    row = _check_spectra_without_torch(monkeypatch, None)
    assert (row["width"], row["n"]) == (bench.SIZES["quick"]["spectra"][0], 10_078)


def test_child_reports_failure_as_error():
    from gameflow.experiments.bench_neural import run_child

    out = run_child("spectra", {"width": 0, "m": 8}, timeout=120)  # width 0 is refused by neural-gan
    assert set(out) == {"error"} and "width" in out["error"]
    with pytest.raises(ValueError, match="task 'nope' is not one of"):
        run_child("nope", {}, timeout=1)


def test_cli_section_selection(cli):
    from gameflow.experiments import bench
    from gameflow.experiments.commands import bench as command

    assert command.SECTIONS == bench.SECTIONS
    assert bench.check_sections(None) == bench.SECTIONS
    assert bench.check_sections("training, spectra") == ("spectra", "training")
    for argv, message in [(["--only", "spectra,fft"], "sections are discrete, ode"),
                          (["--only", "roofline"], "roofline needs discrete"),
                          (["--cli", "--no-torch"], "not to --cli")]:
        code, out, err = cli.run("bench", *argv)
        assert code == 2 and out == "" and err.count("\n") == 1 and message in err, err


@pytest.mark.slow
def test_quick_comparisons_with_torch(tmp_path):
    """The PyTorch comparisons of quick mode, end to end: checks passed, eigenvalues agree, ratios present."""
    pytest.importorskip("torch")
    from gameflow.experiments import bench_neural

    sec = bench_neural.bench_spectra(quick=True)
    t = sec["rows"][0]["torch"]
    assert "refused" not in t and t["field_rel_diff"] < 1e-10 and t["transpose_rel_diff"] < 1e-10
    assert t["speedup_vs_torch"] == pytest.approx(t["torch_seconds_per_matvec"] / t["ours_seconds_per_matvec"])
    rf = t["roofline"]  # the product's work is a count, not a timing: a network of n numbers costs O(m n) flops
    assert rf["flops_per_matvec"] > 2 * sec["rows"][0]["n"] and rf["matmul_flops_per_s"] > 0
    assert rf["largest_possible_speedup"] == pytest.approx(rf["matmul_flops_per_s"] / rf["torch_flops_per_s"])
    assert "GFlop/s" in "\n".join(bench_neural.render_spectra(sec))
    assert t["torch_eigs"]["status"] == "converged" and t["torch_eigs"]["max_rel_diff_vs_ours"] < 1e-6
    tr = bench_neural.bench_training(quick=True)
    r = tr["rows"][0]
    assert r["check_rel_diff"] < 1e-8 and r["final_rel_diff"] < 1e-8 and r["verdict"] in ("met", "not met")
    assert {s["torch_threads"] for s in r["per_thread_setting"]} >= {1}


def test_cli_no_torch_reports_the_comparisons_skipped(cli, tmp_path, monkeypatch):
    """``--only training --no-torch`` (no network sizes, so no child runs): the report and the text say so."""
    import json

    from gameflow.experiments import bench

    monkeypatch.setitem(bench.SIZES, "quick", {**bench.SIZES["quick"], "training": ()})
    out = tmp_path / "bench.json"
    code, text, err = cli.run("bench", "--quick", "--only", "training", "--no-torch", "--out", str(out))
    assert code == 0, err
    rep = json.loads(out.read_text())
    assert rep["sections"] == ["training"] and "discrete" not in rep and rep["training"]["rows"] == []
    assert rep["training"]["torch"] is None and "--no-torch" in rep["training"]["torch_skipped"]
    assert "the PyTorch comparisons were skipped (--no-torch)" in text and "discrete:" not in text
