#!/bin/sh
# Refresh abi/libgan.abi from a build (docs/abi.md says when): the public headers
# restrict the baseline to the public types.
#   sh tests/abi_update.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
lib=$(ls "$build"/libgan.so.*.*.* | head -n 1)
abidw --headers-dir include --no-corpus-path --out-file abi/libgan.abi "$lib"
echo "abi/libgan.abi refreshed from $lib"
