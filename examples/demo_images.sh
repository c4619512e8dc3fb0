#!/bin/sh
# Demo: a first look at Debian's emoji set (ruby-gemojione: 1,794 RGBA PNGs of 64 x 64)
# through examples/images, each emoji labelled with its category.
# Usage (from any directory): sh examples/demo_images.sh [SIZE] [CHANNELS]
# Builds libgan in build-demo/ (release) if needed, writes out/emoji/emoji.txt (the list
# file: `path category` lines, made by examples/emoji_list.py from config/index.json),
# then loads it at SIZE x SIZE (64) with CHANNELS (3), draws out/emoji/grid.png (the
# first 100, as docs/images/images_emoji.png shows them) and packs the set into
# out/emoji/emoji-images.idx and emoji-labels.idx, which examples/dcgan and
# examples/mnist_gan take as --data. Needs ruby-gemojione and python3.
set -eu

cd "$(dirname "$0")/.."
size=${1:-64}
channels=${2:-3}
gem=/usr/share/rubygems-integration/all/gems/gemojione-3.3.0
[ -d "$gem/assets/png" ] || { echo "demo_images.sh: $gem is missing (apt-get install ruby-gemojione)" >&2; exit 1; }

[ -f build-demo/build.ninja ] || meson setup build-demo -Dbuildtype=release
ninja -C build-demo examples/images

mkdir -p out/emoji
python3 examples/emoji_list.py out/emoji/emoji.txt "$gem"
build-demo/examples/images out/emoji/emoji.txt --labels --size "${size}x${size}" --channels "$channels" \
    --out out/emoji --pack out/emoji/emoji
echo "grid: $(pwd)/out/emoji/grid.png"
# dcgan trains at 28, 32 or 64 in the data's channels: the packed files when they are of
# its size, else the list, which it converts itself.
data=out/emoji/emoji.txt dsize=$size
case "$size" in 28 | 32 | 64) data=out/emoji/emoji-images.idx ;; *) dsize=64 ;; esac
echo "train on it: ninja -C build-demo examples/dcgan && build-demo/examples/dcgan --size $dsize --data $data --out out/dcgan-emoji"
