#!/bin/sh
# The README's first program, compiled as it is printed there and run: it must train and
# print a mean and sd near the data's 4 and 0.5 (within 0.5 and 0.3: a GAN is noisy).
#   EXTRA_CFLAGS=... sh readme_program.sh README.md CC BUILD_DIR SOURCE_ROOT
set -eu
readme=$1 cc=$2 build=$3 root=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk '/^```c$/ { on = 1; next } on && /^```$/ { exit } on' "$readme" > "$work/first.c"
$cc ${EXTRA_CFLAGS:-} -std=c11 -Wall -Wextra -Werror -I"$root/include" "$work/first.c" -o "$work/first" -L"$build" -lgan -lm \
    -Wl,-rpath,"$build"
out=$(OPENBLAS_NUM_THREADS=1 "$work/first")
echo "$out"
echo "$out" | awk '/^samples: mean [0-9.-]+, sd [0-9.]+ \(data: 4, 0.5\)$/ {
    m = $3 + 0; sd = $5 + 0; ok = (m > 3.5 && m < 4.5 && sd > 0.2 && sd < 0.8) } END { exit !ok }'
