#!/bin/sh
# The paper's MNIST experiment, libgan against its PyTorch peer: the same recipe for the
# same epochs, both scored by mnist_gan's Parzen protocol and by examples/score (FD, KID,
# precision and recall on the scoring classifier's features).
#   sh bench/mnist_vs_peer.sh [EPOCHS] [SEED] [THREADS] [DATA_DIR]
set -eu
cd "$(dirname "$0")/.."
epochs=${1:-25}
seed=${2:-1}
threads=${3:-1}
data=${4:-/usr/share/datasets/fashion-mnist}
sh .ci/install-deps.sh --peer
[ -d build-mnist ] || meson setup build-mnist -Dbuildtype=release -Dtests=disabled >/dev/null
meson compile -C build-mnist examples/mnist_gan examples/score >/dev/null
# First, that both sides train the same thing (to float rounding), given the same streams.
LIBGAN_PATH=build-mnist/libgan.so.0 /usr/bin/python3 bench/peer_equivalence.py --steps 40 | tail -n 1
out=out/mnist-vs-peer-e$epochs-s$seed
mkdir -p "$out"
./build-mnist/examples/mnist_gan --epochs "$epochs" --seed "$seed" --threads "$threads" --data "$data" \
    --out "$out/libgan" --samples "$out/libgan.f32" | tee "$out/libgan.log"
OMP_NUM_THREADS=$threads /usr/bin/python3 bench/peer_mnist.py --epochs "$epochs" --seed "$seed" \
    --threads "$threads" --data "$data" --out "$out/pytorch.f32"
./build-mnist/examples/mnist_gan --score "$out/pytorch.f32" --data "$data" | tee "$out/pytorch.log"
echo "--- Parzen log-likelihood on the test set, $epochs epochs, seed $seed (higher is better)"
echo "libgan:  $(tail -n 1 "$out/libgan.log")"
echo "pytorch: $(tail -n 1 "$out/pytorch.log")"
for side in libgan pytorch; do
    ./build-mnist/examples/score --samples "$out/$side.f32" --data "$data" | tail -n 1 >"$out/$side.score"
done
echo "--- examples/score against the test set (FD and KID: lower is better)"
echo "libgan:  $(cat "$out/libgan.score")"
echo "pytorch: $(cat "$out/pytorch.score")"
