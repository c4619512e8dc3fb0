#!/bin/sh
# The README's demo: install what is missing, build, train a GAN on the ring of 8
# Gaussians with a live progress line, and print the path of the scatter plot.
set -eu
cd "$(dirname "$0")/.."
sh .ci/install-deps.sh
[ -d build-demo ] || meson setup build-demo -Dbuildtype=release >/dev/null
meson compile -C build-demo >/dev/null
OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} ./build-demo/examples/mixture2d --mixture ring --out out
