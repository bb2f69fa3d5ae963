//! Long-format per-entity tables (`subnets.csv`): concentration across entities, per-entity
//! price risk, the ranking that picks the top entities (from a pilot of each setting's first
//! runs), and the top entities' and the rest's series on the grid.

use super::{
    EntityRanking, Grid, LongSummary, Options, REST_MEAN, REST_SUM, RunPass, SeriesKey, on_grid, rank_column, thin,
};
use crate::concentration::{gini, nakamoto_coefficient};
use crate::error::Result;
use crate::folder::{LongBlock, LongFile, LongShape, long_files, stream_long};
use crate::metrics::{RunMetrics, event_price_metrics, price_metrics};
use crate::stats::quantile_sorted;
use crate::study::{RunEntry, Study};
use crate::units::{has_token, is_intensive};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Blocks and values of one series.
type Samples = (Vec<u64>, Vec<f64>);

/// Gini and Nakamoto coefficient across entities, block by block, of one column.
struct ConcentrationTrack {
    column: usize,
    blocks: Vec<u64>,
    gini: Vec<f64>,
    nakamoto: Vec<f64>,
}

/// Each entity's series of one price column.
struct PriceTrack {
    column: usize,
    per_entity: Vec<Samples>,
}

/// Sums of the entities' ranking measure over a group's runs.
struct RankSums {
    table: String,
    entity_column: String,
    rank_column: String,
    sums: BTreeMap<String, f64>,
    runs: usize,
}

/// Concentration, per-entity risk and the ranking measure of one long table; with `top`,
/// also the top entities' and the rest's series on the grid.
pub(super) fn long_pass(
    file: &LongFile,
    stride: u64,
    options: &Options,
    top: Option<&[String]>,
    event: Option<u64>,
    pass: &mut RunPass,
) -> Result<()> {
    let mut entity_grid = top.map(|t| EntityGrid::new(t, stride));
    let mut concentration: Vec<ConcentrationTrack> = Vec::new();
    let mut prices: Vec<PriceTrack> = Vec::new();
    let mut rank: Option<usize> = None;
    let (mut sums, mut counts): (Vec<f64>, Vec<u32>) = (Vec::new(), Vec::new());
    let mut started = false;
    let shape = stream_long(file, |shape, b| {
        let width = shape.columns.len();
        if !started {
            started = true;
            for (c, name) in shape.columns.iter().enumerate() {
                if has_token(name, "stake") || has_token(name, "emission") {
                    concentration.push(ConcentrationTrack {
                        column: c,
                        blocks: Vec::new(),
                        gini: Vec::new(),
                        nakamoto: Vec::new(),
                    });
                }
                if has_token(name, "price") {
                    prices.push(PriceTrack { column: c, per_entity: Vec::new() });
                }
            }
            let chosen = rank_column(&shape.columns, options.rank_by.as_deref());
            rank = chosen.and_then(|r| shape.columns.iter().position(|c| *c == r));
        }
        for track in concentration.iter_mut() {
            let c = track.column;
            let amounts: Vec<f64> =
                (0..b.entities.len()).map(|r| b.values[r * width + c]).filter(|x| x.is_finite()).collect();
            if let (Some(gv), Some(nv)) = (gini(&amounts), nakamoto_coefficient(&amounts, options.nakamoto_threshold)) {
                track.blocks.push(b.block);
                track.gini.push(gv);
                track.nakamoto.push(nv as f64);
            }
        }
        for track in prices.iter_mut() {
            for (r, &e) in b.entities.iter().enumerate() {
                if track.per_entity.len() <= e {
                    track.per_entity.resize(e + 1, (Vec::new(), Vec::new()));
                }
                track.per_entity[e].0.push(b.block);
                track.per_entity[e].1.push(b.values[r * width + track.column]);
            }
        }
        if let Some(g) = entity_grid.as_mut() {
            g.on_block(shape, &b);
        }
        if let Some(c) = rank {
            for (r, &e) in b.entities.iter().enumerate() {
                if sums.len() <= e {
                    sums.resize(e + 1, 0.0);
                    counts.resize(e + 1, 0);
                }
                let v = b.values[r * width + c];
                if v.is_finite() {
                    sums[e] += v;
                    counts[e] += 1;
                }
            }
        }
    })?;
    if let Some(g) = entity_grid {
        g.finish(&file.name, &mut pass.grid);
    }
    let prefix = &file.name;
    for track in concentration {
        let column = &shape.columns[track.column];
        let blocks = track.blocks;
        for (what, values) in [("gini", track.gini), ("nakamoto", track.nakamoto)] {
            let name = format!("{prefix}.{column}.{what}");
            if let (Some(last), Some(mean)) = (values.last(), crate::stats::mean(&values)) {
                pass.metrics.push((format!("{name}.final"), *last));
                pass.metrics.push((format!("{name}.mean"), mean));
            }
            let (b, v) = thin(&blocks, &values, stride);
            pass.grid.series.push((SeriesKey { series: name, entity: String::new() }, Arc::new(b), v));
        }
    }
    for (k, track) in prices.into_iter().enumerate() {
        let column = &shape.columns[track.column];
        let mut by_metric: Vec<(String, Vec<f64>)> = Vec::new();
        for (e, (blocks, values)) in track.per_entity.iter().enumerate() {
            let mut m = RunMetrics::default();
            price_metrics("x", blocks, values, &mut m);
            if let Some(event) = event {
                event_price_metrics("x", blocks, values, event, &mut m);
            }
            // Each entity's drawdown of the table's first price (a subnet's alpha price),
            // from the event when there is one: the per-subnet table of the risk summary.
            let drawdown = if event.is_some() { "x.event.max_drawdown_fraction" } else { "x.max_drawdown_fraction" };
            if k == 0
                && let (Some(name), Some(v)) =
                    (shape.entities.get(e), m.values.iter().find(|(n, _)| n == drawdown).map(|(_, v)| *v))
            {
                let metric = drawdown.trim_start_matches("x.");
                pass.metrics.push((format!("{prefix}.{column}.{metric}.{}_{name}", file.entity_column), v));
            }
            for (name, v) in m.values {
                let metric = name.trim_start_matches("x.").to_string();
                let measure = metric.trim_start_matches("event.");
                if ["max_drawdown_fraction", "var95", "var99", "es95", "es99"].iter().any(|t| measure.starts_with(t)) {
                    match by_metric.iter_mut().find(|(n, _)| *n == metric) {
                        Some((_, vs)) => vs.push(v),
                        None => by_metric.push((metric, vec![v])),
                    }
                }
            }
        }
        for (metric, mut vs) in by_metric {
            vs.sort_by(f64::total_cmp);
            if let (Some(worst), Some(median)) = (vs.last(), quantile_sorted(&vs, 0.5)) {
                pass.metrics.push((format!("{prefix}.{column}.{metric}.worst"), *worst));
                pass.metrics.push((format!("{prefix}.{column}.{metric}.median"), median));
            }
        }
    }
    if let Some(c) = rank {
        let measure = shape
            .entities
            .iter()
            .enumerate()
            .map(|(e, name)| {
                let mean = match (sums.get(e), counts.get(e)) {
                    (Some(s), Some(&n)) if n > 0 => s / f64::from(n),
                    _ => 0.0,
                };
                (name.clone(), mean)
            })
            .collect();
        pass.long.push(LongSummary { file: file.clone(), rank_column: shape.columns[c].clone(), measure });
    }
    Ok(())
}

/// The top entities of a long table and the rest, on the grid, accumulated block by block.
struct EntityGrid<'a> {
    top: &'a [String],
    stride: u64,
    columns: Vec<String>,
    /// Per entity index: its slot among the top, `None` for the rest.
    slot_of: Vec<Option<usize>>,
    /// Blocks on the grid, shared by every series of the table.
    blocks: Vec<u64>,
    /// Per column: per top entity, then the rest's mean and sum: a value per grid block.
    out: Vec<Vec<Vec<f64>>>,
    has_rest: bool,
    /// The last block when it is off the grid (kept: every run's last sample is banded).
    last: Option<(u64, Vec<Vec<f64>>)>,
}

impl<'a> EntityGrid<'a> {
    fn new(top: &'a [String], stride: u64) -> Self {
        Self {
            top,
            stride,
            columns: Vec::new(),
            slot_of: Vec::new(),
            blocks: Vec::new(),
            out: Vec::new(),
            has_rest: false,
            last: None,
        }
    }

    fn on_block(&mut self, shape: &LongShape, b: &LongBlock<'_>) {
        let width = shape.columns.len();
        let k = self.top.len();
        if self.columns.is_empty() {
            self.columns = shape.columns.clone();
            self.out = vec![vec![Vec::new(); k + 2]; width];
        }
        while self.slot_of.len() < shape.entities.len() {
            let name = &shape.entities[self.slot_of.len()];
            let slot = self.top.iter().position(|t| t == name);
            self.has_rest |= slot.is_none();
            self.slot_of.push(slot);
        }
        let mut row: Vec<Vec<f64>> = vec![vec![f64::NAN; k + 2]; width];
        for (c, name) in self.columns.iter().enumerate() {
            let (mut sum, mut count) = (0.0, 0u32);
            for (r, &e) in b.entities.iter().enumerate() {
                let v = b.values[r * width + c];
                match self.slot_of[e] {
                    Some(s) => row[c][s] = v,
                    None if v.is_finite() => {
                        sum += v;
                        count += 1;
                    }
                    None => {}
                }
            }
            if count > 0 {
                row[c][k] = sum / f64::from(count);
                if !is_intensive(name) {
                    row[c][k + 1] = sum;
                }
            }
        }
        if on_grid(b.block, self.stride) {
            self.push(b.block, row);
            self.last = None;
        } else {
            self.last = Some((b.block, row));
        }
    }

    fn push(&mut self, block: u64, row: Vec<Vec<f64>>) {
        self.blocks.push(block);
        for (per_slot, values) in self.out.iter_mut().zip(row) {
            for (slot, v) in per_slot.iter_mut().zip(values) {
                slot.push(v);
            }
        }
    }

    fn finish(mut self, table: &str, grid: &mut Grid) {
        if let Some((block, row)) = self.last.take() {
            self.push(block, row);
        }
        let k = self.top.len();
        let blocks = Arc::new(std::mem::take(&mut self.blocks));
        for (c, per_slot) in std::mem::take(&mut self.out).into_iter().enumerate() {
            let series = format!("{table}.{}", self.columns[c]);
            for (s, values) in per_slot.into_iter().enumerate() {
                if (s >= k && !self.has_rest) || values.iter().all(|v| !v.is_finite()) {
                    continue;
                }
                let entity = match s {
                    _ if s == k => REST_MEAN.to_string(),
                    _ if s == k + 1 => REST_SUM.to_string(),
                    _ => self.top[s].clone(),
                };
                grid.series.push((SeriesKey { series: series.clone(), entity }, Arc::clone(&blocks), values));
            }
        }
    }
}

/// Orders entity names numerically when both are numbers, else as text.
fn entity_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    }
}

/// Runs of a setting whose long tables rank its entities (the first ones, in run order).
pub const PILOT_RUNS: usize = 16;

/// The top entities of each long table, per group: ranked by the mean of the ranking column
/// over a run, averaged over the group's first [`PILOT_RUNS`] runs (reading every run twice
/// would double the cost of the largest files for a choice of what to draw).
pub(super) fn rank_entities(study: &Study, stride: u64, options: &Options) -> Vec<Vec<EntityRanking>> {
    let pilots: Vec<(usize, &RunEntry)> = (0..study.groups.len())
        .flat_map(|g| {
            study.runs.iter().filter(move |r| r.group == g && r.dir.is_some()).take(PILOT_RUNS).map(move |r| (g, r))
        })
        .collect();
    let measured: Vec<(usize, Vec<LongSummary>)> = pilots
        .par_iter()
        .map(|&(g, run)| {
            let mut pass = RunPass::default();
            let files = run.dir.as_deref().map(long_files).unwrap_or(Ok(Vec::new())).unwrap_or_default();
            for file in files {
                // A run that cannot be read is reported by the main pass.
                let _ = long_pass(&file, stride, options, None, None, &mut pass);
            }
            (g, pass.long)
        })
        .collect();
    let mut rankings: Vec<Vec<EntityRanking>> = vec![Vec::new(); study.groups.len()];
    for (g, ranking) in rankings.iter_mut().enumerate() {
        let mut tables: Vec<RankSums> = Vec::new();
        for long in measured.iter().filter(|(h, _)| *h == g).flat_map(|(_, l)| l) {
            let at = match tables.iter().position(|t| t.table == long.file.name) {
                Some(i) => i,
                None => {
                    tables.push(RankSums {
                        table: long.file.name.clone(),
                        entity_column: long.file.entity_column.clone(),
                        rank_column: long.rank_column.clone(),
                        sums: BTreeMap::new(),
                        runs: 0,
                    });
                    tables.len() - 1
                }
            };
            tables[at].runs += 1;
            for (entity, m) in &long.measure {
                *tables[at].sums.entry(entity.clone()).or_insert(0.0) += m;
            }
        }
        for RankSums { table, entity_column, rank_column, sums, runs } in tables {
            let total = sums.len();
            let mut ranked: Vec<(String, f64)> = sums.into_iter().map(|(e, s)| (e, s / runs as f64)).collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| entity_order(&a.0, &b.0)));
            ranked.truncate(options.top_k);
            ranking.push(EntityRanking { table, entity_column, rank_column, top: ranked, total });
        }
    }
    rankings
}
