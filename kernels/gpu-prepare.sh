#!/usr/bin/env bash
# Builds, on a machine with the Rust toolchain and crates.io, what kernels/gpu-check.sh runs on
# a GPU machine that may have neither: the release `taosim` and the kernels crate's test
# executables, all with the CUDA back end (cudarc loads the CUDA libraries at run time, so no
# CUDA toolkit is needed here). They land in kernels/gpu-bin/ (ignored by git), stripped.
#
# Usage: kernels/gpu-prepare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=kernels/gpu-bin
rm -rf "$bin"
mkdir -p "$bin"

cargo build --release --features cuda --bin taosim
cp target/release/taosim "$bin/taosim"

# The test executables: `kernels` (unit tests) and `it` (integration tests), by cargo's report.
cargo test --release --features cuda -p taosim-kernels --no-run --message-format=json 2>/dev/null \
  | grep -o '"executable":"[^"]*"' | cut -d'"' -f4 \
  | while read -r exe; do
      name=$(basename "$exe" | sed 's/-[0-9a-f]*$//')
      cp "$exe" "$bin/$name"
    done
for need in taosim kernels it; do
  [ -x "$bin/$need" ] || { echo "gpu-prepare: $bin/$need was not built" >&2; exit 1; }
done
# Without their debug information the three fit in about 10 MB (instead of about 110 MB), small
# enough to send to a GPU machine along with the source tree.
strip "$bin"/taosim "$bin"/kernels "$bin"/it
ls -l "$bin"
