//! The report's CSV tables, written beside `report.html` for pandas and polars.
//!
//! | file | contents |
//! |---|---|
//! | `settings.csv` | `setting, <each varied parameter>, runs`: one row per setting, the parameters' full values |
//! | `bands.csv` | `setting, series, block, day, n, p5, p25, p50, p75, p95`: whole-network series and the aggregates of the entities outside the top k (`subnets.emission_tao.rest_mean`) |
//! | `entity_bands.csv` | `setting, series, entity, block, day, n, p5, ..., p95`: the top k entities of each long table, `entity` their id (an integer for subnets) |
//! | `metrics.csv` | `setting, <each varied parameter>, metric, unit, source, n, mean, sd, min, p5, ..., p95, max, mean_ci_low, mean_ci_high` |
//! | `runs.csv` | `run_id, setting, seed, <each varied parameter>, <every metric>`: one row per run |
//!
//! Settings are named by a short label (`s01`) in every row: a parameter's value can be a
//! long TOML list (a sweep over `events`), and repeating it in each of a million band rows made
//! `bands.csv` hundreds of megabytes. Bands and entity bands are split so that `entity` is a
//! column of one type (pandas reads a column with empty cells as floats). Every file is
//! streamed to a temporary name in the output folder and all are renamed into place once all
//! are written ([`Staging`]): a failure leaves the previous files, never half of one or a mix,
//! and memory does not grow with the rows.

use crate::analyse::{Analysis, Band, MetricSource, REST_MEAN, REST_SUM};
use crate::error::{Error, Result};
use crate::format::{csv_number, csv_number_digits};
use crate::risk::BLOCKS_PER_DAY;
use crate::units::describe;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Significant digits of band percentiles in `bands.csv` and `entity_bands.csv`.
pub const BAND_SIGNIFICANT_DIGITS: usize = 7;

/// The files [`write_tables`] writes, in order.
pub const TABLE_FILES: [&str; 5] = ["settings.csv", "bands.csv", "entity_bands.csv", "metrics.csv", "runs.csv"];

/// A CSV writer over a buffered file.
pub type CsvOut = csv::Writer<BufWriter<File>>;

fn temporary_path(path: &Path) -> Result<PathBuf> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, "cannot create the output folder", e))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    Ok(dir.join(format!(".{name}.tmp-{}", std::process::id())))
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_stream_atomic(path, |w| w.write_all(bytes).map_err(|e| Error::io(path, "cannot write", e)))
}

/// Streams a file to `path` atomically: `write` fills a temporary file in the same folder,
/// which is renamed into place only when it succeeded (and removed when it did not).
pub fn write_stream_atomic(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> Result<()>) -> Result<()> {
    let mut staging = Staging::default();
    staging.file(path, write)?;
    staging.commit()
}

/// Streams a CSV file to `path` atomically (rows end in `\n`).
pub fn write_csv_atomic(path: &Path, write: impl FnOnce(&mut CsvOut) -> Result<()>) -> Result<()> {
    let mut staging = Staging::default();
    staging.csv(path, write)?;
    staging.commit()
}

/// Files written under temporary names in their folders and renamed into place together by
/// [`Staging::commit`]: a report whose fourth file fails leaves the previous report whole,
/// not three new files beside old ones. Dropped without a commit, it removes its temporary
/// files.
#[derive(Debug, Default)]
pub struct Staging {
    /// (temporary, final) paths, in the order staged.
    staged: Vec<(PathBuf, PathBuf)>,
}

impl Staging {
    /// Stages a file streamed by `write`.
    pub fn file(&mut self, path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> Result<()>) -> Result<()> {
        let tmp = temporary_path(path)?;
        // Registered first, so that a failure below still removes it.
        self.staged.push((tmp.clone(), path.to_path_buf()));
        let file = File::create(&tmp).map_err(|e| Error::io(&tmp, "cannot write", e))?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        write(&mut out)?;
        out.flush().map_err(|e| Error::io(&tmp, "cannot write", e))
    }

    /// Stages a CSV file streamed by `write` (rows end in `\n`).
    pub fn csv(&mut self, path: &Path, write: impl FnOnce(&mut CsvOut) -> Result<()>) -> Result<()> {
        let tmp = temporary_path(path)?;
        self.staged.push((tmp.clone(), path.to_path_buf()));
        let file = File::create(&tmp).map_err(|e| Error::io(&tmp, "cannot write", e))?;
        let mut out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(BufWriter::with_capacity(1 << 16, file));
        write(&mut out)?;
        out.flush().map_err(|e| Error::io(&tmp, "cannot write", e))
    }

    /// Renames every staged file into place.
    pub fn commit(mut self) -> Result<()> {
        for (tmp, path) in std::mem::take(&mut self.staged) {
            if let Err(e) = std::fs::rename(&tmp, &path) {
                let _ = std::fs::remove_file(&tmp);
                return Err(Error::io(path, "cannot rename into place", e));
            }
        }
        Ok(())
    }

    /// The final paths of the staged files.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.staged.iter().map(|(_, p)| p.clone()).collect()
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        for (tmp, _) in &self.staged {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

fn row<W: Write>(w: &mut csv::Writer<W>, cells: &[String]) -> Result<()> {
    w.write_record(cells).map_err(|e| Error::format("csv", e.to_string()))
}

fn header<W: Write>(w: &mut csv::Writer<W>, lead: &[&str], params: &[String], tail: &[&str]) -> Result<()> {
    let mut cells: Vec<String> = lead.iter().map(|s| s.to_string()).collect();
    cells.extend(params.iter().cloned());
    cells.extend(tail.iter().map(|s| s.to_string()));
    row(w, &cells)
}

/// The day of a block (12 s blocks, 7,200 per day).
pub fn day_of(block: u64) -> f64 {
    block as f64 / BLOCKS_PER_DAY as f64
}

/// `settings.csv`: each setting's label, its parameters' full values and its runs.
pub fn write_settings<W: Write>(a: &Analysis, w: &mut csv::Writer<W>) -> Result<()> {
    header(w, &["setting"], &a.study.params, &["runs"])?;
    for (g, group) in a.study.groups.iter().enumerate() {
        let mut cells = vec![a.study.setting_label(g)];
        cells.extend(group.values.iter().cloned());
        cells.push(a.study.runs_of(g).len().to_string());
        row(w, &cells)?;
    }
    Ok(())
}

const BAND_COLUMNS: [&str; 6] = ["n", "p5", "p25", "p50", "p75", "p95"];

fn band_rows<W: Write>(w: &mut csv::Writer<W>, lead: &[String], band: &Band) -> Result<()> {
    let mut cells: Vec<String> = Vec::with_capacity(lead.len() + 8);
    for (s, block) in band.blocks.iter().enumerate() {
        cells.clear();
        cells.extend(lead.iter().cloned());
        cells.push(block.to_string());
        cells.push(csv_number(day_of(*block)));
        cells.push(band.n[s].to_string());
        cells.extend(band.levels.iter().map(|l| csv_number_digits(l[s], BAND_SIGNIFICANT_DIGITS)));
        row(w, &cells)?;
    }
    Ok(())
}

/// Whether a band is of one entity (not a whole-network series, not the rest's aggregate).
fn is_entity(band: &Band) -> bool {
    !band.key.entity.is_empty() && band.key.entity != REST_MEAN && band.key.entity != REST_SUM
}

/// `bands.csv`: whole-network series, and the rest's aggregates as series of their own
/// (`subnets.emission_tao.rest_mean`).
pub fn write_bands<W: Write>(a: &Analysis, w: &mut csv::Writer<W>) -> Result<()> {
    let mut columns = vec!["series", "block", "day"];
    columns.extend(BAND_COLUMNS);
    header(w, &["setting"], &[], &columns)?;
    for (g, bands) in a.bands.iter().enumerate() {
        let setting = a.study.setting_label(g);
        for band in bands.iter().filter(|b| !is_entity(b)) {
            let series = if band.key.entity.is_empty() {
                band.key.series.clone()
            } else {
                format!("{}.{}", band.key.series, band.key.entity)
            };
            band_rows(w, &[setting.clone(), series], band)?;
        }
    }
    Ok(())
}

/// `entity_bands.csv`: the top entities' bands, one entity id per row.
pub fn write_entity_bands<W: Write>(a: &Analysis, w: &mut csv::Writer<W>) -> Result<()> {
    let mut columns = vec!["series", "entity", "block", "day"];
    columns.extend(BAND_COLUMNS);
    header(w, &["setting"], &[], &columns)?;
    for (g, bands) in a.bands.iter().enumerate() {
        let setting = a.study.setting_label(g);
        for band in bands.iter().filter(|b| is_entity(b)) {
            band_rows(w, &[setting.clone(), band.key.series.clone(), band.key.entity.clone()], band)?;
        }
    }
    Ok(())
}

fn source_word(s: MetricSource) -> &'static str {
    match s {
        MetricSource::Summary => "summary",
        MetricSource::Computed => "computed",
    }
}

/// `metrics.csv`: each metric's spread and confidence interval in each setting.
pub fn write_metrics<W: Write>(a: &Analysis, w: &mut csv::Writer<W>) -> Result<()> {
    let tail = [
        "metric",
        "unit",
        "source",
        "n",
        "mean",
        "sd",
        "min",
        "p5",
        "p25",
        "p50",
        "p75",
        "p95",
        "max",
        "mean_ci_low",
        "mean_ci_high",
    ];
    header(w, &["setting"], &a.study.params, &tail)?;
    for g in 0..a.study.groups.len() {
        for (m, name) in a.metric_names.iter().enumerate() {
            let Some(stat) = a.stats[g][m] else { continue };
            let mut cells = vec![a.study.setting_label(g)];
            cells.extend(a.study.groups[g].values.iter().cloned());
            cells.push(name.clone());
            cells.push(describe(name).unit);
            cells.push(source_word(a.metric_sources[m]).into());
            cells.push(stat.spread.n.to_string());
            let s = stat.spread;
            cells.extend([s.mean, s.sd, s.min].map(csv_number));
            cells.extend(s.percentiles.map(csv_number));
            cells.extend([s.max, stat.ci.low, stat.ci.high].map(csv_number));
            row(w, &cells)?;
        }
    }
    Ok(())
}

/// `runs.csv`: one row per successful run with every metric.
pub fn write_runs<W: Write>(a: &Analysis, w: &mut csv::Writer<W>) -> Result<()> {
    let mut cells: Vec<String> = vec!["run_id".into(), "setting".into(), "seed".into()];
    cells.extend(a.study.params.iter().cloned());
    cells.extend(a.metric_names.iter().cloned());
    row(w, &cells)?;
    for (run, values) in a.study.runs.iter().zip(&a.values) {
        let group = &a.study.groups[run.group];
        let mut cells =
            vec![run.id.clone(), a.study.setting_label(run.group), run.seed.map(|s| s.to_string()).unwrap_or_default()];
        cells.extend(group.values.iter().cloned());
        cells.extend(values.iter().map(|v| csv_number(*v)));
        row(w, &cells)?;
    }
    Ok(())
}

/// A table as text (for tests and small studies).
pub fn table_text(write: impl FnOnce(&mut csv::Writer<Vec<u8>>) -> Result<()>) -> Result<String> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    write(&mut w)?;
    let bytes = w.into_inner().map_err(|e| Error::format("csv", e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| Error::format("csv", e.to_string()))
}

/// Stages every table of [`TABLE_FILES`] into `out_dir`, streamed (renamed into place by the
/// caller's [`Staging::commit`]).
pub fn stage_tables(a: &Analysis, out_dir: &Path, staging: &mut Staging) -> Result<()> {
    for name in TABLE_FILES {
        staging.csv(&out_dir.join(name), |w| match name {
            "settings.csv" => write_settings(a, w),
            "bands.csv" => write_bands(a, w),
            "entity_bands.csv" => write_entity_bands(a, w),
            "metrics.csv" => write_metrics(a, w),
            _ => write_runs(a, w),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_leave_only_the_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("x.csv");
        write_atomic(&path, b"a\n").expect("write");
        write_atomic(&path, b"b\n").expect("overwrite");
        assert_eq!(std::fs::read(&path).expect("read"), b"b\n");
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1);
    }

    #[test]
    fn a_failure_in_a_later_file_renames_none() {
        let dir = tempfile::tempdir().expect("tmp");
        let (first, second) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
        write_atomic(&first, b"old a\n").expect("write");
        let mut staging = Staging::default();
        staging.csv(&first, |w| row(w, &["new a".to_string()])).expect("staged");
        let failed = staging.csv(&second, |_| Err(Error::format("b.csv", "disk full")));
        assert!(failed.is_err());
        drop(staging);
        assert_eq!(std::fs::read(&first).expect("read"), b"old a\n", "the first file is not replaced alone");
        assert!(!second.exists());
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1, "no temporary left");
    }

    #[test]
    fn a_failed_stream_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("x.csv");
        write_atomic(&path, b"old\n").expect("write");
        let failed = write_csv_atomic(&path, |w| {
            row(w, &["half".to_string()])?;
            Err(Error::format("x.csv", "stopped"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read(&path).expect("read"), b"old\n");
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1);
    }
}
