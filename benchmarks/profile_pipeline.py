"""Where the time of one fit + decompress goes, stage by stage, after compilation.

Each stage of `fit` and of `decompress` (its compiled `_solve`) is jit-compiled on its own
and timed on the inputs the pipeline gives it (median of repeats, `block_until_ready`), next
to the whole call. The stages of `decompress`, in order:

- `initial branch`: physical branch of the curve at n0 at every lane (grid points and atom
  candidates lifted to x + i delta): Aberth roots + Newton continuation from infinity;
- `ODE flow`: the diffrax integration of the characteristic state of every lane to t = log(n/n0);
- `Newton polish`: Newton on the exact 2x2 system at x + i delta;
- `branch check`: the physical branch of the *evolved* curve at every lane (roots +
  continuation again), which catches lanes that slid off the physical sheet;
- `descent`: Newton continuation down to the real axis (4 levels).

Stages of `fit` (fixed degrees): the empirical Stieltjes transform at the fit points,
the closed-form start (SVD), the L-BFGS/Newton refinement (each step re-tracks the branch),
and the evaluation of start and result (tracker at every loss point).

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
    from freedecomp_jax import _decompress as D
    from freedecomp_jax import _fit as F
    from freedecomp_jax._branch import stieltjes_branch
    from freedecomp_jax._evolve import evolve_coeffs

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
    config, dconfig = F.FitConfig(), D.DecompressConfig(throw=False)
    rows = []

    def stage(name, fn, part_of):
        _, first, med = C.first_and_median(fn, args.repeats)
        rows.append({"stage": name, "part": part_of, "time_s": med, "first_s": first})

    # ---------------------------------------------------------------- fit
    inputs = F._parse_inputs(eigs, m, None, config)
    b = inputs.base
    data_jit = jax.jit(lambda e, w: F._spectrum_data(e, w, None, b.eps, config))
    stage("empirical Stieltjes transform, fit points", lambda: data_jit(b.eigs, b.weights), "fit")
    base = data_jit(b.eigs, b.weights)
    build = eqx_jit(lambda base: F._build_problem(base, (), deg, config))
    stage("closed-form start (SVD)", lambda: build(base), "fit")
    problem, b0, _ = build(base)
    refine = eqx_jit(lambda b0, problem: F._refine(b0, problem, config))
    stage(f"refinement ({config.steps} L-BFGS + {config.polish} Newton steps)", lambda: refine(b0, problem), "fit")
    b1 = refine(b0, problem)[0]
    evaluate = eqx_jit(lambda bs, problem: jax.vmap(lambda bb: F._evaluate(bb, problem, config))(bs))
    stage("evaluation of start and result (tracker)", lambda: evaluate(jnp.stack([b0, b1]), problem), "fit")
    stage("fit total (fdj.fit)", lambda: fdj.fit(eigs, deg=deg, n0=m), "fit")
    curve = fdj.fit(eigs, deg=deg, n0=m)

    # ---------------------------------------------------------------- decompress
    c = curve.coeffs
    ts = jnp.log(jnp.asarray([float(n)]) / curve.n0)

    @jax.jit
    def lanes(c, x):
        center, width, _ = D._spectral_frame(c)
        ct = D._rescale(c, center, width)
        _, a_cand, _ = D._atom_candidates(c, center, width)
        z = jnp.concatenate([(x - center) / width, a_cand]) + 1j * dconfig.delta
        return ct, z

    ct, z = lanes(c, x)
    sys_ = D._System(ct, jnp.asarray(1.0), "free")
    taus = jnp.exp(ts)
    branch = jax.jit(stieltjes_branch)
    stage("initial branch (roots + continuation)", lambda: branch(ct, z), "decompress")
    m0, st0 = branch(ct, z)
    live = (st0 == 0) & jnp.isfinite(m0)
    flow = eqx_jit(lambda sys_, z, m0, live, ts: D._flow(sys_, z, z, m0, live, ts, dconfig))
    stage("ODE flow (diffrax Tsit5 + PID)", lambda: flow(sys_, z, m0, live, ts), "decompress")
    zeta, y, _ = flow(sys_, z, m0, live, ts)
    polish = eqx_jit(
        lambda sys_, z, zeta, y: jax.vmap(lambda zz, a, b: D._newton(sys_, taus[0], zz, a, b, dconfig.newton_steps))(z, zeta[:, 0], y[:, 0])
    )
    stage("Newton polish at x + i delta", lambda: polish(sys_, z, zeta, y), "decompress")
    zeta_p, y_p, _ = polish(sys_, z, zeta, y)
    check = jax.jit(lambda ct, t, z: stieltjes_branch(evolve_coeffs(ct, t, "free", None), z))
    stage("branch check on the evolved curve (roots + continuation)", lambda: check(ct, ts[0], z), "decompress")
    heights = jnp.zeros((z.shape[0], D._LEVELS))
    descend = eqx_jit(
        lambda sys_, z, zeta, y: jax.vmap(lambda xx, h, a, b: D._descend(sys_, taus[0], xx, h, a, b, dconfig.newton_steps))(
            jnp.real(z).astype(jnp.complex128), heights, zeta, y
        )
    )
    stage(f"descent to the real axis ({D._LEVELS} Newton levels)", lambda: descend(sys_, z, zeta_p, y_p), "decompress")
    stage("decompress total (fdj.decompress)", lambda: fdj.decompress(curve, x, n, config=dconfig), "decompress")
    spec = fdj.decompress(curve, x, n, config=dconfig)
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
