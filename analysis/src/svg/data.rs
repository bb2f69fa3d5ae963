//! The data a chart carries for the page's script (`assets/charts.js`): values written
//! compactly in `data-*` attributes, which change nothing drawn (see [`super`] for where
//! each attribute sits). Pure functions; the tests parse whole charts and check that the
//! values encoded are the values drawn.

use super::{Frame, Scale};
use crate::format::escape;
use std::fmt::Write as _;

/// Significant digits of the values in a chart's data attributes (enough for the 4 that the
/// tooltip shows, few enough to keep a 144-run report's page small); for a line's values,
/// digits of its largest value ([`data_series`]).
pub const DATA_SIGNIFICANT_DIGITS: usize = 5;

/// A value for a data attribute: a plain decimal with [`DATA_SIGNIFICANT_DIGITS`]
/// significant digits, `-` when missing (not finite).
pub fn data_number(v: f64) -> String {
    if v.is_finite() { crate::format::csv_number_digits(v, DATA_SIGNIFICANT_DIGITS) } else { "-".into() }
}

/// Values for a data attribute, space-separated ([`data_number`]).
pub fn data_list(values: impl IntoIterator<Item = f64>) -> String {
    let mut out = String::new();
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&data_number(v));
    }
    out
}

/// A line's values, compact: the power of ten `e` that gives its largest value
/// [`DATA_SIGNIFICANT_DIGITS`] digits as an integer, and the values as integers in units of
/// 10^e, each written as its difference from the previous one (the first from 0), `-` for a
/// missing value (skipped by the differences). Neighbouring samples of a series are close,
/// so the differences are short: a third of the text of plain decimals in a 144-run report.
/// [`data_decode`] reads them back.
pub fn data_series(values: &[f64]) -> (i32, String) {
    let top = values.iter().filter(|v| v.is_finite()).fold(0.0f64, |m, v| m.max(v.abs()));
    let exponent =
        if top > 0.0 { libm::floor(libm::log10(top)) as i32 + 1 - DATA_SIGNIFICANT_DIGITS as i32 } else { 0 };
    let mut out = String::new();
    let mut previous = 0i64;
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if v.is_finite() {
            let units = libm::round(*v / pow10(exponent)) as i64;
            let _ = write!(out, "{}", units - previous);
            previous = units;
        } else {
            out.push('-');
        }
    }
    (exponent, out)
}

/// 10^e, exact for |e| <= 22 (as the page's script computes it).
fn pow10(e: i32) -> f64 {
    libm::pow(10.0, f64::from(e))
}

/// The values of [`data_series`]: each the integer sum divided by 10^-e (or times 10^e),
/// the nearest double to the rounded decimal; NaN for `-`. `None` for text that is not a
/// series.
pub fn data_decode(exponent: i32, text: &str) -> Option<Vec<f64>> {
    let mut units = 0i64;
    text.split(' ')
        .map(|t| {
            if t == "-" {
                return Some(f64::NAN);
            }
            units += t.parse::<i64>().ok()?;
            Some(if exponent < 0 { units as f64 / pow10(-exponent) } else { units as f64 * pow10(exponent) })
        })
        .collect()
}

/// The root attributes of a chart with hover: kind, plot box, axis ends in values (`y_log`:
/// the value scale is log10 of the values) and the value axis's label.
pub(super) fn chart_data(kind: &str, f: &Frame, xs: &Scale, ys: &Scale, y_log: bool, y_name: &str) -> String {
    let y_end = |v: f64| if y_log { libm::pow(10.0, v) } else { v };
    format!(
        r#" data-chart="{kind}" data-x0="{:.1}" data-x1="{:.1}" data-y0="{:.1}" data-y1="{:.1}" data-xmin="{}" data-xmax="{}" data-ymin="{}" data-ymax="{}"{} data-yname="{}""#,
        f.left,
        f.width - f.right,
        f.top,
        f.height - f.bottom,
        data_number(xs.min),
        data_number(xs.max),
        data_number(y_end(ys.min)),
        data_number(y_end(ys.max)),
        if y_log { r#" data-ylog="1""# } else { "" },
        escape(y_name),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::svg::{BandLayer, ChartText, ErrorPoint, ErrorSeries, ForestRow, band_chart, band_chart_auto};

    fn text() -> ChartText {
        ChartText { title: "t".into(), subtitle: String::new(), x_label: "day".into(), y_label: "price (USD)".into() }
    }

    fn layer(name: &str, x: Vec<f64>, median: Vec<f64>) -> BandLayer {
        let spread = |f: f64| median.iter().map(|v| v * f).collect::<Vec<f64>>();
        BandLayer {
            name: name.into(),
            color: "#000".into(),
            x,
            levels: [spread(0.8), spread(0.9), median.clone(), spread(1.1), spread(1.2)],
            shade: true,
        }
    }

    fn attr(node: roxmltree::Node<'_, '_>, name: &str) -> f64 {
        node.attribute(name).unwrap_or_else(|| panic!("{name}")).parse().unwrap_or_else(|_| panic!("{name} a number"))
    }

    /// The points of a path's `d` (`M x y L x y ...`).
    fn path_points(d: &str) -> Vec<(f64, f64)> {
        let numbers: Vec<f64> = d
            .split(|c: char| c.is_ascii_alphabetic() || c == ' ')
            .filter(|t| !t.is_empty())
            .map(|t| t.parse().expect("number"))
            .collect();
        numbers.chunks(2).map(|p| (p[0], p[1])).collect()
    }

    /// Each median line of a band chart: its label, days and values as decoded from the data
    /// attributes, checked against the pixels of its path through the chart's plot box and
    /// axis ends (log10 of the values when `data-ylog`), as the page's script maps them.
    fn decoded_lines(svg: &str) -> Vec<(String, Vec<f64>, Vec<f64>)> {
        let doc = roxmltree::Document::parse(svg).expect("well-formed");
        let root = doc.root_element();
        assert_eq!(root.attribute("data-chart"), Some("band"));
        let (x0, x1, y0, y1) =
            (attr(root, "data-x0"), attr(root, "data-x1"), attr(root, "data-y0"), attr(root, "data-y1"));
        let log = root.attribute("data-ylog") == Some("1");
        let position = |v: f64| if log { libm::log10(v) } else { v };
        let (xmin, xmax) = (attr(root, "data-xmin"), attr(root, "data-xmax"));
        let (ymin, ymax) = (position(attr(root, "data-ymin")), position(attr(root, "data-ymax")));
        let mut days: Vec<f64> = Vec::new();
        let mut lines = Vec::new();
        for node in doc.descendants().filter(|n| n.has_attribute("data-y")) {
            if let Some(x) = node.attribute("data-x") {
                days = data_decode(attr(node, "data-xexp") as i32, x).expect("days");
            }
            let values =
                data_decode(attr(node, "data-yexp") as i32, node.attribute("data-y").expect("values")).expect("values");
            assert_eq!(days.len(), values.len());
            let drawn = path_points(node.attribute("d").expect("a line"));
            assert_eq!(drawn.len(), values.len(), "one value per point drawn");
            for ((day, v), (px, py)) in days.iter().zip(&values).zip(&drawn) {
                let x = x0 + (day - xmin) / (xmax - xmin) * (x1 - x0);
                let y = y0 + (1.0 - (position(*v) - ymin) / (ymax - ymin)) * (y1 - y0);
                // Pixels are written with one decimal (0.05 px), values with 5 digits.
                assert!((x - px).abs() <= 0.06 && (y - py).abs() <= 0.06, "{day} {v}: ({x}, {y}) vs ({px}, {py})");
            }
            lines.push((node.attribute("data-label").expect("a label").to_string(), days.clone(), values));
        }
        lines
    }

    #[test]
    fn series_round_trip_at_five_digits_of_their_largest_value() {
        let values = [15_700_000.0, 15_700_359.999, f64::NAN, 15_752_123.0, 0.0, -3.0];
        let (e, text) = data_series(&values);
        assert_eq!(e, 3, "15.7M: units of 1,000 (5 digits)");
        assert_eq!(text, "15700 0 - 52 -15752 0");
        let back = data_decode(e, &text).expect("a series");
        assert_eq!(back[..2], [15_700_000.0, 15_700_000.0]);
        assert!(back[2].is_nan());
        assert_eq!(back[3..], [15_752_000.0, 0.0, 0.0]);
        let small = [0.0, 0.000002857, 0.0000057445, 0.00014];
        let (e, text) = data_series(&small);
        assert_eq!((e, text.as_str()), (-8, "0 286 288 13426"));
        assert_eq!(data_decode(e, &text).expect("a series"), [0.0, 0.00000286, 0.00000574, 0.00014]);
        for (v, back) in small.iter().zip(data_decode(e, &text).expect("a series")) {
            assert!((v - back).abs() <= 0.5e-8, "{v} {back}");
        }
        assert_eq!(data_series(&[]), (0, String::new()));
        assert_eq!(data_series(&[0.0, 0.0]), (0, "0 0".to_string()));
        assert_eq!(data_decode(0, "1 x"), None, "not a series");
        assert_eq!(data_number(0.1234567), "0.12346");
        assert_eq!(data_number(f64::INFINITY), "-");
    }

    #[test]
    fn a_band_chart_carries_the_values_it_draws() {
        let days: Vec<f64> = (0..30).map(|d| f64::from(d) / 10.0).collect();
        let a: Vec<f64> = days.iter().map(|d| 100.0 + 7.3 * d + libm::sin(*d)).collect();
        let b: Vec<f64> = days.iter().map(|d| 120.0 - 3.1 * d).collect();
        let shorter: Vec<f64> = days[..12].to_vec();
        let c: Vec<f64> = shorter.iter().map(|d| 90.0 + d).collect();
        let layers = [
            layer("a", days.clone(), a.clone()),
            layer("b", days.clone(), b.clone()),
            layer("c", shorter.clone(), c.clone()),
        ];
        let svg = band_chart(&text(), &layers);
        assert!(svg.contains(r#"data-yname="price (USD)""#) && !svg.contains("data-ylog"), "{svg}");
        let lines = decoded_lines(&svg);
        assert_eq!(lines.iter().map(|l| l.0.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
        // Days written once for a and b, again for c (fewer).
        assert_eq!(svg.matches("data-x=").count(), 2, "{svg}");
        for ((_, x, y), (dx, v)) in lines.iter().zip([(&days, &a), (&days, &b), (&shorter, &c)]) {
            assert_eq!(x, dx, "days at 5 digits are the days");
            let (e, _) = data_series(v);
            for (back, v) in y.iter().zip(v.iter()) {
                assert!((back - v).abs() <= 0.5 * libm::pow(10.0, f64::from(e)), "{back} {v}");
            }
        }
        // A long series: the values of the points drawn (thinned), not all of them.
        let long: Vec<f64> = (0..2_161).map(|i| f64::from(i) / 72.0).collect();
        let svg = band_chart(&text(), &[layer("long", long.clone(), long.iter().map(|d| d * 2.0).collect())]);
        let lines = decoded_lines(&svg);
        let idx = crate::svg::thinned(long.len(), crate::svg::MAX_POINTS_DRAWN);
        assert_eq!(lines[0].1.len(), idx.len());
        assert_eq!(lines[0].1.last(), Some(&30.0));
    }

    #[test]
    fn a_log_axis_is_flagged_and_carries_values_not_logarithms() {
        let days = vec![0.0, 1.0, 2.0, 3.0];
        let prices = vec![100.0, 1_000.0, 10.0, 12.5];
        let (svg, log) = band_chart_auto(&text(), &[layer("p", days, prices.clone())]);
        assert!(log && svg.contains(r#"data-ylog="1""#), "{svg}");
        let lines = decoded_lines(&svg);
        assert_eq!(lines[0].2, prices);
        let (svg, log) = band_chart_auto(&text(), &[layer("p", vec![0.0, 1.0], vec![100.0, 110.0])]);
        assert!(!log && !svg.contains("data-ylog"));
    }

    #[test]
    fn error_bars_and_forest_rows_carry_their_values() {
        let series = [ErrorSeries {
            name: "s".into(),
            color: "#000".into(),
            points: vec![ErrorPoint { category: 1, levels: [1.0, 2.0, 3.0, 4.0, 5.123456] }],
        }];
        let svg = crate::svg::errorbar_chart(&text(), &["2M".into(), "20M".into()], &series, true);
        let doc = roxmltree::Document::parse(&svg).expect("well-formed");
        assert_eq!(doc.root_element().attribute("data-chart"), Some("errorbar"));
        let point = doc.descendants().find(|n| n.has_attribute("data-v")).expect("a point");
        assert_eq!(point.attribute("data-v"), Some("1 2 3 4 5.1235"));
        assert_eq!(point.attribute("data-label"), Some("20M · s"));
        assert!(point.descendants().any(|n| n.tag_name().name() == "circle"), "the group holds the point drawn");
        let rows = [
            ForestRow { label: "a.metric".into(), estimate: 0.05, low: 0.01, high: 0.09, highlight: true },
            ForestRow { label: "b.metric".into(), estimate: -0.2, low: f64::NAN, high: f64::NAN, highlight: false },
        ];
        let svg = crate::svg::forest_plot(&text(), &rows, true, 1.0);
        let doc = roxmltree::Document::parse(&svg).expect("well-formed");
        assert_eq!(doc.root_element().attribute("data-chart"), Some("forest"));
        let tips: Vec<(&str, &str)> =
            doc.descendants().filter_map(|n| Some((n.attribute("data-label")?, n.attribute("data-tip")?))).collect();
        assert_eq!(tips, [("a.metric", "5% (interval 1% to 9%)"), ("b.metric", "-20% (interval – to –)")]);
    }

    #[test]
    fn a_histogram_has_no_hover_data() {
        let svg = crate::svg::histogram(&text(), &[1.0, 2.0, 3.0], "#000");
        assert!(!svg.contains("data-chart") && !svg.contains("data-v") && !svg.contains("data-y"), "{svg}");
    }
}
