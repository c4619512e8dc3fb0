#!/bin/sh
# The whole test suite: install what is missing, then build and run `meson test` with
# OpenBLAS, with the reference CBLAS, and under AddressSanitizer + UBSan; finally install
# into a staging directory and build a consumer through pkg-config.
set -eu
cd "$(dirname "$0")/.."
sh .ci/install-deps.sh

run_suite() { # name, meson options...
    dir=build-$1
    shift
    echo "=== $dir: $*"
    [ -d "$dir" ] || meson setup "$dir" "$@"
    meson compile -C "$dir"
    meson test -C "$dir" --print-errorlogs
}

run_suite openblas -Dblas=openblas
run_suite refblas -Dblas=blas
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_suite sanitize -Dblas=openblas -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

echo "=== consumer built against the installed package"
sh tests/consumer.sh build-openblas
