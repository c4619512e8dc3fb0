#!/bin/sh
# The whole test suite: install what is missing, then build and run `meson test` with
# OpenBLAS, with the reference CBLAS, with BLIS, and under AddressSanitizer + UBSan; the
# unit tests under valgrind memcheck (any error fails); the threads and comm tests under
# ThreadSanitizer; libgan_mpi against MPICH when it is installed; every fuzz harness for
# FUZZ_SECONDS (default 60) on top of its corpus; finally install into a staging directory
# and build consumers (C, C++, MPI) through pkg-config, shared and static, and build
# parent projects that take libgan as a meson subproject.
set -eu
cd "$(dirname "$0")/.."
sh .ci/install-deps.sh --tests

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
# Debian's BLIS has no blis.pc; meson finds it in blis-pthread (docs/install.md). The whole
# suite, not only the unit tests (about 2 minutes on 2 cores): BLIS rounds some products
# differently from OpenBLAS, and any test that counts on those bits shows it.
run_suite blis -Dblas=blis
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_suite sanitize -Dblas=openblas -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

# Unit tests only: the examples' training runs would take an hour under valgrind. Not the
# MPI tests (suite 'mpi'): MPI's own allocations at exit read as leaks under memcheck.
unit="rng layers conv norm graph-layers graph penalty sn net optim errors trainer eval metrics dataset loss serial version threads comm scenarios reliability fuzz-corpus-idx fuzz-corpus-load image fuzz-corpus-image dataset-images fuzz-corpus-images-list"
echo "=== valgrind memcheck: $unit"
# shellcheck disable=SC2086
meson test -C build-openblas --print-errorlogs --timeout-multiplier=20 \
    --wrap='valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect -q' $unit

echo "=== ThreadSanitizer: threads, comm"
[ -d build-tsan ] || meson setup build-tsan -Dblas=openblas -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debug \
    -Dexamples=disabled -Ddocs=disabled
meson compile -C build-tsan tests/test_threads tests/test_comm
TSAN_OPTIONS=halt_on_error=1 meson test -C build-tsan --no-rebuild --print-errorlogs threads comm

# libgan_mpi against MPICH too, where MPICH is installed (it is not a CI requirement; the
# builds above use Open MPI, which .ci/install-deps.sh installs). docs/mpi.md.
if pkg-config --exists mpich; then
    echo "=== libgan_mpi against MPICH"
    [ -d build-mpich ] || meson setup build-mpich -Dblas=openblas -Dmpi=enabled -Dmpi_impl=mpich \
        -Dexamples=disabled -Ddocs=disabled -Dbench=disabled
    meson compile -C build-mpich tests/test_mpi_comm tests/test_mpi_comm_chunked tests/test_mpi_train \
        tests/header_mpi_c99 tests/header_mpi_cpp
    meson test -C build-mpich --no-rebuild --print-errorlogs mpi-comm-np2 mpi-comm-np3 mpi-comm-chunked-np3 \
        mpi-train-np2 mpi-train-np3 symbols-mpi header-mpi-c99 header-mpi-cpp
else
    echo "=== libgan_mpi against MPICH: skipped (no mpich.pc; apt-get install libmpich-dev mpich)"
fi

echo "=== fuzzing, ${FUZZ_SECONDS:-60} s per harness"
mkdir -p build-fuzz
# load: model files and checkpoints; image: PNG and JPEG; images_list: list files and image
# bytes into a data set (gan_dataset_load_images)
for harness in idx load image images_list; do
    log=build-fuzz/$harness.log
    if ! FUZZ_OUT="$(pwd)/build-fuzz" sh tests/fuzz/run_fuzzer.sh "$harness" "${FUZZ_SECONDS:-60}" >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzzing $harness failed: see $log and build-fuzz/crash-*"
        exit 1
    fi
    grep -E "^(Done|stat::number_of_executed_units)" "$log" || tail -n 2 "$log"
done

echo "=== consumers built against the installed package: shared, then static"
sh tests/consumer.sh build-openblas
[ -d build-static ] || meson setup build-static -Dblas=openblas -Ddefault_library=static -Dtests=disabled \
    -Dexamples=disabled -Ddocs=disabled -Dbench=disabled
meson compile -C build-static
sh tests/consumer.sh build-static

echo "=== libgan as a meson subproject: fallback, wrap, static"
sh tests/subproject.sh
