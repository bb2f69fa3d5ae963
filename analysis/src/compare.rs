//! Two studies side by side: which metrics moved, by how much, with a bootstrap confidence
//! interval of the difference.
//!
//! Settings are matched by their parameter values (`chain.tempo=99`); two studies of one
//! setting each (two runs, two single-point sweeps) are matched whatever their parameters;
//! with no setting in common, all runs of each side are pooled. For each matched pair and
//! each metric both sides have:
//! - `diff = mean(B) - mean(A)` and `relative = diff / |mean(A)|`;
//! - its interval: when both sides ran the same seeds (common random numbers), the bootstrap
//!   of the mean of the per-seed differences `B_s - A_s`; otherwise A and B are resampled
//!   independently. Same stream discipline as [`crate::stats`];
//! - no interval when either side has fewer than [`MIN_RUNS`] runs (or pairs): a percentile
//!   bootstrap of one or two values is a zero-width or two-point interval, not evidence;
//! - `moved`: the interval excludes zero **and** the change is at least the minimum effect
//!   ([`CompareOptions::min_effect`], 1% of the larger mean by default): with thousands of
//!   seeds a +0.003% shift can be "significant" and still mean nothing to a risk team.
//!
//! Rows are ranked by a stated relevance: the key risk metrics first in the headline's order
//! ([`crate::report::KEY_METRICS`]: the drawdown from the event, time to trough, recovery,
//! tail losses, then mechanisms), then the rest; within each, moved before not moved and
//! larger relative changes first. The terminal table and the HTML show the top rows only
//! ([`CompareOptions::top`]); `compare.csv` has every row.

use crate::analyse::{Analysis, Band};
use crate::error::Result;
use crate::format::{csv_number, display_number, display_percent, escape};
use crate::report::{day_of, page, sentence};
use crate::stats::{Interval, bootstrap_diff_ci, bootstrap_paired_diff_ci, bootstrap_stream, spread};
use crate::svg::{self, BandLayer, ChartText, ForestRow};
use crate::units::describe;
use sim::label;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The forest plot's axis covers at most +-200%.
pub const FOREST_LIMIT: f64 = 2.0;

/// Most rows of a forest plot.
pub const MAX_FOREST_ROWS: usize = 60;

/// Fewest runs (or seed pairs) on each side for an interval of the difference.
pub const MIN_RUNS: usize = 3;

/// Most matched settings drawn as forest plots in `compare.html` (the rest are in the table
/// and `compare.csv`).
pub const MAX_FOREST_PAIRS: usize = 6;

/// Most series drawn over time in `compare.html` (key series first).
pub const MAX_OVER_TIME_CHARTS: usize = 12;

/// How a comparison calls a change and how much of it is shown.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompareOptions {
    /// Smallest change called "moved", as a fraction of the larger of |mean A| and |mean B|.
    pub min_effect: f64,
    /// Rows shown in the terminal table and in each part of `compare.html`.
    pub top: usize,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self { min_effect: 0.01, top: 30 }
    }
}

/// One metric in one matched pair of settings.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareRow {
    /// The setting's short label (A's: `s01`; `all` when runs are pooled).
    pub group: String,
    /// The metric.
    pub metric: String,
    /// Runs with the metric in A and B.
    pub n: (usize, usize),
    /// Means in A and B.
    pub mean: (f64, f64),
    /// Medians in A and B.
    pub median: (f64, f64),
    /// P95 in A and B.
    pub p95: (f64, f64),
    /// `mean(B) - mean(A)`.
    pub diff: f64,
    /// Interval of the difference; `None` when a side has fewer than [`MIN_RUNS`] runs.
    pub ci: Option<Interval>,
    /// The headline rank of the metric ([`crate::report::key_rank`]); `None` for the others.
    pub key: Option<usize>,
    /// `diff / |mean(A)|`, when `mean(A)` is not zero.
    pub relative: Option<f64>,
    /// Whether runs were paired by seed.
    pub paired: bool,
    /// Whether the interval excludes zero and the change is at least the minimum effect.
    pub moved: bool,
}

/// A comparison of two studies.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The baseline.
    pub a: Analysis,
    /// The variant.
    pub b: Analysis,
    /// Matched settings: (index in A, index in B), `None` for all runs pooled.
    pub pairs: Vec<(Option<usize>, Option<usize>)>,
    /// Every metric of every matched pair, in A's metric order.
    pub rows: Vec<CompareRow>,
    /// Remarks (metrics on one side only, pooling, too few runs).
    pub notes: Vec<String>,
    /// How changes were called and how many rows are shown.
    pub options: CompareOptions,
}

impl Comparison {
    /// A's full label of a row's setting (`participants.holders.policy.panic_drawdown=0.3`).
    pub fn setting_text(&self, group: &str) -> String {
        (0..self.a.study.groups.len())
            .find(|&g| self.a.study.setting_label(g) == group)
            .map_or_else(|| "all runs of each side".into(), |g| self.a.study.groups[g].label.clone())
    }
}

fn values(a: &Analysis, g: Option<usize>, m: usize) -> Vec<(Option<u64>, f64)> {
    a.study
        .runs
        .iter()
        .zip(&a.values)
        .filter(|(r, v)| g.is_none_or(|g| r.group == g) && v[m].is_finite())
        .map(|(r, v)| (r.seed, v[m]))
        .collect()
}

/// The two sides' values ordered by seed when both ran exactly the same distinct seeds.
fn paired(a: &[(Option<u64>, f64)], b: &[(Option<u64>, f64)]) -> Option<(Vec<f64>, Vec<f64>)> {
    let seeds = |xs: &[(Option<u64>, f64)]| -> Option<Vec<(u64, f64)>> {
        let mut v: Vec<(u64, f64)> = xs.iter().map(|(s, x)| s.map(|s| (s, *x))).collect::<Option<_>>()?;
        v.sort_by_key(|(s, _)| *s);
        v.windows(2).all(|w| w[0].0 != w[1].0).then_some(v)
    };
    let (sa, sb) = (seeds(a)?, seeds(b)?);
    (sa.len() == sb.len() && sa.iter().zip(&sb).all(|(x, y)| x.0 == y.0))
        .then(|| (sa.iter().map(|x| x.1).collect(), sb.iter().map(|x| x.1).collect()))
}

/// Relative size below which a difference is rounding, not a change (means of equal values
/// computed over different numbers of runs differ in the last bits).
pub const ROUNDING: f64 = 1e-9;

/// Whether a difference is a change: its interval excludes zero by more than rounding, and
/// the change is at least `min_effect` of `scale` (the larger of the two means' sizes).
fn moved(diff: f64, ci: Option<Interval>, scale: f64, min_effect: f64) -> bool {
    let Some(ci) = ci else { return false };
    let tolerance = ROUNDING * scale;
    let excludes_zero = ci.low > tolerance || ci.high < -tolerance;
    excludes_zero && diff.abs() >= min_effect * scale && diff.abs() > tolerance
}

/// Compares `b` against the baseline `a`.
pub fn compare(a: Analysis, b: Analysis, compare_options: CompareOptions) -> Comparison {
    let mut notes = Vec::new();
    let mut pairs: Vec<(Option<usize>, Option<usize>)> = Vec::new();
    if a.study.groups.len() == 1 && b.study.groups.len() == 1 {
        pairs.push((Some(0), Some(0)));
    } else {
        for (i, g) in a.study.groups.iter().enumerate() {
            if let Some(j) = b.study.groups.iter().position(|h| h.label == g.label) {
                pairs.push((Some(i), Some(j)));
            }
        }
        if pairs.is_empty() {
            notes.push(
                "No setting of A matches one of B by its parameter values: all runs of each side are pooled.".into(),
            );
            pairs.push((None, None));
        }
    }
    let options = &a.options;
    let mut rows = Vec::new();
    let mut too_few = 0usize;
    for &(ga, gb) in &pairs {
        let group = ga.map(|g| a.study.setting_label(g)).unwrap_or_else(|| "all".into());
        for (ma, metric) in a.metric_names.iter().enumerate() {
            let Some(mb) = b.metric_index(metric) else { continue };
            let (va, vb) = (values(&a, ga, ma), values(&b, gb, mb));
            let xa: Vec<f64> = va.iter().map(|x| x.1).collect();
            let xb: Vec<f64> = vb.iter().map(|x| x.1).collect();
            let (Some(sa), Some(sb)) = (spread(&xa), spread(&xb)) else { continue };
            let mut rng = bootstrap_stream(options.bootstrap_seed, &label!["compare", metric.as_str(), group.as_str()]);
            let pairing = paired(&va, &vb);
            let ci = if sa.n < MIN_RUNS || sb.n < MIN_RUNS {
                too_few += 1;
                None
            } else {
                match &pairing {
                    Some((pa, pb)) => bootstrap_paired_diff_ci(pa, pb, options.confidence, options.resamples, &mut rng),
                    None => bootstrap_diff_ci(&xa, &xb, options.confidence, options.resamples, &mut rng),
                }
            };
            let diff = sb.mean - sa.mean;
            let scale = sa.mean.abs().max(sb.mean.abs());
            rows.push(CompareRow {
                group: group.clone(),
                metric: metric.clone(),
                n: (sa.n, sb.n),
                mean: (sa.mean, sb.mean),
                median: (sa.median(), sb.median()),
                p95: (sa.percentiles[4], sb.percentiles[4]),
                diff,
                ci,
                key: crate::report::key_rank(metric),
                relative: (sa.mean != 0.0).then(|| diff / sa.mean.abs()),
                paired: pairing.is_some(),
                moved: moved(diff, ci, scale, compare_options.min_effect),
            });
        }
    }
    if too_few > 0 {
        notes.push(format!(
            "{too_few} row(s) have fewer than {MIN_RUNS} runs on a side: no interval is given for them and none is called moved (a bootstrap of one or two values says nothing about the seeds' spread); run more seeds to compare them."
        ));
    }
    let only = |x: &Analysis, y: &Analysis| -> Vec<String> {
        x.metric_names.iter().filter(|m| y.metric_index(m).is_none()).cloned().collect()
    };
    for (side, list) in [("A", only(&a, &b)), ("B", only(&b, &a))] {
        if !list.is_empty() {
            notes.push(format!("Only in {side} ({}): {}", list.len(), list.join(", ")));
        }
    }
    Comparison { a, b, pairs, rows, notes, options: compare_options }
}

/// Rows in reading order: key risk metrics first in the headline's order, then the others;
/// within each, moved before not moved, then by the size of the relative change.
pub fn ranked_rows(c: &Comparison) -> Vec<&CompareRow> {
    let mut rows: Vec<&CompareRow> = c.rows.iter().collect();
    rows.sort_by(|x, y| {
        let key = |r: &CompareRow| r.key.unwrap_or(usize::MAX);
        key(x)
            .cmp(&key(y))
            .then_with(|| y.moved.cmp(&x.moved))
            .then_with(|| {
                let mx = x.relative.map_or(-1.0, f64::abs);
                let my = y.relative.map_or(-1.0, f64::abs);
                my.total_cmp(&mx)
            })
            .then_with(|| x.group.cmp(&y.group))
            .then_with(|| x.metric.cmp(&y.metric))
    });
    rows
}

/// `compare.csv`: every row, ranked as [`ranked_rows`] (empty interval cells where a side has
/// fewer than [`MIN_RUNS`] runs).
pub fn compare_csv(c: &Comparison) -> Result<String> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    let header = [
        "setting",
        "metric",
        "unit",
        "n_a",
        "n_b",
        "mean_a",
        "mean_b",
        "diff",
        "diff_ci_low",
        "diff_ci_high",
        "relative_change",
        "p50_a",
        "p50_b",
        "p95_a",
        "p95_b",
        "paired",
        "moved",
    ];
    let err = |e: csv::Error| crate::Error::format("compare.csv", e.to_string());
    w.write_record(header).map_err(err)?;
    for r in ranked_rows(c) {
        w.write_record([
            r.group.clone(),
            r.metric.clone(),
            describe(&r.metric).unit,
            r.n.0.to_string(),
            r.n.1.to_string(),
            csv_number(r.mean.0),
            csv_number(r.mean.1),
            csv_number(r.diff),
            r.ci.map(|ci| csv_number(ci.low)).unwrap_or_default(),
            r.ci.map(|ci| csv_number(ci.high)).unwrap_or_default(),
            r.relative.map(csv_number).unwrap_or_default(),
            csv_number(r.median.0),
            csv_number(r.median.1),
            csv_number(r.p95.0),
            csv_number(r.p95.1),
            u8::from(r.paired).to_string(),
            u8::from(r.moved).to_string(),
        ])
        .map_err(err)?;
    }
    let bytes = w.into_inner().map_err(|e| crate::Error::format("compare.csv", e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| crate::Error::format("compare.csv", e.to_string()))
}

fn interval_text(ci: Option<Interval>) -> String {
    match ci {
        Some(ci) => format!("[{}, {}]", display_number(ci.low), display_number(ci.high)),
        None => format!("n < {MIN_RUNS}"),
    }
}

/// The comparison as a plain-text table for a terminal: the top rows by relevance, full
/// metric names, settings by their short label with a legend.
pub fn text_table(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "A = {} ({} runs), B = {} ({} runs); {}% intervals of mean(B) - mean(A); moved: the interval excludes 0 and the change is at least {} of the larger mean",
        c.a.study.name,
        c.a.study.runs.len(),
        c.b.study.name,
        c.b.study.runs.len(),
        display_number(c.a.options.confidence * 100.0),
        display_percent(c.options.min_effect)
    );
    let multi = c.pairs.len() > 1;
    if multi {
        for &(ga, _) in &c.pairs {
            if let Some(g) = ga {
                let _ = writeln!(out, "  {} = {}", c.a.study.setting_label(g), c.a.study.groups[g].label);
            }
        }
    }
    let ranked = ranked_rows(c);
    let shown: Vec<&CompareRow> = ranked.iter().copied().take(c.options.top).collect();
    let names: Vec<String> =
        shown.iter().map(|r| if multi { format!("{} [{}]", r.metric, r.group) } else { r.metric.clone() }).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(6).max(6);
    let _ = writeln!(
        out,
        "{:<width$} {:>12} {:>12} {:>12} {:>27} {:>9}  moved",
        "metric", "mean A", "mean B", "change", "interval", "relative"
    );
    for (r, name) in shown.iter().zip(&names) {
        let _ = writeln!(
            out,
            "{:<width$} {:>12} {:>12} {:>12} {:>27} {:>9}  {}",
            name,
            display_number(r.mean.0),
            display_number(r.mean.1),
            display_number(r.diff),
            interval_text(r.ci),
            r.relative.map(display_percent).unwrap_or_else(|| "–".into()),
            if r.moved { "yes" } else { "" }
        );
    }
    if ranked.len() > shown.len() {
        let _ = writeln!(
            out,
            "... {} more row(s) in compare.csv (--top {} shows more)",
            ranked.len() - shown.len(),
            c.options.top
        );
    }
    let moved = c.rows.iter().filter(|r| r.moved).count();
    let _ = writeln!(out, "{moved} of {} metric(s) moved", c.rows.len());
    for n in &c.notes {
        let _ = writeln!(out, "note: {}", crate::svg::truncate(n, 400));
    }
    out
}

fn band_of<'a>(a: &'a Analysis, g: usize, series: &str) -> Option<&'a Band> {
    a.bands.get(g)?.iter().find(|b| b.key.series == series && b.key.entity.is_empty())
}

/// The whole `compare.html`.
pub fn render_html(c: &Comparison) -> String {
    let title = format!("taosim comparison: {} vs {}", c.a.study.name, c.b.study.name);
    let mut out = String::new();
    let _ = writeln!(out, "<header>\n<h1>{}</h1>", escape(&title));
    let _ = writeln!(
        out,
        "<p class=\"facts\">A (baseline): <b>{}</b>, a {} of {} setting(s), {} run(s) · B: <b>{}</b>, a {} of {} setting(s), {} run(s) · {} matched setting(s)</p>\n</header>",
        escape(&c.a.study.name),
        c.a.study.kind.word(),
        c.a.study.groups.len(),
        c.a.study.runs.len(),
        escape(&c.b.study.name),
        c.b.study.kind.word(),
        c.b.study.groups.len(),
        c.b.study.runs.len(),
        c.pairs.len()
    );
    let level = display_number(c.a.options.confidence * 100.0);
    let _ = writeln!(
        out,
        "<section id=\"how-to-read\">\n<h2>How to read this comparison</h2>\n<p>For each metric, the change is mean(B) − mean(A) over the runs of a setting, with a {level}% bootstrap interval. When both sides ran the same seeds, runs are paired by seed and the interval is that of the mean per-seed difference (common random numbers: much tighter). A metric <b>moved</b> when its interval excludes zero; with many metrics, about {miss}% of those that did not change will show as moved by chance, so read a lone small move with care. The chart shows the relative change, (B − A) / |A|, so \"−50%\" reads \"B halves it\". <code>compare.csv</code> beside this file has every row.</p>\n</section>",
        miss = display_number(100.0 - c.a.options.confidence * 100.0)
    );
    if c.pairs.len() > 1 {
        let _ = writeln!(out, "<section id=\"settings\">\n<h2>Settings</h2>\n<table><tbody>");
        for &(ga, _) in &c.pairs {
            if let Some(g) = ga {
                let _ = writeln!(
                    out,
                    "<tr><td class=\"l\"><b>{}</b></td><td class=\"l\"><code>{}</code></td></tr>",
                    escape(&c.a.study.setting_label(g)),
                    escape(&c.a.study.groups[g].label)
                );
            }
        }
        let _ = writeln!(out, "</tbody></table>\n</section>");
    }
    let ranked = ranked_rows(c);
    if c.pairs.len() > MAX_FOREST_PAIRS {
        let _ = writeln!(
            out,
            "<p class=\"muted\">Charts for the first {MAX_FOREST_PAIRS} of {} matched settings; the table below and <code>compare.csv</code> cover them all.</p>",
            c.pairs.len()
        );
    }
    for &(ga, _) in c.pairs.iter().take(MAX_FOREST_PAIRS) {
        let group = ga.map(|g| c.a.study.setting_label(g)).unwrap_or_else(|| "all".into());
        let rows: Vec<&CompareRow> = ranked
            .iter()
            .copied()
            .filter(|r| r.group == group && r.relative.is_some() && r.ci.is_some())
            .take(c.options.top.min(MAX_FOREST_ROWS))
            .collect();
        if rows.is_empty() {
            continue;
        }
        let names: Vec<String> = rows.iter().map(|r| r.metric.clone()).collect();
        let labels = svg::distinct_labels(&names, 52);
        let forest: Vec<ForestRow> = rows
            .iter()
            .zip(labels)
            .map(|(r, label)| {
                let scale = r.mean.0.abs();
                let ci = r.ci.unwrap_or(Interval { low: f64::NAN, high: f64::NAN });
                ForestRow {
                    label,
                    estimate: r.relative.unwrap_or(f64::NAN),
                    low: ci.low / scale,
                    high: ci.high / scale,
                    highlight: r.moved,
                }
            })
            .collect();
        let text = ChartText {
            title: format!(
                "Relative change, B vs A{}",
                if c.pairs.len() > 1 { format!(": {group}") } else { String::new() }
            ),
            subtitle: format!(
                "dot: (mean B − mean A) / |mean A|; bar: {level}% interval (arrow: continues beyond the axis); blue: moved, grey: not distinguishable from zero"
            ),
            x_label: "relative change (B − A) / |A|".into(),
            y_label: String::new(),
        };
        let _ = writeln!(
            out,
            "<section>\n<h2>Changes{}</h2>",
            if c.pairs.len() > 1 { format!(": {}", escape(&group)) } else { String::new() }
        );
        let _ = writeln!(out, "<figure>{}</figure>", svg::forest_plot(&text, &forest, true, FOREST_LIMIT));
        let _ = writeln!(out, "</section>");
    }
    let _ = writeln!(
        out,
        "<section id=\"table\">\n<h2>All metrics</h2>\n<table><thead><tr><th class=\"l\">metric</th>{}<th>n A / B</th><th>mean A</th><th>mean B</th><th>change</th><th>{level}% interval</th><th>relative</th><th>P95 A → B</th><th class=\"l\">moved</th></tr></thead><tbody>",
        if c.pairs.len() > 1 { "<th class=\"l\">setting</th>" } else { "" }
    );
    let table_rows = c.options.top.saturating_mul(4);
    for r in ranked.iter().take(table_rows) {
        let class = if !r.moved {
            ""
        } else if r.diff > 0.0 {
            " class=\"up\""
        } else {
            " class=\"down\""
        };
        let _ = writeln!(
            out,
            "<tr{class}><td class=\"l\"><code>{}</code></td>{}<td>{} / {}</td><td>{}</td><td>{}</td><td>{}</td><td>{} – {}</td><td>{}</td><td>{} → {}</td><td class=\"l\">{}</td></tr>",
            escape(&r.metric),
            if c.pairs.len() > 1 { format!("<td class=\"l\">{}</td>", escape(&r.group)) } else { String::new() },
            r.n.0,
            r.n.1,
            display_number(r.mean.0),
            display_number(r.mean.1),
            display_number(r.diff),
            r.ci.map_or_else(|| "no interval".into(), |ci| display_number(ci.low)),
            r.ci.map_or_else(|| format!("n &lt; {MIN_RUNS}"), |ci| display_number(ci.high)),
            r.relative.map(display_percent).unwrap_or_else(|| "–".into()),
            display_number(r.p95.0),
            display_number(r.p95.1),
            if r.moved {
                if r.paired { "yes (paired)" } else { "yes" }
            } else if r.paired {
                "no (paired)"
            } else {
                "no"
            },
        );
    }
    let _ = writeln!(out, "</tbody></table>");
    if ranked.len() > table_rows {
        let _ = writeln!(
            out,
            "<p class=\"muted\">The first {table_rows} of {} rows by relevance; <code>compare.csv</code> has every row.</p>",
            ranked.len()
        );
    }
    let _ = writeln!(out, "</section>");
    // Over time, A against B, when each side is one setting.
    if let [(Some(ga), Some(gb))] = c.pairs.as_slice() {
        let mut series: Vec<&str> = c.a.bands[*ga]
            .iter()
            .filter(|b| b.key.entity.is_empty() && band_of(&c.b, *gb, &b.key.series).is_some())
            .map(|b| b.key.series.as_str())
            .collect();
        // Prices first (what the key metrics are about), then the model's order.
        series.sort_by_key(|s| !crate::units::has_token(s, "price"));
        let mut charts = String::new();
        let mut drawn = 0usize;
        for s in series {
            let (Some(ba), Some(bb)) = (band_of(&c.a, *ga, s), band_of(&c.b, *gb, s)) else { continue };
            if ba == bb || (ba.levels == bb.levels && ba.blocks == bb.blocks) {
                continue;
            }
            if drawn == MAX_OVER_TIME_CHARTS {
                break;
            }
            drawn += 1;
            let layer = |band: &Band, name: &str, color: &str| BandLayer {
                name: name.into(),
                color: color.into(),
                x: band.blocks.iter().map(|b| day_of(*b)).collect(),
                levels: band.levels.clone(),
                shade: true,
            };
            let q = describe(s);
            let text = ChartText {
                title: sentence(&q.label()),
                subtitle: "line: median; bands: P25–P75 and P5–P95 across seeds".into(),
                x_label: "day (simulated; 7,200 blocks of 12 s)".into(),
                y_label: q.label(),
            };
            let chart = svg::band_chart(
                &text,
                &[
                    layer(ba, &format!("A: {}", svg::truncate(&c.a.study.name, 40)), svg::color(0)),
                    layer(bb, &format!("B: {}", svg::truncate(&c.b.study.name, 40)), svg::color(1)),
                ],
            );
            let _ = writeln!(charts, "<figure>{chart}<figcaption><code>{}</code></figcaption></figure>", escape(s));
        }
        if !charts.is_empty() {
            let _ = writeln!(
                out,
                "<section id=\"over-time\">\n<h2>Over time (series that differ; prices first, at most {MAX_OVER_TIME_CHARTS})</h2>\n<div class=\"charts\">\n{charts}</div>\n</section>"
            );
        }
    }
    if !c.notes.is_empty() {
        let _ = writeln!(out, "<section id=\"notes\">\n<h2>Notes</h2>\n<ul>");
        for n in &c.notes {
            let _ = writeln!(out, "<li>{}</li>", escape(n));
        }
        let _ = writeln!(out, "</ul>\n</section>");
    }
    page(&title, &out)
}

/// Writes `compare.html` and `compare.csv` into `out_dir`; returns their paths.
pub fn write_comparison(c: &Comparison, out_dir: &Path) -> Result<Vec<PathBuf>> {
    let csv_path = out_dir.join("compare.csv");
    let html_path = out_dir.join("compare.html");
    let (csv, html) = (compare_csv(c)?, render_html(c));
    // Both renamed into place together: never a new table beside an old page.
    let mut staging = crate::tables::Staging::default();
    for (path, text) in [(&csv_path, &csv), (&html_path, &html)] {
        staging.file(path, |w| {
            std::io::Write::write_all(w, text.as_bytes()).map_err(|e| crate::Error::io(path, "cannot write", e))
        })?;
    }
    staging.commit()?;
    Ok(vec![html_path, csv_path])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_move_needs_an_interval_that_excludes_zero_and_a_minimum_effect() {
        let ci = |low, high| Some(Interval { low, high });
        assert!(!moved(-3.5e-15, ci(-3.5e-15, -3.5e-15), 20.0, 0.01), "means of 20.0 over 19 and 10 runs");
        assert!(moved(-0.5, ci(-0.6, -0.4), 20.0, 0.01), "2.5% of 20 with an interval below zero");
        assert!(!moved(-0.5, ci(-0.6, 0.1), 20.0, 0.01), "the interval includes zero");
        // A trivial shift with a tight interval (+0.003%, many seeds) is not a move.
        assert!(!moved(0.0006, ci(0.0005, 0.0007), 20.0, 0.01));
        assert!(moved(0.0006, ci(0.0005, 0.0007), 20.0, 0.0), "unless the minimum effect is 0");
        // No interval (fewer than MIN_RUNS runs on a side): never a move, however large.
        assert!(!moved(10.0, None, 20.0, 0.01));
    }

    #[test]
    fn runs_pair_only_when_both_sides_ran_the_same_distinct_seeds() {
        let a = [(Some(2), 1.0), (Some(1), 2.0)];
        let b = [(Some(1), 5.0), (Some(2), 7.0)];
        assert_eq!(paired(&a, &b), Some((vec![2.0, 1.0], vec![5.0, 7.0])), "ordered by seed");
        assert_eq!(paired(&a, &[(Some(1), 5.0), (Some(3), 7.0)]), None);
        assert_eq!(paired(&[(Some(1), 1.0), (Some(1), 2.0)], &[(Some(1), 1.0), (Some(1), 2.0)]), None);
        assert_eq!(paired(&[(None, 1.0)], &[(None, 1.0)]), None);
    }
}
