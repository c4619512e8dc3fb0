#!/bin/sh
# Loading images: libgan's gan_dataset_load_images (bench/images.c) against PIL's decode and
# resize of the same files in a Python loop (bench/peer_images.py), one after the other, on
# one core each: Debian's emoji (1,794 RGBA PNGs of 64 x 64) as 64 x 64 RGB, and 1,000
# photo-like JPEG files of 1024 x 768 (bench/make_photos.py) down to 64 x 64 RGB.
#   sh bench/images.sh [ROUNDS]
set -eu
cd "$(dirname "$0")/.."
rounds=${1:-3}
sh .ci/install-deps.sh --peer >/dev/null
[ -d build-bench ] || meson setup build-bench -Dbuildtype=release -Dtests=disabled -Dexamples=disabled >/dev/null
meson compile -C build-bench bench_images >/dev/null
emoji=/usr/share/rubygems-integration/all/gems/gemojione-3.3.0/assets/png
[ -d "$emoji" ] || { echo "needs Debian's ruby-gemojione (apt-get install ruby-gemojione)"; exit 1; }
photos=${PHOTOS:-/tmp/gan-bench-photos}
[ -f "$photos/photo0999.jpg" ] || /usr/bin/python3 bench/make_photos.py "$photos" 1000 1024 768
echo "--- $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
for set in "$emoji" "$photos"; do
    echo "--- $set -> 64 x 64 x 3"
    ./build-bench/bench_images "$set" 64 64 3 "$rounds"
    /usr/bin/python3 bench/peer_images.py "$set" 64 64 3 "$rounds"
done
