#!/bin/sh
# examples/dcgan against its PyTorch peer (the pytorch/examples recipe on the same model):
# each trained for the same epochs on the same seeds, both scored by examples/score
# (FD, KID, precision and recall on the scoring classifier's features; Parzen on pixels).
# libgan runs with its defaults; extra arguments go to examples/dcgan, e.g. --recipe peer
# for the ablation (docs/benchmarks.md).
#   sh bench/dcgan_vs_peer.sh [EPOCHS] [SEEDS] [-- DCGAN_ARGS...]
set -eu
cd "$(dirname "$0")/.."
epochs=${1:-5}
seeds=${2:-"1 2 3"}
[ $# -ge 2 ] && shift 2 || shift $#
[ "${1:-}" = "--" ] && shift
data=/usr/share/datasets/fashion-mnist
sh .ci/install-deps.sh --peer
[ -d build-mnist ] || meson setup build-mnist -Dbuildtype=release -Dtests=disabled >/dev/null
meson compile -C build-mnist examples/dcgan examples/score >/dev/null
out=out/dcgan-vs-peer-e$epochs
mkdir -p "$out"
tag=$(printf '%s' "$*" | tr -c 'a-z0-9.' '_')
for seed in $seeds; do
    ./build-mnist/examples/dcgan --epochs "$epochs" --seed "$seed" --data "$data" --out "$out/libgan$tag-s$seed" \
        --samples "$out/libgan$tag-s$seed.f32" "$@" >/dev/null
    ./build-mnist/examples/score --samples "$out/libgan$tag-s$seed.f32" --data "$data" | tail -n 1 \
        >"$out/libgan$tag-s$seed.score"
    if [ ! -f "$out/pytorch-s$seed.score" ]; then
        OMP_NUM_THREADS=1 /usr/bin/python3 bench/peer_dcgan_train.py --epochs "$epochs" --seed "$seed" --data "$data" \
            --out "$out/pytorch-s$seed.f32"
        ./build-mnist/examples/score --samples "$out/pytorch-s$seed.f32" --data "$data" | tail -n 1 \
            >"$out/pytorch-s$seed.score"
    fi
    echo "seed $seed libgan${*:+ ($*)}: $(cat "$out/libgan$tag-s$seed.score")"
    echo "seed $seed pytorch: $(cat "$out/pytorch-s$seed.score")"
done
echo "--- mean over seeds $seeds, $epochs epochs (FD and KID: lower is better)"
for side in "libgan$tag" pytorch; do
    cat $(for s in $seeds; do echo "$out/$side-s$s.score"; done) | awk -v side="$side" '
        { for (i = 1; i <= NF; i++) { split($i, kv, "="); sum[kv[1]] += kv[2] } n++ }
        END { printf "%-24s fd %.2f  kid %.4f  precision %.3f  recall %.3f  parzen %.1f\n", side,
              sum["fd"] / n, sum["kid"] / n, sum["precision"] / n, sum["recall"] / n, sum["parzen_ll"] / n }'
done
