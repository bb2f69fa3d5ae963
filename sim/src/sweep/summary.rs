//! `summary.csv`: one row per run, written in run order as results arrive in order.
//!
//! Columns: `run_id`, `point`, `seed`, each varied parameter (by path, sorted), `status`
//! (`ok` or `failed`), `error`, then the run's headline metrics: the scalar fields of its
//! `summary.json`, nested objects flattened with dotted names, each list as its length
//! (`halvings.count`), sorted by name. A field that already has a column (`seed`) is not
//! repeated. The metric columns are those of the first successful run in run order (every
//! run of a sweep writes the same `summary.json` fields); failed runs leave them empty.
//!
//! Every cell is taken from the run folder's files (or the recorded error), never from memory
//! that a resumed sweep would not have, so a resumed, sharded or multi-threaded sweep writes
//! the same bytes as a single uninterrupted one.

use super::plan::{Plan, render_value};
use crate::error::Error;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A run's headline metrics by flattened name, as text.
pub type Metrics = BTreeMap<String, String>;

/// Flattens a run's `summary.json` into metrics (see the module docs).
pub fn flatten_metrics(summary: &serde_json::Value) -> Metrics {
    let mut out = Metrics::new();
    flatten_into("", summary, &mut out);
    out
}

fn flatten_into(prefix: &str, value: &serde_json::Value, out: &mut Metrics) {
    use serde_json::Value;
    let name = |key: &str| if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") };
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                flatten_into(&name(key), inner, out);
            }
        }
        Value::Array(items) => {
            out.insert(name("count").trim_start_matches('.').to_string(), items.len().to_string());
        }
        Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        Value::Number(n) => {
            out.insert(prefix.to_string(), n.to_string());
        }
        Value::Bool(b) => {
            out.insert(prefix.to_string(), b.to_string());
        }
        Value::Null => {
            out.insert(prefix.to_string(), String::new());
        }
    }
}

/// Reads and flattens a run's `summary.json`.
pub fn read_metrics(path: &Path) -> Result<Metrics, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "cannot read", e))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::Manifest { path: path.to_path_buf(), message: format!("malformed summary: {e}") })?;
    Ok(flatten_metrics(&value))
}

/// How a run ended, as its summary row records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowStatus {
    /// It completed; its metrics.
    Ok(Metrics),
    /// It failed; why (one line).
    Failed(String),
}

/// Writes `summary.csv` rows in the order given (the caller hands them over in run order).
pub struct SummaryWriter<'p, W: Write> {
    plan: &'p Plan,
    path: PathBuf,
    csv: csv::Writer<W>,
    fixed: Vec<String>,
    metric_columns: Option<Vec<String>>,
    /// Failed rows before the first successful run, held until the header is known.
    held: Vec<(usize, RowStatus)>,
}

impl<'p, W: Write> SummaryWriter<'p, W> {
    /// A writer for `plan`'s summary into `out` (`path` names it in errors).
    pub fn new(plan: &'p Plan, out: W, path: &Path) -> Self {
        let mut fixed: Vec<String> = ["run_id", "point", "seed"].iter().map(|s| s.to_string()).collect();
        fixed.extend(plan.parameters.iter().map(|p| p.path.clone()));
        fixed.extend(["status", "error"].iter().map(|s| s.to_string()));
        Self {
            plan,
            path: path.to_path_buf(),
            csv: csv::Writer::from_writer(out),
            fixed,
            metric_columns: None,
            held: Vec::new(),
        }
    }

    /// Appends run `index`'s row.
    pub fn push(&mut self, index: usize, status: RowStatus) -> Result<(), Error> {
        if self.metric_columns.is_none() {
            match &status {
                RowStatus::Ok(metrics) => {
                    let columns = metrics.keys().filter(|k| !self.fixed.contains(k)).cloned().collect();
                    self.start(columns)?;
                }
                RowStatus::Failed(_) => {
                    self.held.push((index, status));
                    return Ok(());
                }
            }
        }
        self.row(index, &status)
    }

    fn start(&mut self, columns: Vec<String>) -> Result<(), Error> {
        let header: Vec<&str> = self.fixed.iter().chain(&columns).map(String::as_str).collect();
        let result = self.csv.write_record(&header);
        self.check(result)?;
        self.metric_columns = Some(columns);
        for (index, status) in std::mem::take(&mut self.held) {
            self.row(index, &status)?;
        }
        Ok(())
    }

    fn row(&mut self, index: usize, status: &RowStatus) -> Result<(), Error> {
        let plan = self.plan;
        let mut cells: Vec<String> =
            vec![plan.run_id(index), plan.point_of(index).to_string(), plan.seed_of(index).to_string()];
        cells.extend(plan.overrides(plan.point_of(index)).iter().map(|(_, v)| render_value(v)));
        let empty = Metrics::new();
        let (status_text, error, metrics) = match status {
            RowStatus::Ok(m) => ("ok", String::new(), m),
            RowStatus::Failed(e) => ("failed", e.replace(['\n', '\r'], " "), &empty),
        };
        cells.push(status_text.into());
        cells.push(error);
        for column in self.metric_columns.iter().flatten() {
            cells.push(metrics.get(column).cloned().unwrap_or_default());
        }
        let result = self.csv.write_record(&cells);
        self.check(result)
    }

    fn check(&self, result: csv::Result<()>) -> Result<(), Error> {
        result.map_err(|e| Error::Write { path: self.path.clone(), message: e.to_string() })
    }

    /// Writes any held rows (with no metric columns if no run succeeded) and returns the
    /// flushed output.
    pub fn finish(mut self) -> Result<W, Error> {
        if self.metric_columns.is_none() {
            self.start(Vec::new())?;
        }
        let path = self.path.clone();
        self.csv.into_inner().map_err(|e| Error::Write { path, message: e.error().to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::plan::load_text;

    #[test]
    fn metrics_flatten_objects_and_count_lists() {
        let json = serde_json::json!({
            "seed": 4, "name": "x", "ok": true, "missing": null,
            "nested": { "a": 1.5, "deeper": { "b": "2" } },
            "halvings": [{ "block": 1 }, { "block": 2 }],
        });
        let m = flatten_metrics(&json);
        let pairs: Vec<(&str, &str)> = m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("halvings.count", "2"),
                ("missing", ""),
                ("name", "x"),
                ("nested.a", "1.5"),
                ("nested.deeper.b", "2"),
                ("ok", "true"),
                ("seed", "4"),
            ]
        );
    }

    fn plan() -> Plan {
        load_text(
            "s.toml",
            "s",
            "[sweep]\nseeds = [1, 2]\n[sweep.vary]\n\"chain.emission.schedule\" = [\"halving\", \"smooth\"]\n",
            Path::new("."),
            &[],
        )
        .expect("valid")
    }

    fn metrics(value: &str) -> Metrics {
        [("seed".to_string(), "9".to_string()), ("minted_tao".to_string(), value.to_string())].into_iter().collect()
    }

    #[test]
    fn rows_before_the_first_success_wait_for_the_header() {
        let p = plan();
        let mut w = SummaryWriter::new(&p, Vec::new(), Path::new("summary.csv"));
        w.push(0, RowStatus::Failed("bad\nthing".into())).expect("push");
        w.push(1, RowStatus::Ok(metrics("1.5"))).expect("push");
        w.push(2, RowStatus::Ok(metrics("2"))).expect("push");
        let text = String::from_utf8(w.finish().expect("finish")).expect("utf8");
        assert_eq!(
            text,
            "run_id,point,seed,chain.emission.schedule,status,error,minted_tao\n\
             p0000-s1,0,1,halving,failed,bad thing,\n\
             p0000-s2,0,2,halving,ok,,1.5\n\
             p0001-s1,1,1,smooth,ok,,2\n"
        );
    }

    #[test]
    fn a_sweep_where_every_run_failed_still_has_a_header() {
        let p = plan();
        let mut w = SummaryWriter::new(&p, Vec::new(), Path::new("summary.csv"));
        w.push(3, RowStatus::Failed("x, \"quoted\"".into())).expect("push");
        let text = String::from_utf8(w.finish().expect("finish")).expect("utf8");
        assert_eq!(
            text,
            "run_id,point,seed,chain.emission.schedule,status,error\np0001-s2,1,2,smooth,failed,\"x, \"\"quoted\"\"\"\n"
        );
    }
}
