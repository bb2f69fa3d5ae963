//! `timeseries.parquet` and `subnets.parquet`: every finished run's `timeseries.csv` (and
//! `subnets.csv`, one row per subnet per sample) in one columnar file each, so that pandas or
//! polars load a sweep of thousands of runs in one call (`pd.read_parquet`).
//!
//! Rows come in run order (point-major, then seed; within a run, in the CSV's order) and carry
//! four leading columns: `run_id` (`p0003-s42`), `setting` (the point's short label, `s04`,
//! as `taosim report` names it in `settings.csv`), `point` and `seed`; then the runs' own
//! columns, in the order they first appear. A column is 64-bit integer when every cell of it
//! in every run is an integer literal, else 64-bit float; an empty cell (a figure that has no
//! value at that sample) is null. The floats are copies of the CSV's decimals: TAO amounts in
//! the CSV are the chain's exact integer rao state, which a float rounds past 2^53 rao (about
//! 9 million TAO), so the run folders' CSVs stay the exact record and this file is for analysis.
//!
//! The file is built from the run folders on disk (never from memory a resumed sweep would
//! not have) in two streamed passes, the first to settle each column's type, the second to
//! write: memory holds one run and one row group whatever the number of runs. Every byte is a
//! function of the runs' files: a resumed, sharded-and-merged or multi-threaded sweep writes
//! the same file as one uninterrupted sweep. It is written beside its final name and renamed.

use super::folder::RUNS;
use super::plan::Plan;
use crate::error::Error;
use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder, UInt32Builder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufWriter};
use std::path::Path;
use std::sync::Arc;

/// A run file gathered into a sweep-wide Parquet file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table {
    /// The run folder's CSV file.
    pub run_file: &'static str,
    /// The sweep folder's Parquet file.
    pub name: &'static str,
}

impl Table {
    /// The file while it is being written (renamed to [`Table::name`] when complete).
    pub fn partial(&self) -> String {
        format!(".{}.partial", self.name)
    }
}

/// The network's series: one row per sample.
pub const TIMESERIES: Table = Table { run_file: "timeseries.csv", name: "timeseries.parquet" };
/// The subnets' series: one row per subnet per sample.
pub const SUBNETS: Table = Table { run_file: "subnets.csv", name: "subnets.parquet" };
/// Every table a sweep gathers.
pub const TABLES: [Table; 2] = [TIMESERIES, SUBNETS];
/// The timeseries file's name in a sweep folder.
pub const TIMESERIES_PARQUET: &str = TIMESERIES.name;
/// Rows per row group: large enough for good compression and fast scans, small enough that
/// the writer's buffer stays a few tens of MB with a hundred columns.
const ROW_GROUP_ROWS: usize = 65_536;

/// The short label of setting (point) `point` of `points`: `s01`, `s02`, ... (three digits
/// from 100 points). Reports name settings by the same labels (`settings.csv`).
pub fn setting_label(point: usize, points: usize) -> String {
    let width = points.to_string().len().max(2);
    format!("s{:0width$}", point + 1)
}

/// A column's type, settled over every run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Every cell seen so far is empty.
    Empty,
    /// Every non-empty cell is an integer literal that fits an `i64`.
    Int,
    /// Some cell is not an integer literal.
    Float,
}

impl Kind {
    fn widen(self, cell: &str) -> Kind {
        match (self, cell) {
            (kind, "") => kind,
            (Kind::Float, _) => Kind::Float,
            (_, cell) if is_integer(cell) => Kind::Int,
            _ => Kind::Float,
        }
    }

    fn data_type(self) -> DataType {
        match self {
            Kind::Int => DataType::Int64,
            Kind::Empty | Kind::Float => DataType::Float64,
        }
    }
}

/// Whether a CSV cell is an integer literal (`-0` and `42` are; `4.0`, `1e3` and `inf` are
/// not) that fits an `i64`.
fn is_integer(cell: &str) -> bool {
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && cell.parse::<i64>().is_ok()
}

/// What went wrong with one cell: the run file, its line and column, the text.
fn bad_cell(path: &Path, line: u64, column: &str, cell: &str) -> Error {
    Error::Manifest {
        path: path.to_path_buf(),
        message: format!("line {line}, column `{column}`: `{cell}` is not a number"),
    }
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    Error::Manifest { path: path.to_path_buf(), message: format!("malformed CSV: {e}") }
}

fn open(path: &Path) -> Result<csv::Reader<fs::File>, Error> {
    let file = fs::File::open(path).map_err(|e| Error::io(path, "cannot read", e))?;
    Ok(csv::ReaderBuilder::new().has_headers(true).from_reader(file))
}

/// First pass: the union of the runs' columns (in order of first appearance) and each one's
/// type. Checks every cell is a number or empty.
fn settle_columns(runs_dir: &Path, plan: &Plan, runs: &[usize], table: Table) -> Result<Vec<(String, Kind)>, Error> {
    let mut columns: Vec<(String, Kind)> = Vec::new();
    let mut position: BTreeMap<String, usize> = BTreeMap::new();
    let mut record = csv::StringRecord::new();
    for &index in runs {
        let path = runs_dir.join(plan.run_id(index)).join(table.run_file);
        let mut reader = open(&path)?;
        let header = reader.headers().map_err(|e| csv_error(&path, e))?.clone();
        let mut at = Vec::with_capacity(header.len());
        for name in &header {
            let next = columns.len();
            let slot = *position.entry(name.to_string()).or_insert(next);
            if slot == next {
                columns.push((name.to_string(), Kind::Empty));
            }
            at.push(slot);
        }
        let mut line = 1u64;
        while reader.read_record(&mut record).map_err(|e| csv_error(&path, e))? {
            line += 1;
            for (cell, &slot) in record.iter().zip(&at) {
                let kind = columns[slot].1.widen(cell);
                if kind == Kind::Float && !cell.is_empty() && cell.parse::<f64>().is_err() {
                    return Err(bad_cell(&path, line, &columns[slot].0, cell));
                }
                columns[slot].1 = kind;
            }
        }
    }
    Ok(columns)
}

/// One column being filled for one run's batch.
enum Builder {
    Int(Int64Builder),
    Float(Float64Builder),
}

/// Second pass for one run: its rows as a record batch in the file's schema.
fn run_batch(
    path: &Path,
    schema: &Arc<Schema>,
    columns: &[(String, Kind)],
    labels: (&str, &str, u32, u64),
) -> Result<RecordBatch, Error> {
    let (run_id, setting, point, seed) = labels;
    let mut reader = open(path)?;
    let header = reader.headers().map_err(|e| csv_error(path, e))?.clone();
    let slot_of: BTreeMap<&str, usize> = header.iter().enumerate().map(|(i, h)| (h, i)).collect();
    // For each file column, where it is in this run's CSV (None: absent, all nulls).
    let source: Vec<Option<usize>> = columns.iter().map(|(name, _)| slot_of.get(name.as_str()).copied()).collect();
    let mut builders: Vec<Builder> = columns
        .iter()
        .map(|(_, kind)| match kind {
            Kind::Int => Builder::Int(Int64Builder::new()),
            Kind::Empty | Kind::Float => Builder::Float(Float64Builder::new()),
        })
        .collect();
    let mut record = csv::StringRecord::new();
    let mut rows = 0usize;
    let mut line = 1u64;
    while reader.read_record(&mut record).map_err(|e| csv_error(path, e))? {
        line += 1;
        rows += 1;
        for ((builder, at), (name, _)) in builders.iter_mut().zip(&source).zip(columns) {
            let cell = at.and_then(|i| record.get(i)).unwrap_or("");
            match builder {
                Builder::Int(b) if cell.is_empty() => b.append_null(),
                Builder::Int(b) => b.append_value(cell.parse().map_err(|_| bad_cell(path, line, name, cell))?),
                Builder::Float(b) if cell.is_empty() => b.append_null(),
                Builder::Float(b) => b.append_value(cell.parse().map_err(|_| bad_cell(path, line, name, cell))?),
            }
        }
    }
    let mut run_ids = StringBuilder::new();
    let mut settings = StringBuilder::new();
    let mut points = UInt32Builder::new();
    let mut seeds = UInt64Builder::new();
    for _ in 0..rows {
        run_ids.append_value(run_id);
        settings.append_value(setting);
        points.append_value(point);
        seeds.append_value(seed);
    }
    let mut arrays: Vec<ArrayRef> = vec![
        Arc::new(run_ids.finish()),
        Arc::new(settings.finish()),
        Arc::new(points.finish()),
        Arc::new(seeds.finish()),
    ];
    arrays.extend(builders.into_iter().map(|b| -> ArrayRef {
        match b {
            Builder::Int(mut b) => Arc::new(b.finish()),
            Builder::Float(mut b) => Arc::new(b.finish()),
        }
    }));
    RecordBatch::try_new(schema.clone(), arrays)
        .map_err(|e| Error::Write { path: path.to_path_buf(), message: format!("cannot gather its columns: {e}") })
}

/// Writes every table of [`TABLES`] for runs `runs` (see [`write_table`]).
pub fn write_tables(dir: &Path, plan: &Plan, runs: &[usize]) -> Result<(), Error> {
    TABLES.iter().try_for_each(|&table| write_table(dir, plan, runs, table))
}

/// Writes `dir/<table.name>` from the `table.run_file` of runs `runs` (run numbers in run
/// order, each a finished run folder under `dir/runs/`). Staged and renamed: an error leaves
/// any earlier file as it was.
pub fn write_table(dir: &Path, plan: &Plan, runs: &[usize], table: Table) -> Result<(), Error> {
    let runs_dir = dir.join(RUNS);
    let columns = settle_columns(&runs_dir, plan, runs, table)?;
    let mut fields = vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("setting", DataType::Utf8, false),
        Field::new("point", DataType::UInt32, false),
        Field::new("seed", DataType::UInt64, false),
    ];
    fields.extend(columns.iter().map(|(name, kind)| Field::new(name, kind.data_type(), true)));
    let schema = Arc::new(Schema::new(fields));
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_created_by(format!("taosim {}", env!("CARGO_PKG_VERSION")))
        .build();

    let partial = dir.join(table.partial());
    let write_error = |e: parquet::errors::ParquetError| Error::Write { path: partial.clone(), message: e.to_string() };
    let file = fs::File::create(&partial).map_err(|e| Error::io(&partial, "cannot create", e))?;
    let mut writer =
        ArrowWriter::try_new(BufWriter::new(file), schema.clone(), Some(properties)).map_err(write_error)?;
    let result = (|| {
        for &index in runs {
            let run_id = plan.run_id(index);
            let point = plan.point_of(index);
            let setting = setting_label(point, plan.points());
            let point = u32::try_from(point).unwrap_or(u32::MAX);
            let path = runs_dir.join(&run_id).join(table.run_file);
            let batch = run_batch(&path, &schema, &columns, (&run_id, &setting, point, plan.seed_of(index)))?;
            writer.write(&batch).map_err(write_error)?;
        }
        let buffered = writer.into_inner().map_err(write_error)?;
        let file = buffered.into_inner().map_err(|e| Error::io(&partial, "cannot write", e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&partial, "cannot write", e))
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&partial);
        return Err(e);
    }
    let target = dir.join(table.name);
    fs::rename(&partial, &target).map_err(|e| Error::io(&target, "cannot rename into place", e))
}

/// Removes stale partial files (a sweep killed while writing them).
pub fn clear_partials(dir: &Path) -> io::Result<()> {
    for table in TABLES {
        match fs::remove_file(dir.join(table.partial())) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::plan::load_text;
    use arrow_array::{Array, Float64Array, Int64Array, StringArray, UInt64Array};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    /// 2 points x 2 seeds; runs written by hand into `dir/runs/`.
    fn plan() -> Plan {
        let text = "[sweep]\nseeds = [7, 3]\n[sweep.vary]\n\"chain.tempo\" = [1, 2]\n[base]\nrun.horizon = 20\n";
        load_text("s.toml", "s", text, Path::new("."), &[]).expect("valid")
    }

    fn write_run(dir: &Path, plan: &Plan, index: usize, csv: &str) {
        let run = dir.join(RUNS).join(plan.run_id(index));
        fs::create_dir_all(&run).expect("run dir");
        fs::write(run.join(TIMESERIES.run_file), csv).expect("csv");
    }

    fn read_back(path: &Path) -> RecordBatch {
        let file = fs::File::open(path).expect("parquet");
        let reader = ParquetRecordBatchReaderBuilder::try_new(file).expect("reader").build().expect("build");
        let mut batches: Vec<RecordBatch> = reader.map(|b| b.expect("batch")).collect();
        assert_eq!(batches.len(), 1, "a small file is one row group, read as one batch");
        batches.remove(0)
    }

    fn column<'b, T: 'static>(batch: &'b RecordBatch, name: &str) -> &'b T {
        batch
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no column {name}"))
            .as_any()
            .downcast_ref::<T>()
            .unwrap_or_else(|| panic!("{name} has another type"))
    }

    #[test]
    fn runs_are_gathered_in_run_order_with_their_labels_types_and_nulls() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let plan = plan();
        // Run 1 (p0000-s3) failed: not gathered. Run 3 has a column the others lack.
        write_run(tmp.path(), &plan, 0, "block,day,price,count\n0,0,250.5,1\n10,0.5,,-0\n");
        write_run(tmp.path(), &plan, 2, "block,day,price,count\n0,0,250,2\n");
        write_run(tmp.path(), &plan, 3, "block,day,price,count,extra\n0,0,1e2,3,9\n10,0.5,99.25,4,\n");
        write_table(tmp.path(), &plan, &[0, 2, 3], TIMESERIES).expect("written");
        assert!(!tmp.path().join(TIMESERIES.partial()).exists());
        let batch = read_back(&tmp.path().join(TIMESERIES_PARQUET));
        let names: Vec<&str> = batch.schema_ref().fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["run_id", "setting", "point", "seed", "block", "day", "price", "count", "extra"]);
        assert_eq!(batch.num_rows(), 5);
        let ids = column::<StringArray>(&batch, "run_id");
        let rows: Vec<&str> = (0..5).map(|i| ids.value(i)).collect();
        assert_eq!(rows, ["p0000-s7", "p0000-s7", "p0001-s7", "p0001-s3", "p0001-s3"]);
        let settings = column::<StringArray>(&batch, "setting");
        assert_eq!((settings.value(0), settings.value(2)), ("s01", "s02"));
        let seeds = column::<UInt64Array>(&batch, "seed");
        assert_eq!((0..5).map(|i| seeds.value(i)).collect::<Vec<_>>(), [7, 7, 7, 3, 3]);
        // `block` and `count` hold only integer literals; `day` and `price` do not.
        let count = column::<Int64Array>(&batch, "count");
        assert_eq!((0..5).map(|i| count.value(i)).collect::<Vec<_>>(), [1, 0, 2, 3, 4]);
        assert_eq!(column::<Int64Array>(&batch, "block").value(4), 10);
        let price = column::<Float64Array>(&batch, "price");
        assert_eq!((price.value(0), price.value(3), price.value(4)), (250.5, 100.0, 99.25));
        assert!(price.is_null(1), "an empty cell is null");
        let extra = column::<Int64Array>(&batch, "extra");
        assert_eq!((extra.null_count(), extra.value(3)), (4, 9), "absent in three runs, empty in one");
    }

    #[test]
    fn the_same_runs_give_the_same_bytes_and_a_bad_cell_names_its_place() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let plan = plan();
        write_run(tmp.path(), &plan, 0, "block,price\n0,250.5\n");
        write_run(tmp.path(), &plan, 1, "block,price\n0,251\n");
        write_table(tmp.path(), &plan, &[0, 1], TIMESERIES).expect("written");
        let first = fs::read(tmp.path().join(TIMESERIES_PARQUET)).expect("bytes");
        write_table(tmp.path(), &plan, &[0, 1], TIMESERIES).expect("again");
        assert_eq!(fs::read(tmp.path().join(TIMESERIES_PARQUET)).expect("bytes"), first);
        // A changed value changes the file.
        write_run(tmp.path(), &plan, 1, "block,price\n0,252\n");
        write_table(tmp.path(), &plan, &[0, 1], TIMESERIES).expect("changed");
        assert_ne!(fs::read(tmp.path().join(TIMESERIES_PARQUET)).expect("bytes"), first);

        write_run(tmp.path(), &plan, 1, "block,price\n0,251\n1,cheap\n");
        let err = write_table(tmp.path(), &plan, &[0, 1], TIMESERIES).expect_err("not a number").to_string();
        assert!(err.contains("p0000-s3/timeseries.csv") && err.contains("line 3, column `price`: `cheap`"), "{err}");
        assert!(!tmp.path().join(TIMESERIES.partial()).exists(), "no partial file left");
        assert!(tmp.path().join(TIMESERIES_PARQUET).exists(), "the earlier file stays");
    }

    #[test]
    fn setting_labels_pad_to_the_number_of_points() {
        assert_eq!(setting_label(0, 6), "s01");
        assert_eq!(setting_label(9, 18), "s10");
        assert_eq!(setting_label(0, 100), "s001");
        assert_eq!(setting_label(99, 100), "s100");
        assert_eq!(setting_label(4, 1000), "s0005");
    }

    #[test]
    fn a_column_is_integer_only_while_every_cell_is_an_integer_literal() {
        let settle = |cells: &[&str]| cells.iter().fold(Kind::Empty, |k, c| k.widen(c));
        assert_eq!(settle(&["", ""]), Kind::Empty);
        assert_eq!(settle(&["0", "-0", "", "42"]), Kind::Int);
        assert_eq!(settle(&["0", "4.5", "3"]), Kind::Float);
        assert_eq!(settle(&["1e3"]), Kind::Float);
        assert_eq!(settle(&["99999999999999999999"]), Kind::Float, "past i64");
        assert!(!is_integer("+3") && !is_integer("-") && !is_integer(""));
    }
}
