#!/bin/sh
# Install the Debian packages libgan needs (as root, or via sudo).
#   sh .ci/install-deps.sh           what building the library and running the examples need
#   sh .ci/install-deps.sh --tests   that, and what only the test suite needs
#   sh .ci/install-deps.sh --peer    that, and the benchmarks' PyTorch peer (bench/)
set -eu
pkgs="meson ninja-build pkg-config gcc libopenblas-dev zlib1g-dev libpng-dev libjpeg62-turbo-dev libcairo2-dev
      dataset-fashion-mnist"
case "${1:-}" in
--tests) pkgs="$pkgs g++ libblas-dev liblapack-dev libblis-pthread-dev libcmocka-dev valgrind binutils python3 python3-numpy python3-scipy python3-pil
               ruby-gemojione abigail-tools doxygen clang libclang-rt-14-dev libopenmpi-dev openmpi-bin" ;;
--peer) pkgs="$pkgs python3-numpy python3-torch" ;;
esac
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
