#!/bin/sh
# Demo: the paper's MNIST model on Fashion-MNIST, on a short budget (about two minutes).
# Usage (from any directory): sh examples/demo_mnist.sh [EPOCHS]
# Installs the Debian packages it needs (the build, libpng, dataset-fashion-mnist),
# builds libgan in build-demo/ (release), trains, prints the sample grid's path and
# the Parzen score. `examples/mnist_gan --help` lists the flags of a full run.
set -eu

cd "$(dirname "$0")/.."

sh .ci/install-deps.sh
[ -f build-demo/build.ninja ] || meson setup build-demo -Dbuildtype=release
ninja -C build-demo examples/mnist_gan

mkdir -p out
# Progress goes to stderr as it trains; the summary lines land in out/mnist.log.
build-demo/examples/mnist_gan --epochs "${1:-3}" --threads 1 --out out/mnist >out/mnist.log
cat out/mnist.log

grid="$(pwd)/out/mnist/samples.png"
[ -f "$grid" ] || { echo "demo_mnist.sh: $grid was not written" >&2; exit 1; }
echo "sample grid: $grid"
echo "Parzen score: $(tail -n 1 out/mnist.log)"
