#!/bin/sh
# mnist_gan's resume is exact: 1 epoch, save, then resume to 2 epochs gives the same
# last line (the Parzen score), samples, training log and losses picture as 2 epochs in
# one run. The resume runs twice: the second finds the first's rows after the checkpoint
# in the log and must cut them off. Skips (77) without the data set. EXTRA_FLAGS go to
# every run (e.g. --ranks 2: resumed on two ranks too).
#   sh resume_check.sh DATA_DIR MNIST_GAN OUT_DIR [EXTRA_FLAGS]
set -eu
data=$1 exe=$2 out=$3
[ -d "$data" ] || exit 77
flags="--train-rows 1500 --test-rows 300 --data $data ${4:-}"
one=$("$exe" --epochs 2 $flags --out "$out/one" --log "$out/one/log.csv" | tail -n 1)
"$exe" --epochs 1 $flags --save "$out/ck.gan" --out "$out/two" --log "$out/two/log.csv" >/dev/null
"$exe" --epochs 2 $flags --resume "$out/ck.gan" --out "$out/two" --log "$out/two/log.csv" >/dev/null
two=$("$exe" --epochs 2 $flags --resume "$out/ck.gan" --out "$out/two" --log "$out/two/log.csv" | tail -n 1)
echo "one run: $one"
echo "resumed: $two"
[ "$one" = "$two" ]
for f in samples.png log.csv losses.png; do cmp "$out/one/$f" "$out/two/$f"; done
