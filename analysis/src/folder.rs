//! Reading one run folder (format `taosim-run/1`): the timeseries, the event log, the summary
//! and long-format per-entity tables, generically over their columns.
//!
//! - `timeseries.csv`: first column `block`; a `day` column is skipped (days are recomputed as
//!   `block / 7200`); every other column is read as numbers, empty or non-numeric cells as
//!   missing. Columns with no number at all are dropped.
//! - `events.csv`: `block, kind, subject, value, detail` (only `block` and `kind` required).
//! - `summary.json`: every scalar flattened to a dotted name (`a.b.c`); numbers, numeric
//!   strings (exact TAO decimals) and booleans (0/1) are kept; lists and text are not.
//! - any other `*.csv` whose header starts `block, <entity>` with `<entity>` not `day` (e.g.
//!   `subnets.csv`: `block, netuid, ...`) is a long-format table: one row per (block, entity),
//!   rows grouped by block in ascending order. It is streamed, never held whole.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// The timeseries file of a run folder.
pub const TIMESERIES: &str = "timeseries.csv";
/// The event log of a run folder.
pub const EVENTS: &str = "events.csv";
/// The summary of a run folder.
pub const SUMMARY: &str = "summary.json";

/// A wide numeric table keyed by block: one value per (column, sample), `NaN` where missing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// Column names (without `block` and `day`).
    pub columns: Vec<String>,
    /// Sample blocks, ascending.
    pub blocks: Vec<u64>,
    /// Values by column, then sample.
    pub values: Vec<Vec<f64>>,
}

impl Table {
    /// The values of the named column.
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.columns.iter().position(|c| c == name).map(|i| self.values[i].as_slice())
    }

    /// Appends a column (same length as `blocks`).
    pub fn push_column(&mut self, name: String, values: Vec<f64>) {
        self.columns.push(name);
        self.values.push(values);
    }
}

fn open_csv(path: &Path) -> Result<csv::Reader<BufReader<File>>> {
    let file = File::open(path).map_err(|e| Error::io(path, "cannot read", e))?;
    Ok(csv::ReaderBuilder::new().flexible(true).from_reader(BufReader::with_capacity(1 << 16, file)))
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    Error::format(path, format!("malformed CSV: {e}"))
}

fn header(path: &Path, reader: &mut csv::Reader<BufReader<File>>) -> Result<Vec<String>> {
    Ok(reader.headers().map_err(|e| csv_error(path, e))?.iter().map(|h| h.trim().to_string()).collect())
}

/// A cell as a number; `NaN` when empty or not a number.
pub fn parse_number(field: &[u8]) -> f64 {
    std::str::from_utf8(field).ok().and_then(|s| s.trim().parse::<f64>().ok()).unwrap_or(f64::NAN)
}

fn parse_block(path: &Path, line: u64, field: Option<&[u8]>) -> Result<u64> {
    let text = field.and_then(|f| std::str::from_utf8(f).ok()).unwrap_or("").trim();
    text.parse::<u64>()
        .map_err(|_| Error::format(path, format!("line {line}: block `{text}` is not a non-negative integer")))
}

/// Reads a wide table whose first column is `block` (a run's `timeseries.csv`).
pub fn read_table(path: &Path) -> Result<Table> {
    let mut reader = open_csv(path)?;
    let names = header(path, &mut reader)?;
    if names.first().map(String::as_str) != Some("block") {
        return Err(Error::format(path, "the first column must be `block`"));
    }
    let keep: Vec<usize> = (1..names.len()).filter(|&i| names[i] != "day").collect();
    let mut table = Table {
        columns: keep.iter().map(|&i| names[i].clone()).collect(),
        blocks: Vec::new(),
        values: vec![Vec::new(); keep.len()],
    };
    let mut record = csv::ByteRecord::new();
    let mut line = 1u64;
    while reader.read_byte_record(&mut record).map_err(|e| csv_error(path, e))? {
        line += 1;
        let block = parse_block(path, line, record.get(0))?;
        if table.blocks.last().is_some_and(|&last| block < last) {
            return Err(Error::format(path, format!("line {line}: block {block} comes after a later block")));
        }
        table.blocks.push(block);
        for (slot, &i) in table.values.iter_mut().zip(&keep) {
            slot.push(record.get(i).map_or(f64::NAN, parse_number));
        }
    }
    let mut i = 0;
    while i < table.columns.len() {
        if table.values[i].iter().all(|x| !x.is_finite()) {
            table.columns.remove(i);
            table.values.remove(i);
        } else {
            i += 1;
        }
    }
    Ok(table)
}

/// One row of `events.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The block it happened at.
    pub block: u64,
    /// What happened (`halving`, `exit`, ...).
    pub kind: String,
    /// Who or what it concerns.
    pub subject: String,
    /// Its value, `NaN` when empty or not a number.
    pub value: f64,
}

/// Reads an event log (`block, kind, subject, value, detail`).
pub fn read_events(path: &Path) -> Result<Vec<Event>> {
    let mut reader = open_csv(path)?;
    let names = header(path, &mut reader)?;
    let find = |name: &str| names.iter().position(|n| n == name);
    let (Some(block_at), Some(kind_at)) = (find("block"), find("kind")) else {
        return Err(Error::format(path, "an event log needs the columns `block` and `kind`"));
    };
    let (subject_at, value_at) = (find("subject"), find("value"));
    let mut events = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut line = 1u64;
    while reader.read_byte_record(&mut record).map_err(|e| csv_error(path, e))? {
        line += 1;
        let text = |i: Option<usize>| {
            i.and_then(|i| record.get(i)).map(|f| String::from_utf8_lossy(f).trim().to_string()).unwrap_or_default()
        };
        events.push(Event {
            block: parse_block(path, line, record.get(block_at))?,
            kind: text(Some(kind_at)),
            subject: text(subject_at),
            value: value_at.and_then(|i| record.get(i)).map_or(f64::NAN, parse_number),
        });
    }
    events.sort_by_key(|e| e.block);
    Ok(events)
}

/// Flattens the scalars of a JSON value into `(dotted name, number)` pairs, in the value's
/// key order. Numbers, numeric strings and booleans (0/1) are kept; lists, text and null are
/// not.
pub fn flatten_json(value: &serde_json::Value, prefix: &str, out: &mut Vec<(String, f64)>) {
    let name = |key: &str| if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") };
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                flatten_json(v, &name(key), out);
            }
        }
        serde_json::Value::Number(n) => {
            if let Some(x) = n.as_f64().filter(|x| x.is_finite()) {
                out.push((prefix.to_string(), x));
            }
        }
        serde_json::Value::String(s) => {
            if let Ok(x) = s.trim().parse::<f64>()
                && x.is_finite()
            {
                out.push((prefix.to_string(), x));
            }
        }
        serde_json::Value::Bool(b) => out.push((prefix.to_string(), f64::from(u8::from(*b)))),
        serde_json::Value::Array(_) | serde_json::Value::Null => {}
    }
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "cannot read", e))?;
    serde_json::from_str(&text).map_err(|e| Error::format(path, format!("malformed JSON: {e}")))
}

/// The headline scalars of a run's `summary.json` (the seed excluded: it is not a result).
pub fn read_summary(path: &Path) -> Result<Vec<(String, f64)>> {
    let mut out = Vec::new();
    flatten_json(&read_json(path)?, "", &mut out);
    out.retain(|(name, _)| name != "seed");
    Ok(out)
}

/// A long-format per-entity table in a run folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LongFile {
    /// The file's path.
    pub path: PathBuf,
    /// Its stem (`subnets`), used as the prefix of its series.
    pub name: String,
    /// The entity column (`netuid`).
    pub entity_column: String,
}

/// The long-format tables of a run folder, by file name.
pub fn long_files(run_dir: &Path) -> Result<Vec<LongFile>> {
    let entries = std::fs::read_dir(run_dir).map_err(|e| Error::io(run_dir, "cannot list", e))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .filter(|p| p.file_name().is_some_and(|n| n != TIMESERIES && n != EVENTS))
        .collect();
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        let mut reader = open_csv(&path)?;
        let names = header(&path, &mut reader)?;
        if names.len() >= 3 && names[0] == "block" && names[1] != "day" {
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            files.push(LongFile { path, name, entity_column: names[1].clone() });
        }
    }
    Ok(files)
}

/// The rows of one block of a long table: entity indices and their values, row-major.
#[derive(Debug)]
pub struct LongBlock<'a> {
    /// The block.
    pub block: u64,
    /// Index (into [`LongShape::entities`]) of each row's entity.
    pub entities: &'a [usize],
    /// Values, `columns.len()` per row.
    pub values: &'a [f64],
}

/// The columns and entities of a long table, as far as it has been read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LongShape {
    /// Numeric columns (without `block`, the entity column and `day`).
    pub columns: Vec<String>,
    /// Entities in order of first appearance.
    pub entities: Vec<String>,
}

/// Streams a long table block by block, calling `on_block` once per block in file order.
pub fn stream_long(file: &LongFile, mut on_block: impl FnMut(&LongShape, LongBlock<'_>)) -> Result<LongShape> {
    let path = &file.path;
    let mut reader = open_csv(path)?;
    let names = header(path, &mut reader)?;
    let keep: Vec<usize> = (2..names.len()).filter(|&i| names[i] != "day").collect();
    let mut shape = LongShape { columns: keep.iter().map(|&i| names[i].clone()).collect(), entities: Vec::new() };
    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    let (mut rows, mut values): (Vec<usize>, Vec<f64>) = (Vec::new(), Vec::new());
    let mut current: Option<u64> = None;
    let mut record = csv::ByteRecord::new();
    let mut line = 1u64;
    while reader.read_byte_record(&mut record).map_err(|e| csv_error(path, e))? {
        line += 1;
        let block = parse_block(path, line, record.get(0))?;
        if let Some(c) = current
            && block != c
        {
            if block < c {
                return Err(Error::format(path, format!("line {line}: rows must be grouped by ascending block")));
            }
            on_block(&shape, LongBlock { block: c, entities: &rows, values: &values });
            rows.clear();
            values.clear();
        }
        current = Some(block);
        let key = record.get(1).unwrap_or_default();
        let entity = match index.get(key) {
            Some(&i) => i,
            None => {
                let i = shape.entities.len();
                shape.entities.push(String::from_utf8_lossy(key).trim().to_string());
                index.insert(key.to_vec(), i);
                i
            }
        };
        rows.push(entity);
        values.extend(keep.iter().map(|&i| record.get(i).map_or(f64::NAN, parse_number)));
    }
    if let Some(c) = current {
        on_block(&shape, LongBlock { block: c, entities: &rows, values: &values });
    }
    Ok(shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_skip_day_keep_numbers_and_drop_empty_columns() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join(TIMESERIES);
        std::fs::write(&path, "block,day,a_tao,note,b\n0,0,1.5,x,\n100,0.01,2,y,3\n").expect("write");
        let t = read_table(&path).expect("table");
        assert_eq!(t.columns, vec!["a_tao", "b"]);
        assert_eq!(t.blocks, vec![0, 100]);
        assert_eq!(t.column("a_tao"), Some(&[1.5, 2.0][..]));
        assert!(t.column("b").expect("b")[0].is_nan());
        std::fs::write(&path, "step,x\n0,1\n").expect("write");
        assert!(read_table(&path).expect_err("no block").to_string().contains("the first column must be `block`"));
        std::fs::write(&path, "block,x\n10,1\n5,2\n").expect("write");
        assert!(read_table(&path).expect_err("order").to_string().contains("line 3"));
    }

    #[test]
    fn summaries_flatten_to_dotted_numbers() {
        let v = serde_json::json!({"seed": 4, "final_issuance_tao": "15750025.5", "name": "x",
            "market": {"depth_usd": 1e6, "ok": true}, "halvings": [{"block": 1}]});
        let mut out = Vec::new();
        flatten_json(&v, "", &mut out);
        assert_eq!(
            out,
            vec![
                ("final_issuance_tao".to_string(), 15_750_025.5),
                ("market.depth_usd".to_string(), 1e6),
                ("market.ok".to_string(), 1.0),
                ("seed".to_string(), 4.0),
            ]
        );
    }

    #[test]
    fn long_tables_stream_block_by_block() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("subnets.csv"), "block,netuid,day,emission_tao\n0,1,0,5\n0,2,0,7\n100,2,0,8\n")
            .expect("write");
        std::fs::write(dir.path().join(TIMESERIES), "block,day,x\n0,0,1\n").expect("write");
        let files = long_files(dir.path()).expect("files");
        assert_eq!(files.len(), 1);
        assert_eq!((files[0].name.as_str(), files[0].entity_column.as_str()), ("subnets", "netuid"));
        let mut seen = Vec::new();
        let shape = stream_long(&files[0], |_, b| seen.push((b.block, b.entities.to_vec(), b.values.to_vec())))
            .expect("stream");
        assert_eq!(shape.columns, vec!["emission_tao"]);
        assert_eq!(shape.entities, vec!["1", "2"]);
        assert_eq!(seen, vec![(0, vec![0, 1], vec![5.0, 7.0]), (100, vec![1], vec![8.0])]);
    }
}
