#!/usr/bin/env bash
# The GPU check (issue 15 item 5), for a machine with an NVIDIA GPU, its driver and the CUDA
# toolkit's NVRTC and cuBLAS libraries. In about 5 minutes it:
#   1. records the GPU (nvidia-smi);
#   2. runs the kernels crate's tests including the ignored CUDA ones (NVRTC compiles every
#      kernel; the MLP step and the decoder block on CUDA agree with the CPU); they fail, not
#      skip, when no GPU is found;
#   3. runs `taosim calibrate` (checks CUDA against the CPU again, then times GEMMs, MLP steps
#      and decoder blocks) and writes the profile;
# and leaves everything under the results folder: nvidia-smi.txt, the tests' logs, calibrate.log,
# profile.toml, timings.txt (the calibrate lines), summary.txt. Each part runs even if an
# earlier one failed; the exit status is non-zero if any failed.
#
# Usage: kernels/gpu-check.sh [RESULTS_DIR]      (default: kernels/gpu-results)
# Uses the binaries of kernels/gpu-prepare.sh when kernels/gpu-bin/ holds them (a machine
# without crates.io), otherwise builds with cargo.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-kernels/gpu-results}
mkdir -p "$out"
bin=kernels/gpu-bin
failed=()

part() { # part NAME SECONDS COMMAND...: runs COMMAND with a time limit into $out/NAME.log
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  if timeout "$limit" "$@" >"$out/$name.log" 2>&1; then
    echo "$name: ok ($((SECONDS - start)) s)" | tee -a "$out/summary.txt"
  else
    echo "$name: FAILED with status $? ($((SECONDS - start)) s); last lines of $out/$name.log:" | tee -a "$out/summary.txt"
    tail -n 20 "$out/$name.log"
    failed+=("$name")
  fi
}

: >"$out/summary.txt"
date -u +"started %Y-%m-%dT%H:%M:%SZ" | tee -a "$out/summary.txt"
nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || echo "nvidia-smi failed (see nvidia-smi.txt)" | tee -a "$out/summary.txt"

if [ -x "$bin/taosim" ] && [ -x "$bin/kernels" ] && [ -x "$bin/it" ]; then
  taosim=$bin/taosim
  part unit-tests 120 "$bin/kernels" --include-ignored
  part cuda-tests 120 "$bin/it" --include-ignored
else
  part build 240 cargo build --release --features cuda --bin taosim
  taosim=target/release/taosim
  part tests 240 cargo test --release --features cuda -p taosim-kernels -- --include-ignored
fi

rm -f "$out/profile.toml"
part calibrate 180 "$taosim" calibrate --force --out "$out/profile.toml"
grep '^calibrate:' "$out/calibrate.log" >"$out/timings.txt" 2>/dev/null || true
if [ -f "$out/profile.toml" ] && ! grep -q '^device_kind = "gpu"' "$out/profile.toml"; then
  echo "calibrate: FAILED: it measured the CPU, so no GPU was found (see calibrate.log)" | tee -a "$out/summary.txt"
  failed+=("calibrate-device")
fi
grep -E 'BF16 GEMM|CUDA .* vs|block B=' "$out/timings.txt" 2>/dev/null | tee -a "$out/summary.txt"
date -u +"finished %Y-%m-%dT%H:%M:%SZ" | tee -a "$out/summary.txt"

if [ ${#failed[@]} -gt 0 ]; then
  echo "gpu-check: FAILED: ${failed[*]} (results in $out)" | tee -a "$out/summary.txt"
  exit 1
fi
echo "gpu-check: all parts passed; the profile is $out/profile.toml (commit it as kernels/profiles/<gpu>.toml)" \
  | tee -a "$out/summary.txt"
