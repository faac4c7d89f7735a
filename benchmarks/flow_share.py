"""Where `decompress`'s answer comes from, and what it costs: the measurement behind dropping the
characteristic ODE from the hot path (issue 13, "the diffrax flow must carry the answer or not run").

For fitted curves (automatic degrees) on the six shipped NTK inputs (1024 -> 50056) and on the
1000 quantiles of five closed-form laws (-> 8000), and for the laws' exact curves, it prints the
share of grid points whose returned value came from the characteristic flow and the warm
`decompress` time on a 1024-point grid. Run it on two checkouts to compare (it detects which
design it is running on):

    python benchmarks/flow_share.py            # this checkout
    PYTHONPATH=/path/to/old/checkout python benchmarks/flow_share.py

Old design: every lane was integrated by diffrax, then compared with the evolved curve's physical
branch; a lane that disagreed was replaced (status SWITCHED), so the flow's share is the share of
points with status OK. New design: no flow runs; the share is 0 by construction.
"""

from __future__ import annotations

import _common as C


def main() -> None:
    C.enable_x64()
    import numpy as np

    import freedecomp_jax as fdj
    import freedecomp_jax._decompress as dmod
    from freedecomp_jax import distributions as D

    old = hasattr(dmod, "SWITCHED")
    info = C.machine_info()
    print(C.describe_machine(info))
    print(f"# design: {'old (diffrax flow + branch check)' if old else 'new (exact evolution + physical branch, no flow)'}")

    def run(curve, x, n, deformed=None):
        if old:
            kw = {} if deformed is None else dict(kind="deformed", ratio=deformed)
            cfg = dmod.DecompressConfig(throw=False)
            f = lambda: dmod.decompress(curve, x, n, config=cfg, **kw)  # noqa: E731
        else:
            kind = fdj.Free() if deformed is None else fdj.Deformed(deformed)
            f = lambda: fdj.decompress(curve, x, n, kind, throw=False)  # noqa: E731
        C.block(f().density)
        spec, dt = C.timed(lambda: C.block(f()))
        if old:
            st = np.asarray(spec.status)
            flow = float(np.mean(st == dmod.OK))
            bad = float(np.mean(np.isin(st, dmod._FAILURES)))
        else:
            flow = 0.0
            bad = float(np.mean(np.asarray(fdj._results.failed(spec.result))))
        return flow, bad, dt

    def quantiles(law, m):
        lo, hi = np.asarray(law.support())[[0, -1], [0, 1]]
        g = np.linspace(lo, hi, 200001)
        rho = np.asarray(law.density(g))
        F = np.concatenate([[0.0], np.cumsum((rho[1:] + rho[:-1]) / 2 * np.diff(g))])
        pos, w = law.atoms()
        F = F / F[-1] * (1 - float(np.sum(w)))
        q = (np.arange(m) + 0.5) / m
        out = np.interp(q, F, g)
        for p, wt in zip(np.asarray(pos), np.asarray(w)):  # atoms: a share of the quantiles at p
            k = int(round(wt * m))
            out = np.sort(np.concatenate([out[: m - k], np.full(k, p)]))
        return out

    rows = []
    laws = {
        "Wigner": D.Wigner(2.0),
        "MP": D.MarchenkoPastur(0.3),
        "FreeLevy": D.FreeLevy([2.0, 5.5], [0.75, 0.25], 0.1, 0.0, 0.4).decompress(0.25),
        "CFP": D.CompoundFreePoisson([2.0, 5.5], [0.75, 0.25], 0.1),
        "DMP": D.DeformedMarchenkoPastur([1.0, 4.0], [0.5, 0.5], 0.1),
    }
    for name, law in laws.items():
        ratio = 0.1 if name == "DMP" else None
        target = law.decompress(8.0)
        sup = np.asarray(target.support())
        x = np.linspace(sup.min() - 0.05 * np.ptp(sup), sup.max() + 0.05 * np.ptp(sup), 1024)
        flow, bad, dt = run(law.curve(1000.0), x, 8000.0, ratio)
        rows.append(dict(case=f"{name} exact curve", flow=flow, failed=bad, seconds=dt))
        fitted = fdj.fit(quantiles(law, 1000))
        flow, bad, dt = run(fitted, x, 8000.0, ratio)
        rows.append(dict(case=f"{name} fitted {fitted.deg_z, fitted.deg_m}", flow=flow, failed=bad, seconds=dt))
    inputs = {"NTK nested 1024": fdj.data.load_ntk(1024)} | {f"NTK draw {k}": fdj.data.load_ntk_draw(k) for k in range(5)}
    truth = fdj.data.load_ntk(50056)
    x = np.linspace(truth.min() - 0.05 * np.ptp(truth), truth.max() + 0.05 * np.ptp(truth), 1024)
    for name, eigs in inputs.items():
        fitted = fdj.fit(eigs)
        flow, bad, dt = run(fitted, x, 50056.0)
        rows.append(dict(case=f"{name} fitted {fitted.deg_z, fitted.deg_m}", flow=flow, failed=bad, seconds=dt))
    print(f"{'case':32s} {'from flow':>10s} {'failed':>8s} {'decompress s (warm)':>20s}")
    for r in rows:
        print(f"{r['case']:32s} {r['flow']:10.1%} {r['failed']:8.1%} {r['seconds']:20.3f}")


if __name__ == "__main__":
    main()
