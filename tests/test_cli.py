"""The command line, run in-process through `main([...])` (one subprocess smoke test)."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from freedecomp_jax._cli import main
from freedecomp_jax._plot import _trapz

needs_matplotlib = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="--plot needs matplotlib (the plot extra)")
M, N = 1000, 4000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Fixed degrees (the automatic choice compiles every candidate; the default path runs in the
# slow subprocess test), m = 1000 eigenvalues and the default 1024-point grid: the compiled
# programs are those of tests/test_spectrum.py's predict(eigs, 8000, deg=(1, 2)) and of
# tests/test_plot.py, so in a whole-suite run they are compiled once.
FAST = ["--deg", "1,2", "--no-cache"]


@pytest.fixture(scope="module")
def wishart():
    """Eigenvalues of a 1000 x 1000 Wishart matrix X X^T / q (aspect ratio 0.1; 0.4 at n = 4m)."""
    x = np.random.default_rng(0).standard_normal((M, 10 * M), dtype=np.float32)
    return np.linalg.eigvalsh((x @ x.T).astype(np.float64) / (10 * M))


def _check_outputs(tmp_path, out, plot, m=M, n=N):
    with np.load(out) as z:
        eig = z["eigenvalues"]
        assert eig.shape == (n,)
        assert np.all(np.isfinite(eig)) and np.all(np.diff(eig) >= 0)
        assert z["x"].shape == z["density"].shape == (1024,)
        assert np.all(z["density"] >= 0) and _trapz(z["density"], z["x"]) == pytest.approx(1.0, abs=1e-2)
        assert int(z["n"]) == n
        assert z["atom_positions"].shape == z["atom_weights"].shape
        # Marchenko-Pastur at aspect ratio 0.4 (sigma = 1): edges (1 -+ sqrt(0.4))^2
        lo, hi = (1 - np.sqrt(0.4)) ** 2, (1 + np.sqrt(0.4)) ** 2
        assert eig[0] == pytest.approx(lo, abs=0.08) and eig[-1] == pytest.approx(hi, abs=0.15)
    summary = json.loads(out.with_suffix(".json").read_text())
    expected = {"n", "model", "atoms", "support", "mass", "negative_fraction", "lambda_min", "lambda_max", "trace", "frobenius_norm", "logdet", "cond", "input", "grid_size", "files", "eigenvalues_saved"}
    assert expected <= set(summary)
    assert summary["n"] == n and summary["input"]["m"] == m and summary["eigenvalues_saved"]
    assert summary["model"]["name"] == "SpectralCurve" and (summary["model"]["deg_z"], summary["model"]["deg_m"]) == (1, 2)
    assert summary["negative_fraction"] == 0.0
    assert summary["trace"] == pytest.approx(n, rel=0.02)  # E tr(X X^T / q) = n
    assert summary["logdet"]["sign"] == 1.0 and np.isfinite(summary["logdet"]["logabsdet"])
    assert len(summary["support"]) == 1
    assert plot.read_bytes()[:8] == PNG_MAGIC


@needs_matplotlib
@pytest.mark.parametrize("fmt", ["npy", "txt"])
def test_predict_eigenvalue_file(tmp_path, wishart, fmt, capsys):
    eig = wishart
    path = tmp_path / f"eigs.{fmt}"
    np.save(path, eig) if fmt == "npy" else np.savetxt(path, eig)
    out, plot = tmp_path / "pred.npz", tmp_path / "pred.png"
    assert main(["predict", str(path), "--n", str(N), "--out", str(out), "--plot", str(plot), *FAST]) == 0
    _check_outputs(tmp_path, out, plot)
    captured = capsys.readouterr()
    for word in ("support", "atoms", "negative fraction", "lambda_min", "trace", "log|det|", "condition number", "SpectralCurve"):
        assert word in captured.out
    for stage in ("loading", "predicting", "summarising", "writing", "plotting"):
        assert f"freedecomp_jax.cli: {stage}" in captured.err


@needs_matplotlib
def test_predict_matrix_file(tmp_path, capsys):
    """A saved 300 x 300 Wishart matrix (the same law as the eigenvalue files) to n = 4m."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 3000))
    path = tmp_path / "matrix.npy"
    np.save(path, x @ x.T / 3000)
    out, plot = tmp_path / "pred.npz", tmp_path / "pred.png"
    assert main(["predict", str(path), "--n", "1.2e3", "--out", str(out), "--plot", str(plot), *FAST]) == 0
    _check_outputs(tmp_path, out, plot, m=300, n=1200)
    assert json.loads(out.with_suffix(".json").read_text())["input"]["kind"] == "matrix"
    assert "matrix" in capsys.readouterr().out


def test_predict_writes_nothing_unless_asked(tmp_path, wishart, monkeypatch, capsys):
    eig = wishart
    path = tmp_path / "eigs.npy"
    np.save(path, eig)
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "eigs.npy", "--n", str(N), *FAST]) == 0
    assert sorted(os.listdir(tmp_path)) == ["eigs.npy"]
    assert "support" in capsys.readouterr().out


def test_predict_no_eigenvalues_above_the_cap(tmp_path, wishart, monkeypatch, capsys):
    import freedecomp_jax._cli as cli

    monkeypatch.setattr(cli, "MAX_EIGENVALUES", N - 1)
    path, out = tmp_path / "eigs.npy", tmp_path / "pred.npz"
    np.save(path, wishart)
    assert main(["predict", str(path), "--n", str(N), "--out", str(out), *FAST]) == 0
    assert "eigenvalues are not written" in capsys.readouterr().out
    with np.load(out) as z:
        assert "eigenvalues" not in z.files and z["density"].shape == (1024,)
    assert json.loads(out.with_suffix(".json").read_text())["eigenvalues_saved"] is False


def _bad(tmp_path, name, write):
    path = tmp_path / name
    write(path)
    return str(path)


BAD_FILES = {
    "missing": (lambda p: None, "no such file"),
    "text": (lambda p: p.write_text("hello, world\nnot numbers\n"), "cannot read"),
    "npy": (lambda p: p.write_bytes(b"not a numpy file"), "cannot read"),
    "empty": (lambda p: np.save(p, np.zeros(0)), "empty"),
    "nan": (lambda p: np.save(p, np.r_[np.linspace(0, 1, 100), np.nan]), "NaN"),
    "inf": (lambda p: np.save(p, np.r_[np.linspace(0, 1, 100), np.inf]), "infinite"),
    "non-square": (lambda p: np.save(p, np.ones((30, 40))), "square"),
    "non-symmetric": (lambda p: np.save(p, np.arange(900.0).reshape(30, 30)), "not symmetric"),
    "3-D": (lambda p: np.save(p, np.ones((4, 5, 6))), "3-D"),
    "several arrays": (lambda p: np.savez(p, a=np.ones(50), b=np.ones(50)), "--key"),
    "complex": (lambda p: np.save(p, np.ones(50) * 1j), "complex"),
    "suffix": (lambda p: p.write_text("1 2 3"), "unsupported file type"),
}
SUFFIX = {"text": "txt", "npy": "npy", "several arrays": "npz", "suffix": "xyz"}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files(tmp_path, case, capsys):
    write, message = BAD_FILES[case]
    path = _bad(tmp_path, f"input.{SUFFIX.get(case, 'npy')}", write)
    assert main(["predict", path, "--n", "1000", "--no-cache"]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1 and message in lines[0], err
    assert "Traceback" not in err


@pytest.mark.parametrize("n, message", [("abc", "integer"), ("1.5", "integer"), ("100", "smaller than the observed size m = 1000")])
def test_bad_sizes(tmp_path, wishart, n, message, capsys):
    path = tmp_path / "eigs.npy"
    np.save(path, wishart)
    assert main(["predict", str(path), "--n", n, "--no-cache"]) == 2
    assert message in capsys.readouterr().err


def test_npz_key(tmp_path, capsys):
    path = tmp_path / "two.npz"
    np.savez(path, a=np.ones(50), b=np.ones(50))
    assert main(["predict", str(path), "--key", "c", "--n", "1000", "--no-cache"]) == 2
    assert "no array named 'c'" in capsys.readouterr().err


def test_bad_output_path_fails_before_the_work(tmp_path, wishart, capsys):
    path = tmp_path / "eigs.npy"
    np.save(path, wishart)
    assert main(["predict", str(path), "--n", str(N), "--out", str(tmp_path / "nowhere" / "p.npz"), "--no-cache"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_ntk_any_size(tmp_path, monkeypatch, capsys):
    """`ntk --n` with a size that is not shipped: a prediction and its summary, no truth; nothing written.

    The prediction itself is stubbed by a closed-form law (the real NTK run is the slow test below):
    this checks the command's handling of sizes, truth and outputs.
    """
    import freedecomp_jax as fdj
    from freedecomp_jax import distributions as D

    seen = {}

    def stub(eigs, n, return_report=False, **kw):
        seen["m"], seen["n"] = len(eigs), n
        spec = fdj.decompress(D.MarchenkoPastur(0.25).curve(len(eigs)), np.linspace(-0.5, 6.5, 1024), n)
        return (spec, fdj.Report("stub", ())) if return_report else spec

    monkeypatch.setattr(fdj, "predict", stub)
    monkeypatch.chdir(tmp_path)
    assert main(["ntk", "--n", "3000", "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert seen == {"m": 1024, "n": 3000}
    assert "no true spectrum of size 3000 is shipped" in out
    assert "KS" not in out  # the comparison table needs the truth
    assert "3,000 x 3,000" in out and "support" in out
    assert os.listdir(tmp_path) == []
    assert main(["ntk", "--n", "1000", "--no-cache"]) == 2  # below the observed 1024
    assert main(["ntk", "--n0", "1000", "--n", "5000", "--no-cache"]) == 2  # not a shipped size
    assert "shipped NTK size" in capsys.readouterr().err


@pytest.mark.slow
@needs_matplotlib
def test_ntk_million(tmp_path, capsys):
    """The acceptance run: the shipped NTK (m = 1024) to n = 10^6, with --out and --plot."""
    out, plot = tmp_path / "ntk.npz", tmp_path / "ntk.png"
    assert main(["ntk", "--n", "1e6", "--out", str(out), "--plot", str(plot), "--no-cache"]) == 0
    assert "no true spectrum of size 1000000 is shipped" in capsys.readouterr().out
    with np.load(out) as z:
        assert z["eigenvalues"].shape == (10**6,) and np.all(np.diff(z["eigenvalues"]) >= 0)
    assert plot.read_bytes()[:8] == PNG_MAGIC


def _fresh_env():
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(os.path.abspath(__file__))), env.get("PYTHONPATH", "")])
    return env


def test_subprocess_error_exit_status(tmp_path):
    """`python -m freedecomp_jax` in a fresh interpreter: a bad file is one line and exit status 2."""
    proc = subprocess.run([sys.executable, "-m", "freedecomp_jax", "predict", "missing.npy", "--n", "10"], capture_output=True, text=True, env=_fresh_env(), cwd=tmp_path, timeout=300)
    assert proc.returncode == 2 and "no such file" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_subprocess_predict(tmp_path, wishart):
    """The whole run in a fresh interpreter (which must switch x64 on by itself), default options but the cache."""
    path = tmp_path / "eigs.csv"
    np.savetxt(path, wishart, delimiter=",")
    proc = subprocess.run(
        [sys.executable, "-m", "freedecomp_jax", "predict", str(path), "--n", str(N), "--out", "p.npz", "--no-cache"],
        capture_output=True, text=True, env=_fresh_env(), cwd=tmp_path, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    assert "model:" in proc.stdout and "freedecomp_jax.cli: predicting" in proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["eigs.csv", "p.json", "p.npz"]


def test_features_give_the_gram_atom(tmp_path, capsys):
    """--features Q: a 300 x 300 Wishart matrix of Q = 600 features predicted at n = 1200 has the
    closed-form atom 1 - Q/n = 0.5 at 0 (Deformed(m / Q)); a bad Q is one line and exit status 2."""
    x = np.random.default_rng(2).standard_normal((300, 600))
    path = tmp_path / "eigs.npy"
    np.save(path, np.linalg.eigvalsh(x @ x.T / 600))
    out = tmp_path / "pred.npz"
    assert main(["predict", str(path), "--n", "1200", "--out", str(out), "--features", "600", *FAST]) == 0
    atoms = json.loads(out.with_suffix(".json").read_text())["atoms"]
    assert sum(a["weight"] for a in atoms if a["position"] == 0) == pytest.approx(0.5, abs=1e-6)
    assert main(["predict", str(path), "--n", "1200", "--features", "0", *FAST]) == 2
    assert "the number of features must be at least 1" in capsys.readouterr().err


def test_the_model_description_names_outliers_and_a_shift():
    # a traced predict of given degrees returns Spikes(Shifted(curve)): the summary names the curve inside, the outliers
    # present and the shift (a Spikes law was once described as the Levy-Khintchine law)
    import freedecomp_jax as fdj
    from freedecomp_jax import distributions as D
    from freedecomp_jax._cli import model_description
    from freedecomp_jax._plot import _model_name

    law = fdj.Spikes(fdj.Shifted(D.MarchenkoPastur(0.25).curve(), 100.0), np.array([140.0, 0.0]), 200.0, present=np.array([True, False]))
    got = model_description(law)
    assert (got["name"], got["deg_z"], got["deg_m"], got["outliers"], got["shift"]) == ("SpectralCurve", 1, 2, 1, 100.0)
    assert "algebraic curve" in got["text"] and "1 isolated outlier(s)" in got["text"] and "written about x = 100" in got["text"]
    assert _model_name(type("S", (), {"law": law})()) == "SpectralCurve, degrees (1, 2)"
