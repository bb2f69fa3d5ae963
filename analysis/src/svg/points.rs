//! Charts of points with intervals: a metric against a parameter with error bars, and a
//! forest plot of changes with confidence intervals.

use super::*;

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
