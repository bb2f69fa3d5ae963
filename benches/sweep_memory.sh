#!/usr/bin/env bash
# Peak memory (maximum resident set size) of a 10,000-run sweep, next to a 1,000-run one:
# with results streamed to disk and a bounded reorder buffer, the two stay close.
#
#   benches/sweep_memory.sh            # release build, temp folder, 2 worker threads
#   TAOSIM_BENCH_DIR=/scratch JOBS=4 benches/sweep_memory.sh
#
# Each sweep is 10 points (chain.tempo) x N seeds of a 100-block run of the default network.
# Needs GNU time (/usr/bin/time -v). Writes about 50 MB per 1,000 runs; removes it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
work=$(mktemp -d "${TAOSIM_BENCH_DIR:-${TMPDIR:-/tmp}}/taosim-sweep-memory.XXXXXX")
trap 'rm -rf "$work"' EXIT
jobs=${JOBS:-2}
for runs in 1000 10000; do
  seeds=$((runs / 10))
  cat > "$work/memory-$runs.toml" <<TOML
[sweep]
name = "memory-$runs"
seeds = { count = $seeds }
[sweep.vary]
"chain.tempo" = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
[base]
run.horizon = 100
run.sample_every_blocks = 10
TOML
  /usr/bin/time -v target/release/taosim sweep "$work/memory-$runs.toml" --out "$work/out-$runs" \
    --jobs "$jobs" --quiet >/dev/null 2>"$work/time-$runs.txt"
  rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time-$runs.txt")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time-$runs.txt")
  rows=$(($(wc -l < "$work/out-$runs/summary.csv") - 1))
  printf '%6d runs (%d rows in summary.csv), %d threads: peak RSS %d KiB (%.1f MiB), wall %s\n' \
    "$runs" "$rows" "$jobs" "$rss_kb" "$(awk -v k="$rss_kb" 'BEGIN {print k / 1024}')" "$wall"
  rm -rf "$work/out-$runs"
done
