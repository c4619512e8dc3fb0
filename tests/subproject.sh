#!/bin/sh
# libgan inside a parent meson project, the three ways docs/install.md describes:
#   fallback  dependency('gan', fallback: 'libgan')
#   wrap      subprojects/libgan.wrap with [provide], then dependency('gan')
#   static    the fallback with default_library=static: the program must not need libgan.so
# Each parent builds and runs a small program, and may build nothing of libgan's but the
# library (no tests, examples, bench or docs of a subproject).
#   sh tests/subproject.sh
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

parent() { # name, dependency() call, default_library
    dir=$work/$1
    mkdir -p "$dir/subprojects"
    ln -s "$src" "$dir/subprojects/libgan"
    cat > "$dir/meson.build" <<EOF
project('parent', 'c', default_options: ['default_library=$3'])
executable('prog', 'prog.c', dependencies: $2)
EOF
    cat > "$dir/prog.c" <<'C'
#include <gan.h>
#include <stdio.h>
int main(void) {
    gan_net *n; gan_layer *l; gan_rng *r; float x[3] = {1, 2, 3}, y;
    if (gan_rng_create(&r, 1) || gan_net_create(&n, 3) || gan_layer_dense(&l, 3, 1) || gan_net_add(n, l) ||
        gan_net_init(n, r, GAN_INIT_XAVIER, 1.0f) || gan_net_forward(n, x, 1, &y, 0)) {
        fprintf(stderr, "%s\n", gan_error_last());
        return 1;
    }
    printf("libgan %s: y = %.4f\n", gan_version_string(), y);
    gan_net_free(n);
    gan_rng_free(r);
    return 0;
}
C
}

check() { # name, setup options...
    name=$1
    shift
    dir=$work/$name
    meson setup "$dir/build" "$dir" "$@" >"$work/$name.log" 2>&1 || { cat "$work/$name.log"; exit 1; }
    targets=$(meson introspect --targets "$dir/build" | python3 -c \
        'import json, sys; print(" ".join(sorted(t["name"] for t in json.load(sys.stdin))))')
    [ "$targets" = "gan prog" ] || { echo "subproject $name: targets are '$targets', want 'gan prog'"; exit 1; }
    ninja -C "$dir/build" >>"$work/$name.log" 2>&1 || { cat "$work/$name.log"; exit 1; }
    out=$("$dir/build/prog")
    echo "subproject $name: $out"
}

parent fallback "dependency('gan', fallback: 'libgan')" shared
check fallback --force-fallback-for=gan

parent wrap "dependency('gan')" shared
printf '[wrap-file]\ndirectory = libgan\n\n[provide]\ndependency_names = gan\n' > "$work/wrap/subprojects/libgan.wrap"
check wrap --force-fallback-for=gan

parent static "dependency('gan', fallback: 'libgan')" static
check static --force-fallback-for=gan
if readelf -d "$work/static/build/prog" | grep -q 'NEEDED.*libgan'; then
    echo "subproject static: prog needs libgan.so"
    exit 1
fi
echo "subproject: fallback, wrap and static ok"
