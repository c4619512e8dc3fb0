#!/bin/sh
# SNGAN against DCGAN on Fashion-MNIST at equal time (issue 25, docs/benchmarks.md
# "SNGAN against DCGAN"): examples/dcgan trains EPOCHS epochs, and examples/sngan then
# trains for exactly as much time as that DCGAN run's training took, same seed and variant
# (unconditional, --cond). Time is each process's CPU time on one thread (the "of CPU" of
# the "done in" line, sngan --cpu-minutes): the wall-clock time of a run alone on its
# core, so the comparison holds whatever else shares the machine. Jobs run two at a time.
# Every run's 10,000 samples are scored by examples/score (FD, KID, precision, recall, and
# with --cond the class accuracy) with one scoring classifier trained here.
#   sh bench/sngan_vs_dcgan.sh BUILD OUT [EPOCHS] [SEEDS] [SNGAN_FLAGS]
set -eu
build=$1
out=$2
epochs=${3:-2}
seeds=${4:-"1 2 3"}
sngan_flags=${5:-}
ex=$build/examples
. "$(dirname "$0")/equal_time.sh"

# Phase 1: DCGAN.
for v in u c; do
    for s in $seeds; do
        flag=; [ $v = c ] && flag=--cond
        echo "[ -f $out/dcgan_$v$s.f32 ] || $ex/dcgan $flag --epochs $epochs --seed $s --out $out/dcgan_$v$s --samples $out/dcgan_$v$s.f32 >$out/dcgan_$v$s.log 2>&1"
    done
done | jobs
# Phase 2: SNGAN for the minutes each DCGAN run trained.
for v in u c; do
    for s in $seeds; do
        flag=; [ $v = c ] && flag=--cond
        secs=$(cpu_seconds "$out/dcgan_$v$s.log")
        minutes=$(awk -v s="$secs" 'BEGIN { printf "%.3f", s / 60 }')
        echo "[ -f $out/sngan_$v$s.f32 ] || $ex/sngan $flag $sngan_flags --cpu-minutes $minutes --seed $s --out $out/sngan_$v$s --samples $out/sngan_$v$s.f32 >$out/sngan_$v$s.log 2>&1"
    done
done | jobs
# Phase 3: scores.
for m in dcgan sngan; do
    for v in u c; do
        for s in $seeds; do
            flag=; [ $v = c ] && flag=--cond
            echo "[ -f $out/${m}_$v$s.score ] || $ex/score $flag --samples $out/${m}_$v$s.f32 --classifier $classifier >$out/${m}_$v$s.score 2>/dev/null"
        done
    done
done | jobs
echo "model variant seed minutes fd kid precision recall class_accuracy"
for m in dcgan sngan; do
    for v in u c; do
        for s in $seeds; do
            secs=$(cpu_seconds "$out/${m}_$v$s.log")
            acc=$(sed -n 's/^class_accuracy=//p' "$out/${m}_$v$s.score")
            tail -n 1 "$out/${m}_$v$s.score" | tr ' ' '\n' | awk -F= -v m=$m -v v=$v -v s=$s -v t="$secs" -v a="${acc:--}" \
                '{ x[$1] = $2 } END { printf "%s %s %s %.1f %s %s %s %s %s\n", m, v == "u" ? "uncond" : "cond", s, t / 60,
                   x["fd"], x["kid"], x["precision"], x["recall"], a }'
        done
    done
done
