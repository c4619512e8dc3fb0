#!/bin/sh
# libgan against its PyTorch peers, side by side, at the same thread count: the paper's MNIST
# model, examples/dcgan's DCGAN, then pytorch/examples' 64 x 64 DCGAN at THREADS and 2
# threads, and on 2 ranks of one thread.
#   sh bench/run.sh [THREADS] [SECONDS]
set -eu
cd "$(dirname "$0")/.."
threads=${1:-1}
seconds=${2:-5}
user_core=${OPENBLAS_CORETYPE:-} # the kernels the environment gives, for the 64 x 64 runs
sh .ci/install-deps.sh --peer
[ -d build-bench ] || meson setup build-bench -Dbuildtype=release -Dtests=disabled -Dexamples=disabled >/dev/null
meson compile -C build-bench bench scale >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
OPENBLAS_NUM_THREADS=$threads ./build-bench/bench --seconds "$seconds" | tee "$out/libgan"
OMP_NUM_THREADS=$threads /usr/bin/python3 bench/peer.py --threads "$threads" --seconds "$seconds" | tee "$out/peer"
# The memory target is at batch 100: a process of its own per side, so the peak is that
# batch's (the runs above peak at their largest batch).
OPENBLAS_NUM_THREADS=$threads ./build-bench/bench --batches 100 --seconds 2 --no-sgemm >"$out/libgan100"
OMP_NUM_THREADS=$threads /usr/bin/python3 bench/peer.py --batches 100 --threads "$threads" --seconds 2 >"$out/peer100"
echo "--- libgan / pytorch (steps/s ratio; peak RSS)"
awk 'FNR == 1 { f++ } /^[0-9]+ / { s[f, $1] = $2; b[$1] = 1 } /peak_rss_mb=/ { split($0, kv, "="); r[f] = kv[2] }
     END { for (k in b) printf "batch %-4s libgan %8.2f  pytorch %8.2f  ratio %.2fx\n", k, s[1, k], s[2, k], s[1, k] / s[2, k];
           printf "peak RSS, all batches: libgan %.1f MB, pytorch %.1f MB (%.3f of pytorch)\n", r[1], r[2], r[1] / r[2];
           printf "peak RSS, batch 100:   libgan %.1f MB, pytorch %.1f MB (%.3f of pytorch)\n", r[3], r[4], r[3] / r[4] }' \
    "$out/libgan" "$out/peer" "$out/libgan100" "$out/peer100"
# The DCGAN of examples/dcgan at batch 64: each side in a process of its own, with the
# OpenBLAS kernels the environment gives, then, on a CPU with AVX-512, with OpenBLAS's
# AVX-512 ones (SkylakeX) for both sides: PyTorch's convolutions (oneDNN) use AVX-512
# whatever OpenBLAS does, libgan's only through OpenBLAS (docs/benchmarks.md).
kernels="${OPENBLAS_CORETYPE:-default}"
grep -qw avx512f /proc/cpuinfo && [ "$kernels" != SkylakeX ] && kernels="$kernels SkylakeX"
for kernel in $kernels; do
    echo "--- DCGAN, batch 64, OpenBLAS kernels: $kernel"
    if [ "$kernel" = default ]; then unset OPENBLAS_CORETYPE; else export OPENBLAS_CORETYPE=$kernel; fi
    OPENBLAS_NUM_THREADS=$threads ./build-bench/bench --model dcgan --seconds "$seconds" |
        tee "$out/libgan_dcgan"
    OMP_NUM_THREADS=$threads /usr/bin/python3 bench/peer_dcgan.py --threads "$threads" \
        --seconds "$seconds" | tee "$out/peer_dcgan"
    awk 'FNR == 1 { f++ } /^64 / { s[f] = $2 } /peak_rss_mb=/ { split($0, kv, "="); r[f] = kv[2] }
         END { printf "dcgan: libgan %.2f  pytorch %.2f steps/s  ratio %.2fx; peak RSS %.1f MB vs %.1f MB (%.3f)\n",
                      s[1], s[2], s[1] / s[2], r[1], r[2], r[1] / r[2] }' "$out/libgan_dcgan" "$out/peer_dcgan"
done
# pytorch/examples' DCGAN at 64 x 64, batch 64 (docs/benchmarks.md): libgan against the peer in
# libgan's step order (fresh noise for G's update) and in upstream main.py's (G trains on
# D's fakes: one G forward fewer; GAN_UPDATE_REUSE_FAKES), each in a process of its own.
if [ -n "$user_core" ]; then export OPENBLAS_CORETYPE="$user_core"; else unset OPENBLAS_CORETYPE; fi
for t in $(printf '%s\n' "$threads" 2 | sort -un); do
    for order in libgan upstream; do
        echo "--- DCGAN 64 x 64, batch 64, $t thread(s), $order's step order"
        OPENBLAS_NUM_THREADS=$t ./build-bench/bench --model dcgan64 --order $order --seconds "$seconds" |
            tee "$out/l64"
        OMP_NUM_THREADS=$t /usr/bin/python3 bench/peer_dcgan.py --model dcgan64 --order $order --threads "$t" \
            --seconds "$seconds" | tee "$out/p64"
        awk -v order="$order" 'FNR == 1 { f++ } /^64 / { s[f] = $2 } /peak_rss_mb=/ { split($0, kv, "="); r[f] = kv[2] }
             /^floor_mb=/ { split($1, kv, "="); floor = kv[2] }
             END { printf "dcgan64, %s order: libgan %.2f pytorch %.2f steps/s, ratio %.2fx; ", order, s[1], s[2], s[1] / s[2];
                   printf "peak RSS %.1f MB vs %.1f MB (%.3f), floor %.1f MB (%.2fx)\n", r[1], r[2], r[1] / r[2], floor,
                          r[1] / floor }' "$out/l64" "$out/p64"
    done
done
echo "--- DCGAN 64 x 64, global batch 64: one process, then 2 ranks of one thread (gan_comm_threads)"
OPENBLAS_NUM_THREADS=1 ./build-bench/scale --model dcgan64 --ranks 2 --windows 3
