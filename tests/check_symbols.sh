#!/bin/sh
# Usage: check_symbols.sh LIBGAN_SO LIBGAN_MAP
# Fails unless the dynamic symbols the library defines are exactly the map's names, all gan_*.
set -eu
lib=$1 map=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' | sort -u > "$tmp/exported"
sed -n 's/^[[:space:]]*\(gan_[A-Za-z0-9_]*\);.*/\1/p' "$map" | sort -u > "$tmp/listed"
status=0
if grep -v '^gan_' "$tmp/exported"; then echo "^ exported without the gan_ prefix"; status=1; fi
if comm -23 "$tmp/exported" "$tmp/listed" | grep .; then echo "^ exported but not in $map"; status=1; fi
if comm -13 "$tmp/exported" "$tmp/listed" | grep .; then echo "^ in $map but not exported"; status=1; fi
[ $status -eq 0 ] && echo "ok: $(wc -l < "$tmp/exported") symbols match $map"
exit $status
