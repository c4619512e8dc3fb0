#!/bin/sh
# Run a program on NP local MPI ranks, for tests: bounded in time, and skipped (77, meson's
# skip) when there is no launcher. docs/mpi.md explains the flags.
#   sh tests/mpirun.sh NP EXECUTABLE [ARGS...]
# Environment:
#   MPIEXEC          the launcher (meson passes the one of the MPI libgan_mpi was built
#                    against); default: mpirun, else mpiexec, from PATH
#   GAN_MPI_TIMEOUT  seconds before the whole run is killed and fails (default 120)
# The exit status is the launcher's: non-zero when any rank failed; 124 on a timeout.
set -eu
[ $# -ge 2 ] || { echo "usage: mpirun.sh NP EXECUTABLE [ARGS...]" >&2; exit 2; }
np=$1
shift
case $np in '' | *[!0-9]*) echo "mpirun.sh: NP must be a number, got '$np'" >&2; exit 2 ;; esac

launcher=${MPIEXEC:-}
if [ -z "$launcher" ]; then
    launcher=$(command -v mpirun || command -v mpiexec || true)
fi
if [ -z "$launcher" ] || ! command -v "$launcher" >/dev/null 2>&1; then
    echo "mpirun.sh: no MPI launcher (${launcher:-mpirun or mpiexec}) found: skipped"
    exit 77
fi

# Which MPI the launcher belongs to decides its flags (asked under a timeout too).
version=$(timeout 20 "$launcher" --version 2>&1 || true)
case $version in
*"Open MPI"* | *OpenRTE*)
    # Ranks on one machine through shared memory only (no network probing), the runtime's
    # own channel on loopback, more ranks than cores allowed, and unpinned ranks.
    set -- -n "$np" --oversubscribe --bind-to none --mca btl self,vader --mca oob_tcp_if_include lo "$@"
    [ "$(id -u)" -ne 0 ] || set -- --allow-run-as-root "$@"
    ;;
*HYDRA*)
    # MPICH's Hydra: start ranks as local child processes, never through ssh or a batch
    # system's host list. It allows more ranks than cores by itself.
    set -- -n "$np" -launcher fork -hosts localhost "$@"
    ;;
*)
    set -- -n "$np" "$@"
    ;;
esac

# A rank that hangs must fail the test, not block the suite: TERM after the limit,
# KILL 10 s later.
exec timeout -k 10 "${GAN_MPI_TIMEOUT:-120}" "$launcher" "$@"
