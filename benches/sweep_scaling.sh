#!/usr/bin/env bash
# Sweep speed-up from 1 to 2 worker threads, as the best of N repetitions (robust to other
# work on the machine, which only ever makes a repetition slower). Same sweeps as the
# criterion bench `sweep_throughput`: 2 points x 8 seeds of 30-day runs, 2 x 20 of 1-day runs.
#
#   benches/sweep_scaling.sh                 # 7 repetitions, temp folder on disk
#   REPS=15 TAOSIM_BENCH_DIR=/dev/shm benches/sweep_scaling.sh   # tmpfs: no disk syncs
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
work=$(mktemp -d "${TAOSIM_BENCH_DIR:-${TMPDIR:-/tmp}}/taosim-sweep-scaling.XXXXXX")
trap 'rm -rf "$work"' EXIT
reps=${REPS:-7}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a); $(nproc) CPUs"
for case in "30d 8" "1d 20"; do
  set -- $case
  horizon=$1 seeds=$2
  cat > "$work/sweep.toml" <<TOML
[sweep]
name = "scaling"
seeds = { count = $seeds }
[sweep.vary]
"chain.emission.schedule" = ["halving", "smooth"]
[base]
run.horizon = "$horizon"
run.sample_every_blocks = 100
TOML
  runs=$((2 * seeds))
  declare -A best
  for jobs in 1 2; do
    best[$jobs]=""
    for ((rep = 0; rep < reps; rep++)); do
      rm -rf "$work/out"
      start=$(date +%s%N)
      target/release/taosim sweep "$work/sweep.toml" --out "$work/out" --jobs "$jobs" --quiet >/dev/null
      ns=$(($(date +%s%N) - start))
      if [[ -z "${best[$jobs]}" || $ns -lt ${best[$jobs]} ]]; then best[$jobs]=$ns; fi
    done
  done
  awk -v runs="$runs" -v h="$horizon" -v one="${best[1]}" -v two="${best[2]}" 'BEGIN {
    printf "%d runs x %s: 1 thread %.3f s (%.1f runs/s), 2 threads %.3f s (%.1f runs/s): speed-up %.2fx\n",
      runs, h, one / 1e9, runs / (one / 1e9), two / 1e9, runs / (two / 1e9), one / two }'
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)"
