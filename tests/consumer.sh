#!/bin/sh
# Install libgan from BUILD_DIR into a staging prefix and build a small program against it
# the way users do: only through pkg-config. A build of the static library alone
# (-Ddefault_library=static) is linked with `pkg-config --static`, and the programs must
# then not need libgan.so.
set -eu
build=${1:-build-openblas}
src=$(cd "$(dirname "$0")/.." && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
DESTDIR="$stage" meson install -C "$build" --quiet
pcdir=$(dirname "$(find "$stage" -name gan.pc | head -n1)")
libdir=$pcdir/..
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$stage"
static=""
[ -e "$libdir/libgan.so.0" ] || static="--static"
flags=$(pkg-config $static --cflags --libs gan)
linked_statically() { # program
    [ -z "$static" ] && return 0
    ! readelf -d "$1" | grep -q 'NEEDED.*libgan' || { echo "consumer: $1 needs libgan.so"; exit 1; }
}
cat > "$stage/prog.c" <<'C'
#include <gan.h>
#include <stdio.h>
int main(void) {
    gan_net *n; gan_layer *l; gan_rng *r; float x[2 * 3] = {1, 2, 3, 4, 5, 6}, y[2], dx[6], dy[2] = {1, -1};
    if (gan_rng_create(&r, 1) || gan_net_create(&n, 3)) return 1;
    if (gan_layer_dense(&l, 3, 4) || gan_net_add(n, l) || gan_layer_activation(&l, GAN_ACT_TANH) || gan_net_add(n, l)) return 1;
    if (gan_layer_dense(&l, 4, 1) || gan_net_add(n, l) || gan_net_init(n, r, GAN_INIT_XAVIER, 1.0f)) return 1;
    if (gan_net_forward(n, x, 2, y, 1) || gan_net_backward(n, dy, dx)) { puts(gan_error_last()); return 1; }
    printf("libgan %s: y = %.4f %.4f, dx[0] = %.4f\n", gan_version_string(), y[0], y[1], dx[0]);
    gan_net_free(n); gan_rng_free(r); return 0;
}
C
# shellcheck disable=SC2086
cc "$stage/prog.c" -o "$stage/prog" $flags
linked_statically "$stage/prog"
LD_LIBRARY_PATH="$libdir" "$stage/prog"
echo "consumer: C ok${static:+ (static)}"

# MPI (docs/mpi.md): a program built through gan-mpi.pc only, run on 2 ranks by the tests'
# launcher with the MPI that gan-mpi.pc names; skipped when libgan_mpi was not built, or
# when there is no launcher (mpirun.sh exits 77). gan-mpi.pc requires MPI's own .pc
# (ompi-c, mpich), whose system paths the sysroot above would rewrite too, so this
# program reads copies of gan.pc and gan-mpi.pc that name the staging prefix, as an
# install into that prefix would have written them.
if [ -e "$pcdir/gan-mpi.pc" ]; then
    mkdir "$stage/pc"
    prefix=$(sed -n 's/^prefix=//p' "$pcdir/gan.pc")
    for f in gan.pc gan-mpi.pc; do
        sed "s|^prefix=.*|prefix=$stage$prefix|" "$pcdir/$f" > "$stage/pc/$f"
    done
    mpc() { env -u PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH="$stage/pc" pkg-config "$@"; }
    cat > "$stage/mpiprog.c" <<'C'
#include <gan_mpi.h>
#include <stdio.h>
int main(int argc, char **argv) {
    gan_comm c;
    float x[3];
    int rc = 1;
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS) return 1;
    if (gan_mpi_comm(&c, MPI_COMM_WORLD) == GAN_OK && c.ranks == 2) {
        for (int i = 0; i < 3; i++) x[i] = (float)(c.rank + i);
        rc = c.allreduce_sum(c.ctx, x, 3) != 0 || x[0] != 1 || x[1] != 3 || x[2] != 5;
        if (c.rank == 0) printf("libgan_mpi on %d ranks: sums %g %g %g\n", c.ranks, x[0], x[1], x[2]);
    }
    gan_mpi_comm_free(&c);
    MPI_Finalize();
    return rc;
}
C
    # shellcheck disable=SC2046
    cc -std=c11 -Wall -Wextra -pedantic "$stage/mpiprog.c" -o "$stage/mpiprog" $(mpc $static --cflags --libs gan-mpi)
    linked_statically "$stage/mpiprog"
    rc=0
    MPIEXEC=$(mpc --variable=mpiexec gan-mpi) LD_LIBRARY_PATH="$libdir" sh "$src/tests/mpirun.sh" 2 "$stage/mpiprog" || rc=$?
    case $rc in
    0) echo "consumer: MPI ok${static:+ (static)}" ;;
    77) echo "consumer: no MPI launcher: MPI consumer built, not run" ;;
    *) echo "consumer: the MPI program failed ($rc)"; exit 1 ;;
    esac
else
    echo "consumer: libgan_mpi not built (no MPI): MPI consumer skipped"
fi

# C++17 (examples/cpp/ring.cpp, the RAII wrapper): a short training on the ring that must
# end with its score line.
if command -v c++ >/dev/null 2>&1; then
    c++ -std=c++17 -Wall -Wextra -pedantic "$src/examples/cpp/ring.cpp" -o "$stage/ring" \
        $flags
    linked_statically "$stage/ring"
    out=$(LD_LIBRARY_PATH="$libdir" OPENBLAS_NUM_THREADS=1 "$stage/ring" --steps 100)
    printf '%s\n' "$out" | tail -n 1
    printf '%s\n' "$out" | tail -n 1 | grep -Eq '^modes=[0-8]/8 hq=[0-9.]+$'
    echo "consumer: C++ ok${static:+ (static)}"
else
    echo "consumer: no C++ compiler (c++) installed: C++ consumer skipped"
fi

# Python: the package as `meson install` put it in a site directory, importable from there
# (LIBGAN_PATH points it at the staged library, which is not on the loader's path).
init=$(find "$stage" -path '*/libgan/__init__.py' | head -n1)
if [ -n "$init" ] && [ -z "$static" ]; then
    PYTHONPATH=$(dirname "$(dirname "$init")") LIBGAN_PATH="$libdir/libgan.so.0" OPENBLAS_NUM_THREADS=1 python3 -c '
import libgan as gan
assert gan.__file__.startswith("'"$stage"'"), gan.__file__
g, d = gan.Net(2).add(gan.Layer.dense(2, 2)), gan.Net(2).add(gan.Layer.dense(2, 1))
t = gan.Trainer(g, d, batch_size=8)
g.init(t.rng("init"))
d.init(t.rng("init"))
t.set_data(gan.Sampler(gan.Dataset.from_floats([[0.0, 1.0], [1.0, 0.0]] * 4)))
t.run(3)
print("libgan %s from Python: %d steps" % (gan.version(), t.steps))'
    echo "consumer: Python ok"
else
    echo "consumer: no Python package installed (meson found no Python): Python consumer skipped"
fi
