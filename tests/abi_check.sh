#!/bin/sh
# The ABI against the committed baseline abi/libgan.abi (docs/abi.md): any removed or
# changed public function, variable or type fails; additions pass. Skips (77) without
# libabigail's abidiff; CI installs abigail-tools, so there it always runs.
#   sh abi_check.sh LIBGAN_SO SOURCE_ROOT
set -u
lib=$1 root=$2
command -v abidiff >/dev/null 2>&1 || { echo "abidiff not found (Debian: abigail-tools); skipping the ABI check"; exit 77; }
abidiff --no-added-syms --suppressions "$root/abi/growing_structs.suppr" --headers-dir2 "$root/include" \
    "$root/abi/libgan.abi" "$lib"
rc=$?
# abidiff's status is a bit mask: 1 error, 2 usage, 4 ABI change, 8 incompatible change.
if [ $rc -ne 0 ]; then
    echo "ABI differs from abi/libgan.abi (abidiff status $rc). If the change is intended,"
    echo "follow docs/abi.md: additions in a new version node, a break bumps the SONAME,"
    echo "then refresh the baseline with: sh tests/abi_update.sh BUILD_DIR"
    exit 1
fi
echo "ABI matches abi/libgan.abi"
