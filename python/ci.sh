#!/usr/bin/env bash
# CI of the Python package (run by .ci/run after the Rust tests, which build target/debug/taosim
# for the byte-identity tests): a fresh virtualenv, the wheel built and installed with pip
# (maturin, release profile), the native crate linted, pytest, and the example notebook
# executed with nbclient on a short horizon.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/python-ci-venv
rm -rf "$venv"
python3 -m venv "$venv"
# shellcheck disable=SC1091
. "$venv/bin/activate"
python -m pip install --quiet --upgrade pip
python -m pip install --quiet maturin pytest pandas pyarrow polars nbformat nbclient ipykernel matplotlib

echo "== python: cargo fmt --check and clippy of the native module"
cargo fmt --manifest-path python/Cargo.toml --check
cargo clippy --manifest-path python/Cargo.toml --all-targets -- -D warnings

echo "== python: pip install ./python"
python -m pip install --quiet --no-build-isolation ./python

echo "== python: pytest"
# The installed package, not the source folder: run from outside python/.
TAOSIM_BIN="${TAOSIM_BIN:-$PWD/target/debug/taosim}" python -m pytest -q python/tests

echo "== python: the example notebook"
notebook_out=$(mktemp -d)
trap 'rm -rf "$notebook_out"' EXIT
TAOSIM_NOTEBOOK_HORIZON=14d TAOSIM_NOTEBOOK_OUT="$notebook_out" MPLBACKEND=Agg python - <<'PY'
import nbclient
import nbformat

path = "python/examples/stress-test.ipynb"
notebook = nbformat.read(path, as_version=4)
nbclient.NotebookClient(
    notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": "python/examples"}}
).execute()
cells = [c for c in notebook.cells if c.cell_type == "code"]
print(f"{path}: {len(cells)} code cells executed without error")
PY
