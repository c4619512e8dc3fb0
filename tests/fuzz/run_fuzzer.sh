#!/bin/sh
# Usage: tests/fuzz/run_fuzzer.sh NAME SECONDS [LIBFUZZER_OPTION...]
# Build tests/fuzz/fuzz_NAME.c with libFuzzer + ASan + UBSan straight from the library
# sources and fuzz for SECONDS, starting from (and adding to) tests/fuzz/corpus_NAME/.
# Crashes are written to build-fuzz/crash-*; reproduce with: build-fuzz/fuzz_NAME FILE
# (FUZZ_OUT=DIR picks another directory than build-fuzz). Extra arguments go to libFuzzer,
# e.g. -fork=4 to fuzz on four cores.
# NAME is idx (the IDX reader) or load (model files and checkpoints). The build defines
# FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, the usual libFuzzer convention: the model-file
# reader then skips its CRC comparisons, which the fuzzer could never forge, so that
# mutations reach the checks behind them. Never define it anywhere else.
set -eu
name=${1:?usage: run_fuzzer.sh NAME SECONDS}
seconds=${2:?usage: run_fuzzer.sh NAME SECONDS}
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${FUZZ_OUT:-"$root/build-fuzz"}
shift 2
mkdir -p "$out"
out=$(cd "$out" && pwd)  # absolute: the fuzzer runs from inside it
cc=${CC_FUZZ:-clang}
# libgan's sources: lib/*.c but the MPI module, which is a library of its own.
sources=$(ls "$root"/lib/*.c | grep -v '/gan_mpi\.c$')
# shellcheck disable=SC2046,SC2086
"$cc" -g -O1 -std=c11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -DGAN_BUILDING -DGAN_BLAS_OPENBLAS -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION \
    -I"$root/include" -I"$root/lib" \
    $(pkg-config --cflags openblas zlib libpng libjpeg) \
    "$root/tests/fuzz/fuzz_$name.c" $sources \
    $(pkg-config --libs openblas zlib libpng libjpeg) -lm -o "$out/fuzz_$name"
corpus="$root/tests/fuzz/corpus_$name"
work="$out/corpus_$name"  # new inputs go here, so the checked-in seeds stay small
mkdir -p "$work"
cd "$out"
exec "./fuzz_$name" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -malloc_limit_mb=512 \
    -print_final_stats=1 "$@" "$work" "$corpus"
