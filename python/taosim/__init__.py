"""taosim for notebooks: run scenarios and sweeps, get DataFrames.

A thin layer over the Rust core (the native module ``taosim._taosim``): every call runs the
same code as the ``taosim`` command line and writes the same folder, byte for byte; this
module only reads the folders' CSV and JSON files into pandas (or polars) DataFrames.

    import taosim
    run = taosim.run("scenarios/liquidity-shock.toml", seed=7, horizon="5d", out="runs/py")
    run.timeseries[["day", "tao_price_usd"]]

Bad input raises :class:`ScenarioError` with the message the CLI prints (its exit code 2);
a failure while running raises :class:`TaosimError` (the CLI's exit code 1). Long calls
release the GIL.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence, Union

from . import _taosim
from ._taosim import ScenarioError, TaosimError

__all__ = [
    "Comparison",
    "Run",
    "ScenarioError",
    "Sweep",
    "TaosimError",
    "compare",
    "epoch",
    "report",
    "run",
    "sweep",
]

PathLike = Union[str, "os.PathLike[str]"]

#: The run folder's tables, by attribute name.
_TABLES = ("timeseries", "subnets", "events")


def _source(value: Union[None, PathLike, str, Mapping[str, Any]]) -> tuple:
    """What the native module is given for a scenario or sweep: (kind, value).

    ``None`` is the built-in default; a dict is a table (sent as JSON, written as TOML in
    Rust); a string is TOML text when it parses as a table with a newline or ``=`` in it and
    is not an existing file, else a path.
    """
    if value is None:
        return ("default", "")
    if isinstance(value, Mapping):
        return ("json", json.dumps(value))
    if isinstance(value, os.PathLike):
        return ("file", os.fspath(value))
    if isinstance(value, str):
        if ("\n" in value or "=" in value) and not Path(value).is_file():
            return ("toml", value)
        return ("file", value)
    raise TypeError(f"scenario must be a path, TOML text or a dict, not {type(value).__name__}")


def _set_list(set: Union[None, Mapping[str, Any], Sequence[str]]) -> list:
    """``--set`` overrides: a list of ``"key=value"`` strings (value in TOML), or a dict whose
    values are written as TOML (strings quoted, booleans lower-case, lists as arrays)."""
    if set is None:
        return []
    if isinstance(set, Mapping):
        return [f"{key}={_toml_value(value)}" for key, value in set.items()]
    if isinstance(set, str):
        return [set]
    return [str(s) for s in set]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as a TOML value")


def _read_csv(path: Path, backend: str):
    """A CSV table as a DataFrame: pandas (default) or polars."""
    if backend == "pandas":
        import pandas as pd

        return pd.read_csv(path)
    if backend == "polars":
        import polars as pl

        return pl.read_csv(path, infer_schema_length=None)
    raise ValueError(f"backend must be 'pandas' or 'polars', not {backend!r}")


def _check_backend(backend: str) -> str:
    if backend not in ("pandas", "polars"):
        raise ValueError(f"backend must be 'pandas' or 'polars', not {backend!r}")
    return backend


class Run:
    """A run folder (as ``taosim run`` writes it) with its tables as DataFrames.

    The tables are read from the folder's CSV files when first asked for, then kept.
    """

    def __init__(self, path: PathLike, backend: str = "pandas"):
        self.path = Path(path)
        self.backend = _check_backend(backend)
        if not (self.path / "manifest.json").is_file():
            raise ScenarioError(f"{self.path}: not a run folder (no manifest.json)")
        self._cache: dict = {}

    def _table(self, name: str):
        if name not in self._cache:
            self._cache[name] = _read_csv(self.path / f"{name}.csv", self.backend)
        return self._cache[name]

    @property
    def timeseries(self):
        """``timeseries.csv``: one row per sample of the network."""
        return self._table("timeseries")

    @property
    def subnets(self):
        """``subnets.csv``: one row per subnet per sample."""
        return self._table("subnets")

    @property
    def events(self):
        """``events.csv``: every halving, registration, exit and shock."""
        return self._table("events")

    @property
    def summary(self) -> dict:
        """``summary.json`` as a dict."""
        return json.loads((self.path / "summary.json").read_text())

    @property
    def manifest(self) -> dict:
        """``manifest.json`` as a dict: the seed, the resolved scenario, every file's SHA-256."""
        return json.loads((self.path / "manifest.json").read_text())

    def __repr__(self) -> str:
        return f"taosim.Run({str(self.path)!r})"


def run(
    scenario: Union[None, PathLike, str, Mapping[str, Any]] = None,
    seed: Optional[int] = None,
    horizon: Union[None, int, str] = None,
    set: Union[None, Mapping[str, Any], Sequence[str]] = None,
    out: Optional[PathLike] = None,
    force: bool = False,
    backend: str = "pandas",
) -> Run:
    """Runs a scenario, as ``taosim run [SCENARIO] --seed --horizon --set --out [--force]``.

    ``scenario``: a path, TOML text, a dict, or ``None`` for the built-in default. ``horizon``:
    blocks (an int) or a duration (``"30d"``). ``set``: overrides, ``["chain.tempo=99"]`` or
    ``{"chain.tempo": 99}``. ``out``: the run folder (default: a new one under ``runs/``).
    """
    _check_backend(backend)
    kind, value = _source(scenario)
    horizon_text = None if horizon is None else str(horizon)
    overrides = _set_list(set)
    late = _taosim.events_after_horizon(kind, value, seed, horizon_text, overrides)
    if late:
        warnings.warn(f"{', '.join(late)} after the horizon never happen in this run", stacklevel=2)
    out_text = None if out is None else os.fspath(out)
    path = _taosim.run(kind, value, seed, horizon_text, overrides, out_text, force)
    return Run(path, backend=backend)


class Sweep:
    """A sweep folder (as ``taosim sweep`` writes it): ``summary.csv``, ``timeseries.parquet``,
    ``subnets.parquet`` and ``runs/``.

    ``runs`` is the runs table (one row per run: id, seed, varied fields, status, metrics);
    :meth:`timeseries` and :meth:`subnets` every finished run's series in one DataFrame each,
    from the sweep's Parquet files; :meth:`iter_tables` one run's table at a time, from its CSV.
    """

    def __init__(self, path: PathLike, backend: str = "pandas", stats: Optional[dict] = None):
        self.path = Path(path)
        self.backend = _check_backend(backend)
        self.stats = stats or {}
        if not (self.path / "summary.csv").is_file():
            raise ScenarioError(f"{self.path}: not a sweep folder (no summary.csv)")

    @property
    def runs(self):
        """``summary.csv``: one row per run."""
        return _read_csv(self.path / "summary.csv", self.backend)

    def run_ids(self) -> list:
        """The ids of the runs that finished (status ``ok``), in the summary's order."""
        import csv

        with open(self.path / "summary.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        return [r["run_id"] for r in rows if r["status"] == "ok"]

    def run(self, run_id: str) -> Run:
        """One run of the sweep."""
        return Run(self.path / "runs" / run_id, backend=self.backend)

    def iter_runs(self) -> Iterator[Run]:
        """Every finished run, one at a time."""
        for run_id in self.run_ids():
            yield self.run(run_id)

    @property
    def timeseries_path(self) -> Path:
        """The sweep's ``timeseries.parquet`` (for ``polars.scan_parquet`` and the like)."""
        return self.path / "timeseries.parquet"

    @property
    def subnets_path(self) -> Path:
        """The sweep's ``subnets.parquet``."""
        return self.path / "subnets.parquet"

    def timeseries(self, columns: Optional[Sequence[str]] = None):
        """Every finished run's ``timeseries.csv`` in one DataFrame, read from the sweep's
        ``timeseries.parquet``: columns ``run_id``, ``setting`` (``s01``.., as reports label
        settings), ``point``, ``seed``, then the runs' columns (integers as int64, the rest
        float64, empty cells null). ``columns`` reads only those (the four labels are always
        read)."""
        return self._parquet(self.timeseries_path, columns)

    def subnets(self, columns: Optional[Sequence[str]] = None):
        """Every finished run's ``subnets.csv`` (one row per subnet per sample) in one
        DataFrame, from the sweep's ``subnets.parquet``; labelled and typed as
        :meth:`timeseries`."""
        return self._parquet(self.subnets_path, columns)

    def _parquet(self, path: Path, columns: Optional[Sequence[str]]):
        if not path.is_file():
            raise ScenarioError(
                f"{self.path}: no {path.name} (an unfinished sweep, or one written by an older "
                "taosim): run the same sweep command again to resume it and write the file"
            )
        wanted = None
        if columns is not None:
            labels = ["run_id", "setting", "point", "seed"]
            wanted = labels + [c for c in columns if c not in labels]
        if self.backend == "pandas":
            import pandas as pd

            return pd.read_parquet(path, columns=wanted)
        import polars as pl

        return pl.read_parquet(path, columns=wanted)

    def iter_tables(self, table: str = "timeseries") -> Iterator[tuple]:
        """``(run_id, DataFrame)`` for each finished run's table, read lazily from its CSV, one
        run at a time (``table``: ``timeseries``, ``subnets`` or ``events``)."""
        if table not in _TABLES:
            raise ValueError(f"table must be one of {_TABLES}, not {table!r}")
        for run_id in self.run_ids():
            yield run_id, _read_csv(self.path / "runs" / run_id / f"{table}.csv", self.backend)

    def __repr__(self) -> str:
        return f"taosim.Sweep({str(self.path)!r})"


def sweep(
    sweep: Union[PathLike, str, Mapping[str, Any]],
    out: PathLike,
    jobs: Optional[int] = None,
    shard: Optional[str] = None,
    set: Union[None, Mapping[str, Any], Sequence[str]] = None,
    backend: str = "pandas",
) -> Sweep:
    """Runs a sweep in parallel in Rust, as ``taosim sweep FILE --out OUT [--jobs] [--shard K/N]
    [--set]``. Calling it again on the same ``out`` resumes: complete runs are verified and
    reused. ``sweep``: a sweep file's path, its TOML text or a dict with a ``sweep`` table.
    """
    _check_backend(backend)
    kind, value = _source(sweep)
    if kind == "default":
        raise ScenarioError("a sweep needs a file, TOML text or a dict")
    total, ran, reused, failed, sweep_runs, _summary = _taosim.sweep(
        kind, value, os.fspath(out), jobs, shard, _set_list(set)
    )
    stats = {"total": total, "ran": ran, "reused": reused, "failed": failed, "sweep_runs": sweep_runs}
    return Sweep(out, backend=backend, stats=stats)


def report(dir: PathLike, out: Optional[PathLike] = None) -> list:
    """``taosim report DIR [--out OUT]``: writes report.html and its CSV tables for a run, a
    sweep or a folder of runs; returns the files written."""
    return [Path(p) for p in _taosim.report(os.fspath(dir), None if out is None else os.fspath(out))]


class Comparison:
    """What :func:`compare` found: ``table`` (compare.csv as a DataFrame: every metric, its
    change and interval, whether it moved), ``text`` (the table the CLI prints) and ``files``
    (compare.html and compare.csv)."""

    def __init__(self, table, text: str, files: list):
        self.table = table
        self.text = text
        self.files = files

    def __repr__(self) -> str:
        return self.text


def compare(
    a: PathLike,
    b: PathLike,
    out: Optional[PathLike] = None,
    min_effect: float = 0.01,
    top: int = 30,
    backend: str = "pandas",
) -> Comparison:
    """``taosim compare A B [--out OUT] [--min-effect] [--top]``: which metrics moved from A
    (the baseline) to B, with bootstrap intervals, runs paired by seed. Writes compare.html
    and compare.csv into ``out`` (default: A's parent folder)."""
    _check_backend(backend)
    text, files = _taosim.compare(
        os.fspath(a), os.fspath(b), None if out is None else os.fspath(out), min_effect, top
    )
    paths = [Path(f) for f in files]
    csv_path = next(p for p in paths if p.suffix == ".csv")
    return Comparison(_read_csv(csv_path, backend), text, paths)


def epoch(state: Mapping[str, Any]) -> dict:
    """One subnet's Yuma epoch (``taosim epoch``): the state as a dict in, results as a dict."""
    return json.loads(_taosim.epoch(json.dumps(state)))
