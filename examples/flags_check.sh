#!/bin/sh
# An example refuses what it does not understand: an unknown flag, a missing value, a
# malformed and an out-of-range number each exit 2 with a message naming the flag and
# the usage line, before anything runs; --help exits 0.
#   sh flags_check.sh PROGRAM INTEGER_FLAG [REAL_FLAG]
# (INTEGER_FLAG must refuse 0, REAL_FLAG must refuse -1.)
set -u
exe=$1 int=$2 real=${3:-}
status=0

# refused FLAG ARGS...: PROGRAM ARGS... exits 2, naming FLAG and printing the usage line.
refused() {
    flag=$1
    shift
    err=$("$exe" "$@" 2>&1 >/dev/null)
    rc=$?
    if [ $rc -eq 2 ] && printf '%s\n' "$err" | grep -q -e "$flag" && printf '%s\n' "$err" | grep -q '^usage: '; then
        echo "ok: $* -> $(printf '%s\n' "$err" | head -n 1)"
    else
        echo "FAIL: $* exited $rc, printing:"
        printf '%s\n' "$err"
        status=1
    fi
}

refused --stepz --stepz 100
refused "$int" "$int"
refused "$int" "$int" --out
refused "$int" "$int" 12x
refused "$int" "$int" 0
refused "$int" "$int" 99999999999999999999
refused stray stray
if [ -n "$real" ]; then
    refused "$real" "$real" abc
    refused "$real" "$real" -1
    refused "$real" "$real" nan
fi
if ! "$exe" --help | grep -q -e "$int"; then
    echo "FAIL: --help does not describe $int"
    status=1
fi
exit $status
