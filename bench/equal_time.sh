# Shared by the equal-time comparisons (sngan_vs_dcgan.sh, penalties_dcgan.sh), sourced
# with $ex (the examples' folder) and $out set: one thread per run, the scoring classifier
# trained once into $out, jobs two at a time, and a run's training CPU time from its log.
mkdir -p "$out"
export OPENBLAS_NUM_THREADS=1
classifier=$out/classifier.gan
[ -f "$classifier" ] || "$ex/score" --reference --n 1000 --classifier "$classifier" | tail -n 1 >"$out/reference.txt"

jobs() { xargs -P 2 -I{} sh -c '{}'; }
cpu_seconds() { tr '\r' '\n' <"$1" | sed -n 's/^done in .* (\([0-9.]*\) s of CPU)$/\1/p' | tail -n 1; }
