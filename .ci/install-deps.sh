#!/bin/sh
# Install the Debian packages libgan's build, tests and demos need (as root, or via sudo).
set -eu
pkgs="meson ninja-build pkg-config gcc g++ libopenblas-dev libblas-dev libcmocka-dev zlib1g-dev
      libpng-dev valgrind binutils python3 python3-numpy dataset-fashion-mnist abigail-tools doxygen
      clang libclang-rt-14-dev"
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
