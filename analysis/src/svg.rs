//! Hand-written SVG charts: percentile bands over time, a metric against a parameter with
//! error bars, and a forest plot of changes with confidence intervals.
//!
//! Charts are plain SVG 1.1 with inline styles (no scripts, no external fonts or files), so
//! they render the same inside `report.html`, opened alone, or in a PDF. Every chart has a
//! title, axis labels with units and a legend; coordinates are printed with one decimal, so
//! the bytes are the same on every machine. Colours: Tableau 10 (distinguishable in print
//! and by most colour-blind readers), grey for an aggregated "rest".
//!
//! Charts also carry their data in `data-*` attributes, for the page's script
//! (`assets/charts.js`: hover values and zoom) to read; they change nothing drawn. The root
//! `<svg>` of a chart with hover has `data-chart` (`band`, `errorbar` or `forest`), the plot
//! box in pixels (`data-x0`, `data-x1`, `data-y0`, `data-y1`), the axis ends in values
//! (`data-xmin`... `data-ymax`), `data-ylog="1"` on a logarithmic value axis and the value
//! axis's label (`data-yname`). A band chart's drawing is in `<g data-role="series">`, its
//! x ticks in `<g data-role="xticks">`, and each median line has `data-label`, `data-y`
//! (the values drawn) and `data-x` (days; left out when the same as the previous line's),
//! written compactly by [`data_series`]. Each error-bar point is a `<g>` with `data-label`
//! and `data-v` (P5, P25, P50, P75, P95), each forest row one with `data-label` and
//! `data-tip` (the values as text). Values keep [`DATA_SIGNIFICANT_DIGITS`] significant digits.

use crate::format::escape;
use std::fmt::Write as _;

mod data;
use data::chart_data;
pub use data::{DATA_SIGNIFICANT_DIGITS, data_decode, data_list, data_number, data_series};

/// Series colours, in order.
pub const PALETTE: [&str; 10] =
    ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#9c755f", "#ff9da7", "#bcbd22", "#17becf"];

/// The colour of an aggregate of the entities outside the top `k`.
pub const REST_COLOR: &str = "#8c8c8c";

const FONT: &str = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif";
const INK: &str = "#222";
const WHITE: &str = "#ffffff";
const STRIPE: &str = "#f6f6f6";
const MUTED: &str = "#666";
const GRID: &str = "#e6e6e6";
const AXIS: &str = "#999";

/// Most points drawn per line; longer series are thinned evenly (the CSV has them all).
pub const MAX_POINTS_DRAWN: usize = 720;

/// Width of a chart over time: two fit side by side in a report.
pub const BAND_CHART_WIDTH: f64 = 580.0;

/// The colour of series `i`.
pub fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// Title, subtitle and axis labels of a chart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChartText {
    /// Bold line at the top.
    pub title: String,
    /// What is drawn and how to read it.
    pub subtitle: String,
    /// Horizontal axis label with unit.
    pub x_label: String,
    /// Vertical axis label with unit.
    pub y_label: String,
}

/// An axis range with round ticks.
#[derive(Clone, Debug, PartialEq)]
pub struct Scale {
    /// Lower end of the axis.
    pub min: f64,
    /// Upper end of the axis.
    pub max: f64,
    /// Tick positions.
    pub ticks: Vec<f64>,
    /// Distance between ticks.
    pub step: f64,
}

/// The nice step (1, 2, 2.5 or 5 times a power of ten) nearest above `raw`.
pub fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let power = libm::pow(10.0, libm::floor(libm::log10(raw)));
    let fraction = raw / power;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 2.5 {
        2.5
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

/// A scale covering `[lo, hi]` with about `target` ticks at round values.
pub fn nice_scale(lo: f64, hi: f64, target: usize) -> Scale {
    let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() { (lo.min(hi), lo.max(hi)) } else { (0.0, 1.0) };
    if hi - lo <= f64::EPSILON * hi.abs().max(lo.abs()).max(1e-300) {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.05 };
        lo -= pad;
        hi += pad;
    }
    let step = nice_step((hi - lo) / target.max(2) as f64);
    let min = (lo / step).floor() * step;
    let max = (hi / step).ceil() * step;
    let count = ((max - min) / step).round() as usize;
    let ticks =
        (0..=count).map(|i| min + i as f64 * step).map(|t| if t.abs() < step * 1e-9 { 0.0 } else { t }).collect();
    Scale { min, max, ticks, step }
}

/// Tick labels: one SI suffix for the whole axis (k, M, G, T) and as many decimals as the
/// step needs. With `percent`, values are fractions shown as percentages.
pub fn tick_labels(ticks: &[f64], step: f64, percent: bool) -> Vec<String> {
    let factor = if percent { 100.0 } else { 1.0 };
    let top = ticks.iter().fold(0.0f64, |m, t| m.max((t * factor).abs()));
    let (scale, suffix) = if percent {
        (1.0, "%")
    } else if top >= 1e12 {
        (1e12, "T")
    } else if top >= 1e9 {
        (1e9, "G")
    } else if top >= 1e6 {
        (1e6, "M")
    } else if top >= 1e4 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let scaled_step = step * factor / scale;
    // The fewest decimals that write the step exactly (0.25 needs 2, 20 needs 0).
    let decimals = (0..9)
        .find(|&d| {
            let v = scaled_step * libm::pow(10.0, f64::from(d));
            (v - libm::round(v)).abs() < 1e-6 * v.max(1.0)
        })
        .unwrap_or(9) as usize;
    ticks
        .iter()
        .map(|t| {
            let text = format!("{:.*}", decimals, t * factor / scale);
            let text =
                if text.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') { "0".to_string() } else { text };
            if text == "0" { text } else { format!("{text}{suffix}") }
        })
        .collect()
}

/// Approximate width of text in pixels at `size` px (for layout only).
fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.56
}

/// Shortens text to `max` characters with an ellipsis.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Short labels that keep distinct names distinct: the start and the end of a long name
/// (`subnets.price…var95_daily_loss_fraction.worst`), `max` characters, or more of both where
/// `max` would make two labels the same (at worst, the names in full).
pub fn distinct_labels(names: &[String], max: usize) -> Vec<String> {
    let shorten = |name: &str, keep: usize| -> String {
        let chars: Vec<char> = name.chars().collect();
        if chars.len() <= keep {
            return name.to_string();
        }
        let tail = (keep.saturating_sub(1) * 3) / 5;
        let head = keep.saturating_sub(1) - tail;
        let mut out: String = chars[..head].iter().collect();
        out.push('…');
        out.extend(&chars[chars.len() - tail..]);
        out
    };
    let longest = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    for keep in max..longest {
        let labels: Vec<String> = names.iter().map(|n| shorten(n, keep)).collect();
        let mut unique: Vec<&String> = labels.iter().collect();
        unique.sort();
        unique.dedup();
        let distinct_names = {
            let mut n: Vec<&String> = names.iter().collect();
            n.sort();
            n.dedup();
            n.len()
        };
        if unique.len() == distinct_names {
            return labels;
        }
    }
    names.to_vec()
}

/// A legend entry: a colour, how it is drawn and its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegendEntry {
    /// Swatch colour.
    pub color: String,
    /// Name shown.
    pub name: String,
}

/// Lays legend entries in rows within `width`; returns the rows' entries with their x.
fn legend_rows(entries: &[LegendEntry], width: f64) -> Vec<Vec<(f64, &LegendEntry)>> {
    let mut rows: Vec<Vec<(f64, &LegendEntry)>> = Vec::new();
    let mut x = 0.0;
    for e in entries {
        let w = 26.0 + text_width(&e.name, 12.0) + 14.0;
        if rows.is_empty() || (x + w > width && x > 0.0) {
            rows.push(Vec::new());
            x = 0.0;
        }
        if let Some(row) = rows.last_mut() {
            row.push((x, e));
        }
        x += w;
    }
    rows
}

struct Frame {
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

impl Frame {
    fn plot_width(&self) -> f64 {
        self.width - self.left - self.right
    }
    fn plot_height(&self) -> f64 {
        self.height - self.top - self.bottom
    }
    fn x(&self, scale: &Scale, v: f64) -> f64 {
        self.left + (v - scale.min) / (scale.max - scale.min) * self.plot_width()
    }
    fn y(&self, scale: &Scale, v: f64) -> f64 {
        self.top + (1.0 - (v - scale.min) / (scale.max - scale.min)) * self.plot_height()
    }
}

/// Opens the `<svg>` with `data` (attributes, [`chart_data`]) on it, its background and
/// its title.
fn open_svg(out: &mut String, f: &Frame, text: &ChartText, data: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0} {h:.0}" width="{w:.0}" height="{h:.0}" font-family="{FONT}" role="img"{data}><title>{t}</title><rect x="0" y="0" width="{w:.0}" height="{h:.0}" fill="{WHITE}"/><text x="12" y="22" font-size="15" font-weight="600" fill="{INK}">{t}</text>"#,
        w = f.width,
        h = f.height,
        t = escape(&text.title),
    );
    if !text.subtitle.is_empty() {
        let _ = write!(
            out,
            r#"<text x="12" y="40" font-size="11.5" fill="{MUTED}">{}</text>"#,
            escape(&truncate(&text.subtitle, ((f.width - 24.0) / 6.3) as usize))
        );
    }
}

/// Grid, axes, ticks and axis labels.
fn axes(out: &mut String, f: &Frame, xs: &Scale, ys: &Scale, text: &ChartText, x_percent: bool, y_percent: bool) {
    axes_labelled(out, f, xs, ys, text, x_percent, tick_labels(&ys.ticks, ys.step, y_percent));
}

/// [`axes`] with the value axis's tick labels given (a logarithmic axis writes its values,
/// not its positions).
fn axes_labelled(
    out: &mut String,
    f: &Frame,
    xs: &Scale,
    ys: &Scale,
    text: &ChartText,
    x_percent: bool,
    y_labels: Vec<String>,
) {
    let (l, r, t, b) = (f.left, f.width - f.right, f.top, f.height - f.bottom);
    for (tick, label) in ys.ticks.iter().zip(y_labels) {
        let y = f.y(ys, *tick);
        let _ = write!(
            out,
            r#"<line x1="{l:.1}" y1="{y:.1}" x2="{r:.1}" y2="{y:.1}" stroke="{GRID}" stroke-width="1"/><text x="{tx:.1}" y="{ty:.1}" font-size="11" fill="{MUTED}" text-anchor="end">{label}</text>"#,
            tx = l - 6.0,
            ty = y + 4.0,
            label = escape(&label),
        );
    }
    out.push_str(r#"<g data-role="xticks">"#);
    for (tick, label) in xs.ticks.iter().zip(tick_labels(&xs.ticks, xs.step, x_percent)) {
        let x = f.x(xs, *tick);
        let _ = write!(
            out,
            r#"<line x1="{x:.1}" y1="{b:.1}" x2="{x:.1}" y2="{y2:.1}" stroke="{AXIS}" stroke-width="1"/><text x="{x:.1}" y="{ty:.1}" font-size="11" fill="{MUTED}" text-anchor="middle">{label}</text>"#,
            y2 = b + 4.0,
            ty = b + 17.0,
            label = escape(&label),
        );
    }
    out.push_str("</g>");
    let _ = write!(
        out,
        r#"<line x1="{l:.1}" y1="{b:.1}" x2="{r:.1}" y2="{b:.1}" stroke="{AXIS}" stroke-width="1"/><line x1="{l:.1}" y1="{t:.1}" x2="{l:.1}" y2="{b:.1}" stroke="{AXIS}" stroke-width="1"/>"#
    );
    let _ = write!(
        out,
        r#"<text x="{l:.1}" y="{y:.1}" font-size="12" fill="{INK}">{label}</text><text x="{cx:.1}" y="{by:.1}" font-size="12" fill="{INK}" text-anchor="middle">{xl}</text>"#,
        y = t - 10.0,
        label = escape(&text.y_label),
        cx = (l + r) / 2.0,
        by = b + 34.0,
        xl = escape(&text.x_label),
    );
}

fn legend(out: &mut String, f: &Frame, entries: &[LegendEntry], y0: f64) {
    for (row_index, row) in legend_rows(entries, f.plot_width()).iter().enumerate() {
        let y = y0 + row_index as f64 * 18.0;
        for (x, e) in row {
            let x = f.left + x;
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{ry:.1}" width="18" height="10" rx="2" fill="{c}" fill-opacity="0.35" stroke="{c}" stroke-width="1.5"/><text x="{tx:.1}" y="{ty:.1}" font-size="12" fill="{INK}">{name}</text>"#,
                ry = y - 9.0,
                c = e.color,
                tx = x + 24.0,
                ty = y,
                name = escape(&e.name),
            );
        }
    }
}

/// Evenly thinned indices of `n` points, at most `max`, always keeping the last.
fn thinned(n: usize, max: usize) -> Vec<usize> {
    if n <= max {
        return (0..n).collect();
    }
    let step = n.div_ceil(max);
    let mut idx: Vec<usize> = (0..n).step_by(step).collect();
    if idx.last() != Some(&(n - 1)) {
        idx.push(n - 1);
    }
    idx
}

/// One group's (or entity's) bands over time.
#[derive(Clone, Debug, PartialEq)]
pub struct BandLayer {
    /// Legend name.
    pub name: String,
    /// Colour.
    pub color: String,
    /// Horizontal positions (days).
    pub x: Vec<f64>,
    /// P5, P25, P50, P75, P95 at each position.
    pub levels: [Vec<f64>; 5],
    /// Shade P5–P95 and P25–P75 (off for many overlapping layers: median lines only).
    pub shade: bool,
}

fn polyline(f: &Frame, xs: &Scale, ys: &Scale, x: &[f64], y: &[f64], idx: &[usize]) -> String {
    let mut d = String::new();
    for (k, &i) in idx.iter().enumerate() {
        let _ = write!(d, "{}{:.1} {:.1}", if k == 0 { "M" } else { " L" }, f.x(xs, x[i]), f.y(ys, y[i]));
    }
    d
}

fn area(f: &Frame, xs: &Scale, ys: &Scale, x: &[f64], lower: &[f64], upper: &[f64], idx: &[usize]) -> String {
    let mut d = polyline(f, xs, ys, x, upper, idx);
    for &i in idx.iter().rev() {
        let _ = write!(d, " L{:.1} {:.1}", f.x(xs, x[i]), f.y(ys, lower[i]));
    }
    d.push_str(" Z");
    d
}

/// Smallest ratio of the highest to the lowest value for which [`band_chart_auto`] draws a
/// logarithmic axis: below it a log axis would only compress the chart.
pub const LOG_AXIS_MIN_RATIO: f64 = 3.0;

/// A logarithmic value axis over `[lo, hi]` (both positive): positions are log10 of values,
/// ticks at 1, 2 and 5 times powers of ten (powers of ten alone over more than 3 decades),
/// the axis running from the tick at or below `lo` to the tick at or above `hi`. Returns the
/// scale (in log10 units) and the tick labels (the values, compact).
pub fn log_scale(lo: f64, hi: f64) -> (Scale, Vec<String>) {
    let (lo_e, hi_e) = (libm::floor(libm::log10(lo)) as i32, libm::ceil(libm::log10(hi)) as i32);
    let mantissas: &[f64] = if hi_e - lo_e > 3 { &[1.0] } else { &[1.0, 2.0, 5.0] };
    let candidates: Vec<f64> =
        (lo_e..=hi_e).flat_map(|e| mantissas.iter().map(move |m| m * libm::pow(10.0, f64::from(e)))).collect();
    let below = candidates.iter().copied().filter(|v| *v <= lo * (1.0 + 1e-12)).fold(candidates[0], f64::max);
    let above = candidates.iter().copied().filter(|v| *v >= hi * (1.0 - 1e-12)).fold(f64::INFINITY, f64::min);
    let above = if above.is_finite() { above } else { libm::pow(10.0, f64::from(hi_e)) };
    let ticks: Vec<f64> = candidates.into_iter().filter(|v| *v >= below && *v <= above).collect();
    let labels = ticks.iter().map(|v| crate::format::compact_number(*v)).collect();
    let scale = Scale {
        min: libm::log10(below),
        max: libm::log10(above),
        ticks: ticks.iter().map(|v| libm::log10(*v)).collect(),
        step: 0.0,
    };
    (scale, labels)
}

/// [`band_chart`], on a logarithmic value axis when every value drawn is positive and the
/// highest is at least [`LOG_AXIS_MIN_RATIO`] times the lowest (a price that crashes after
/// a spike: on a linear axis the crash is flattened under the spike). Returns the chart and
/// whether the axis is logarithmic.
pub fn band_chart_auto(text: &ChartText, layers: &[BandLayer]) -> (String, bool) {
    if !wants_log_axis(layers) {
        return (band_chart(text, layers), false);
    }
    let (lo, hi) = value_range(layers);
    let (ys, labels) = log_scale(lo, hi);
    (band_chart_on(text, layers, Some((ys, labels))), true)
}

/// Whether [`band_chart_auto`] draws `layers` on a logarithmic axis: every value drawn is
/// positive and the highest is at least [`LOG_AXIS_MIN_RATIO`] times the lowest.
pub fn wants_log_axis(layers: &[BandLayer]) -> bool {
    let (lo, hi) = value_range(layers);
    lo > 0.0 && hi.is_finite() && hi >= LOG_AXIS_MIN_RATIO * lo
}

/// The lowest and highest value a band chart draws (P5 and P95 of shaded layers, medians of
/// the others).
fn value_range(layers: &[BandLayer]) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for l in layers {
        let (low, high) = if l.shade { (&l.levels[0], &l.levels[4]) } else { (&l.levels[2], &l.levels[2]) };
        for v in low.iter().filter(|v| v.is_finite()) {
            lo = lo.min(*v);
        }
        for v in high.iter().filter(|v| v.is_finite()) {
            hi = hi.max(*v);
        }
    }
    (lo, hi)
}

/// Percentile bands over time: for each layer a light P5–P95 area, a darker P25–P75 area and
/// the median line. A single point is drawn as a dot with a vertical P5–P95 bar.
pub fn band_chart(text: &ChartText, layers: &[BandLayer]) -> String {
    band_chart_on(text, layers, None)
}

/// [`band_chart`] on a given logarithmic value axis (positions in log10 of the values, and
/// labels), or a linear one. The median lines carry the values (not their logarithms).
fn band_chart_on(text: &ChartText, values: &[BandLayer], log_axis: Option<(Scale, Vec<String>)>) -> String {
    let y_log = log_axis.is_some();
    let logged: Vec<BandLayer>;
    let layers = if y_log {
        logged = values
            .iter()
            .map(|l| BandLayer {
                levels: l.levels.clone().map(|level| level.iter().map(|v| libm::log10(*v)).collect()),
                ..l.clone()
            })
            .collect();
        logged.as_slice()
    } else {
        values
    };
    let entries: Vec<LegendEntry> =
        layers.iter().map(|l| LegendEntry { color: l.color.clone(), name: l.name.clone() }).collect();
    let mut f = Frame { width: BAND_CHART_WIDTH, height: 0.0, left: 64.0, right: 18.0, top: 68.0, bottom: 48.0 };
    let legend_height = legend_rows(&entries, f.plot_width()).len() as f64 * 18.0;
    f.bottom += legend_height + 6.0;
    f.height = f.top + 220.0 + f.bottom;
    let finite = |v: &f64| v.is_finite();
    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for l in layers {
        for v in l.x.iter().filter(|v| finite(v)) {
            x_lo = x_lo.min(*v);
            x_hi = x_hi.max(*v);
        }
        let (lo, hi) = if l.shade { (&l.levels[0], &l.levels[4]) } else { (&l.levels[2], &l.levels[2]) };
        for v in lo.iter().filter(|v| finite(v)) {
            y_lo = y_lo.min(*v);
        }
        for v in hi.iter().filter(|v| finite(v)) {
            y_hi = y_hi.max(*v);
        }
    }
    let xs = nice_scale(x_lo, x_hi, 8);
    let (ys, y_labels) = match log_axis {
        Some(axis) => axis,
        None => {
            let ys = nice_scale(y_lo, y_hi, 5);
            let labels = tick_labels(&ys.ticks, ys.step, false);
            (ys, labels)
        }
    };
    let mut out = String::new();
    open_svg(&mut out, &f, text, &chart_data("band", &f, &xs, &ys, y_log, &text.y_label));
    axes_labelled(&mut out, &f, &xs, &ys, text, false, y_labels);
    out.push_str(r#"<g data-role="series">"#);
    // The days of the previous line, which a line with the same days does not repeat.
    let mut previous_days = String::new();
    for (l, v) in layers.iter().zip(values) {
        let idx = thinned(l.x.len(), MAX_POINTS_DRAWN);
        if idx.is_empty() {
            continue;
        }
        let (x_exponent, days) = data_series(&idx.iter().map(|&i| l.x[i]).collect::<Vec<f64>>());
        let days = format!(r#" data-xexp="{x_exponent}" data-x="{days}""#);
        let (y_exponent, medians) = data_series(&idx.iter().map(|&i| v.levels[2][i]).collect::<Vec<f64>>());
        let data = format!(
            r#" data-label="{}"{} data-yexp="{y_exponent}" data-y="{medians}""#,
            escape(&l.name),
            if days == previous_days { "" } else { &days },
        );
        previous_days = days;
        if idx.len() == 1 {
            let (x, lo, mid, hi) =
                (f.x(&xs, l.x[0]), f.y(&ys, l.levels[0][0]), f.y(&ys, l.levels[2][0]), f.y(&ys, l.levels[4][0]));
            let _ = write!(
                out,
                r#"<line x1="{x:.1}" y1="{lo:.1}" x2="{x:.1}" y2="{hi:.1}" stroke="{c}" stroke-width="2"/><circle cx="{x:.1}" cy="{mid:.1}" r="4" fill="{c}"{data}/>"#,
                c = l.color
            );
            continue;
        }
        if l.shade {
            let _ = write!(
                out,
                r#"<path d="{}" fill="{c}" fill-opacity="0.13" stroke="none"/><path d="{}" fill="{c}" fill-opacity="0.27" stroke="none"/>"#,
                area(&f, &xs, &ys, &l.x, &l.levels[0], &l.levels[4], &idx),
                area(&f, &xs, &ys, &l.x, &l.levels[1], &l.levels[3], &idx),
                c = l.color
            );
        }
        let _ = write!(
            out,
            r#"<path d="{}" fill="none" stroke="{c}" stroke-width="1.8" stroke-linejoin="round"{data}/>"#,
            polyline(&f, &xs, &ys, &l.x, &l.levels[2], &idx),
            c = l.color
        );
    }
    out.push_str("</g>");
    legend(&mut out, &f, &entries, f.height - legend_height + 4.0);
    out.push_str("</svg>");
    out
}

/// A histogram of values (one per run): `ceil(sqrt(n))` equal bins between the smallest and
/// the largest value (5 to 30 of them), bar heights the number of runs in each.
pub fn histogram(text: &ChartText, values: &[f64], color: &str) -> String {
    let values: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let mut f = Frame { width: 360.0, height: 0.0, left: 48.0, right: 14.0, top: 68.0, bottom: 52.0 };
    f.height = f.top + 170.0 + f.bottom;
    let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
    let xs = nice_scale(lo, hi, 5);
    let bins = (libm::ceil(libm::sqrt(values.len() as f64)) as usize).clamp(5, 30);
    let width = (xs.max - xs.min) / bins as f64;
    let mut counts = vec![0usize; bins];
    for v in &values {
        let b = (((v - xs.min) / width) as usize).min(bins - 1);
        counts[b] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(0).max(1);
    let ys = nice_scale(0.0, top as f64, 4);
    let mut out = String::new();
    open_svg(&mut out, &f, text, "");
    axes(&mut out, &f, &xs, &ys, text, false, false);
    for (b, &count) in counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let (x0, x1) = (f.x(&xs, xs.min + b as f64 * width), f.x(&xs, xs.min + (b + 1) as f64 * width));
        let (y, base) = (f.y(&ys, count as f64), f.y(&ys, 0.0));
        let _ = write!(
            out,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{color}" fill-opacity="0.6" stroke="{color}" stroke-width="1"><title>{count} run(s)</title></rect>"#,
            x = x0 + 0.5,
            w = (x1 - x0 - 1.0).max(0.5),
            h = (base - y).max(0.0),
        );
    }
    out.push_str("</svg>");
    out
}

/// One point of an error-bar chart: a category and the spread of a metric there.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorPoint {
    /// Index of the category on the horizontal axis.
    pub category: usize,
    /// P5, P25, P50, P75, P95.
    pub levels: [f64; 5],
}

/// A series of error-bar points.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorSeries {
    /// Legend name.
    pub name: String,
    /// Colour.
    pub color: String,
    /// Points, by category.
    pub points: Vec<ErrorPoint>,
}

/// Longest category label of an error-bar chart, in characters (labels are shortened from
/// both ends and kept distinct, [`distinct_labels`]).
pub const MAX_CATEGORY_CHARS: usize = 26;

/// Angle of category labels that do not fit side by side, in degrees.
const CATEGORY_ANGLE: f64 = 35.0;

/// A metric against the values of a parameter: for each category and series, the median as a
/// dot, P25–P75 as a thick bar and P5–P95 as a thin whisker. With `ordered` categories (the
/// values of a numeric parameter, ascending) the medians of a series are joined; unordered
/// ones (text, lists) are not, since a line between them would suggest a trend. Every
/// category is labelled: level when the labels fit, slanted when they do not.
pub fn errorbar_chart(text: &ChartText, categories: &[String], series: &[ErrorSeries], ordered: bool) -> String {
    let entries: Vec<LegendEntry> =
        series.iter().map(|s| LegendEntry { color: s.color.clone(), name: s.name.clone() }).collect();
    let mut f = Frame { width: 360.0, height: 0.0, left: 58.0, right: 12.0, top: 68.0, bottom: 48.0 };
    let categories = distinct_labels(categories, MAX_CATEGORY_CHARS);
    let n = categories.len().max(1) as f64;
    let longest = categories.iter().map(|c| text_width(c, 11.0)).fold(0.0f64, f64::max);
    let slanted = longest + 8.0 > f.plot_width() / n;
    // A slanted label reaches down by its width times sin(angle).
    let drop = if slanted { longest * libm::sin(CATEGORY_ANGLE.to_radians()) } else { 0.0 };
    f.bottom += drop;
    // A slanted label ends at its tick and reaches left by its width times cos(angle): the
    // chart widens so that the first one is not cut at the left edge.
    if slanted {
        let reach = longest * libm::cos(CATEGORY_ANGLE.to_radians()) + 6.0;
        let extra = (reach - f.left - f.plot_width() / (2.0 * n)).max(0.0);
        f.left += extra;
        f.width += extra;
    }
    let legend_height = legend_rows(&entries, f.plot_width()).len() as f64 * 18.0;
    f.bottom += legend_height + 6.0;
    f.height = f.top + 190.0 + f.bottom;
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for p in series.iter().flat_map(|s| &s.points) {
        for v in p.levels.iter().filter(|v| v.is_finite()) {
            lo = lo.min(*v);
            hi = hi.max(*v);
        }
    }
    let ys = nice_scale(lo, hi, 5);
    let xs = Scale { min: -0.5, max: n - 0.5, ticks: Vec::new(), step: 1.0 };
    let mut out = String::new();
    open_svg(&mut out, &f, text, &chart_data("errorbar", &f, &xs, &ys, false, &text.y_label));
    // The x label goes below the slanted category labels.
    let mut axis_text = text.clone();
    if slanted {
        axis_text.x_label = String::new();
    }
    axes(&mut out, &f, &xs, &ys, &axis_text, false, false);
    let b = f.height - f.bottom;
    for (i, c) in categories.iter().enumerate() {
        let x = f.x(&xs, i as f64);
        let label = escape(c);
        let _ = write!(
            out,
            r#"<line x1="{x:.1}" y1="{b:.1}" x2="{x:.1}" y2="{y2:.1}" stroke="{AXIS}" stroke-width="1"/>"#,
            y2 = b + 4.0
        );
        if slanted {
            let ty = b + 14.0;
            let _ = write!(
                out,
                r#"<text x="{x:.1}" y="{ty:.1}" font-size="11" fill="{MUTED}" text-anchor="end" transform="rotate(-{CATEGORY_ANGLE} {x:.1} {ty:.1})">{label}</text>"#
            );
        } else {
            let _ = write!(
                out,
                r#"<text x="{x:.1}" y="{ty:.1}" font-size="11" fill="{MUTED}" text-anchor="middle">{label}</text>"#,
                ty = b + 17.0
            );
        }
    }
    if slanted {
        let _ = write!(
            out,
            r#"<text x="{cx:.1}" y="{y:.1}" font-size="12" fill="{INK}" text-anchor="middle">{xl}</text>"#,
            cx = f.left + f.plot_width() / 2.0,
            y = b + drop + 30.0,
            xl = escape(&text.x_label)
        );
    }
    let slot = f.plot_width() / n * 0.5;
    let count = series.len().max(1) as f64;
    for (k, s) in series.iter().enumerate() {
        let offset = if count > 1.0 { (k as f64 / (count - 1.0) - 0.5) * slot } else { 0.0 };
        let mut line = String::new();
        for (j, p) in s.points.iter().enumerate() {
            let x = f.x(&xs, p.category as f64) + offset;
            let _ = write!(line, "{}{x:.1} {:.1}", if j == 0 { "M" } else { " L" }, f.y(&ys, p.levels[2]));
        }
        if ordered && s.points.len() > 1 {
            let _ = write!(
                out,
                r#"<path d="{line}" fill="none" stroke="{c}" stroke-width="1" stroke-opacity="0.5"/>"#,
                c = s.color
            );
        }
        for p in &s.points {
            let x = f.x(&xs, p.category as f64) + offset;
            let [p5, p25, p50, p75, p95] = p.levels.map(|v| f.y(&ys, v));
            let category = categories.get(p.category).map_or("", String::as_str);
            let _ = write!(
                out,
                r#"<g data-label="{}" data-v="{}">"#,
                escape(&format!("{category} · {}", s.name)),
                data_list(p.levels),
            );
            let _ = write!(
                out,
                r#"<line x1="{x:.1}" y1="{p5:.1}" x2="{x:.1}" y2="{p95:.1}" stroke="{c}" stroke-width="1.2"/><line x1="{a:.1}" y1="{p5:.1}" x2="{z:.1}" y2="{p5:.1}" stroke="{c}" stroke-width="1.2"/><line x1="{a:.1}" y1="{p95:.1}" x2="{z:.1}" y2="{p95:.1}" stroke="{c}" stroke-width="1.2"/><rect x="{rx:.1}" y="{p75:.1}" width="6" height="{h:.1}" fill="{c}" fill-opacity="0.45" stroke="{c}" stroke-width="1"/><circle cx="{x:.1}" cy="{p50:.1}" r="3.5" fill="{WHITE}" stroke="{c}" stroke-width="2"/>"#,
                c = s.color,
                a = x - 4.0,
                z = x + 4.0,
                rx = x - 3.0,
                h = (p25 - p75).max(0.5),
            );
            out.push_str("</g>");
        }
    }
    legend(&mut out, &f, &entries, f.height - legend_height + 4.0);
    out.push_str("</svg>");
    out
}

/// One row of a forest plot.
#[derive(Clone, Debug, PartialEq)]
pub struct ForestRow {
    /// Row label (a metric).
    pub label: String,
    /// Point estimate.
    pub estimate: f64,
    /// Interval lower end.
    pub low: f64,
    /// Interval upper end.
    pub high: f64,
    /// Drawn in colour (the interval excludes zero) rather than grey.
    pub highlight: bool,
}

/// A forest plot: one row per metric, the estimate as a dot and its interval as a bar, a
/// vertical line at zero. With `percent`, values are fractions shown as percentages. The axis
/// covers 1.2 times the 75th percentile of the rows' reach, at most `[-limit, limit]`;
/// intervals beyond end in an arrow, and estimates beyond are written at the edge.
pub fn forest_plot(text: &ChartText, rows: &[ForestRow], percent: bool, limit: f64) -> String {
    let mut f = Frame { width: 1000.0, height: 0.0, left: 330.0, right: 24.0, top: 68.0, bottom: 64.0 };
    f.height = f.top + 20.0 * rows.len().max(1) as f64 + f.bottom;
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for r in rows {
        for v in [r.estimate, r.low, r.high].iter().filter(|v| v.is_finite()) {
            lo = lo.min(*v);
            hi = hi.max(*v);
        }
    }
    // Scale on the bulk of the rows (1.2 x the P75 of each row's reach, rows at exactly zero
    // aside), so a few noisy metrics do not squash the others; they end in arrows.
    let sizes: Vec<f64> = rows
        .iter()
        .map(|r| [r.estimate, r.low, r.high].iter().filter(|v| v.is_finite()).fold(0.0f64, |m, v| m.max(v.abs())))
        .filter(|s| *s > 0.0)
        .collect();
    let bound = (1.2 * crate::stats::quantile(&sizes, 0.75).unwrap_or(1.0)).clamp(0.02, limit.abs().max(0.02));
    let xs = nice_scale(lo.max(-bound), hi.min(bound), 6);
    let clip = |v: f64| v.clamp(xs.min, xs.max);
    let ys = Scale { min: 0.0, max: rows.len().max(1) as f64, ticks: Vec::new(), step: 1.0 };
    let mut out = String::new();
    open_svg(&mut out, &f, text, &chart_data("forest", &f, &xs, &ys, false, &text.x_label));
    axes(&mut out, &f, &xs, &ys, text, percent, false);
    let zero = f.x(&xs, 0.0);
    let _ = write!(
        out,
        r#"<line x1="{zero:.1}" y1="{t:.1}" x2="{zero:.1}" y2="{b:.1}" stroke="{INK}" stroke-width="1" stroke-dasharray="3 3"/>"#,
        t = f.top,
        b = f.height - f.bottom
    );
    for (i, r) in rows.iter().enumerate() {
        let y = f.top + 20.0 * i as f64 + 10.0;
        let c = if r.highlight { PALETTE[0] } else { REST_COLOR };
        if i % 2 == 1 {
            let _ = write!(
                out,
                r#"<rect x="4" y="{ry:.1}" width="{w:.1}" height="20" fill="{STRIPE}"/>"#,
                ry = y - 10.0,
                w = f.width - 8.0 - f.right
            );
        }
        let shown = |v: f64| {
            if percent { crate::format::display_percent(v) } else { crate::format::display_number(v) }
        };
        let _ = write!(
            out,
            r#"<g data-label="{}" data-tip="{} (interval {} to {})">"#,
            escape(&r.label),
            escape(&shown(r.estimate)),
            escape(&shown(r.low)),
            escape(&shown(r.high)),
        );
        let _ = write!(
            out,
            r#"<text x="{lx:.1}" y="{ty:.1}" font-size="11.5" fill="{INK}" text-anchor="end"><title>{full}</title>{label}</text>"#,
            lx = f.left - 10.0,
            ty = y + 4.0,
            full = escape(&r.label),
            label = escape(&truncate(&r.label, 52)),
        );
        if r.low.is_finite() && r.high.is_finite() {
            let (a, b) = (f.x(&xs, clip(r.low)), f.x(&xs, clip(r.high)));
            let _ = write!(
                out,
                r#"<line x1="{a:.1}" y1="{y:.1}" x2="{b:.1}" y2="{y:.1}" stroke="{c}" stroke-width="2.5"/>"#
            );
            for (beyond, x, dir) in [(r.low < xs.min, a, -1.0), (r.high > xs.max, b, 1.0)] {
                if beyond {
                    let _ = write!(
                        out,
                        r#"<path d="M{x0:.1} {y0:.1} L{x1:.1} {y:.1} L{x0:.1} {y2:.1} Z" fill="{c}"/>"#,
                        x0 = x - dir * 6.0,
                        y0 = y - 5.0,
                        x1 = x + dir * 2.0,
                        y2 = y + 5.0
                    );
                }
            }
        }
        if r.estimate.is_finite() && (xs.min..=xs.max).contains(&r.estimate) {
            let x = f.x(&xs, r.estimate);
            let _ = write!(out, r#"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="{c}"/>"#);
        } else if r.estimate.is_finite() {
            let _ = write!(
                out,
                r#"<text x="{x:.1}" y="{ty:.1}" font-size="11" fill="{c}" text-anchor="{anchor}">{value}</text>"#,
                x = if r.estimate > xs.max { f.x(&xs, xs.max) - 10.0 } else { f.x(&xs, xs.min) + 10.0 },
                ty = y - 3.0,
                anchor = if r.estimate > xs.max { "end" } else { "start" },
                value = escape(&shown(r.estimate)),
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortened_labels_stay_distinct() {
        let names: Vec<String> = [
            "subnets.price_tao_per_alpha.var95_daily_loss_fraction.worst",
            "subnets.price_tao_per_alpha.var95_daily_loss_fraction.median",
            "subnets.price_tao_per_alpha.var99_daily_loss_fraction.worst",
            "short",
        ]
        .map(String::from)
        .to_vec();
        let labels = distinct_labels(&names, 40);
        // Shortened (more than 40 characters only where 40 would make two the same).
        assert!(labels[..3].iter().zip(&names).all(|(l, n)| l.contains('…') && l.len() < n.len()), "{labels:?}");
        let mut unique = labels.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 4, "{labels:?}");
        assert_eq!(labels[3], "short");
        // Truncating the end alone made the first three one label.
        let ends: Vec<String> = names.iter().map(|n| truncate(n, 40)).collect();
        assert_eq!(ends[0], ends[1]);
    }

    #[test]
    fn error_bars_label_every_category_and_join_only_ordered_ones() {
        let point = |category| ErrorPoint { category, levels: [1.0, 2.0, 3.0, 4.0, 5.0] };
        let series = [ErrorSeries { name: "s".into(), color: "#000".into(), points: (0..6).map(point).collect() }];
        let text =
            ChartText { title: "t".into(), subtitle: String::new(), x_label: "events".into(), y_label: "y".into() };
        // Six list-valued settings, as the readable labels of a sweep over events.
        let long: Vec<String> =
            [7, 21].iter().flat_map(|d| [0.5, 0.1, 0.02].map(|f| format!("days={d}, factor={f}"))).collect();
        let chart = errorbar_chart(&text, &long, &series, false);
        for label in &long {
            assert!(chart.contains(&format!(">{label}</text>")), "{label} labelled: {chart}");
        }
        assert!(chart.contains("rotate(-35"), "slanted when they do not fit side by side");
        // The first label ends at its tick and reaches left by width x cos(35°): inside the chart.
        let first_x: f64 = chart
            .split("text-anchor=\"end\" transform=\"rotate(-35 ")
            .nth(1)
            .expect("a slanted label")
            .split(' ')
            .next()
            .expect("x")
            .parse()
            .expect("number");
        assert!(first_x - text_width(&long[0], 11.0) * libm::cos(35f64.to_radians()) >= 0.0, "{first_x}");
        assert!(!chart.contains("<path"), "categories are not joined by a line");
        let numbers: Vec<String> = ["0.15", "0.3", "0.6", "1", "2", "3"].map(String::from).to_vec();
        let chart = errorbar_chart(&text, &numbers, &series, true);
        assert!(chart.contains("<path") && !chart.contains("rotate("), "ordered values are joined, labels level");
    }

    #[test]
    fn a_histogram_counts_every_run_once() {
        let text =
            ChartText { title: "loss".into(), subtitle: String::new(), x_label: "USD".into(), y_label: "runs".into() };
        let values: Vec<f64> = (0..25).map(f64::from).chain([f64::NAN]).collect();
        let svg = histogram(&text, &values, "#000");
        let counts: usize =
            svg.split("<title>").skip(2).filter_map(|t| t.split(" run(s)").next()?.parse::<usize>().ok()).sum();
        assert_eq!(counts, 25, "{svg}");
    }

    #[test]
    fn log_scales_tick_at_round_values_and_keep_a_crash_visible() {
        let (s, labels) = log_scale(113.0, 260.0);
        assert_eq!(labels, ["100", "200", "500"]);
        assert!((s.min - 2.0).abs() < 1e-12 && (s.max - libm::log10(500.0)).abs() < 1e-12);
        let (_, labels) = log_scale(0.3, 40_000.0);
        assert_eq!(labels, ["0.1", "1", "10", "100", "1,000", "10k", "100k"], "powers of ten over 5 decades");
        // A spike to 1,000 then a crash to 10: on a linear axis 10 and 100 sit within 9% of
        // the height of each other; on the log axis a decade apart (a third of the height).
        let layer = |values: Vec<f64>| BandLayer {
            name: "a".into(),
            color: "#000".into(),
            x: (0..values.len()).map(|i| i as f64).collect(),
            levels: [values.clone(), values.clone(), values.clone(), values.clone(), values],
            shade: false,
        };
        let text = ChartText { title: "p".into(), subtitle: String::new(), x_label: "d".into(), y_label: "USD".into() };
        let (svg, log) = band_chart_auto(&text, &[layer(vec![100.0, 1_000.0, 10.0])]);
        assert!(log && svg.contains(">1,000<") && svg.contains(">10<"), "{svg}");
        let (_, log) = band_chart_auto(&text, &[layer(vec![100.0, 120.0, 90.0])]);
        assert!(!log, "a narrow range stays linear");
        let (_, log) = band_chart_auto(&text, &[layer(vec![-1.0, 120.0, 90.0])]);
        assert!(!log, "non-positive values stay linear");
    }

    #[test]
    fn nice_scales_cover_the_data_with_round_ticks() {
        let s = nice_scale(15_700_000.0, 15_775_000.0, 5);
        assert_eq!(s.step, 20_000.0);
        assert_eq!((s.min, s.max), (15_700_000.0, 15_780_000.0));
        assert_eq!(tick_labels(&s.ticks, s.step, false)[..2], ["15.70M".to_string(), "15.72M".to_string()]);
        let s = nice_scale(0.0, 30.0, 8);
        assert_eq!((s.step, s.ticks.len()), (5.0, 7));
        assert_eq!(tick_labels(&[0.0, 0.25, 0.5], 0.25, false), ["0", "0.25", "0.50"]);
        assert_eq!(tick_labels(&[-0.1, 0.0, 0.1], 0.1, true), ["-10%", "0", "10%"]);
        let flat = nice_scale(3.0, 3.0, 5);
        assert!(flat.min < 3.0 && flat.max > 3.0, "{flat:?}");
        assert_eq!(nice_step(0.0), 1.0);
    }

    #[test]
    fn long_series_are_thinned_keeping_the_ends() {
        let idx = thinned(2_161, 720);
        assert!(idx.len() <= 721 && idx[0] == 0 && idx.last() == Some(&2_160));
        assert_eq!(thinned(3, 720), vec![0, 1, 2]);
    }

    #[test]
    fn legends_wrap_into_rows() {
        let entries: Vec<LegendEntry> =
            (0..12).map(|i| LegendEntry { color: color(i).into(), name: format!("subnet {i}") }).collect();
        let rows = legend_rows(&entries, 600.0);
        assert!(rows.len() >= 2, "{}", rows.len());
        assert_eq!(rows.iter().map(Vec::len).sum::<usize>(), 12);
    }
}
