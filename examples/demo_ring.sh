#!/bin/sh
# Demo: train a GAN on 8 Gaussians on a ring and draw what it learned.
# Usage (from any directory): sh examples/demo_ring.sh
# Installs the Debian packages the build needs, builds libgan in build-demo/
# (release), trains, and prints the path of the picture.
set -eu

cd "$(dirname "$0")/.."

sh .ci/install-deps.sh
[ -f build-demo/build.ninja ] || meson setup build-demo -Dbuildtype=release
ninja -C build-demo examples/mixture2d

# One BLAS thread: these matrices are small, and threads only add overhead.
OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} build-demo/examples/mixture2d --mixture ring --out out

picture="$(pwd)/out/mixture2d_ring.png"
[ -f "$picture" ] || { echo "demo_ring.sh: $picture was not written" >&2; exit 1; }
echo "picture: $picture"
