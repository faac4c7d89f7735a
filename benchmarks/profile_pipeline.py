"""Where the time of one fit + decompress goes, stage by stage, after compilation.

Each stage of `fit` and of `decompress` (its compiled `_curve_solve.solve_curve`) is
jit-compiled on its own and timed on the inputs the pipeline gives it (median of repeats,
`block_until_ready`), next to the whole call. The stages of `decompress` (free decompression
to one size), in order:

- `frame and lanes`: the curve in coordinates scaled to its spectrum, the atom candidates
  (real roots of a_K), the lanes (grid points and atom candidates lifted to x + i delta);
- `exact evolution`: the coefficients of the evolved curve P_t (`Free().evolve_coeffs`);
- `physical branch of the evolved curve`: Aberth roots + Newton continuation from infinity
  at every lane;
- `Newton polish`: Newton on the exact 2x2 characteristic system at x + i delta;
- `descent`: Newton continuation down to the real axis (`_curve_solve._LEVELS` levels; here
  every lane takes the grid lanes' geometric ladder delta .. delta/100, then 0).

No ODE is integrated any more (the exact evolution gives the curve at every size), so the
former `ODE flow` stage is gone, and so is the separate branch of the curve at n0 (the
tracker now runs on the evolved curve only).

Stages of `fit` (fixed degrees): the empirical Stieltjes transform at the fit points,
the closed-form start (SVD), the L-BFGS/Newton refinement (each step re-tracks the branch),
and the evaluation of the result (tracker on the check grid; the start's too only where the result is not clearly kept).

    python benchmarks/profile_pipeline.py                  # MP 1000 eigenvalues, deg (1, 2)
    python benchmarks/profile_pipeline.py --ntk --deg 2,2  # the NTK, 1024 -> 50056
"""

from __future__ import annotations

import argparse
import sys

import _common as C


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ntk", action="store_true", help="profile the NTK 1024 -> 50056 instead of MP 1000 -> 8000")
    p.add_argument("--deg", default="1,2")
    p.add_argument("--grid", type=int, default=512)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    C.enable_x64()
    import jax
    import jax.numpy as jnp

    import freedecomp_jax as fdj
    from freedecomp_jax import _curve_solve as CS
    from freedecomp_jax import _fit_problem as FP
    from freedecomp_jax import _fit_refine as FR
    from freedecomp_jax._branch import stieltjes_branch
    from freedecomp_jax._density import pole_candidates
    from freedecomp_jax._inputs import _parse_inputs
    from freedecomp_jax._system import System, descend, newton

    deg = tuple(int(v) for v in args.deg.split(","))
    if args.ntk:
        small, m, n, what = fdj.data.load_ntk(1024), 1024, 50056, "NTK 1024 -> 50056"
    else:
        small, m, n = C.mp_law_spectra(1, 1000, seed=0)[0], 1000, 8000
        what = "MP 1000 -> 8000"
    print(C.describe_machine(C.machine_info()))
    print(f"# {what}, deg {deg}, grid {args.grid}; times: median of {args.repeats} after compilation")
    eigs = jnp.asarray(small)
    x = jnp.asarray(C.prediction_grid(small, n, args.grid))
    config, solver, kind = fdj.FitConfig(), fdj.CurveSolver(), fdj.Free()
    rows = []

    def stage(name, fn, part_of):
        _, first, med = C.first_and_median(fn, args.repeats)
        rows.append({"stage": name, "part": part_of, "time_s": med, "first_s": first})

    # ---------------------------------------------------------------- fit
    inputs = _parse_inputs(eigs, m, None, config)
    b = inputs.base
    data_jit = jax.jit(lambda e, w: FP._spectrum_data(e, w, None, b.eps, config))
    stage("empirical Stieltjes transform, fit points", lambda: data_jit(b.eigs, b.weights), "fit")
    base = data_jit(b.eigs, b.weights)
    build = eqx_jit(lambda base: FP._build_problem(base, (), deg, config))
    stage("closed-form start (SVD)", lambda: build(base), "fit")
    problem, b0, _ = build(base)
    track = eqx_jit(lambda b, problem: FR._tracked(FP._Coefficients(b).raw(problem), problem, config))
    stage("branch at the loss points of the start (tracker)", lambda: track(b0, problem), "fit")
    m0, s0 = track(b0, problem)
    refine = eqx_jit(lambda b0, m0, s0, problem: FR._refine(b0, m0, s0, problem, config))
    stage(f"refinement (at most {config.steps} L-BFGS + {config.polish} Newton steps)", lambda: refine(b0, m0, s0, problem), "fit")
    b1, m1, s1 = refine(b0, m0, s0, problem)
    evaluate = eqx_jit(lambda b, problem: FR._on_check_grid(b, problem, config))
    stage("evaluation of the result (tracker on the check grid; the start's only if the result is not clearly better)", lambda: evaluate(b1, problem), "fit")
    stage("fit total (fdj.fit)", lambda: fdj.fit(eigs, deg=deg, n0=m), "fit")
    curve = fdj.fit(eigs, deg=deg, n0=m)

    # ---------------------------------------------------------------- decompress
    c = curve.coeffs
    ts = jnp.log(jnp.asarray([float(n)]) / curve.n0)
    tau = jnp.exp(ts[0])

    @jax.jit
    def lanes(c, x):
        center, width, _, ct = CS.frame(c, kind)
        _, a_cand, _ = kind.atom_slots(*pole_candidates(c, center, width))
        z = jnp.concatenate([(x - center) / width, a_cand]) + 1j * solver.delta
        return ct, z

    stage("frame, atom candidates and lanes", lambda: lanes(c, x), "decompress")
    ct, z = lanes(c, x)
    evolve = jax.jit(lambda ct, ts: jax.vmap(lambda t: kind.evolve_coeffs(ct, t))(ts))
    stage("exact evolution of the coefficients", lambda: evolve(ct, ts), "decompress")
    ct_t = evolve(ct, ts)[0]
    branch = jax.jit(lambda ce, z: stieltjes_branch(ce, z, solver.tracker))
    stage("physical branch of the evolved curve (roots + continuation)", lambda: branch(ct_t, z), "decompress")
    m_t, st_t = branch(ct_t, z)
    tracked = (st_t == 0) & jnp.isfinite(m_t) & (jnp.imag(m_t) > 0)
    m_t = jnp.where(tracked, m_t, -1.0 / z)
    sys_ = System(ct, kind)
    zeta, y = sys_.state_of(tau, z, m_t)
    polish = eqx_jit(
        lambda sys_, z, zeta, y: jax.vmap(lambda zz, a, b: newton(sys_, tau, zz, a, b, solver.newton_steps))(z, zeta, y)
    )
    stage("Newton polish at x + i delta", lambda: polish(sys_, z, zeta, y), "decompress")
    zeta_p, y_p, _ = polish(sys_, z, zeta, y)
    frac = jnp.arange(1.0, CS._LEVELS) / (CS._LEVELS - 1)
    ladder = jnp.concatenate([solver.delta * 1e-2**frac, jnp.zeros(1)])
    heights = jnp.broadcast_to(ladder, (z.shape[0], CS._LEVELS))
    down = eqx_jit(
        lambda sys_, z, zeta, y: jax.vmap(lambda xx, h, a, b: descend(sys_, tau, xx, h, a, b, solver.newton_steps))(
            jnp.real(z).astype(jnp.complex128), heights, zeta, y
        )
    )
    stage(f"descent to the real axis ({CS._LEVELS} Newton levels)", lambda: down(sys_, z, zeta_p, y_p), "decompress")
    stage("decompress total (fdj.decompress)", lambda: fdj.decompress(curve, x, n, kind, throw=False), "decompress")
    spec = fdj.decompress(curve, x, n, kind, throw=False)
    stage("Spectrum.eigvalsh (n quantiles)", lambda: spec.eigvalsh(), "quantiles")

    print(C.format_table(rows, [("part", "part", ""), ("stage", "stage", ""), ("time_s", "time[s]", ".4f"), ("first_s", "first call[s]", ".2f")]))
    print("# stages are compiled separately, so they do not add up exactly to the totals (XLA fuses across")
    print("# stage boundaries inside the real call); first call = trace + compile + run of that stage alone.")
    return 0


def eqx_jit(fn):
    import equinox as eqx

    return eqx.filter_jit(fn)


if __name__ == "__main__":
    sys.exit(main())
