#!/bin/sh
# mnist_gan's resume is exact: 1 epoch, save, then resume to 2 epochs gives the same
# last line (the Parzen score) as 2 epochs in one run. Skips (77) without the data set.
#   sh resume_check.sh DATA_DIR MNIST_GAN OUT_DIR
set -eu
data=$1 exe=$2 out=$3
[ -d "$data" ] || exit 77
flags="--train-rows 1500 --test-rows 300 --data $data"
one=$("$exe" --epochs 2 $flags --out "$out/one" | tail -n 1)
"$exe" --epochs 1 $flags --save "$out/ck.gan" --out "$out/two" >/dev/null
two=$("$exe" --epochs 2 $flags --resume "$out/ck.gan" --out "$out/two" | tail -n 1)
echo "one run: $one"
echo "resumed: $two"
[ "$one" = "$two" ] && cmp "$out/one/samples.png" "$out/two/samples.png"
