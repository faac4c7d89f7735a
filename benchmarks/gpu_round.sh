#!/usr/bin/env bash
# One GPU round, run from the repository root on a GPU machine (the device tool's `run`):
# the batch benchmark at B = 1, 1024, 4096, the checked pipeline (predict_batch.py, eigenvalues and
# matrices), the Levy-Khintchine batch (levy_batch.py), then the default test suite on the GPU backend.
# `bash benchmarks/gpu_round.sh [batch|tests|all]` (default all). The whole round needs about
# 12 min of device time, more than one call may run: run the two parts in separate calls.
# Logs and JSON go to $OUT (default benchmarks/out). Wheels missing there (freealg's
# dependencies, beartype) are installed from .whl/ when that folder exists.
set -uo pipefail
part=${1:-all}
out=${OUT:-benchmarks/out}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
{ date -u; nvidia-smi -L; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import jax, equinox, diffrax, optax; print('jax', jax.__version__, jax.devices(), 'equinox', equinox.__version__, 'diffrax', diffrax.__version__, 'optax', optax.__version__)"
} 2>&1 | tee "$out/machine.log"
[ "$part" = tests ] || timeout "${BATCH_S:-330}" python3 benchmarks/batch_throughput.py --batches "${BATCHES:-1,1024,4096}" \
  --repeats 3 --timeout 150 --json "$out/batch.json" 2>&1 | tee "$out/batch.log"
# the checked pipeline end to end (fit, grid over each predicted support, solve, check: issue 16's
# "1024 spectra of m = 1024 in < 1 s after compilation"), eigenvalues then matrices
[ "$part" = tests ] || timeout "${PREDICT_S:-240}" python3 benchmarks/predict_batch.py --m 1024 --n 8192 --batches 1,1024 \
  --repeats 3 2>&1 | tee "$out/predict_batch.log"
[ "$part" = tests ] || timeout "${PREDICT_S:-240}" python3 benchmarks/predict_batch.py --matrices --m 1024 --n 8192 --batches 1,256 \
  --repeats 3 2>&1 | tee "$out/predict_batch_matrices.log"
# spectra spanning decades through the free Levy-Khintchine law (fit_levy -> Spectrum.on_grid), one program
[ "$part" = tests ] || timeout "${LEVY_S:-240}" python3 benchmarks/levy_batch.py --batches 1,256,1024 \
  --repeats 3 2>&1 | tee "$out/levy_batch.log"
[ "$part" = batch ] && exit 0
# -v: xdist prints every test's id with its outcome as it finishes, so a log cut by the time
# limit still names the failures (the default suite takes more than 6.5 min there with 14 workers)
timeout "${TESTS_S:-400}" python3 -m pytest -v -n 14 -p no:cacheprovider -p no:benchmark 2>&1 | tee "$out/pytest.log" | grep -v " PASSED "
