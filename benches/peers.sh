#!/usr/bin/env bash
# Side by side with the peers: the same three models (M/M/1, fan-out, bittensor_lite/1) on
# taosim's engine and on SimPy, radCAD, cadCAD and numpy, measured in one run on this machine.
#
#   benches/peers.sh                 # everything: ~20-25 min, the peers' suite dominates
#   benches/peers.sh --reuse-slow    # reuse the peers' own figures for the 3 configurations that
#                                    # take them over 100 s each (saves ~6.5 min), marked as reused
#   benches/peers.sh --reuse-all     # no Python at all: every peer figure reused (a quick look)
#   benches/peers.sh --repeat 7      # taosim runs per configuration and pass (2 passes; default 5)
#
# Needs python3 (3.11, as the peers measured) with venv and pip, PyPI access the first time,
# and the peers' folder (default ../shared/peers, or $PEERS_DIR). The peers are installed into a
# throwaway virtualenv ($PEERS_VENV, default target/peers-venv) from their pinned requirements.
# Writes benches/peers/results/peers-<date>.{csv,md} (+ the parts it was made from); never
# writes into the peers' folder. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PEERS_DIR=$(cd "${PEERS_DIR:-$ROOT/../shared/peers}" && pwd)
VENV=${PEERS_VENV:-$ROOT/target/peers-venv}
OUT_DIR=$ROOT/benches/peers/results
PEER_RESULTS=$PEERS_DIR/results-2026-11-25.csv   # the peers' own figures, for --reuse-*
REPEAT=5
REUSE=none
ARGS=$*
while [ $# -gt 0 ]; do
  case "$1" in
    --reuse-slow) REUSE=slow ;;
    --reuse-all) REUSE=all ;;
    --repeat) REPEAT=${2:?--repeat needs a number}; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "peers.sh: unknown option $1 (allowed: --reuse-slow, --reuse-all, --repeat K)" >&2; exit 2 ;;
  esac
  shift
done
case "$REPEAT" in ''|*[!0-9]*|0) echo "peers.sh: --repeat takes a whole number >= 1, got $REPEAT" >&2; exit 2 ;; esac

DATE=$(date +%F)
STAMP=$(date -u +%FT%TZ)
mkdir -p "$OUT_DIR"
TAOSIM_CSV=$OUT_DIR/peers-$DATE-taosim.csv
PYTHON_CSV=$OUT_DIR/peers-$DATE-python.csv
ALL_CSV=$OUT_DIR/peers-$DATE.csv
MD=$OUT_DIR/peers-$DATE.md
AGREE=$OUT_DIR/peers-$DATE-agreement.txt
export PYTHONDONTWRITEBYTECODE=1   # the peers' folder is read-only: no __pycache__ there

# Peer configurations over 100 s in the peers' results (run_all.py labels, anchored).
SLOW_LABELS='bittensor_lite_radcad -S (32|128) -B 216000 -R 1 --backend single_process$|bittensor_lite_cadcad -S 32 -B 216000 -R 4 --mode single_proc$'

cpu_model=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo "== $STAMP on $(nproc) cores, $cpu_model; load average $(cut -d' ' -f1-3 /proc/loadavg)"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

echo "== taosim-peers (release build)"
cargo build --release -q -p taosim-peers
BIN=$ROOT/target/release/taosim-peers

if [ "$REUSE" != all ]; then
  echo "== virtualenv $VENV (pinned: $PEERS_DIR/requirements.txt)"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$PEERS_DIR/requirements.txt"
fi

# --- agreement first: taosim's bittensor_lite final states against a fresh numpy run ---------
if [ "$REUSE" != all ]; then
  echo "== agreement (the peers' checker on numpy's and taosim's final states)"
  tmp=$(mktemp -d)
  : > "$AGREE"
  for q in 0.2 0; do
    R=2; [ "$q" = 0 ] && R=1
    timeout 300 "$VENV/bin/python" "$PEERS_DIR/bittensor_lite_numpy.py" -S 32 -B 7200 -R $R --staker-prob $q \
      --json-out "$tmp/numpy.json" > /dev/null
    "$BIN" bittensor-lite -S 32 -B 7200 -R $R --staker-prob $q --log libm --json-out "$tmp/taosim-libm.json" > /dev/null
    "$BIN" bittensor-lite -S 32 -B 7200 -R $R --staker-prob $q --log libc --json-out "$tmp/taosim-libc.json" > /dev/null
    echo "# numpy vs taosim --log libm vs taosim --log libc" >> "$AGREE"
    (cd "$PEERS_DIR" && "$VENV/bin/python" bittensor_lite_check.py "$tmp/numpy.json" "$tmp/taosim-libm.json" \
      "$tmp/taosim-libc.json") >> "$AGREE" || echo "DISAGREE (exit $?)" >> "$AGREE"
  done
  rm -rf "$tmp"
  cat "$AGREE"
fi

# --- taosim: every configuration REPEAT times before the peers' suite and REPEAT times after it,
# each run its own process (so its peak RSS is its own); the median wall time over both passes
# is kept, so that taosim's short runs sample the machine's load over the session as the peers'
# long runs do.
CONFIGS=(
  "mm1 -N 100000" "mm1 -N 1000000"
  "fanout -V 64 -M 1000 --tempos 5" "fanout -V 64 -M 10000 --tempos 2"
)
for B in 7200 216000; do
  for S in 32 128; do
    CONFIGS+=("bittensor-lite -S $S -B $B -R 1" "bittensor-lite -S $S -B $B -R 4"
              "bittensor-lite -S $S -B $B -R 4 --threads 2")
  done
done
RAW=$OUT_DIR/peers-$DATE-taosim-runs.csv   # every taosim run, prefixed with its configuration index
: > "$RAW"
taosim_pass() {
  local i k
  for i in "${!CONFIGS[@]}"; do
    for k in $(seq "$REPEAT"); do
      # shellcheck disable=SC2086 # each configuration is a list of arguments
      echo "$i,$(timeout 300 "$BIN" ${CONFIGS[$i]})" >> "$RAW"
    done
  done
}
echo "== taosim, pass 1 (each configuration $REPEAT times)"
taosim_pass

# --- the peers: their own suite (run_all.py: each configuration in its own process, timeouts) -
if [ "$REUSE" != all ]; then
  echo "== the peers' suite (run_all.py; progress on stderr)"
  filter=()
  [ "$REUSE" = slow ] && filter=(--filter "^(?!.*($SLOW_LABELS))")
  "$VENV/bin/python" "$PEERS_DIR/run_all.py" --python "$VENV/bin/python" --no-agreement \
    --out "$PYTHON_CSV" --md "$OUT_DIR/peers-$DATE-python.md" "${filter[@]}"
fi

echo "== taosim, pass 2 (each configuration $REPEAT times)"
taosim_pass

# --- taosim's medians, then one CSV: taosim's rows, the peers' measured rows, reused rows ----
"$BIN" mm1 -N 1 --header | sed -n 1p > "$TAOSIM_CSV"
python3 - "$RAW" >> "$TAOSIM_CSV" <<'PYEOF'
import csv, sys
runs = {}
for row in csv.reader(open(sys.argv[1])):
    runs.setdefault(int(row[0]), []).append(row[1:])
for i in sorted(runs):
    rs = sorted(runs[i], key=lambda r: float(r[13]))  # wall_s
    median = list(rs[(len(rs) - 1) // 2])
    median[-1] += f";repeat={len(rs)};wall_min={rs[0][13]};wall_max={rs[-1][13]}"
    csv.writer(sys.stdout, lineterminator="\n").writerow(median)
PYEOF
cat "$TAOSIM_CSV"
python3 - "$TAOSIM_CSV" "$PYTHON_CSV" "$PEER_RESULTS" "$REUSE" "$ALL_CSV" <<'PYEOF'
import csv, os, sys
taosim, measured, peers, reuse, out = sys.argv[1:]
# The configurations --reuse-slow does not run (over 100 s each in the peers' results).
slow = [("radcad", "single_process", s, "216000", "1") for s in ("32", "128")] + [("cadcad", "single_proc", "32", "216000", "4")]
with open(taosim) as f:
    rows = list(csv.DictReader(f))
cols = list(rows[0].keys())
if reuse != "all":
    with open(measured) as f:
        rows += list(csv.DictReader(f))
if reuse != "none":
    with open(peers) as f:
        for r in csv.DictReader(f):
            key = (r["impl"], r["mode"], r["S"], r["B"], r["R"])
            if reuse == "all" or key in slow:
                r["check"] = f"reused_from={os.path.basename(peers)};" + r["check"]
                rows.append(r)
with open(out, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
PYEOF

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "# taosim vs the peers ($DATE)"
  echo
  echo "Machine: $(nproc) cores, $cpu_model, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo);" \
       "load average $LOAD_START at the start, $LOAD_END at the end. Started $STAMP."
  echo "Command: \`benches/peers.sh${ARGS:+ $ARGS}\`"
  echo "taosim: each configuration 2 x $REPEAT times, in its own process each time, half before and half after" \
       "the peers' suite; the row is the run with the median wall time (min and max in the CSV's check column)." \
       "Peers: one run each, as their own suite runs them. Ratios: taosim's single-threaded row over the peer's row."
  echo
  "$BIN" table "$ALL_CSV"
  echo
  echo "Cross-check against the peers' own figures (\`$(basename "$PEER_RESULTS")\`, measured by the peers on this" \
       "kind of machine, not in this run): the same targets, taosim's rows of this run over the peers' published rows."
  echo
  { cat "$TAOSIM_CSV"; tail -n +2 "$PEER_RESULTS"; } > "$OUT_DIR/.published.csv"
  "$BIN" table --targets-only "$OUT_DIR/.published.csv"
  rm -f "$OUT_DIR/.published.csv"
} > "$MD"
echo
cat "$MD"
echo
echo "wrote $ALL_CSV and $MD"
