#!/bin/sh
# WGAN-GP against weight clipping on the 2-D mixtures (issue 26, docs/benchmarks.md
# "Gradient penalties"): examples/mixture2d with the Wasserstein loss, its critic kept
# Lipschitz by the penalty (--loss wgan-gp, lambda 0.1 as the paper's toy runs) or by
# clipping its weights to [-0.01, 0.01] (--loss wgan), everything else equal: Adam 1e-3,
# betas (0.5, 0.9), one D update per G update, ring 5,000 steps and grid 10,000, batch
# 256, the EMA of G scored; SEEDS seeds each. Two runs at a time, one thread each.
#   sh bench/penalties_mixture.sh BUILD OUT [SEEDS]
set -eu
build=$1
out=$2
seeds=${3:-10}
mkdir -p "$out"
export OPENBLAS_NUM_THREADS=1
for loss in wgan-gp wgan; do
    echo "$build/examples/mixture2d --loss $loss --mixture ring --steps 5000 --batch 256 --seeds $seeds --out $out/ring_$loss >$out/ring_$loss.log 2>&1"
    echo "$build/examples/mixture2d --loss $loss --mixture grid --steps 10000 --batch 256 --seeds $seeds --out $out/grid_$loss >$out/grid_$loss.log 2>&1"
done | xargs -P 2 -I{} sh -c '{}'
for f in "$out"/*.log; do
    printf '%s: ' "$(basename "$f" .log)"
    grep '^mean' "$f"
done
