//! From a study (runs in groups) to the numbers a report shows: every run's metrics, their
//! spread across seeds within each group, and percentile bands of every series over time.
//!
//! Work is parallel over runs with results collected in run order (so the output never
//! depends on thread count):
//! 1. a pilot: the long-format tables (`subnets.csv`) of each group's first [`PILOT_RUNS`]
//!    runs rank its entities by their mean of the ranking column;
//! 2. one pass over every run: its timeseries and events give its metrics (at full
//!    resolution) and its series thinned to a common block grid; its long tables give
//!    concentration (Gini, Nakamoto coefficient) across entities at every block, per-entity
//!    price risk, and the top `k` entities' series with the rest aggregated (`rest_mean`:
//!    their mean, always; `rest_sum`: their sum, for amounts and counts).
//!
//! **Bands** are per block: at each block of the grid, the type-7 percentiles P5..P95 over
//! the group's runs that have a value there (`n` says how many). Runs are aligned by block.
//! The grid keeps every sample whose block is a multiple of a stride (the first run's
//! sampling interval times `ceil(samples / max_samples)`) and each run's last sample.

use crate::error::{Error, Result};
use crate::folder::{Event, LongFile, Table, long_files, read_events, read_table};
use crate::metrics::{Window, run_metrics};
use crate::stats::{BAND_LEVELS, Interval, Spread, bootstrap_mean_ci, bootstrap_stream, quantile_sorted, spread};
use crate::study::{RunEntry, Study};
use crate::units::has_token;
use rayon::prelude::*;
use sim::label;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

mod long;
pub use long::PILOT_RUNS;
use long::{long_pass, rank_entities};

/// How a study is analysed.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Entities drawn one by one in per-entity charts; the rest are aggregated.
    pub top_k: usize,
    /// Most samples per series kept for bands (the grid is thinned beyond it).
    pub max_samples: usize,
    /// Bootstrap resamples per interval.
    pub resamples: usize,
    /// Seed of the bootstrap streams.
    pub bootstrap_seed: u64,
    /// Confidence level of the intervals.
    pub confidence: f64,
    /// Column of long tables to rank entities by (default: the first with `emission`, else
    /// `stake`, else the first column).
    pub rank_by: Option<String>,
    /// Share of the total that the Nakamoto coefficient's entities must exceed.
    pub nakamoto_threshold: f64,
    /// Whether to compute bands (a comparison of metrics alone does not need them).
    pub bands: bool,
    /// What makes a run implausible ([`crate::flags`]).
    pub flags: crate::flags::FlagOptions,
    /// Most runs whose series are held at once ([`group_batches`]); results do not depend on it.
    pub batch_runs: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            top_k: 8,
            max_samples: 1_000,
            resamples: crate::stats::BOOTSTRAP_RESAMPLES,
            bootstrap_seed: crate::stats::BOOTSTRAP_SEED,
            confidence: 0.95,
            rank_by: None,
            nakamoto_threshold: crate::concentration::MAJORITY,
            bands: true,
            flags: crate::flags::FlagOptions::default(),
            batch_runs: BATCH_RUNS,
        }
    }
}

/// A series: a column (`total_issuance_tao`, `subnets.emission_tao`, `subnets.stake_tao.gini`)
/// and, for per-entity series, the entity (`12`, or `rest` for the aggregate of the others).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesKey {
    /// The column.
    pub series: String,
    /// The entity, empty for whole-network series.
    pub entity: String,
}

/// The entity label of the mean of the entities outside the top `k` (comparable with one
/// entity; drawn in charts).
pub const REST_MEAN: &str = "rest_mean";
/// The entity label of the sum of the entities outside the top `k` (amounts and counts only).
pub const REST_SUM: &str = "rest_sum";

/// One run's series on the grid: the key, the blocks (shared by the columns of one file) and
/// the values (`NaN` where a column has no value at a block).
#[derive(Clone, Debug, Default, PartialEq)]
struct Grid {
    series: Vec<(SeriesKey, Arc<Vec<u64>>, Vec<f64>)>,
}

/// Percentile bands of one series in one group.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    /// The series.
    pub key: SeriesKey,
    /// Blocks with at least one value, ascending.
    pub blocks: Vec<u64>,
    /// Runs with a value at each block.
    pub n: Vec<u32>,
    /// P5, P25, P50, P75, P95 at each block.
    pub levels: [Vec<f64>; 5],
}

/// Where a metric comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricSource {
    /// The run's headline scalars (`summary.json` or the sweep's `summary.csv`).
    Summary,
    /// Computed here from the run's series and events.
    Computed,
}

/// A metric across a group's runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricStat {
    /// Mean, SD and percentiles.
    pub spread: Spread,
    /// Bootstrap confidence interval of the mean.
    pub ci: Interval,
}

/// The entities drawn one by one for a long table in a group.
#[derive(Clone, Debug, PartialEq)]
pub struct EntityRanking {
    /// The table's name (`subnets`).
    pub table: String,
    /// Its entity column (`netuid`).
    pub entity_column: String,
    /// The column entities are ranked by.
    pub rank_column: String,
    /// The top entities, largest first, with their mean of the ranking column.
    pub top: Vec<(String, f64)>,
    /// Entities in the table in all (the rest is `total - top.len()`).
    pub total: usize,
}

/// Everything a report or a comparison shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    /// What was analysed.
    pub study: Study,
    /// How.
    pub options: Options,
    /// Metric names: headline scalars first, then computed metrics, each in first-seen order.
    pub metric_names: Vec<String>,
    /// Where each metric comes from.
    pub metric_sources: Vec<MetricSource>,
    /// Each run's value of each metric (`NaN` where the run lacks it), `[run][metric]`.
    pub values: Vec<Vec<f64>>,
    /// Each group's statistics of each metric, `[group][metric]`.
    pub stats: Vec<Vec<Option<MetricStat>>>,
    /// Each group's bands, `[group]`.
    pub bands: Vec<Vec<Band>>,
    /// Each group's per-entity rankings, `[group]`.
    pub rankings: Vec<Vec<EntityRanking>>,
    /// Notes (what was skipped and why) with the number of runs each concerns.
    pub notes: Vec<(String, usize)>,
    /// The grid stride in blocks.
    pub stride_blocks: u64,
}

impl Analysis {
    /// The index of a metric.
    pub fn metric_index(&self, name: &str) -> Option<usize> {
        self.metric_names.iter().position(|m| m == name)
    }

    /// The finite values of metric `m` in group `g`, in run order, with the runs' seeds.
    pub fn group_values(&self, g: usize, m: usize) -> Vec<(Option<u64>, f64)> {
        self.study
            .runs
            .iter()
            .zip(&self.values)
            .filter(|(r, v)| r.group == g && v[m].is_finite())
            .map(|(r, v)| (r.seed, v[m]))
            .collect()
    }
}

/// Pass 1 of one run.
#[derive(Clone, Debug, Default)]
struct RunPass {
    metrics: Vec<(String, f64)>,
    notes: Vec<String>,
    grid: Grid,
    long: Vec<LongSummary>,
    /// Whether the run's event log was read (an event kind it lacks then happened 0 times).
    events_read: bool,
}

/// What the analysis keeps of a run once its batch's bands are drawn.
#[derive(Clone, Debug, Default)]
struct Kept {
    /// Its computed metrics and flags, by [`Interner`] id.
    metrics: Vec<(u32, f64)>,
    notes: Vec<String>,
    events_read: bool,
    /// Why its pass failed, if it did.
    failure: Option<String>,
}

/// Metric names by number: each name is stored once however many runs compute it.
#[derive(Debug, Default)]
struct Interner {
    names: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Interner {
    fn id(&mut self, name: String) -> u32 {
        if let Some(&id) = self.ids.get(&name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.clone());
        self.ids.insert(name, id);
        id
    }

    fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    fn len(&self) -> usize {
        self.names.len()
    }
}

/// What pass 1 learns of a long table in one run.
#[derive(Clone, Debug)]
struct LongSummary {
    file: LongFile,
    rank_column: String,
    /// Each entity's mean of the ranking column over the run.
    measure: Vec<(String, f64)>,
}

fn on_grid(block: u64, stride: u64) -> bool {
    block.is_multiple_of(stride.max(1))
}

/// Indices of the samples on the grid: blocks that are multiples of `stride`, and the last.
fn grid_indices(blocks: &[u64], stride: u64) -> Vec<usize> {
    let last = blocks.len().saturating_sub(1);
    (0..blocks.len()).filter(|&i| on_grid(blocks[i], stride) || i == last).collect()
}

/// Thins `(blocks, values)` to the grid (multiples of `stride`, plus the last sample).
fn thin(blocks: &[u64], values: &[f64], stride: u64) -> (Vec<u64>, Vec<f64>) {
    grid_indices(blocks, stride).into_iter().map(|i| (blocks[i], values[i])).unzip()
}

fn rank_column(columns: &[String], rank_by: Option<&str>) -> Option<String> {
    if let Some(r) = rank_by
        && columns.iter().any(|c| c == r)
    {
        return Some(r.to_string());
    }
    ["emission", "stake"]
        .into_iter()
        .find_map(|t| columns.iter().find(|c| has_token(c, t)))
        .or_else(|| columns.first())
        .cloned()
}

/// A run's measuring window from its manifest: its `run.burn_in` (0 when none, or when the
/// folder has no manifest of the simulator's).
fn run_window(dir: &Path) -> Result<Window> {
    let Ok(manifest) = sim::output::read_manifest(dir) else { return Ok(Window::default()) };
    let Some(burn_in) = manifest.scenario.get("run").and_then(|r| r.get("burn_in")) else {
        return Ok(Window::default());
    };
    let path = dir.join(sim::output::MANIFEST);
    let bad = |e: String| Error::format(&path, format!("scenario.run.burn_in: {e}"));
    let horizon: sim::scenario::Horizon = serde_json::from_value(burn_in.clone()).map_err(|e| bad(e.to_string()))?;
    Ok(Window { burn_in_blocks: horizon.blocks().map_err(bad)? })
}

fn pass_one(entry: &RunEntry, stride: u64, options: &Options, rankings: &[EntityRanking]) -> Result<RunPass> {
    let mut pass = RunPass::default();
    let Some(dir) = &entry.dir else { return Ok(pass) };
    let table_path = dir.join(crate::folder::TIMESERIES);
    let table = if table_path.is_file() { read_table(&table_path)? } else { Table::default() };
    let events_path = dir.join(crate::folder::EVENTS);
    pass.events_read = events_path.is_file();
    let events: Vec<Event> = if pass.events_read { read_events(&events_path)? } else { Vec::new() };
    let window = run_window(dir)?;
    let metrics = run_metrics(&table, &events, window);
    let event = crate::metrics::event_block(&events, window);
    pass.metrics = metrics.values;
    pass.notes = metrics.notes;
    if options.bands {
        let kept = grid_indices(&table.blocks, stride);
        let blocks = Arc::new(kept.iter().map(|&i| table.blocks[i]).collect::<Vec<u64>>());
        for (column, values) in table.columns.iter().zip(&table.values) {
            let v: Vec<f64> = kept.iter().map(|&i| values[i]).collect();
            pass.grid.series.push((
                SeriesKey { series: column.clone(), entity: String::new() },
                Arc::clone(&blocks),
                v,
            ));
        }
    }
    for file in long_files(dir)? {
        let top: Option<Vec<String>> =
            rankings.iter().find(|r| r.table == file.name).map(|r| r.top.iter().map(|(e, _)| e.clone()).collect());
        long_pass(&file, stride, options, top.as_deref().filter(|_| options.bands), event, &mut pass)?;
    }
    if !options.bands {
        pass.grid.series.clear();
    }
    Ok(pass)
}

/// The grid stride: the first run's sampling interval times `ceil(samples / max_samples)`.
fn grid_stride(study: &Study, max_samples: usize) -> Result<u64> {
    let Some(dir) = study.runs.iter().find_map(|r| r.dir.as_ref()) else { return Ok(1) };
    let path = dir.join(crate::folder::TIMESERIES);
    if !path.is_file() {
        return Ok(1);
    }
    let blocks = read_table(&path)?.blocks;
    let step = match blocks.as_slice() {
        [a, b, ..] if b > a => b - a,
        _ => 1,
    };
    let factor = blocks.len().div_ceil(max_samples.max(2)).max(1) as u64;
    Ok(step.saturating_mul(factor).max(1))
}

fn bands_of(grids: &[&Grid]) -> Vec<Band> {
    let mut keys: Vec<&SeriesKey> = Vec::new();
    let mut seen: HashMap<&SeriesKey, usize> = HashMap::new();
    for grid in grids {
        for (key, _, _) in &grid.series {
            if !seen.contains_key(key) {
                seen.insert(key, keys.len());
                keys.push(key);
            }
        }
    }
    keys.par_iter()
        .map(|key| {
            let runs: Vec<(&[u64], &[f64])> = grids
                .iter()
                .filter_map(|g| g.series.iter().find(|(k, _, _)| k == *key).map(|(_, b, v)| (&b[..], &v[..])))
                .collect();
            let mut blocks: Vec<u64> = runs.iter().flat_map(|(b, _)| b.iter().copied()).collect();
            blocks.sort_unstable();
            blocks.dedup();
            let mut buckets: Vec<Vec<f64>> = vec![Vec::with_capacity(runs.len()); blocks.len()];
            for (b, v) in &runs {
                let mut at = 0;
                for (block, value) in b.iter().zip(v.iter()) {
                    // Both ascending: advance instead of searching.
                    while blocks[at] < *block {
                        at += 1;
                    }
                    if value.is_finite() {
                        buckets[at].push(*value);
                    }
                }
            }
            let mut levels: [Vec<f64>; 5] = Default::default();
            let mut n = Vec::with_capacity(blocks.len());
            let mut kept = Vec::with_capacity(blocks.len());
            for (block, bucket) in blocks.iter().zip(&mut buckets) {
                if bucket.is_empty() {
                    continue;
                }
                bucket.sort_by(f64::total_cmp);
                kept.push(*block);
                n.push(bucket.len() as u32);
                for (slot, p) in levels.iter_mut().zip(BAND_LEVELS) {
                    slot.push(quantile_sorted(bucket, p).unwrap_or(0.0));
                }
            }
            Band { key: (*key).clone(), blocks: kept, n, levels }
        })
        .collect()
}

/// Most runs whose series a report holds at once by default (more only when one group has
/// more runs): see [`group_batches`].
pub const BATCH_RUNS: usize = 256;

/// The study's groups in batches, in group order: each batch holds whole groups and at most
/// `cap` runs, or one group alone when it has more. A batch's runs are read in parallel and
/// its groups' bands computed before the next batch is read, so peak memory follows the
/// largest batch, not the number of runs. Groups are contiguous in a sweep (point-major), so a
/// batch is a run range there; in a folder of runs a batch may interleave.
pub fn group_batches(study: &Study, cap: usize) -> Vec<Vec<usize>> {
    let mut sizes = vec![0usize; study.groups.len()];
    for run in &study.runs {
        sizes[run.group] += 1;
    }
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut held = 0usize;
    for (g, &size) in sizes.iter().enumerate() {
        if !current.is_empty() && held + size > cap {
            batches.push(std::mem::take(&mut current));
            held = 0;
        }
        current.push(g);
        held += size;
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// Whether a metric counts events of one kind (`events.panic_count`).
pub fn is_event_count(name: &str) -> bool {
    name.starts_with("events.") && name.ends_with("_count")
}

/// Reads and analyses a run, sweep or collection folder.
pub fn analyse_folder(root: &Path, options: &Options) -> Result<Analysis> {
    analyse(crate::study::load(root)?, options)
}

/// Analyses a loaded study.
pub fn analyse(study: Study, options: &Options) -> Result<Analysis> {
    // A file changed or cut short since its run is refused, not drawn as a shorter run.
    crate::integrity::verify_study(&study)?;
    let stride = grid_stride(&study, options.max_samples)?;
    let groups = study.groups.len();
    // Rankings of long-table entities per group, from the group's first runs (the pilot).
    let rankings: Vec<Vec<EntityRanking>> =
        if options.bands { rank_entities(&study, stride, options) } else { vec![Vec::new(); groups] };
    // One pass over the runs, parallel, collected in run order, in batches of whole groups:
    // a group's bands are computed as soon as its batch is read, then its runs' series are
    // dropped and their metrics kept by interned name, so memory holds one batch's series
    // and a few numbers per run and metric, not every run's series and names.
    let mut kept: Vec<Kept> = (0..study.runs.len()).map(|_| Kept::default()).collect();
    let mut names = Interner::default();
    let mut bands: Vec<Vec<Band>> = vec![Vec::new(); groups];
    for batch in group_batches(&study, options.batch_runs) {
        let members: Vec<usize> = (0..study.runs.len()).filter(|&i| batch.contains(&study.runs[i].group)).collect();
        let read: Vec<std::result::Result<RunPass, String>> = members
            .par_iter()
            .map(|&i| {
                let r = &study.runs[i];
                pass_one(r, stride, options, &rankings[r.group]).map_err(|e| format!("run {}: {e}", r.id))
            })
            .collect();
        if options.bands {
            for &g in &batch {
                let grids: Vec<&Grid> = members
                    .iter()
                    .zip(&read)
                    .filter(|(i, _)| study.runs[**i].group == g)
                    .filter_map(|(_, pass)| pass.as_ref().ok().map(|p| &p.grid))
                    .collect();
                bands[g] = bands_of(&grids);
            }
        }
        for (&i, pass) in members.iter().zip(read) {
            let run = &study.runs[i];
            let (mut pass, failure) = match pass {
                Ok(pass) => (pass, None),
                Err(message) => (RunPass::default(), Some(message)),
            };
            let flags = crate::flags::run_flags(&run.summary, &pass.metrics, &options.flags);
            pass.metrics.extend(flags);
            kept[i] = Kept {
                metrics: pass.metrics.into_iter().map(|(name, v)| (names.id(name), v)).collect(),
                notes: pass.notes,
                events_read: pass.events_read,
                failure,
            };
        }
    }
    let mut notes: BTreeMap<String, usize> = study.notes.iter().map(|n| (n.clone(), 1)).collect();
    for run in &kept {
        if let Some(message) = &run.failure {
            notes.insert(format!("{message} (its computed metrics and series are left out)"), 1);
        }
        let mut distinct: Vec<&String> = run.notes.iter().collect();
        distinct.sort();
        distinct.dedup();
        for note in distinct {
            *notes.entry(note.clone()).or_insert(0) += 1;
        }
    }

    // Metric names (headline scalars, then computed metrics, each in first-seen run order)
    // and the [run][metric] matrix.
    let mut metric_names: Vec<String> = Vec::new();
    let mut metric_sources: Vec<MetricSource> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for run in &study.runs {
        for (name, _) in &run.summary {
            if !index.contains_key(name) {
                index.insert(name.clone(), metric_names.len());
                metric_names.push(name.clone());
                metric_sources.push(MetricSource::Summary);
            }
        }
    }
    let mut column_of_id: Vec<Option<usize>> = vec![None; names.len()];
    for run in &kept {
        for &(id, _) in &run.metrics {
            let slot = &mut column_of_id[id as usize];
            if slot.is_none() {
                let name = names.name(id);
                *slot = Some(*index.entry(name.to_string()).or_insert_with(|| {
                    metric_names.push(name.to_string());
                    metric_sources.push(MetricSource::Computed);
                    metric_names.len() - 1
                }));
            }
        }
    }
    let mut values: Vec<Vec<f64>> = study
        .runs
        .iter()
        .zip(&kept)
        .map(|(run, pass)| {
            let mut row = vec![f64::NAN; metric_names.len()];
            for (name, v) in &run.summary {
                row[index[name]] = *v;
            }
            for &(id, v) in &pass.metrics {
                if let Some(m) = column_of_id[id as usize] {
                    row[m] = v;
                }
            }
            row
        })
        .collect();

    // An event kind a run with an event log never logged happened 0 times in it: a count is
    // 0 there, not missing (pandas would read NaN, and the statistics would drop the run).
    for (m, name) in metric_names.iter().enumerate() {
        if is_event_count(name) {
            for (row, pass) in values.iter_mut().zip(&kept) {
                if pass.events_read && row[m].is_nan() {
                    row[m] = 0.0;
                }
            }
        }
    }

    // Statistics per group and metric, with seeded bootstrap intervals.
    let pairs: Vec<(usize, usize)> = (0..groups).flat_map(|g| (0..metric_names.len()).map(move |m| (g, m))).collect();
    let flat: Vec<Option<MetricStat>> = pairs
        .par_iter()
        .map(|&(g, m)| {
            let xs: Vec<f64> =
                study.runs.iter().zip(&values).filter(|(r, _)| r.group == g).map(|(_, v)| v[m]).collect();
            let spread = spread(&xs)?;
            let mut rng = bootstrap_stream(
                options.bootstrap_seed,
                &label!["mean", metric_names[m].as_str(), study.groups[g].key.as_str()],
            );
            let ci = bootstrap_mean_ci(&xs, options.confidence, options.resamples, &mut rng)?;
            Some(MetricStat { spread, ci })
        })
        .collect();
    let stats: Vec<Vec<Option<MetricStat>>> =
        flat.chunks(metric_names.len().max(1)).map(<[Option<MetricStat>]>::to_vec).take(groups).collect();
    let stats = if metric_names.is_empty() { vec![Vec::new(); groups] } else { stats };

    Ok(Analysis {
        study,
        options: options.clone(),
        metric_names,
        metric_sources,
        values,
        stats,
        bands,
        rankings,
        notes: notes.into_iter().collect(),
        stride_blocks: stride,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(series: &str, blocks: &[u64], values: &[f64]) -> Grid {
        Grid {
            series: vec![(
                SeriesKey { series: series.into(), entity: String::new() },
                Arc::new(blocks.to_vec()),
                values.to_vec(),
            )],
        }
    }

    #[test]
    fn bands_align_runs_by_block_and_count_who_is_there() {
        // Five runs at blocks 0 and 100 (values 1..5 and 10..50); one run also has block 200.
        let mut grids: Vec<Grid> = (1..=5).map(|i| grid("x", &[0, 100], &[i as f64, 10.0 * i as f64])).collect();
        grids[2] = grid("x", &[0, 100, 200], &[3.0, 30.0, 7.0]);
        let refs: Vec<&Grid> = grids.iter().collect();
        let bands = bands_of(&refs);
        assert_eq!(bands.len(), 1);
        let b = &bands[0];
        assert_eq!(b.blocks, vec![0, 100, 200]);
        assert_eq!(b.n, vec![5, 5, 1]);
        // Type 7 over 1..5: P5 = 1.2, P25 = 2, P50 = 3, P75 = 4, P95 = 4.8.
        let at0: Vec<f64> = b.levels.iter().map(|l| l[0]).collect();
        for (got, want) in at0.iter().zip([1.2, 2.0, 3.0, 4.0, 4.8]) {
            assert!((got - want).abs() < 1e-12, "{at0:?}");
        }
        assert_eq!(b.levels[2][1], 30.0);
        assert!(b.levels.iter().all(|l| l[2] == 7.0), "one run: every level is its value");
        // Missing values are not counted, and a block where every run misses is left out.
        let gaps =
            [grid("y", &[0, 100, 200], &[1.0, f64::NAN, 5.0]), grid("y", &[0, 100, 200], &[3.0, f64::NAN, f64::NAN])];
        let bands = bands_of(&gaps.iter().collect::<Vec<_>>());
        assert_eq!((bands[0].blocks.clone(), bands[0].n.clone()), (vec![0, 200], vec![2, 1]));
        assert_eq!(bands[0].levels[2], vec![2.0, 5.0]);
    }

    fn study_of(group_sizes: &[usize]) -> Study {
        use crate::study::{Group, RunEntry, StudyKind};
        let mut study = Study {
            kind: StudyKind::Sweep,
            name: "s".into(),
            root: "s".into(),
            facts: Vec::new(),
            params: Vec::new(),
            groups: Vec::new(),
            runs: Vec::new(),
            failed: Vec::new(),
            notes: Vec::new(),
        };
        for (g, &size) in group_sizes.iter().enumerate() {
            study.groups.push(Group { key: format!("g{g}"), label: format!("g{g}"), values: Vec::new() });
            for k in 0..size {
                study.runs.push(RunEntry {
                    id: format!("g{g}-{k}"),
                    group: g,
                    seed: Some(k as u64),
                    dir: None,
                    summary: Vec::new(),
                });
            }
        }
        study
    }

    #[test]
    fn batches_hold_whole_groups_up_to_the_cap_or_one_larger_group() {
        let batches = group_batches(&study_of(&[100, 100, 100, 300, 10, 10]), 256);
        assert_eq!(batches, vec![vec![0, 1], vec![2], vec![3], vec![4, 5]]);
        // Every group once, in order.
        let flat: Vec<usize> = batches.concat();
        assert_eq!(flat, (0..6).collect::<Vec<_>>());
        assert_eq!(group_batches(&study_of(&[1; 5]), 256), vec![vec![0, 1, 2, 3, 4]]);
        assert_eq!(group_batches(&study_of(&[3, 3]), 2), vec![vec![0], vec![1]]);
        assert!(group_batches(&study_of(&[]), 256).is_empty());
    }

    #[test]
    fn reading_in_small_batches_gives_the_same_analysis() {
        use crate::synthetic::{Spec, write_sweep};
        let tmp = tempfile::tempdir().expect("tempdir");
        let spec = |depth: f64| Spec {
            days: 4,
            sample_every_blocks: 600,
            subnets: 6,
            subnet_sample_every_blocks: 1_200,
            miners: 50,
            depth_usd: depth,
            halving_day: Some(2.0),
            ..Spec::default()
        };
        let points: Vec<(Vec<String>, Spec)> =
            [1e6, 4e6, 9e6].iter().map(|&d| (vec![d.to_string()], spec(d))).collect();
        write_sweep(tmp.path(), &["market.depth_usd".to_string()], &points, &[1, 2, 3], &[(1, 2)]).expect("sweep");
        let whole = analyse_folder(tmp.path(), &Options::default()).expect("analysis");
        assert_eq!(whole.study.groups.len(), 3);
        assert!(whole.bands.iter().all(|b| !b.is_empty()), "every group has bands");
        for cap in [1, 3, 5] {
            let batched =
                analyse_folder(tmp.path(), &Options { batch_runs: cap, ..Options::default() }).expect("analysis");
            assert_eq!(batched.bands, whole.bands, "batches of {cap} runs");
            assert_eq!(batched.values.len(), whole.values.len());
            for (a, b) in batched.values.iter().zip(&whole.values) {
                assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()), "batches of {cap} runs");
            }
            assert_eq!(batched.notes, whole.notes);
        }
    }

    #[test]
    fn thinning_keeps_grid_multiples_and_the_last_sample() {
        let blocks = [0, 100, 200, 300, 400, 450];
        let values = [0.0, 1.0, 2.0, f64::NAN, 4.0, 5.0];
        assert_eq!(thin(&blocks, &values, 200), (vec![0, 200, 400, 450], vec![0.0, 2.0, 4.0, 5.0]));
    }
}
