//! Hand-written SVG charts: percentile bands over time and histograms ([`band`]), a metric
//! against a parameter with error bars and a forest plot of changes with confidence
//! intervals ([`points`]); here what they share (scales, ticks, labels, frames, legends).
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

mod band;
mod data;
mod points;
pub use band::*;
use data::chart_data;
pub use data::{DATA_SIGNIFICANT_DIGITS, data_decode, data_list, data_number, data_series};
pub use points::*;

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
