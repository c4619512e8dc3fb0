#!/bin/sh
# Data-parallel scaling of the paper's model at a global batch (default 200), one core per
# rank: one process without a comm against 2 threads of one process (gan_comm_threads),
# then one MPI rank against 2 (libgan_mpi), ROUNDS times in turn so that both see the
# same machine; prints each run and the median speedups, beside the ceiling (two
# trainings of half the batch at once, without exchanges). docs/benchmarks.md.
#   sh bench/scale.sh [ROUNDS] [BATCH]
set -eu
cd "$(dirname "$0")/.."
rounds=${1:-3}
batch=${2:-200}
sh .ci/install-deps.sh
dpkg-query -W -f='${Status}' libopenmpi-dev 2>/dev/null | grep -q "install ok installed" || sh .ci/install-deps.sh --tests
[ -d build-bench ] || meson setup build-bench -Dbuildtype=release -Dtests=disabled -Dexamples=disabled >/dev/null
meson compile -C build-bench scale scale_mpi >/dev/null
export OPENBLAS_NUM_THREADS=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores," \
     "OpenBLAS kernels ${OPENBLAS_CORETYPE:-as detected}"
for r in $(seq "$rounds"); do
    ./build-bench/scale --ranks 2 --batch "$batch" | tee -a "$out/threads"
    GAN_MPI_TIMEOUT=600 sh tests/mpirun.sh 1 ./build-bench/scale_mpi --batch "$batch" | tee -a "$out/mpi1"
    GAN_MPI_TIMEOUT=600 sh tests/mpirun.sh 2 ./build-bench/scale_mpi --batch "$batch" | tee -a "$out/mpi2"
done
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# Field 6 of a line is its steps/s; a round's speedup is its 2-rank line over its 1-rank line.
ratios() { paste -d' ' "$1" "$2" | awk -v n1="$3" '{ print $(n1 + 6) / $6 }'; }
grep '^one' "$out/threads" >"$out/t1"
grep '^threads' "$out/threads" >"$out/t2"
grep '^apart' "$out/threads" >"$out/t3"
echo "--- batch $batch, $rounds rounds: speedup of 2 ranks over 1 (median, then each round)"
echo "threads: $(ratios "$out/t1" "$out/t2" 9 | median)x   ($(ratios "$out/t1" "$out/t2" 9 | tr '\n' ' '))"
echo "ceiling: $(ratios "$out/t1" "$out/t3" 9 | median)x   ($(ratios "$out/t1" "$out/t3" 9 | tr '\n' ' '))" \
     "2 trainings of batch/2 at once, no exchanges"
echo "mpi:     $(ratios "$out/mpi1" "$out/mpi2" 9 | median)x   ($(ratios "$out/mpi1" "$out/mpi2" 9 | tr '\n' ' '))"
