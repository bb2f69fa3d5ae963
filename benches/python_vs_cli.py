#!/usr/bin/env python3
"""taosim.run from Python against the taosim binary, on the default scenario.

Usage (the package installed, `pip install ./python`; the binary built, `cargo build --release`):

    benches/python_vs_cli.py [--repeats 7] [--horizon BLOCKS] [--bin target/release/taosim]

Each repeat times one `taosim run --out DIR -q` (a process: its start included, as a user
pays it) and one `taosim.run(out=DIR)` in this process, alternately, each into a fresh folder;
prints the medians and Python's cost over the CLI. Both write the same bytes (checked on the
first repeat). A wall-clock comparison: run it on a quiet machine.
"""

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import taosim

REPO = Path(__file__).resolve().parents[1]


def digests(folder: Path) -> dict:
    names = json.loads((folder / "manifest.json").read_text())["outputs"]
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in names}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--horizon", type=str, default=None, help="blocks or a duration (default: the scenario's)")
    parser.add_argument("--bin", type=Path, default=REPO / "target" / "release" / "taosim")
    args = parser.parse_args()
    if not args.bin.is_file():
        print(f"error: {args.bin}: no such binary (cargo build --release)", file=sys.stderr)
        return 2
    horizon = [] if args.horizon is None else ["--horizon", args.horizon]
    cli_s, py_s = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            cli_out, py_out = Path(tmp) / f"cli{i}", Path(tmp) / f"py{i}"
            started = time.perf_counter()
            subprocess.run([str(args.bin), "run", *horizon, "--out", str(cli_out), "-q"], check=True, stdout=subprocess.DEVNULL)
            cli_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            taosim.run(horizon=args.horizon, out=py_out)
            py_s.append(time.perf_counter() - started)
            if i == 0 and digests(cli_out) != digests(py_out):
                print("error: the CLI and taosim.run wrote different bytes", file=sys.stderr)
                return 1
    cli, py = statistics.median(cli_s), statistics.median(py_s)
    print(f"default scenario{'' if args.horizon is None else ', horizon ' + args.horizon}, {args.repeats} repeats")
    print(f"CLI (process)   median {cli:.3f} s  (min {min(cli_s):.3f})")
    print(f"taosim.run      median {py:.3f} s  (min {min(py_s):.3f})")
    print(f"Python over CLI {100 * (py / cli - 1):+.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
