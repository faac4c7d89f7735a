"""Time the kernels every stage is built on: batched polynomial roots and a curve's density.

`jax.vmap(polyroots)` on 2000 random complex polynomials of degree 6, 16 and 35 (the sizes of
the tracker's roots in z and in m for the degrees the library fits), and `curve.density(x)`
of the FreeLevy law's exact curve (degrees (1, 4), n0 = 1000) at 512 and 2000 points. Each
kernel is compiled first (the first call, timed apart), then run `--repeats` times
(`block_until_ready`, median reported).

    python benchmarks/spine_kernels.py
    python benchmarks/spine_kernels.py --repeats 10 --json out.json
"""

from __future__ import annotations

import argparse

import _common as C


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", type=str, default=None)
    args = ap.parse_args()
    C.enable_x64()

    import jax
    import numpy as np

    import freedecomp_jax as fdj
    from freedecomp_jax import distributions as D

    info = C.machine_info()
    print(C.describe_machine(info))
    rows = []
    rng = np.random.default_rng(0)
    roots = jax.jit(jax.vmap(fdj.polyroots))
    for degree in (6, 16, 35):
        a = rng.standard_normal((2000, degree + 1)) + 1j * rng.standard_normal((2000, degree + 1))
        out, first, median = C.first_and_median(lambda a=a: roots(a), args.repeats)
        worst = float(np.max(np.asarray(out.backward_error)))
        rows.append({"kernel": f"vmap(polyroots), 2000 polys, degree {degree}", "first_s": first,
                     "median_ms": 1e3 * median, "check": f"max backward error {worst:.1e}"})

    law = D.FreeLevy([2.0, 5.5], [0.75, 0.25], 0.1, 0.0, 0.4).decompress(0.25)
    curve = law.curve(1000.0)
    density = jax.jit(lambda c, x: c.density(x))
    sup = np.asarray(law.support())
    for points in (512, 2000):
        x = np.linspace(sup.min(), sup.max(), points)
        out, first, median = C.first_and_median(lambda x=x: density(curve, x), args.repeats)
        err = float(np.max(np.abs(np.asarray(out) - np.asarray(law.density(x)))))
        rows.append({"kernel": f"FreeLevy curve ({curve.deg_z}, {curve.deg_m}): density, {points} points", "first_s": first,
                     "median_ms": 1e3 * median, "check": f"max |density - closed form| {err:.1e}"})

    print(C.format_table(rows, [("kernel", "kernel", ""), ("first_s", "first call [s]", ".2f"),
                                ("median_ms", "after compilation [ms]", ".1f"), ("check", "check", "")]))
    if args.json:
        C.write_json(args.json, {"machine": info, "rows": rows})


if __name__ == "__main__":
    main()
