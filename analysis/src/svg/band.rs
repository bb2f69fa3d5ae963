//! Percentile bands over time (linear or logarithmic value axis) and histograms.

use super::*;

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
