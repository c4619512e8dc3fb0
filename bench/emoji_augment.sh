#!/bin/sh
# DiffAugment on a small colour set (issue 28, docs/benchmarks.md "DiffAugment on the
# emoji"): examples/dcgan on Debian's 1,794 emoji (ruby-gemojione; 1,385 training rows
# after the test and validation rows are held out), with and without
# --augment color,translation,cutout, the same seeds, epochs and recipe otherwise: at
# 32 x 32 over SEEDS, at 64 x 64 on the first seed. One thread per run, two runs at a
# time. Each run's samples are scored by examples/score (FD, KID, precision, recall) in
# the feature space of an emoji-category classifier trained here by examples/classifier
# at that size, against the held-out test rows; the floor (real training rows scored the
# same way) is printed first.
#   sh bench/emoji_augment.sh BUILD OUT [EPOCHS_32] [EPOCHS_64] [SEEDS]
set -eu
build=$1
out=$2
e32=${3:-80}
e64=${4:-35}
seeds=${5:-"1 2 3"}
ex=$build/examples
here=$(dirname "$0")
mkdir -p "$out"
export OPENBLAS_NUM_THREADS=1
list=$out/emoji.txt
[ -f "$list" ] || python3 "$here/../examples/emoji_list.py" "$list" >/dev/null
jobs() { xargs -P 2 -I{} sh -c '{}'; }
aug=color,translation,cutout
first=${seeds%% *}

# Phase 1: the GANs (the 64 x 64 pair first: the longest runs).
{
    for a in none $aug; do
        echo "[ -f $out/64_${a%%,*}_$first.f32 ] || $ex/dcgan --size 64 --data $list --augment $a --epochs $e64 --seed $first --out $out/64_${a%%,*}_$first --save $out/64_${a%%,*}_$first.gan --samples $out/64_${a%%,*}_$first.f32 >$out/64_${a%%,*}_$first.log 2>&1"
    done
    for s in $seeds; do
        for a in none $aug; do
            echo "[ -f $out/32_${a%%,*}_$s.f32 ] || $ex/dcgan --size 32 --data $list --augment $a --epochs $e32 --seed $s --out $out/32_${a%%,*}_$s --save $out/32_${a%%,*}_$s.gan --samples $out/32_${a%%,*}_$s.f32 >$out/32_${a%%,*}_$s.log 2>&1"
        done
    done
} | jobs
# Phase 2: a classifier of the emoji categories at each size, and the floor.
for size in 32 64; do
    c=$out/classifier_$size
    [ -f "$c/classifier.gan" ] || $ex/classifier --data "$list" --size $size --channels 3 --out "$c" >"$c.log" 2>&1
    [ -f "$out/reference_$size.score" ] || $ex/score --reference --data "$list" --size $size --channels 3 \
        --classifier "$c/classifier.gan" >"$out/reference_$size.score" 2>/dev/null
done
# Phase 3: the scores, on as many samples as the floor's rows (FD's bias depends on the
# count: docs/evaluation.md).
n=$(sed -n 's/^score: \([0-9]*\) samples .*/\1/p' "$out/reference_32.score")
for f in "$out"/32_*.f32 "$out"/64_*.f32; do
    size=${f##*/}
    size=${size%%_*}
    echo "[ -f ${f%.f32}.score ] || $ex/score --samples $f --n $n --data $list --size $size --channels 3 --classifier $out/classifier_$size/classifier.gan >${f%.f32}.score 2>/dev/null"
done | jobs
cpu_seconds() { tr '\r' '\n' <"$1" | sed -n 's/^done in .* (\([0-9.]*\) s of CPU)$/\1/p' | tail -n 1; }
echo "size augment seed cpu_minutes fd kid precision recall"
for size in 32 64; do
    tail -n 1 "$out/reference_$size.score" | tr ' ' '\n' | awk -F= -v z=$size '{ x[$1] = $2 } END {
        printf "%s floor - - %s %s %s %s\n", z, x["fd"], x["kid"], x["precision"], x["recall"] }'
    for f in "$out/${size}"_*.score; do
        [ -f "$f" ] || continue
        name=${f##*/}
        name=${name%.score}
        a=${name#*_}
        a=${a%_*}
        s=${name##*_}
        tail -n 1 "$f" | tr ' ' '\n' | awk -F= -v z=$size -v a=$a -v s=$s -v t="$(cpu_seconds "${f%.score}.log")" \
            '{ x[$1] = $2 } END { printf "%s %s %s %.1f %s %s %s %s\n", z, a, s, t / 60, x["fd"], x["kid"],
               x["precision"], x["recall"] }'
    done
done
