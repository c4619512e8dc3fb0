#!/bin/sh
# Gradient penalties on examples/dcgan, Fashion-MNIST, at equal time (issue 26,
# docs/benchmarks.md "Gradient penalties"): the default recipe trains EPOCHS epochs; WGAN-GP
# (--loss wgan-gp: its paper's MNIST recipe on this D without batch norm), R1 (--r1
# GAMMA, every R1_INTERVAL steps, D without batch norm) and the default recipe on that D
# without a penalty (--d-norm none, the control) then train for exactly as much CPU time
# as that run's training took, same seed. CPU time on one thread is the
# wall-clock time of a run alone on its core, so the comparison holds whatever shares the
# machine; jobs run two at a time. Each run's 10,000 samples are scored by examples/score
# (FD, KID, precision, recall) with one scoring classifier trained here.
#   sh bench/penalties_dcgan.sh BUILD OUT [EPOCHS] [SEEDS] [GAMMA] [R1_INTERVAL]
set -eu
build=$1
out=$2
epochs=${3:-1}
seeds=${4:-"1 2 3"}
gamma=${5:-1}
interval=${6:-1}
ex=$build/examples
. "$(dirname "$0")/equal_time.sh"

# Phase 1: the default recipe.
for s in $seeds; do
    echo "[ -f $out/ns_$s.f32 ] || $ex/dcgan --epochs $epochs --seed $s --out $out/ns_$s --samples $out/ns_$s.f32 >$out/ns_$s.log 2>&1"
done | jobs
# Phase 2: the penalties, for the CPU time the default run of the seed trained.
for s in $seeds; do
    minutes=$(awk -v s="$(cpu_seconds "$out/ns_$s.log")" 'BEGIN { printf "%.3f", s / 60 }')
    echo "[ -f $out/gp_$s.f32 ] || $ex/dcgan --loss wgan-gp --epochs 1000 --cpu-minutes $minutes --seed $s --out $out/gp_$s --samples $out/gp_$s.f32 >$out/gp_$s.log 2>&1"
    echo "[ -f $out/r1_$s.f32 ] || $ex/dcgan --r1 $gamma --penalty-interval $interval --epochs 1000 --cpu-minutes $minutes --seed $s --out $out/r1_$s --samples $out/r1_$s.f32 >$out/r1_$s.log 2>&1"
    echo "[ -f $out/plain_$s.f32 ] || $ex/dcgan --d-norm none --epochs 1000 --cpu-minutes $minutes --seed $s --out $out/plain_$s --samples $out/plain_$s.f32 >$out/plain_$s.log 2>&1"
done | jobs
# Phase 3: scores.
for m in ns gp r1 plain; do
    for s in $seeds; do
        echo "[ -f $out/${m}_$s.score ] || $ex/score --samples $out/${m}_$s.f32 --classifier $classifier >$out/${m}_$s.score 2>/dev/null"
    done
done | jobs
echo "recipe seed cpu_minutes steps fd kid precision recall"
for m in ns gp r1 plain; do
    for s in $seeds; do
        steps=$(tr '\r' '\n' <"$out/${m}_$s.log" | sed -n 's/^step \([0-9]*\)\/.*/\1/p' | tail -n 1)
        tail -n 1 "$out/${m}_$s.score" | tr ' ' '\n' | awk -F= -v m=$m -v s=$s -v t="$(cpu_seconds "$out/${m}_$s.log")" \
            -v n="${steps:--}" '{ x[$1] = $2 } END { printf "%s %s %.2f %s %s %s %s %s\n", m, s, t / 60, n,
               x["fd"], x["kid"], x["precision"], x["recall"] }'
    done
done
