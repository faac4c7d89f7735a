"""Time of `fdj.eigvalsh(A_sub, n)` for a 745 x 745 matrix input (issue 14's speed target: <= 10 s warm).

For each real case of `tests/realcases.py` named on the command line, the principal submatrix
on the first m = 745 entries of a seeded random permutation is predicted at n = 8 m with
library defaults. Printed: the first call of `fdj.eigvalsh` (compilation included), the median
of the later calls (warm), and the model `predict` chose (one more call with `return_report=True`,
not timed: the report's fit KS costs a second solve at the observed size). The machine is stated above the table.

    python benchmarks/matrix_input_speed.py                       # the default cases
    python benchmarks/matrix_input_speed.py --cases mlp_hessian --repeats 2
"""

from __future__ import annotations

import argparse
import sys

import _common as C
import numpy as np

DEFAULT_CASES = "random_feature_gram,mlp_hessian,mlp_gauss_newton"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default=DEFAULT_CASES)
    parser.add_argument("--m", type=int, default=745)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    C.enable_x64()
    fdj, why = C.load_fdj()
    if fdj is None:
        sys.exit(why)
    import jax.random as jr

    sys.path.insert(0, str(C.REPO_DIR / "tests"))
    from realcases import ALL_CASES

    print(C.describe_machine(C.machine_info()))
    print(f"| case | m | n | model | first call [s] | warm [s] (median of {args.repeats}) |")
    print("|---|---|---|---|---|---|")
    for name in args.cases.split(","):
        case = ALL_CASES[name](args.seed)
        idx = np.asarray(jr.permutation(jr.PRNGKey(args.seed), case.n))[: args.m]
        sub = case.matrix[np.ix_(idx, idx)]
        n = 8 * args.m

        try:
            _, first, warm = C.first_and_median(lambda sub=sub, n=n: fdj.eigvalsh(sub, n), args.repeats)
            chosen = fdj.predict(sub, n, return_report=True)[1].chosen
            print(f"| {name} | {args.m} | {n} | {chosen} | {first:.1f} | {warm:.1f} |", flush=True)
        except ValueError as e:
            print(f"| {name} | {args.m} | {n} | ValueError: {str(e).splitlines()[0][:80]} | | |", flush=True)


if __name__ == "__main__":
    main()
