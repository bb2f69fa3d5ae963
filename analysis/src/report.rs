//! `report.html` and its tables: one self-contained HTML file with inline SVG charts, and the
//! same numbers as tidy CSV files beside it.
//!
//! | file | contents |
//! |---|---|
//! | `report.html` | header, headline metrics, bands over time, per-entity series (top k + rest), metrics against each varied parameter, notes, definitions |
//! | the CSV tables | see [`crate::tables`] |
//!
//! Every file is written to a temporary name in the output folder and renamed into place, and
//! holds no timestamp, host or absolute path: the same study gives the same bytes.

use crate::analyse::{Analysis, Band, MetricSource, REST_MEAN, REST_SUM};
use crate::error::Result;
use crate::format::{compact_number_digits, display_number, escape};
use crate::stats::spread;
use crate::study::numeric_value;
use crate::svg::{self, BandLayer, ChartText, ErrorPoint, ErrorSeries};
use crate::units::describe;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub use crate::headline::{KEY_METRICS, is_key_metric, key_metrics, key_rank};

/// Most groups drawn in one chart over time (chosen evenly over the groups beyond it).
pub const MAX_GROUPS_DRAWN: usize = 10;
/// Most groups whose bands are shaded (beyond, medians only, so they stay readable).
pub const MAX_GROUPS_SHADED: usize = 4;
/// Most settings shown side by side (as columns) in the headline table; with more, every
/// setting is a row instead (never a subset: an evenly chosen subset of a grid confounds
/// its parameters).
pub const MAX_GROUPS_IN_TABLE: usize = 6;
/// Most metric-against-parameter charts per parameter.
pub const MAX_PARAMETER_CHARTS: usize = 36;
/// Most series combinations of the other parameters drawn separately in a parameter chart.
pub const MAX_PARAMETER_SERIES: usize = 6;

pub use crate::tables::{day_of, write_atomic};

/// Upper-cases the first letter.
pub fn sentence(text: &str) -> String {
    let mut c = text.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Up to `max` indices out of `n`, evenly spread, first and last included.
pub fn spread_indices(n: usize, max: usize) -> Vec<usize> {
    if n <= max {
        return (0..n).collect();
    }
    let mut idx: Vec<usize> = (0..max).map(|i| (i * (n - 1) + (max - 1) / 2) / (max - 1).max(1)).collect();
    idx.dedup();
    idx
}

/// The CSS of reports and comparisons.
pub const STYLE: &str = "body{margin:0;background:#fafafa;color:#222;font:14px/1.5 system-ui,-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif}\
main{max-width:1220px;margin:0 auto;padding:20px 28px 60px;background:#fff}\
h1{font-size:24px;margin:8px 0 4px}h2{font-size:19px;margin:34px 0 8px;border-bottom:2px solid #eee;padding-bottom:4px}h3{font-size:15px;margin:20px 0 6px}\
p.facts{color:#555;margin:0 0 8px}nav a{margin-right:14px}code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f3f3f3;padding:0 3px;border-radius:3px}\
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}th,td{padding:4px 10px;border-bottom:1px solid #eee;text-align:right;vertical-align:top}\
th{background:#f5f5f5;font-weight:600}td.l,th.l{text-align:left}tr:hover td{background:#fbfbf4}\
.charts{display:flex;flex-wrap:wrap;gap:14px}figure{margin:0;border:1px solid #eee;border-radius:6px;padding:6px;background:#fff}\
figure svg{display:block;max-width:100%;height:auto}figcaption{font-size:12px;color:#666;padding:2px 4px}\
.muted{color:#777}.scroll{overflow-x:auto;max-width:100%}.up{color:#b03a2e}.down{color:#1f618d}details{margin:6px 0}summary{cursor:pointer;color:#333}\
dl dt{font-weight:600;margin-top:8px}dl dd{margin-left:18px}";

/// The script of reports and comparisons: hover values and x-axis zoom on the charts, from
/// the data they carry ([`crate::svg`]). Ours, inlined: the page loads nothing, and without
/// JavaScript the charts are the same static SVG.
pub const CHARTS_SCRIPT: &str = include_str!("../assets/charts.js");

/// The HTML page around a body, with [`CHARTS_SCRIPT`] at its end. The script sits in a
/// commented-out CDATA section, so the page stays well-formed XML (its `<` and `&`).
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n<script>//<![CDATA[\n{CHARTS_SCRIPT}//]]>\n</script>\n</body>\n</html>\n",
        escape(title)
    )
}

/// The width an SVG declares (`viewBox="0 0 W H"`).
fn svg_width(svg: &str) -> Option<f64> {
    let rest = &svg[svg.find("viewBox=\"0 0 ")? + 13..];
    rest.split(' ').next()?.parse().ok()
}

/// A chart with its caption, the caption no wider than the chart.
pub fn figure(out: &mut String, svg: &str, caption: &str) {
    let width = svg_width(svg).unwrap_or(580.0);
    let _ = writeln!(out, "<figure>{svg}<figcaption style=\"max-width:{width:.0}px\">{caption}</figcaption></figure>");
}

/// Whether a parameter value is structured (a TOML list or table, e.g. a list of events).
fn is_structured(value: &str) -> bool {
    value.contains('{') || value.contains('[')
}

/// Readable labels for structured values (`[{ at = "5d", kind = "depth_cut", factor = 0.5,
/// days = 7 }, ...]`): the `key=value` parts that are not the same in every value, in order
/// (`days=7, factor=0.5`). The full values are in `settings.csv`.
pub fn differing_parts(values: &[String]) -> Vec<String> {
    let tokens: Vec<Vec<String>> = values
        .iter()
        .map(|v| {
            v.split([',', '{', '}', '[', ']']).map(|t| t.trim().replace(" = ", "=")).filter(|t| !t.is_empty()).collect()
        })
        .collect();
    let count = |ts: &[String], t: &String| ts.iter().filter(|u| *u == t).count();
    tokens
        .iter()
        .zip(values)
        .map(|(ts, full)| {
            let mut parts: Vec<&String> = Vec::new();
            for t in ts {
                let mine = count(ts, t);
                if !tokens.iter().all(|other| count(other, t) == mine) && !parts.contains(&t) {
                    parts.push(t);
                }
            }
            if parts.is_empty() {
                full.clone()
            } else {
                parts.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
            }
        })
        .collect()
}

/// Short labels for a parameter's values: numbers compact (`2M`) with the fewest significant
/// digits (3 or more) that keep every value distinct (`15.65M`, `15.66M`); structured values
/// by what differs between them ([`differing_parts`]); other text as it is.
pub fn compact_labels(values: &[String]) -> Vec<String> {
    if values.iter().any(|v| is_structured(v)) {
        let labels = differing_parts(values);
        let mut unique = labels.clone();
        unique.sort();
        unique.dedup();
        return if unique.len() == labels.len() { labels } else { values.to_vec() };
    }
    for digits in 3..=12 {
        let labels: Vec<String> = values
            .iter()
            .map(|v| numeric_value(v).map_or_else(|| v.clone(), |x| compact_number_digits(x, digits)))
            .collect();
        let mut unique = labels.clone();
        unique.sort();
        unique.dedup();
        if unique.len() == labels.len() {
            return labels;
        }
    }
    values.to_vec()
}

/// The short label of value `value` of parameter `p` among the settings' values.
pub fn compact_value(a: &Analysis, p: usize, value: &str) -> String {
    let values = parameter_values(a, p);
    let labels = compact_labels(&values);
    values.iter().position(|v| v == value).map_or_else(|| value.to_string(), |i| labels[i].clone())
}

/// A setting's label for legends: its short label, then the last segment of each
/// parameter's path and its compact value (`s02 depth_usd=2M, sell_fraction=0.3`; a
/// structured value in braces, `s03 events={days=21, factor=0.1}`). The short label comes
/// first so that legends cut to a chart's width still tell the settings apart.
pub fn short_label(a: &Analysis, g: usize) -> String {
    let group = &a.study.groups[g];
    if a.study.params.is_empty() {
        return group.label.clone();
    }
    let values = a
        .study
        .params
        .iter()
        .zip(&group.values)
        .enumerate()
        .map(|(i, (p, v))| {
            let name = p.rsplit('.').next().unwrap_or(p);
            let value = compact_value(a, i, v);
            if is_structured(v) { format!("{name}={{{value}}}") } else { format!("{name}={value}") }
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!("{} {values}", a.study.setting_label(g))
}

/// A series' band chart; a price's on a logarithmic axis when its range spans a factor of
/// [`svg::LOG_AXIS_MIN_RATIO`] or more (on a linear axis a crash after a spike is flattened
/// under the spike), said in the axis label.
fn series_chart(name: &str, mut text: ChartText, layers: &[BandLayer]) -> String {
    if crate::units::has_token(name, "price") && svg::wants_log_axis(layers) {
        text.y_label = format!("{} (log scale)", text.y_label);
        return svg::band_chart_auto(&text, layers).0;
    }
    svg::band_chart(&text, layers)
}

/// Chart text for a series over time.
fn series_text(series: &str, subtitle: String) -> ChartText {
    let q = describe(series);
    ChartText {
        title: sentence(&q.label()),
        subtitle,
        x_label: "day (simulated; 7,200 blocks of 12 s)".into(),
        y_label: q.label(),
    }
}

/// Whether every level of every band is one and the same value.
fn constant_value(bands: &[&Band]) -> Option<f64> {
    let first = bands.first()?.levels[2].first().copied()?;
    let same = |v: &f64| (v - first).abs() <= 1e-12 * first.abs().max(1.0);
    bands.iter().all(|b| b.levels.iter().all(|l| l.iter().all(same))).then_some(first)
}

fn band_layer(band: &Band, name: String, color: &str, shade: bool) -> BandLayer {
    BandLayer {
        name,
        color: color.to_string(),
        x: band.blocks.iter().map(|b| day_of(*b)).collect(),
        levels: band.levels.clone(),
        shade,
    }
}

fn over_time_section(a: &Analysis, out: &mut String, notes: &mut Vec<String>) {
    let groups = spread_indices(a.study.groups.len(), MAX_GROUPS_DRAWN);
    let shade = groups.len() <= MAX_GROUPS_SHADED;
    let mut series: Vec<&str> = Vec::new();
    for bands in &a.bands {
        for b in bands.iter().filter(|b| b.key.entity.is_empty()) {
            if !series.contains(&b.key.series.as_str()) {
                series.push(&b.key.series);
            }
        }
    }
    let _ = writeln!(out, "<section id=\"over-time\">\n<h2>Over time</h2>");
    let seeds = seeds_phrase(a);
    let _ = writeln!(
        out,
        "<p>Each chart is one column of <code>timeseries.csv</code> (or a concentration measure computed from a per-entity table). The line is the median over {seeds} at each block; the dark band holds the middle half of the runs (P25–P75), the light band 90% of them (P5–P95).{}</p>",
        if groups.len() < a.study.groups.len() {
            format!(
                " {} of the {} parameter settings are drawn (evenly chosen); <code>bands.csv</code> has them all.",
                groups.len(),
                a.study.groups.len()
            )
        } else {
            String::new()
        }
    );
    let mut constant: Vec<String> = Vec::new();
    let _ = writeln!(out, "<div class=\"charts\">");
    for name in series {
        let found: Vec<(usize, &Band)> = groups
            .iter()
            .filter_map(|&g| {
                a.bands[g].iter().find(|b| b.key.series == name && b.key.entity.is_empty()).map(|b| (g, b))
            })
            .collect();
        let all: Vec<&Band> = found.iter().map(|(_, b)| *b).collect();
        if let Some(v) = constant_value(&all) {
            constant.push(format!("<code>{}</code> = {}", escape(name), display_number(v)));
            continue;
        }
        let layers: Vec<BandLayer> = found
            .iter()
            .enumerate()
            .map(|(i, (g, b))| band_layer(b, svg::truncate(&short_label(a, *g), 44), svg::color(i), shade))
            .collect();
        let subtitle = if shade {
            "line: median; dark band: P25–P75; light band: P5–P95 across seeds".to_string()
        } else {
            "lines: median across seeds of each setting (bands in bands.csv)".to_string()
        };
        let chart = series_chart(name, series_text(name, subtitle), &layers);
        let n_max = found.iter().flat_map(|(_, b)| b.n.iter()).max().copied().unwrap_or(0);
        figure(out, &chart, &format!("<code>{}</code>; up to {n_max} runs per setting at each block.", escape(name)));
    }
    let _ = writeln!(out, "</div>");
    if !constant.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"muted\">Constant in every run and at every block (not drawn): {}.</p>",
            constant.join(", ")
        );
    }
    let _ = writeln!(out, "</section>");
    if a.study.groups.len() > 1 && a.bands.iter().any(|b| b.iter().any(|b| !b.key.entity.is_empty())) {
        notes.push(format!(
            "Per-entity charts show the first setting ({}); bands.csv has every setting's top entities.",
            escape(&a.study.groups[0].label)
        ));
    }
}

fn entity_section(a: &Analysis, out: &mut String) {
    let Some(bands) = a.bands.first() else { return };
    let mut series: Vec<&str> = Vec::new();
    for b in bands.iter().filter(|b| !b.key.entity.is_empty()) {
        if !series.contains(&b.key.series.as_str()) {
            series.push(&b.key.series);
        }
    }
    if series.is_empty() {
        return;
    }
    let _ = writeln!(out, "<section id=\"entities\">\n<h2>Per-entity series</h2>");
    for r in a.rankings.first().into_iter().flatten() {
        let rest = r.total.saturating_sub(r.top.len());
        let _ = writeln!(
            out,
            "<p><code>{t}.csv</code>: {n} entities (<code>{e}</code>). The {k} with the largest mean <code>{c}</code> over the run (averaged over seeds) are drawn one by one{rest_text}. Lines are medians across seeds.</p>",
            t = escape(&r.table),
            n = r.total,
            e = escape(&r.entity_column),
            k = r.top.len(),
            c = escape(&r.rank_column),
            rest_text = if rest > 0 {
                format!(
                    "; the other {rest} are drawn as their mean per entity (<code>rest_mean</code>, comparable with one entity; <code>bands.csv</code> also has their sum, <code>rest_sum</code>, for amounts and counts)"
                )
            } else {
                String::new()
            },
        );
    }
    let _ = writeln!(out, "<div class=\"charts\">");
    for name in series {
        let table = name.split('.').next().unwrap_or_default();
        let entity_column = a
            .rankings
            .first()
            .and_then(|rs| rs.iter().find(|r| r.table == table))
            .map(|r| r.entity_column.clone())
            .unwrap_or_else(|| "entity".into());
        let members: Vec<&Band> = bands
            .iter()
            .filter(|b| b.key.series == name && !b.key.entity.is_empty() && b.key.entity != REST_SUM)
            .collect();
        let ranking = a.rankings.first().and_then(|rs| rs.iter().find(|r| r.table == table));
        let others = ranking.map_or(0, |r| r.total.saturating_sub(r.top.len()));
        let mut layers = Vec::new();
        for (i, b) in members.iter().enumerate() {
            let (label, color) = if b.key.entity == REST_MEAN {
                (format!("rest: mean of {others}"), svg::REST_COLOR)
            } else {
                (format!("{entity_column} {}", b.key.entity), svg::color(i))
            };
            layers.push(band_layer(b, label, color, false));
        }
        let top = members.iter().filter(|b| b.key.entity != REST_MEAN).count();
        let chart = series_chart(
            name,
            series_text(name, format!("median across seeds; the top {top} one by one, the rest as a mean per entity")),
            &layers,
        );
        figure(out, &chart, &format!("<code>{}</code> by <code>{}</code>.", escape(name), escape(&entity_column)));
    }
    let _ = writeln!(out, "</div>\n</section>");
}

fn seeds_phrase(a: &Analysis) -> String {
    let counts: Vec<usize> = (0..a.study.groups.len()).map(|g| a.study.runs_of(g).len()).collect();
    let (lo, hi) = (counts.iter().min().copied().unwrap_or(0), counts.iter().max().copied().unwrap_or(0));
    let per = if a.study.groups.len() > 1 { " per setting" } else { "" };
    match (lo, hi) {
        (1, 1) => "the single run".to_string(),
        (l, h) if l == h => format!("{l} seeds{per}"),
        (l, h) => format!("{l}–{h} seeds{per}"),
    }
}

/// Distinct values of parameter `p` over the groups, numeric order when all are numbers.
fn parameter_values(a: &Analysis, p: usize) -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for g in &a.study.groups {
        if let Some(v) = g.values.get(p)
            && !values.contains(v)
        {
            values.push(v.clone());
        }
    }
    if values.iter().all(|v| numeric_value(v).is_some()) {
        values.sort_by(|x, y| numeric_value(x).unwrap_or(0.0).total_cmp(&numeric_value(y).unwrap_or(0.0)));
    }
    values
}

fn parameter_section(a: &Analysis, out: &mut String) {
    if a.study.params.is_empty() || a.study.groups.len() < 2 {
        return;
    }
    let _ = writeln!(out, "<section id=\"parameters\">\n<h2>Metrics against parameters</h2>");
    let _ = writeln!(
        out,
        "<p>For each varied parameter, each metric that differs between settings: the dot is the median over the runs at that value, the thick bar P25–P75, the whisker P5–P95. Numeric values are evenly spaced in increasing order, their medians joined; text and list values are categories, not joined. When other parameters vary too, each combination of them is a separate series (up to {MAX_PARAMETER_SERIES}; beyond, all runs at a value are pooled).</p>"
    );
    // Metrics that differ between groups: key risk metrics, then run summaries, then the rest.
    let mut varying: Vec<usize> = Vec::new();
    let tier = |m: usize| match (a.metric_sources[m], is_key_metric(&a.metric_names[m])) {
        (MetricSource::Computed, true) => 0,
        (MetricSource::Summary, _) => 1,
        (MetricSource::Computed, false) => 2,
    };
    for level in 0..3 {
        let mut in_tier: Vec<usize> = (0..a.metric_names.len()).filter(|&m| tier(m) == level).collect();
        // Key metrics in the headline's order.
        in_tier.sort_by_key(|&m| key_rank(&a.metric_names[m]).unwrap_or(usize::MAX));
        for m in in_tier {
            let medians: Vec<f64> =
                (0..a.study.groups.len()).filter_map(|g| a.stats[g][m].map(|s| s.spread.median())).collect();
            let (lo, hi) = medians.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
            if medians.len() >= 2 && hi - lo > 1e-12 * hi.abs().max(lo.abs()).max(1e-300) {
                varying.push(m);
            }
        }
    }
    if varying.is_empty() {
        let _ = writeln!(out, "<p class=\"muted\">No metric differs between the settings.</p>\n</section>");
        return;
    }
    for (p, param) in a.study.params.iter().enumerate() {
        let categories = parameter_values(a, p);
        // Series: combinations of the other parameters' values.
        let combo = |g: usize| -> String {
            a.study.groups[g]
                .values
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != p)
                .map(|(i, v)| {
                    format!("{}={}", a.study.params[i].rsplit('.').next().unwrap_or_default(), compact_value(a, i, v))
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut combos: Vec<String> = Vec::new();
        for g in 0..a.study.groups.len() {
            let c = combo(g);
            if !combos.contains(&c) {
                combos.push(c);
            }
        }
        let pooled = combos.len() > MAX_PARAMETER_SERIES;
        if pooled {
            combos = vec!["all other settings pooled".into()];
        }
        let _ = writeln!(out, "<h3>Against <code>{}</code></h3>\n<div class=\"charts\">", escape(param));
        // Numeric values are ordered (a line between medians reads as a trend); text and
        // lists are categories.
        let ordered = categories.iter().all(|v| numeric_value(v).is_some());
        let shown: Vec<usize> = varying.iter().copied().take(MAX_PARAMETER_CHARTS).collect();
        let full_titles: Vec<String> = shown.iter().map(|&m| sentence(&describe(&a.metric_names[m]).name)).collect();
        let titles = svg::distinct_labels(&full_titles, 40);
        for (&m, title) in shown.iter().zip(titles) {
            let mut series = Vec::new();
            for (k, c) in combos.iter().enumerate() {
                let mut points = Vec::new();
                for (ci, value) in categories.iter().enumerate() {
                    let xs: Vec<f64> = a
                        .study
                        .runs
                        .iter()
                        .zip(&a.values)
                        .filter(|(r, _)| {
                            let g = &a.study.groups[r.group];
                            g.values.get(p) == Some(value) && (pooled || combo(r.group) == *c)
                        })
                        .map(|(_, v)| v[m])
                        .collect();
                    if let Some(s) = spread(&xs) {
                        points.push(ErrorPoint { category: ci, levels: s.percentiles });
                    }
                }
                if !points.is_empty() {
                    let name =
                        if c.is_empty() { "median, P25–P75, P5–P95".to_string() } else { svg::truncate(c, 40) };
                    series.push(ErrorSeries { name, color: svg::color(k).into(), points });
                }
            }
            let q = describe(&a.metric_names[m]);
            let text = ChartText {
                title,
                subtitle: format!("{} runs", a.study.runs.len()),
                x_label: param.clone(),
                y_label: q.label(),
            };
            let labels = compact_labels(&categories);
            let chart = svg::errorbar_chart(&text, &labels, &series, ordered);
            figure(
                out,
                &chart,
                &format!("<code>{}</code> against <code>{}</code>.", escape(&a.metric_names[m]), escape(param)),
            );
        }
        let _ = writeln!(out, "</div>");
        if varying.len() > MAX_PARAMETER_CHARTS {
            let _ = writeln!(
                out,
                "<p class=\"muted\">{} more metrics differ between settings; see <code>metrics.csv</code>.</p>",
                varying.len() - MAX_PARAMETER_CHARTS
            );
        }
    }
    let _ = writeln!(out, "</section>");
}

fn notes_section(a: &Analysis, out: &mut String, extra: &[String]) {
    let _ = writeln!(out, "<section id=\"notes\">\n<h2>Notes</h2>\n<ul>");
    for note in extra {
        let _ = writeln!(out, "<li>{note}</li>");
    }
    let runs = a.study.runs.len();
    for (text, n) in &a.notes {
        let share = if *n >= runs { "all runs".to_string() } else { format!("{n} of {runs} runs") };
        let _ = writeln!(out, "<li>{} <span class=\"muted\">({share})</span></li>", escape(text));
    }
    if extra.is_empty() && a.notes.is_empty() {
        let _ = writeln!(out, "<li>Nothing was skipped.</li>");
    }
    let _ = writeln!(out, "</ul>");
    if !a.study.failed.is_empty() {
        let _ = writeln!(
            out,
            "<h3>Failed runs ({})</h3>\n<table><thead><tr><th class=\"l\">run</th><th class=\"l\">setting</th><th>seed</th><th class=\"l\">error</th></tr></thead><tbody>",
            a.study.failed.len()
        );
        for f in a.study.failed.iter().take(50) {
            let _ = writeln!(
                out,
                "<tr><td class=\"l\"><code>{}</code></td><td class=\"l\">{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
                escape(&f.id),
                escape(&f.group),
                escape(&f.seed),
                escape(&f.error)
            );
        }
        let _ = writeln!(out, "</tbody></table>");
        if a.study.failed.len() > 50 {
            let _ = writeln!(out, "<p class=\"muted\">and {} more.</p>", a.study.failed.len() - 50);
        }
    }
    let _ = writeln!(out, "</section>");
}

/// The definitions every report ends with.
pub fn definitions(a: &Analysis) -> String {
    format!(
        "<section id=\"definitions\">\n<h2>Definitions</h2>\n<dl>\n\
<dt>Percentiles</dt><dd>Type 7 (R's default, NumPy's <code>linear</code>): for n sorted values and level p, h = (n − 1)p and Q(p) = x[⌊h⌋] + (h − ⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋]).</dd>\n\
<dt>Bands</dt><dd>At each block, the percentiles over the runs of a setting that have a sample there (runs aligned by block; <code>n</code> in <code>bands.csv</code>). Kept blocks: multiples of {stride} blocks and each run's last sample.</dd>\n\
<dt>Confidence interval of the mean</dt><dd>Percentile bootstrap, {resamples} resamples with replacement, {level}% level; indices drawn from a ChaCha12 stream keyed by seed {seed} and the metric's and setting's names, so the report is reproducible.</dd>\n\
<dt>Measured from the event</dt><dd>The <code>.event.</code> metrics start at the run's first scripted stress (a <code>shock</code>, <code>attack_step</code> or <code>halt_emission</code> row of <code>events.csv</code>), else its first halving, at or after <code>run.burn_in</code> (<code>event.day</code>): from the last sample before it, whose price is the first peak, to the end. <em>Trough days</em>: from the event to the drawdown's trough. Runs that never regain the peak have no recovery days; <code>never_recovered</code> is 1 for them, and the tables say how many of the runs they are.</dd>\n\
<dt>Maximum drawdown</dt><dd>max over t of 1 − P<sub>t</sub> / max<sub>s≤t</sub> P<sub>s</sub>, over every sample of a price column after <code>run.burn_in</code> (or from the event); <em>recovery days</em>: from the trough to the first sample back at the peak (absent when the run ends below it; <code>recovered</code> is then 0).</dd>\n\
<dt>VaR and ES (95%, 99%)</dt><dd>Historical, from daily simple returns of the price at day boundaries (the last sample at or before each multiple of 7,200 blocks): VaR = −Q(1 − c) of the returns (type 7), ES = −mean of the returns at or below that quantile. Positive numbers are losses.</dd>\n\
<dt>Peak sell pressure over depth</dt><dd>max over samples of sell pressure (per day) / exchange depth, same currency: the share of the book sold in a day at the worst moment.</dd>\n\
<dt>Exit fraction after a halving</dt><dd>miners' <code>exit</code> events (subject <code>miner N</code>) in [h, h + 30 days) over <code>active_miners</code> at the last sample before the halving block h. Halvings are numbered in the order they occur in each run.</dd>\n\
<dt>GPUs online before / after</dt><dd><code>gpus_online</code> (or the sum of <code>gpus_online_*</code>) at the last sample before h and at h + 30 days.</dd>\n\
<dt>Attackers</dt><dd>Mean attacker share (emission, stake, cost) from the first sample with a positive share; the ratio of emission share to stake or cost share; the last value of cumulative attack cost.</dd>\n\
<dt>Nakamoto coefficient</dt><dd>The fewest entities (largest first) holding more than {threshold}% of the total, at each block of a per-entity table's stake or emission column (or as the model writes it, e.g. <code>nakamoto_stake</code>).</dd>\n\
<dt>Gini</dt><dd>Σ<sub>i,j</sub>|x<sub>i</sub> − x<sub>j</sub>| / (2n²μ) over the entities at each block (population form: 0 when all hold the same, (n − 1)/n when one holds all).</dd>\n\
</dl>\n</section>\n",
        stride = a.stride_blocks,
        resamples = a.options.resamples,
        level = display_number(a.options.confidence * 100.0),
        seed = a.options.bootstrap_seed,
        threshold = display_number(a.options.nakamoto_threshold * 100.0),
    )
}

/// The whole `report.html`.
pub fn render_html(a: &Analysis) -> String {
    let study = &a.study;
    let mut out = String::new();
    let title = format!("taosim report: {} ({})", study.name, study.kind.word());
    let _ = writeln!(out, "<header>\n<h1>{}</h1>", escape(&title));
    let mut facts: Vec<String> =
        study.facts.iter().map(|(k, v)| format!("{}: <b>{}</b>", escape(k), escape(v))).collect();
    facts.push(format!(
        "<b>{}</b> runs ({} failed) in <b>{}</b> setting{}; {}",
        study.runs.len(),
        study.failed.len(),
        study.groups.len(),
        if study.groups.len() == 1 { "" } else { "s" },
        seeds_phrase(a)
    ));
    if !study.params.is_empty() {
        facts.push(format!(
            "varied: {}",
            study.params.iter().map(|p| format!("<code>{}</code>", escape(p))).collect::<Vec<_>>().join(", ")
        ));
    }
    let _ = writeln!(out, "<p class=\"facts\">{}</p>", facts.join(" · "));
    let _ = writeln!(
        out,
        "<nav>{}<a href=\"#headline\">Headline metrics</a>{}<a href=\"#over-time\">Over time</a>{}{}<a href=\"#notes\">Notes</a><a href=\"#definitions\">Definitions</a></nav>\n</header>",
        if a.metric_names.iter().any(|m| m.starts_with("flag.")) {
            "<a href=\"#plausibility\">Plausibility</a>"
        } else {
            ""
        },
        if a.metric_index("tao_market_cap_usd.event.max_loss_usd").is_some() {
            "<a href=\"#risk-summary\">Risk summary</a>"
        } else {
            ""
        },
        if a.bands.first().is_some_and(|b| b.iter().any(|b| !b.key.entity.is_empty())) {
            "<a href=\"#entities\">Per-entity series</a>"
        } else {
            ""
        },
        if study.params.is_empty() || study.groups.len() < 2 {
            ""
        } else {
            "<a href=\"#parameters\">Against parameters</a>"
        },
    );
    let _ = writeln!(
        out,
        "<section id=\"how-to-read\">\n<h2>How to read this report</h2>\n<p>A run is one seed of one setting; a setting is one combination of the varied parameters. Runs differ only by seed within a setting, so the spread within a setting is the model's randomness and differences between settings are the parameters' effect. Metrics are computed per run, then summarised over seeds. Settings are named <code>s01</code>, <code>s02</code>... everywhere; <code>settings.csv</code> maps them to the parameters' full values. Tables beside this file hold every number: <code>metrics.csv</code> (per setting and metric), <code>bands.csv</code> and <code>entity_bands.csv</code> (every band, long format), <code>runs.csv</code> (per run, with the plausibility flags); load them with <code>pandas.read_csv</code> or <code>polars.read_csv</code> without options.</p>\n</section>"
    );
    crate::headline::plausibility_section(a, &mut out);
    crate::headline::headline_section(a, &mut out);
    crate::headline::risk_summary_section(a, &mut out);
    let mut notes = Vec::new();
    over_time_section(a, &mut out, &mut notes);
    entity_section(a, &mut out);
    parameter_section(a, &mut out);
    notes_section(a, &mut out, &notes);
    out.push_str(&definitions(a));
    page(&title, &out)
}

/// Writes `report.html` and the CSV tables ([`crate::tables::TABLE_FILES`]) into `out_dir`;
/// returns their paths, in name order.
pub fn write_report(a: &Analysis, out_dir: &Path) -> Result<Vec<PathBuf>> {
    let mut staging = crate::tables::Staging::default();
    crate::tables::stage_tables(a, out_dir, &mut staging)?;
    let html = render_html(a);
    staging.file(&out_dir.join("report.html"), |w| {
        std::io::Write::write_all(w, html.as_bytes()).map_err(|e| crate::Error::io(out_dir, "cannot write", e))
    })?;
    let mut written = staging.paths();
    staging.commit()?;
    written.sort();
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_labels_keep_values_apart() {
        let v = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        // A list of events: every legend was the same truncated TOML; now what differs.
        let events = v(&[
            r#"[{ at = "5d", factor = 0.6, kind = "price_jump" }, { at = "5d", days = 7, factor = 0.5, kind = "depth_cut" }]"#,
            r#"[{ at = "5d", factor = 0.6, kind = "price_jump" }, { at = "5d", days = 21, factor = 0.5, kind = "depth_cut" }]"#,
            r#"[{ at = "5d", factor = 0.6, kind = "price_jump" }, { at = "5d", days = 7, factor = 0.02, kind = "depth_cut" }]"#,
        ]);
        assert_eq!(compact_labels(&events), v(&["days=7, factor=0.5", "days=21, factor=0.5", "days=7, factor=0.02"]));
        assert_eq!(compact_labels(&v(&["2000000", "20000000"])), v(&["2M", "20M"]));
        assert_eq!(compact_labels(&v(&["15650000", "15660000"])), v(&["15.65M", "15.66M"]));
        assert_eq!(compact_labels(&v(&["halving", "smooth"])), v(&["halving", "smooth"]));
    }

    /// One setting whose values span a factor of 100 (a log axis for prices).
    fn spiky_layer() -> BandLayer {
        let values = vec![100.0, 1_000.0, 10.0];
        BandLayer {
            name: "s01".into(),
            color: "#000".into(),
            x: vec![0.0, 1.0, 2.0],
            levels: [values.clone(), values.clone(), values.clone(), values.clone(), values],
            shade: false,
        }
    }

    #[test]
    fn prices_that_span_a_factor_of_3_get_a_log_axis() {
        let layer = spiky_layer();
        let chart = |name: &str| series_chart(name, series_text(name, String::new()), std::slice::from_ref(&layer));
        assert!(chart("tao_price_usd").contains("(log scale)"));
        assert!(!chart("active_miners").contains("(log scale)"), "counts stay linear");
    }

    #[test]
    fn the_page_inlines_its_script_and_loads_nothing() {
        let layer = spiky_layer();
        let chart = series_chart("tao_price_usd", series_text("tao_price_usd", String::new()), &[layer]);
        let html = page("a & b", &format!("<figure>{chart}</figure>"));
        // Well-formed XML (the script's `<` and `&` in a CDATA section), the script inline once.
        let doc = roxmltree::Document::parse_with_options(
            &html,
            roxmltree::ParsingOptions { allow_dtd: true, ..roxmltree::ParsingOptions::default() },
        )
        .expect("well-formed");
        let scripts: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("script")).collect();
        assert_eq!(scripts.len(), 1);
        assert!(scripts[0].attributes().len() == 0, "no src, no type: inline JavaScript");
        let text: String = scripts[0].children().filter_map(|n| n.text()).collect();
        assert!(text.contains(CHARTS_SCRIPT.trim()), "the whole script, inline");
        assert!(!CHARTS_SCRIPT.contains("]]>") && !CHARTS_SCRIPT.to_ascii_lowercase().contains("</script"));
        // Nothing fetched at view time: no URL to load in the page or the script.
        for needle in ["http://", "https://", "src=", "fetch(", "XMLHttpRequest", "import(", "@import"] {
            assert!(!CHARTS_SCRIPT.contains(needle), "{needle} in the script");
        }
        for node in doc.descendants() {
            for a in node.attributes().filter(|a| matches!(a.name(), "src" | "href")) {
                assert!(!a.value().contains("//"), "{}={}", a.name(), a.value());
            }
        }
        let svg = doc.descendants().find(|n| n.has_tag_name("svg")).expect("the chart");
        assert_eq!(svg.attribute("data-chart"), Some("band"));
        assert_eq!(svg.attribute("data-ylog"), Some("1"), "a price spanning a factor of 100");
    }

    #[test]
    fn evenly_spread_indices_keep_both_ends() {
        assert_eq!(spread_indices(3, 10), vec![0, 1, 2]);
        let idx = spread_indices(100, 10);
        assert_eq!((idx.len(), idx[0], idx[9]), (10, 0, 99));
        assert!(idx.windows(2).all(|w| w[0] < w[1]));
    }
}
