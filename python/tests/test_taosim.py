"""The Python package against the command line: same bytes, same errors, DataFrames.

The CLI binary is ``$TAOSIM_BIN``, else the repository's ``target/debug/taosim`` or
``target/release/taosim`` (``cargo build`` makes it); without one the byte-identity tests
fail rather than skip.
"""

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import taosim

REPO = Path(__file__).resolve().parents[2]
SHORT = 2000  # blocks: a short horizon that still crosses several samples and epochs


def cli() -> str:
    env = os.environ.get("TAOSIM_BIN")
    if env:
        return env
    for profile in ("debug", "release"):
        path = REPO / "target" / profile / "taosim"
        if path.is_file():
            return str(path)
    pytest.fail("no taosim binary: run `cargo build` or set TAOSIM_BIN")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([cli(), *args], capture_output=True, text=True, cwd=REPO)


def digests(folder: Path) -> dict:
    """SHA-256 of every output file the manifest records (manifest.json itself names the
    build, which differs between the binary and the module)."""
    names = json.loads((folder / "manifest.json").read_text())["outputs"]
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in names}


SWEEP = """
[sweep]
seeds = { count = 2, first = 1 }
[sweep.vary]
"chain.emission.schedule" = ["halving", "smooth"]
[base]
run.horizon = 2000
run.sample_every_blocks = 500
"""


# --- run ------------------------------------------------------------------------------


def test_run_of_the_default_gives_the_cli_bytes(tmp_path):
    py = taosim.run(horizon=SHORT, out=tmp_path / "py")
    done = run_cli("run", "--horizon", str(SHORT), "--out", str(tmp_path / "cli"), "-q")
    assert done.returncode == 0, done.stderr
    assert digests(py.path) == digests(tmp_path / "cli")
    assert set(digests(py.path)) >= {"timeseries.csv", "subnets.csv", "events.csv", "summary.json"}
    # The manifest records the same digests the files have.
    assert py.manifest["outputs"] == digests(py.path)


def test_a_scenario_file_with_seed_and_set_gives_the_cli_bytes(tmp_path):
    scenario = REPO / "scenarios" / "liquidity-shock.toml"
    args = dict(seed=7, horizon="1d", set=["market.venue.depth_2pct_usd=5e6"])
    with pytest.warns(UserWarning, match="after the horizon never happen"):
        py = taosim.run(scenario, out=tmp_path / "py", **args)
    done = run_cli(
        "run", str(scenario), "--seed", "7", "--horizon", "1d",
        "--set", "market.venue.depth_2pct_usd=5e6", "--out", str(tmp_path / "cli"), "-q",
    )
    assert done.returncode == 0, done.stderr
    assert digests(py.path) == digests(tmp_path / "cli")
    assert py.manifest["seed"] == 7


def test_seed_and_set_change_the_output(tmp_path):
    base = taosim.run(horizon=SHORT, out=tmp_path / "a")
    other_seed = taosim.run(horizon=SHORT, seed=43, out=tmp_path / "b")
    deeper = taosim.run(horizon=SHORT, set={"market.venue.depth_2pct_usd": 5e6}, out=tmp_path / "c")
    assert digests(base.path)["timeseries.csv"] != digests(other_seed.path)["timeseries.csv"]
    assert digests(base.path)["timeseries.csv"] != digests(deeper.path)["timeseries.csv"]
    # Thinner depth (5e6 is below the default) can only lower the depth column.
    assert deeper.timeseries["market_depth_usd"].iloc[0] < base.timeseries["market_depth_usd"].iloc[0]


def test_a_toml_string_and_a_dict_run_as_the_file_they_spell(tmp_path):
    text = "run.horizon = 2000\nseed = 5\n"
    from_text = taosim.run(text, out=tmp_path / "text")
    from_dict = taosim.run({"run": {"horizon": 2000}, "seed": 5}, out=tmp_path / "dict")
    (tmp_path / "s.toml").write_text(text)
    from_file = taosim.run(tmp_path / "s.toml", out=tmp_path / "file")
    assert digests(from_text.path) == digests(from_file.path) == digests(from_dict.path)
    assert from_dict.summary["seed"] == 5


def test_the_same_call_twice_gives_the_same_bytes(tmp_path):
    a = taosim.run(horizon=SHORT, seed=3, out=tmp_path / "a")
    b = taosim.run(horizon=SHORT, seed=3, out=tmp_path / "b")
    assert digests(a.path) == digests(b.path)


def test_tables_have_the_csv_columns_and_dtypes(tmp_path):
    run = taosim.run(horizon=SHORT, out=tmp_path / "r")
    ts = run.timeseries
    assert isinstance(ts, pd.DataFrame)
    header = (run.path / "timeseries.csv").read_text().splitlines()[0].split(",")
    assert list(ts.columns) == header
    assert len(ts) == SHORT // 100 + 1  # one row per 100 blocks, block 0 included
    assert ts["block"].dtype == "int64"
    assert list(ts["block"][:3]) == [0, 100, 200]
    for column in ("total_issuance_tao", "tao_price_usd", "day"):
        assert ts[column].dtype == "float64", column
    subnets = run.subnets
    assert subnets["netuid"].dtype == "int64" and subnets["price_tao_per_alpha"].dtype == "float64"
    assert sorted(subnets["netuid"].unique()) == [1, 2, 3, 4]
    events = run.events
    assert list(events.columns) == ["block", "kind", "subject", "value", "detail"]
    assert events["block"].dtype == "int64"
    assert pd.api.types.is_string_dtype(events["kind"])
    assert "registration" in set(events["kind"])
    assert run.summary["blocks"] == SHORT


def test_polars_backend_when_polars_is_installed(tmp_path):
    pl = pytest.importorskip("polars")
    run = taosim.run(horizon=SHORT, out=tmp_path / "r", backend="polars")
    assert isinstance(run.timeseries, pl.DataFrame)
    assert run.timeseries["block"].dtype == pl.Int64


# --- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, cli_args",
    [
        (dict(set=["chain.tempo=-1"]), ["--set", "chain.tempo=-1"]),
        (dict(scenario="no-such-file.toml"), ["no-such-file.toml"]),
        (dict(seed=2**63), ["--seed", str(2**63)]),
        (dict(horizon="5x"), ["--horizon", "5x"]),
        (dict(horizon=100, set=["run.horizon=5"]), ["--horizon", "100", "--set", "run.horizon=5"]),
    ],
)
def test_bad_input_raises_scenario_error_with_the_cli_message(tmp_path, kwargs, cli_args):
    with pytest.raises(taosim.ScenarioError) as raised:
        taosim.run(out=tmp_path / "py", **kwargs)
    done = run_cli("run", *cli_args, "--out", str(tmp_path / "cli"), "-q")
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {raised.value}"
    assert not (tmp_path / "py").exists()


def test_an_existing_out_folder_is_refused_unless_forced(tmp_path):
    taosim.run(horizon=100, out=tmp_path / "r")
    with pytest.raises(taosim.ScenarioError, match="exists"):
        taosim.run(horizon=100, out=tmp_path / "r")
    assert taosim.run(horizon=100, out=tmp_path / "r", force=True).path == tmp_path / "r"


def test_scenario_error_is_a_taosim_error_and_an_exception():
    assert issubclass(taosim.ScenarioError, taosim.TaosimError)
    assert issubclass(taosim.TaosimError, Exception)


def test_bad_backend_and_bad_scenario_type():
    with pytest.raises(ValueError, match="backend"):
        taosim.run(horizon=100, backend="arrow")
    with pytest.raises(TypeError, match="scenario"):
        taosim.run(42)


# --- sweep ----------------------------------------------------------------------------


def test_sweep_runs_resumes_and_matches_the_cli(tmp_path):
    (tmp_path / "s.toml").write_text(SWEEP)
    first = taosim.sweep(tmp_path / "s.toml", tmp_path / "py", jobs=2)
    assert first.stats == {"total": 4, "ran": 4, "reused": 0, "failed": 0, "sweep_runs": 4}
    runs = first.runs
    assert list(runs["run_id"]) == ["p0000-s1", "p0000-s2", "p0001-s1", "p0001-s2"]
    assert list(runs["status"]) == ["ok"] * 4
    assert runs["seed"].dtype == "int64" and runs["blocks"].dtype == "int64"
    # Resuming reuses every finished run and rewrites the same summary.
    summary = (tmp_path / "py" / "summary.csv").read_bytes()
    again = taosim.sweep(tmp_path / "s.toml", tmp_path / "py", jobs=1)
    assert again.stats["ran"] == 0 and again.stats["reused"] == 4
    assert (tmp_path / "py" / "summary.csv").read_bytes() == summary
    # A removed run is recomputed, the rest reused.
    import shutil

    shutil.rmtree(tmp_path / "py" / "runs" / "p0001-s2")
    third = taosim.sweep(tmp_path / "s.toml", tmp_path / "py", jobs=2)
    assert (third.stats["ran"], third.stats["reused"]) == (1, 3)
    assert (tmp_path / "py" / "summary.csv").read_bytes() == summary
    # The CLI writes the same summary and the same run folders.
    done = run_cli("sweep", str(tmp_path / "s.toml"), "--out", str(tmp_path / "cli"), "--jobs", "2", "-q")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "cli" / "summary.csv").read_bytes() == summary
    for run_id in first.run_ids():
        assert digests(tmp_path / "py" / "runs" / run_id) == digests(tmp_path / "cli" / "runs" / run_id)


def test_sweep_shards_and_lazy_tables(tmp_path):
    shard = taosim.sweep(SWEEP, tmp_path / "k1", jobs=1, shard="1/2")
    assert shard.stats["total"] == 2 and shard.stats["sweep_runs"] == 4
    assert shard.run_ids() == ["p0000-s1", "p0001-s1"]
    tables = list(shard.iter_tables())
    assert [run_id for run_id, _ in tables] == shard.run_ids()
    assert all(len(df) == 2000 // 500 + 1 for _, df in tables)
    # The two settings (halving, smooth) sample the same blocks with different emission.
    (_, halving), (_, smooth) = tables
    assert halving["block"].equals(smooth["block"])
    assert not halving["block_emission_tao"].equals(smooth["block_emission_tao"])


@pytest.mark.parametrize("backend", ["pandas", "polars"])
def test_sweep_timeseries_is_every_run_in_one_table(tmp_path, backend):
    (tmp_path / "s.toml").write_text(SWEEP)
    sweep = taosim.sweep(tmp_path / "s.toml", tmp_path / "s", jobs=2, backend=backend)
    table = sweep.timeseries()
    rows = 2000 // 500 + 1
    assert len(table) == 4 * rows
    assert list(table.columns[:5]) == ["run_id", "setting", "point", "seed", "block"]
    ids = list(table["run_id"])
    assert ids == [run_id for run_id in sweep.run_ids() for _ in range(rows)]
    assert list(table["setting"])[:: rows] == ["s01", "s01", "s02", "s02"]
    assert list(table["seed"])[:: rows] == [1, 2, 1, 2]
    # Every run's rows equal its own CSV, column by column.
    for run_id, csv_table in sweep.iter_tables():
        if backend == "pandas":
            part = table[table["run_id"] == run_id].reset_index(drop=True)
            assert str(part["block"].dtype) == "int64"
            for column in csv_table.columns:
                # equals: NaN (an empty cell) matches NaN.
                assert part[column].astype(float).equals(csv_table[column].astype(float)), column
        else:
            import polars as pl

            part = table.filter(pl.col("run_id") == run_id)
            assert part["block"].dtype == pl.Int64
            for column in csv_table.columns:
                assert part[column].cast(pl.Float64).to_list() == csv_table[column].cast(pl.Float64).to_list(), column
    # The subnets' table: every run's rows, a row per subnet per sample.
    subnets = sweep.subnets(columns=["netuid", "price_tao_per_alpha"])
    for run_id, csv_table in sweep.iter_tables("subnets"):
        if backend == "pandas":
            part = subnets[subnets["run_id"] == run_id].reset_index(drop=True)
            assert part["netuid"].tolist() == csv_table["netuid"].tolist()
            assert part["price_tao_per_alpha"].equals(csv_table["price_tao_per_alpha"].astype(float))
        else:
            import polars as pl

            part = subnets.filter(pl.col("run_id") == run_id)
            assert part["netuid"].to_list() == csv_table["netuid"].to_list()
            assert part["price_tao_per_alpha"].to_list() == csv_table["price_tao_per_alpha"].cast(pl.Float64).to_list()
    # Only the columns asked for (and the labels).

    narrow = sweep.timeseries(columns=["day", "block_emission_tao"])
    assert list(narrow.columns) == ["run_id", "setting", "point", "seed", "day", "block_emission_tao"]
    # The CLI writes the same bytes.
    done = run_cli("sweep", str(tmp_path / "s.toml"), "--out", str(tmp_path / "cli"), "--jobs", "1", "-q")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "cli" / "timeseries.parquet").read_bytes() == sweep.timeseries_path.read_bytes()
    assert (tmp_path / "cli" / "subnets.parquet").read_bytes() == sweep.subnets_path.read_bytes()


def test_sweep_timeseries_without_its_file_says_how_to_get_it(tmp_path):
    sweep = taosim.sweep(SWEEP, tmp_path / "s", jobs=2)
    sweep.timeseries_path.unlink()
    with pytest.raises(taosim.ScenarioError, match="run the same sweep command again"):
        sweep.timeseries()
    again = taosim.sweep(SWEEP, tmp_path / "s", jobs=2)
    assert again.stats["reused"] == 4 and len(again.timeseries()) == 4 * 5


def test_sweep_errors(tmp_path):
    with pytest.raises(taosim.ScenarioError, match="no \\[sweep\\] table"):
        taosim.sweep("run.horizon = 10\n", tmp_path / "x")
    with pytest.raises(taosim.ScenarioError, match="--shard"):
        taosim.sweep(SWEEP, tmp_path / "x", shard="3/2")
    with pytest.raises(taosim.ScenarioError, match="--jobs"):
        taosim.sweep(SWEEP, tmp_path / "x", jobs=0)


# --- report, compare, epoch -----------------------------------------------------------


def test_report_and_compare(tmp_path):
    a = taosim.sweep(SWEEP, tmp_path / "a", jobs=2)
    b = taosim.sweep(SWEEP, tmp_path / "b", jobs=2, set=["market.venue.depth_2pct_usd=2e6"])
    files = taosim.report(a.path)
    assert (a.path / "report.html") in files and (a.path / "report.html").stat().st_size > 0
    comparison = taosim.compare(a.path, b.path, out=tmp_path)
    assert (tmp_path / "compare.csv") in comparison.files
    assert len(comparison.table) > 10
    assert comparison.text.strip()
    done = run_cli("compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "cli"), "-q")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "cli" / "compare.csv").read_bytes() == (tmp_path / "compare.csv").read_bytes()
    with pytest.raises(taosim.ScenarioError):
        taosim.report(tmp_path / "missing")


def test_epoch_matches_the_cli():
    example = REPO / "scenarios" / "epochs" / "example.json"
    result = taosim.epoch(json.loads(example.read_text()))
    done = run_cli("epoch", "--input", str(example))
    assert done.returncode == 0, done.stderr
    assert result == json.loads(done.stdout)
    assert len(result["neurons"]) == 4
    with pytest.raises(taosim.ScenarioError, match="uid 7 does not exist"):
        taosim.epoch({"block": 1, "emission": 1, "neurons": [{}, {"weights": [[7, 1]]}]})


def test_the_gil_is_released_while_a_run_runs(tmp_path):
    """The staging folder `.NAME.partial-PID` exists only inside the native run; the main
    thread can see it only if the run lets go of the GIL."""
    import threading

    out = tmp_path / "r"
    staging = tmp_path / f".r.partial-{os.getpid()}"
    worker = threading.Thread(target=taosim.run, kwargs=dict(horizon="10d", out=out))
    seen = False
    worker.start()
    while worker.is_alive():
        seen = seen or staging.exists()
    worker.join()
    assert (out / "manifest.json").is_file() and not staging.exists()
    assert seen, "the main thread never ran while the run was in Rust"


def test_a_sweep_dict_runs_as_its_toml_text(tmp_path):
    as_dict = {
        "sweep": {"seeds": {"count": 2, "first": 1}, "vary": {"chain.emission.schedule": ["halving", "smooth"]}},
        "base": {"run": {"horizon": 2000, "sample_every_blocks": 500}},
    }
    from_dict = taosim.sweep(as_dict, tmp_path / "dict", jobs=2)
    from_text = taosim.sweep(SWEEP, tmp_path / "text", jobs=2)
    assert (from_dict.path / "summary.csv").read_bytes() == (from_text.path / "summary.csv").read_bytes()
