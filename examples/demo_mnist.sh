#!/bin/sh
# Demo: the paper's MNIST model on Fashion-MNIST, on a short budget (about two minutes).
# Usage (from any directory): sh examples/demo_mnist.sh [EPOCHS]
# Installs the Debian packages it needs (the build, cairo, dataset-fashion-mnist),
# builds libgan in build-demo/ (release), trains, prints the sample grid's path and
# the Parzen score. `examples/mnist_gan --help` lists the flags of a full run.
set -eu

cd "$(dirname "$0")/.."
epochs=${1:-3}
echo "demo: the paper's MNIST model (G 100-1200-1200-784, D maxout 240x5 x2) on Fashion-MNIST"
echo "      data /usr/share/datasets/fashion-mnist, $epochs epochs, seed 1, 1 thread, output $(pwd)/out/mnist"
echo "      first: install what is missing and build libgan in build-demo/ (release)"

sh .ci/install-deps.sh
[ -f build-demo/build.ninja ] || meson setup build-demo -Dbuildtype=release
ninja -C build-demo examples/mnist_gan

mkdir -p out
# Progress goes to stderr as it trains; the summary lines land in out/mnist.log.
build-demo/examples/mnist_gan --epochs "$epochs" --threads 1 --out out/mnist >out/mnist.log
cat out/mnist.log

grid="$(pwd)/out/mnist/samples.png"
[ -f "$grid" ] || { echo "demo_mnist.sh: $grid was not written" >&2; exit 1; }
echo "sample grid: $grid"
echo "Parzen score: $(tail -n 1 out/mnist.log)"
