"""Command line: `python -m freedecomp_jax ntk` decompresses the shipped NTK spectrum."""

import argparse
import sys
import time


def _ntk(args) -> int:
    import jax

    jax.config.update("jax_enable_x64", True)
    import numpy as np

    import freedecomp_jax as fdj

    if args.cache:
        where = fdj.enable_compilation_cache()
        print(f"JAX compilation cache: {where} (later runs skip most compilation; --no-cache to turn off)")
    from freedecomp_jax._metrics import (
        as_is_baseline,
        ks_distance,
        rescaled_baseline,
        wasserstein1,
    )
    from freedecomp_jax.data import load_ntk, ntk_eigvalsh_seconds

    small = load_ntk(args.n0)
    truth = load_ntk(args.n)
    print(f"NTK of ResNet-50 on CIFAR-10: fit on the {args.n0}x{args.n0} submatrix, predict {args.n}x{args.n}")
    t0 = time.perf_counter()
    predicted = np.asarray(fdj.eigvalsh(small, args.n))
    elapsed = time.perf_counter() - t0
    std = truth.std()
    rows = [
        ("free decompression (freedecomp_jax)", predicted),
        ("small spectrum as is", as_is_baseline(small, args.n)),
        ("small spectrum rescaled by sqrt(n/m) about its mean", rescaled_baseline(small, args.n0, args.n)),
    ]
    print(f"\n{'prediction':<54}{'KS':>8}{'W1/std':>10}")
    for name, eig in rows:
        print(f"{name:<54}{ks_distance(eig, truth):>8.4f}{wasserstein1(eig, truth) / std:>10.4f}")
    dense = ntk_eigvalsh_seconds().get(args.n)
    print(f"\nfit + decompress + quantiles: {elapsed:.1f} s (first call in this process, compilation included unless the cache held it)", end="")
    print(f"; dense eigvalsh of the {args.n}x{args.n} matrix took {dense:.0f} s" if dense else "")
    if args.plot:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed (pip install 'freedecomp_jax[plot]'): no plot saved.")
            return 0
        fig, ax = plt.subplots(figsize=(7, 4))
        bins = np.linspace(truth.min(), truth.max(), 120)
        ax.hist(truth, bins=bins, density=True, alpha=0.4, label=f"true spectrum, n={args.n}")
        ax.hist(predicted, bins=bins, density=True, histtype="step", lw=1.5, label="free decompression")
        ax.hist(small, bins=bins, density=True, histtype="step", lw=1, ls="--", label=f"observed, m={args.n0}")
        ax.set_xlabel("eigenvalue")
        ax.set_ylabel("density")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"comparison plot saved to {args.plot}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m freedecomp_jax", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ntk = sub.add_parser("ntk", help="decompress the shipped ResNet-50 NTK spectrum and compare with the truth")
    ntk.add_argument("--n0", type=int, default=1024, help="size of the observed submatrix (default 1024)")
    ntk.add_argument("--n", type=int, default=50056, help="target size (default 50056, the full matrix)")
    ntk.add_argument("--plot", default="ntk_decompression.png", help="where to save the comparison plot ('' for none)")
    ntk.add_argument("--no-cache", dest="cache", action="store_false", help="do not use the persistent compilation cache (fdj.enable_compilation_cache)")
    args = parser.parse_args(argv)
    if args.command == "ntk":
        return _ntk(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
