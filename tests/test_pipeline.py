"""`predict` and `eigvalsh` of given degrees under jit, vmap and grad (`_pipeline.py`)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import freedecomp_jax as fdj

M, N, Q = 300, 2400, 600  # Wishart X X^T / q of 300 rows and 600 features, predicted at 2400 rows: MP(4)
DEG = (1, 2)


def wishart(seed: int, m: int = M) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((m, Q))
    return np.linalg.eigvalsh(x @ x.T / Q)


@pytest.fixture(scope="module")
def batch():
    return jnp.asarray(np.stack([wishart(s) for s in range(3)]))


# one compiled program serves every batch below: eigenvalues, weights (0: padding) and each lane's size
_BATCHED = jax.jit(jax.vmap(lambda e, w, n: fdj.predict(e, n, deg=DEG, weights=w, throw=False)))


def predict_batch(eigs, weights=None, sizes=None):
    weights = jnp.ones(eigs.shape) if weights is None else weights
    sizes = [N] * eigs.shape[0] if sizes is None else sizes
    return _BATCHED(eigs, weights, jnp.asarray(sizes, dtype=float))  # one input type (not weakly typed) for every call: one compile


_EIGVALSH = jax.jit(lambda e: fdj.eigvalsh(e, N, deg=DEG))  # throw=True: a failed check raises its message


@pytest.fixture(scope="module")
def batched(batch):
    return predict_batch(batch)


def test_jit_vmap_equals_the_loop_of_single_calls(batch, batched):
    assert np.all(np.asarray(batched.check._value) == RESULT_OK)
    for k in range(batch.shape[0]):
        single = fdj.predict(np.asarray(batch[k]), N, deg=DEG)  # plain Python, the same checks
        assert single.check == fdj.RESULTS.successful
        np.testing.assert_allclose(batched.x[k], single.x, rtol=0, atol=1e-10)
        np.testing.assert_allclose(batched.density[k], single.density, rtol=0, atol=1e-10)
    eigs = _EIGVALSH(batch[1])
    assert eigs.shape == (N,)
    np.testing.assert_allclose(eigs, fdj.eigvalsh(np.asarray(batch[1]), N, deg=DEG), rtol=0, atol=1e-10)


RESULT_OK = int(fdj.RESULTS.successful._value)


def test_the_grid_covers_the_predicted_support(batched):
    # the sample is close to MP(4) at 2400 rows (ratio 2400/600): support [(1 - 2)^2, (1 + 2)^2] = [1, 9]
    for k in range(3):
        spec = jax.tree.map(lambda v: v[k], batched)
        x = np.asarray(spec.x)
        (lo, hi), = spec.support()  # edges refined on the exact edge equations
        margin = 0.01 * (hi - lo)  # three steps of the coarse grid it was narrowed from, at most
        assert x[0] < lo < x[0] + margin and x[-1] - margin < hi < x[-1]
        # a 300-row sample's edges, decompressed 8x: within 2 % of the closed-form support's width
        np.testing.assert_allclose([lo, hi], [1.0, 9.0], rtol=0, atol=0.02 * 8.0)


def test_a_bad_lane_is_reported_and_the_others_are_kept(batch):
    bad = batch[1].at[5].set(jnp.nan)  # outside jit this is a ValueError; inside, the lane's check says so
    mixed = jnp.stack([batch[0], bad, batch[2]])
    out = predict_batch(mixed)
    codes = np.asarray(out.check._value)
    assert codes[0] == RESULT_OK and codes[2] == RESULT_OK and codes[1] != RESULT_OK
    alone = fdj.predict(np.asarray(batch[2]), N, deg=DEG)
    np.testing.assert_allclose(out.density[2], alone.density, rtol=0, atol=1e-10)
    with pytest.raises(Exception, match="refit with other degrees"):  # throw=True: the check's message, at run time
        jax.block_until_ready(_EIGVALSH(bad))
    with pytest.raises(ValueError, match="NaN"):  # outside jit: the argument check
        fdj.predict(np.asarray(bad), N, deg=DEG)


def of(spec):  # the trace, the median and the log-determinant of the predicted n x n matrix
    return jnp.stack([spec.trace(), spec.quantile(0.5), spec.slogdet()[1]])


_JACOBIAN = jax.jit(jax.jacrev(lambda e: of(fdj.predict(e, N, deg=DEG))))  # (3, m)


def test_grad_of_spectral_functionals_against_finite_differences(batch):
    e0 = batch[0]
    k, h = 150, 1e-6
    jac = _JACOBIAN(e0)
    # free decompression keeps the mean: tr A_n = (n/m) tr A_m, whatever the fit
    np.testing.assert_allclose(jac[0], N / M, rtol=1e-8)
    # the values by the compiled batch program (the same pipeline: batch = single calls, tested above)
    out = predict_batch(jnp.stack([e0.at[k].add(h), e0.at[k].add(-h), e0]))
    plus, minus = (of(jax.tree.map(lambda v, i=i: v[i], out)) for i in range(2))
    fd = (np.asarray(plus) - np.asarray(minus)) / (2 * h)
    np.testing.assert_allclose(np.asarray(jac[:, k]), fd, rtol=1e-4)


def test_a_ragged_batch_each_to_its_own_size(batch):
    small = wishart(9, 200)  # 200 eigenvalues padded to 300 with weight 0, predicted at 8 x 200 rows
    eigs = jnp.stack([batch[0], jnp.asarray(np.concatenate([small, np.zeros(M - 200)])), batch[1]])
    weights = jnp.stack([jnp.ones(M), jnp.asarray(np.arange(M) < 200, dtype=float), jnp.ones(M)])
    sizes = [N, 8 * 200, M - 1]  # the last lane asks for a size below its own
    out = predict_batch(eigs, weights, sizes)
    codes = np.asarray(out.check._value)
    assert codes[0] == RESULT_OK and codes[1] == RESULT_OK and codes[2] == int(fdj.RESULTS.size_below_n0._value)
    np.testing.assert_array_equal(out.size[:2], [N, 1600])
    for k, (e, n) in enumerate(((np.asarray(batch[0]), N), (small, 1600))):
        single = fdj.predict(e, n, deg=DEG)
        np.testing.assert_allclose(out.x[k], single.x, rtol=0, atol=1e-10)
        np.testing.assert_allclose(out.density[k], single.density, rtol=0, atol=1e-10)
        A = single.atoms[1].shape[0]  # the traced law keeps 2 sqrt(m) slots for outliers set aside, empty here
        np.testing.assert_allclose(out.atoms[1][k][:A], single.atoms[1], rtol=0, atol=1e-10)
        np.testing.assert_array_equal(out.atoms[1][k][A:], 0.0)


def test_outliers_and_a_spectrum_far_from_0_as_a_concrete_call():
    # what a concrete call of given degrees does, in the compiled batch program: isolated outliers (two beside one
    # Wishart spectrum, one beside another moved to 1e4) set aside and kept as that many eigenvalues growing like
    # n/m, the curve fitted to the rest; and a spectrum far from 0 written about its centre (Shifted)
    a, b, c = (wishart(s) for s in (5, 6, 7))
    a[[0, -1]] = -5.0, 12.0
    c[-1] = 20.0
    eigs = [np.sort(a), b + 1e4, np.sort(c) + 1e4]
    out = predict_batch(jnp.asarray(np.stack(eigs)))
    np.testing.assert_array_equal(out.check._value, [RESULT_OK] * 3)
    for k, (e, name) in enumerate(zip(eigs, ["SpectralCurve(1, 2) + 2 outliers", "SpectralCurve(1, 2)", "SpectralCurve(1, 2) + 1 outlier"])):
        single, report = fdj.predict(e, N, deg=DEG, return_report=True)
        assert report.chosen == name
        lane = jax.tree.map(lambda v, k=k: v[k], out)
        assert float(lane.law.count) == (2, 0, 1)[k] and float(lane.law.law.shift) == (0.0 if k == 0 else pytest.approx(1e4, rel=1e-3))
        scale = float(np.max(np.abs(e)))
        np.testing.assert_allclose(lane.x, single.x, rtol=0, atol=1e-10 * scale)
        np.testing.assert_allclose(lane.density, single.density, rtol=0, atol=1e-10)
        np.testing.assert_allclose(lane.eigvalsh(N), single.eigvalsh(N), rtol=0, atol=1e-10 * scale)
    # the trace's gradient: each outlier grows like n/m, the bulk keeps its mean at n - k rows (by hand: k = 2)
    trace = np.asarray(_JACOBIAN(jnp.asarray(eigs[0]))[0])
    np.testing.assert_allclose(trace[[0, -1]], N / M, rtol=1e-10)
    np.testing.assert_allclose(trace[1:-1], (N - 2) / (M - 2), rtol=1e-8)


def gram(seed: int, dead: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((M, Q))
    x[:dead] = 0.0  # dead units: zero rows and columns of X X^T
    return x @ x.T / Q


def test_a_batch_of_matrices_equals_the_loop_of_single_calls():
    # (B, m, m) -> one program that diagonalises each matrix, sets its zero rows aside (30 of 300 here: a
    # fixed atom of 0.1 at every size, not a free atom), fits, solves and checks; a lane that is not
    # symmetric reports it and leaves the others alone
    mats = np.stack([gram(0), gram(1, dead=30), gram(2)])
    mats[2, 0, 1] += 1e-3
    out = jax.jit(jax.vmap(lambda a: fdj.predict(a, N, deg=DEG, throw=False)))(jnp.asarray(mats))
    codes = np.asarray(out.check._value)
    assert codes[0] == RESULT_OK and codes[1] == RESULT_OK and codes[2] == int(fdj.RESULTS.not_symmetric._value)
    for k in range(2):
        single = fdj.predict(mats[k], N, deg=DEG)  # plain Python: zero rows removed, ZeroRows around the curve of the rest
        lane = jax.tree.map(lambda v, k=k: v[k], out)
        np.testing.assert_allclose(lane.x, single.x, rtol=0, atol=1e-10)
        np.testing.assert_allclose(lane.density, single.density, rtol=0, atol=1e-10)
        np.testing.assert_allclose(lane.eigvalsh(N), single.eigvalsh(N), rtol=0, atol=1e-10)
    lane = jax.tree.map(lambda v: v[1], out)
    assert np.sum(np.asarray(lane.eigvalsh(N)) == 0.0) == N // 10  # the dead units' share of zeros, kept
    with pytest.raises(ValueError, match="not symmetric"):
        fdj.predict(mats[2], N, deg=DEG)


@pytest.mark.slow
def test_grad_with_respect_to_the_matrix():
    # through eigvalsh, the zero rows' mask and the fit: the predicted trace's gradient is (n/m) I (free
    # decompression keeps the mean, and the dead units' zero rows are a fixed share), the median's matches
    # central differences along a symmetric direction
    a = jnp.asarray(gram(1, dead=30))
    median = jax.jit(lambda a: fdj.predict(a, N, deg=DEG).quantile(0.5))
    grads = jax.jit(jax.grad(lambda a: jnp.stack([fdj.predict(a, N, deg=DEG).trace(), fdj.predict(a, N, deg=DEG).quantile(0.5)]).sum()))
    direction = jnp.zeros((M, M)).at[40, 50].set(1.0).at[50, 40].set(1.0).at[60, 60].set(1.0)
    g = grads(a)
    trace_grad = jax.grad(lambda a: fdj.predict(a, N, deg=DEG).trace())(a)
    np.testing.assert_allclose(trace_grad, N / M * np.eye(M), rtol=0, atol=1e-10)
    h = 1e-6
    fd = (median(a + h * direction) - median(a - h * direction)) / (2 * h)
    np.testing.assert_allclose(float(jnp.sum((g - trace_grad) * direction)), float(fd), rtol=1e-4)


def test_clear_errors_under_jit(batch):
    with pytest.raises(ValueError, match="static under jit"):
        jax.jit(lambda e, n: fdj.eigvalsh(e, n, deg=DEG))(batch[0], N)
    with pytest.raises(ValueError, match="needs deg"):  # a matrix's automatic choice ranks by its sub-submatrices
        jax.jit(lambda a: fdj.predict(a, N).density)(jnp.eye(4))
    with pytest.raises(ValueError, match="needs deg"):
        jax.jit(lambda e: fdj.predict(e, N, fdj.Deformed(0.5)).density)(batch[0])
    with pytest.raises(ValueError, match="eigenvalues of one matrix"):
        jax.jit(lambda a: fdj.predict(a, N, deg=DEG).density)(jnp.ones((2, 4, 4)))
    with pytest.raises(ValueError, match="return_report"):
        jax.jit(lambda e: fdj.predict(e, N, deg=DEG, return_report=True)[0].density)(batch[0])


AUTO = fdj.FitConfig(max_deg_z=1, max_deg_m=3)  # automatic degrees among (1, 2), (1, 3): a smaller program than the default frame
LEVY = fdj.LevyConfig(n_jumps=16, n_points=32, rate_steps=2)  # a smaller Levy-Khintchine fit: the traced choice compiles and runs faster


def spread(seed: int) -> np.ndarray:
    """X D X^T / q with feature variances log-spaced over two decades: no curve of degrees (1, 2) or (1, 3)
    has a valid branch, the free Levy-Khintchine law passes its check and its gate."""
    x = np.random.default_rng(seed).standard_normal((M, Q)) * np.sqrt(np.logspace(-1, 1, Q))
    return np.linalg.eigvalsh(x @ x.T / Q)


def spiked_wigner(seed: int) -> np.ndarray:
    """A Wigner matrix plus the rank-one spike 5 11^T/m: the (1, 2) curve passes its check at n but its refits to free
    compressions predict the observed spectrum worse than the baselines do (0.075-0.078 against 0.050-0.052 for
    seeds 0-3), so the gate passes it over and (1, 3) is chosen (0.027-0.029)."""
    g = np.random.default_rng(seed).standard_normal((M, M))
    return np.linalg.eigvalsh((g + g.T) / np.sqrt(2 * M) + 5.0 * np.ones((M, M)) / M)


def test_automatic_degrees_under_jit_vmap_equal_single_calls(batch):
    # deg=None in a traced call (`_traced_choice.py`): the candidate curves side by side, the first that passes its
    # check and its gate (refits to free compressions) returned, else the Levy-Khintchine law gated the same way, as
    # the plain-Python choice does; a lane of 20 eigenvalues (no candidate eligible, no compression large enough)
    # reports no_model_passed; the second lane, far from 0, has its curves written about its centre as a concrete
    # call writes them (Shifted)
    weights = jnp.ones((5, M)).at[4, 20:].set(0.0)
    eigs = jnp.stack([batch[0], batch[1] + 1e4, jnp.asarray(spread(0)), jnp.asarray(spiked_wigner(0)), batch[0]])
    out = jax.jit(jax.vmap(lambda e, w: fdj.predict(e, N, weights=w, fit_config=AUTO, levy_config=LEVY, throw=False)))(eigs, weights)
    codes = np.asarray(out.check._value)
    np.testing.assert_array_equal(codes, [RESULT_OK] * 4 + [int(fdj.RESULTS.no_model_passed._value)])
    for k, chosen in enumerate(["SpectralCurve(1, 2)", "SpectralCurve(1, 2)", "LevyKhintchine", "SpectralCurve(1, 3)"]):
        single, report = fdj.predict(np.asarray(eigs[k]), N, fit_config=AUTO, levy_config=LEVY, return_report=True)
        assert report.chosen == chosen
        lane = jax.tree.map(lambda v, k=k: v[k], out)
        law = lane.law.laws[int(lane.law.index)]  # the traced curve is Shifted, by 0 unless the spectrum is far from 0
        assert type(law.law if isinstance(law, fdj.Shifted) else law) is type(single.law.law if isinstance(single.law, fdj.Shifted) else single.law)
        assert isinstance(single.law, fdj.Shifted) == (k == 1) and (k != 1 or float(law.shift) == float(single.law.shift))
        P = single.x.shape[0]  # a shorter grid than the longest of the three is padded with zero density beyond its end
        np.testing.assert_allclose(lane.x[:P], single.x, rtol=0, atol=1e-10 * float(np.max(np.abs(single.x))))
        np.testing.assert_allclose(lane.density[:P], single.density, rtol=0, atol=1e-10 * float(np.max(single.density)))
        np.testing.assert_array_equal(lane.density[P:], 0.0)
        np.testing.assert_allclose(lane.eigvalsh(N), single.eigvalsh(N), rtol=0, atol=1e-10 * float(np.max(np.abs(single.eigvalsh(N)))))
    # the spiked lane: (1, 2) passed its check and was gated out, in both choices
    (row,) = [r for r in report.candidates if r.model == "SpectralCurve(1, 2)"]
    assert row.mass is not None and "does not beat the baselines" in row.verdict
    assert np.any(np.asarray(out.law.laws[0].law.coeffs[3][:, 3]) != 0)  # the traced curve is (1, 3): a padded (1, 2) has no m^3 term


def _functionals_against_finite_differences(cases, **configs):
    """The gradients of three spectral functionals of the traced `predict` against central differences along two
    random directions, for each `(eigs, trace_rtol)` of `cases` (one compilation): the trace (free decompression keeps
    the mean, so its gradient is (n/m) 1), the 0.9-quantile and the CDF at a point inside the spectrum."""

    def of(e, at):
        spec = fdj.predict(e, N, throw=False, **configs)
        return jnp.stack([spec.trace(), spec.quantile(0.9), spec.cdf(at)])

    f, jacobian = jax.jit(of), jax.jit(jax.jacrev(of))
    for eigs, trace_rtol in cases:
        at = jnp.median(eigs)
        jac = np.asarray(jacobian(eigs, at))
        assert np.all(np.isfinite(jac))
        np.testing.assert_allclose(jac[0], np.full(M, N / M), rtol=trace_rtol)
        h, rng = 1e-7, np.random.default_rng(1)  # the Levy-Khintchine law's grid is a discrete choice: h = 1e-5 can cross a jump
        for _ in range(2):
            v = rng.standard_normal(M) * float(np.std(np.asarray(eigs)))
            fd = (np.asarray(f(eigs + h * v, at)) - np.asarray(f(eigs - h * v, at))) / (2 * h)
            np.testing.assert_allclose(jac @ v, fd, rtol=1e-4)


@pytest.mark.slow
def test_grad_through_the_traced_choice(batch):
    # a curve (Wishart) and the Levy-Khintchine law (spread): the trace's gradient to rounding for a curve, and to the
    # fit's weighting of its exact-mean rows for the Levy-Khintchine law (4e-6 measured). The laws not chosen, the
    # candidates not chosen and the gate's refits pass no derivative, finite or not (before they were cut off, the
    # gradient was NaN)
    _functionals_against_finite_differences([(batch[0], 1e-10), (jnp.asarray(spread(0)), 1e-4)], fit_config=AUTO, levy_config=LEVY)


@pytest.mark.slow
def test_grad_through_the_default_pipeline(batch):
    # the default configs (curves up to (3, 6), the full Levy-Khintchine fit; both choose a curve, spread (2, 2)): with
    # JAX 0.10 on the CPU this hung in two batched triangular solves of the backward pass until the pullbacks were
    # ordered (`_traced_choice.py`), then gave NaN for spread until a padded curve's atoms had finite derivatives in
    # their empty slots (`_density.pole_candidates`)
    _functionals_against_finite_differences([(batch[0], 1e-10), (jnp.asarray(spread(0)), 1e-10)])


@pytest.mark.slow
def test_automatic_degrees_go_past_a_curve_that_fails_at_n():
    # NTK draw 3 (1024 -> 50056): the refined (2, 2) is valid at 1024 but misses the exact moments at 50056, so
    # the plain-Python choice goes on to (1, 3); the traced choice does the same in its lanes
    config = fdj.FitConfig(max_deg_z=2, max_deg_m=3)
    inputs = [fdj.data.load_ntk(1024), fdj.data.load_ntk_draw(3)]
    out = jax.jit(jax.vmap(lambda e: fdj.eigvalsh(e, 50056, fit_config=config)))(jnp.asarray(np.stack(inputs)))
    for k, (eigs, deg) in enumerate(zip(inputs, ("SpectralCurve(2, 2)", "SpectralCurve(1, 3)"))):
        single, report = fdj.predict(eigs, 50056, fit_config=config, return_report=True)
        assert report.chosen == deg
        np.testing.assert_allclose(out[k], single.eigvalsh(50056), rtol=0, atol=1e-10)


def test_the_check_is_a_single_results_item(batched):
    spec = jax.tree.map(lambda v: v[0], batched)
    assert isinstance(spec.check, fdj.RESULTS)
    assert eqx.is_array(spec.check._value) and spec.check._value.shape == ()


@pytest.mark.slow
def test_ntk_inputs_in_one_batch_equal_single_calls():
    # the six shipped 1024-eigenvalue NTK inputs, (2, 2) curves to 50056: a lane whose check fails is
    # the same lane for which the concrete call raises
    inputs = [fdj.data.load_ntk(1024)] + [fdj.data.load_ntk_draw(k) for k in range(5)]
    out = jax.jit(jax.vmap(lambda e: fdj.predict(e, 50056, deg=(2, 2), throw=False)))(jnp.asarray(np.stack(inputs)))
    for k, eigs in enumerate(inputs):
        if int(out.check._value[k]) != RESULT_OK:
            with pytest.raises(ValueError, match="no candidate model passed"):
                fdj.predict(eigs, 50056, deg=(2, 2))
            continue
        single = fdj.predict(eigs, 50056, deg=(2, 2))
        np.testing.assert_allclose(out.x[k], single.x, rtol=0, atol=1e-10)
        np.testing.assert_allclose(out.density[k], single.density, rtol=0, atol=1e-10)
    assert np.sum(np.asarray(out.check._value) == RESULT_OK) >= 5
