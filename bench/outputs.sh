#!/bin/sh
# The outputs a refactor must leave bit-identical (issue 12's list): the last lines and
# PNG hashes of the examples, and bench/fingerprint's hash per trainer configuration.
# Usage: sh bench/outputs.sh BUILD_DIR OUT_DIR > summary; run it on the build before and
# after a change and diff the two summaries.
set -eu
build=$1
out=$2
mkdir -p "$out"
export OPENBLAS_NUM_THREADS=1
ex=$build/examples
run() { # name, command...
    name=$1
    shift
    "$@" >"$out/$name.log" 2>/dev/null
    echo "== $name"
    tail -n 3 "$out/$name.log"
}
run mixture2d "$ex/mixture2d" --mixture ring --seed 1 --out "$out/mixture2d"
run gaussian1d "$ex/gaussian1d" --out "$out/gaussian1d"
run cgan "$ex/cgan" --out "$out/cgan"
run mnist_gan "$ex/mnist_gan" --epochs 1 --out "$out/mnist"
echo "== pictures"
(cd "$out" && find . -name '*.png' | sort | xargs sha256sum)
echo "== fingerprint"
"$build/fingerprint"
