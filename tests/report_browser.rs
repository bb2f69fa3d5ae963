//! The charts' script (`analysis/assets/charts.js`) in a real browser: headless Chromium
//! opens a report of two short runs at `report.html#selftest`, where the script hovers over
//! the first chart over time, drags a zoom, hovers again, resets, and hovers over the first
//! error-bar point, then writes what the page showed into `<pre id="taosim-selftest">`.
//! The tooltips must show the runs' own values (from their `timeseries.csv` and `runs.csv`)
//! at the sample nearest the pointer, and the zoomed axis the days the drag covered. A
//! comparison's forest plot must show a row's change and interval from `compare.csv`.
//!
//! Ignored by default (it needs Chromium: `apt-get install -y chromium`); `.ci/run` runs it
//! with `--ignored`, where a missing browser fails it rather than skipping it.

use analysis::format::display_number;
use analysis::svg::data_decode;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn taosim(args: &[&str], dir: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_taosim")).args(args).current_dir(dir).output().expect("taosim runs");
    assert!(out.status.success(), "taosim {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The browser: `$TAOSIM_CHROMIUM`, else the first of `chromium`, `chromium-browser`,
/// `google-chrome` that runs.
fn chromium() -> String {
    let candidates: Vec<String> = std::env::var("TAOSIM_CHROMIUM")
        .map(|c| vec![c])
        .unwrap_or_else(|_| ["chromium", "chromium-browser", "google-chrome"].map(String::from).to_vec());
    candidates
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
        .unwrap_or_else(|| {
            panic!("this test needs Chromium (apt-get install -y chromium, or TAOSIM_CHROMIUM=/path/to/chrome)")
        })
}

/// The DOM of `page#selftest` after its scripts ran, as headless Chromium dumps it.
fn dump_dom(browser: &str, page: &Path, profile: &Path) -> String {
    let url = format!("file://{}#selftest", page.display());
    let mut child = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(&url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Chromium starts");
    // Read while it runs: a page larger than the pipe's buffer would block it otherwise.
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).map(|_| text)
    });
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("Chromium did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().expect("reader").expect("UTF-8 output")
}

/// The self-test's JSON from the dumped DOM (text in HTML: `&amp;`, `&lt;`, `&gt;` escaped).
fn selftest(dom: &str) -> serde_json::Value {
    // The last one: the script (inline, before it) names the element in a comment.
    let start = dom.rfind("<pre id=\"taosim-selftest\">").unwrap_or_else(|| panic!("no self-test output in:\n{dom}"));
    let rest = &dom[start + "<pre id=\"taosim-selftest\">".len()..];
    let text = &rest[..rest.find("</pre>").expect("</pre>")];
    let json = text.replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", "\u{a0}").replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

/// Reads a CSV: the header and the rows.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header = lines.next().expect("header").split(',').map(String::from).collect();
    (header, lines.map(|l| l.split(',').map(String::from).collect()).collect())
}

fn number(node: roxmltree::Node<'_, '_>, name: &str) -> f64 {
    node.attribute(name).unwrap_or_else(|| panic!("{name}")).parse().unwrap_or_else(|_| panic!("{name}"))
}

/// `v` as the chart's data keeps it: an integer number of units of 10^e.
fn kept(v: f64, e: i32) -> f64 {
    let units = (v / 10f64.powi(e)).round();
    if e < 0 { units / 10f64.powi(-e) } else { units * 10f64.powi(e) }
}

/// A median line of the chart: label, days, values and the exponent of its values.
struct Line {
    label: String,
    days: Vec<f64>,
    values: Vec<f64>,
    exponent: i32,
}

/// The chart the self-test used: the plot box and axis ends, its lines.
struct Chart {
    x0: f64,
    x1: f64,
    xmin: f64,
    xmax: f64,
    yname: String,
    lines: Vec<Line>,
}

fn chart(html: &str, title: &str) -> Chart {
    let doc = roxmltree::Document::parse_with_options(
        html,
        roxmltree::ParsingOptions { allow_dtd: true, ..roxmltree::ParsingOptions::default() },
    )
    .expect("report.html is well-formed");
    let svg = doc
        .descendants()
        .find(|n| {
            n.attribute("data-chart") == Some("band")
                && n.children().find(|c| c.has_tag_name("title")).and_then(|t| t.text()) == Some(title)
        })
        .unwrap_or_else(|| panic!("a band chart titled {title}"));
    let mut days = Vec::new();
    let mut lines = Vec::new();
    for node in svg.descendants().filter(|n| n.has_attribute("data-y")) {
        if let Some(x) = node.attribute("data-x") {
            days = data_decode(number(node, "data-xexp") as i32, x).expect("days");
        }
        let exponent = number(node, "data-yexp") as i32;
        lines.push(Line {
            label: node.attribute("data-label").expect("label").to_string(),
            days: days.clone(),
            values: data_decode(exponent, node.attribute("data-y").expect("values")).expect("values"),
            exponent,
        });
    }
    Chart {
        x0: number(svg, "data-x0"),
        x1: number(svg, "data-x1"),
        xmin: number(svg, "data-xmin"),
        xmax: number(svg, "data-xmax"),
        yname: svg.attribute("data-yname").expect("yname").to_string(),
        lines,
    }
}

/// The index of the day nearest `day` (the earlier on a tie, as the script).
fn nearest(days: &[f64], day: f64) -> usize {
    let mut best = 0;
    for (i, d) in days.iter().enumerate() {
        if (d - day).abs() < (days[best] - day).abs() {
            best = i;
        }
    }
    best
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array().expect("an array").iter().map(|s| s.as_str().expect("text").to_string()).collect()
}

fn float(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("a number: {v}"))
}

/// The values of `series` in each run's `timeseries.csv`, by block.
fn run_values(run: &Path, series: &str) -> Vec<(u64, f64)> {
    let (header, rows) = read_csv(&run.join("timeseries.csv"));
    let col = header.iter().position(|h| h == series).unwrap_or_else(|| panic!("column {series}"));
    rows.iter().filter_map(|r| Some((r[0].parse().ok()?, r[col].parse().ok()?))).collect()
}

/// Checks a tooltip over the band chart: the day of the sample nearest `day`, the axis
/// label, then each line's label and its run's value there (as the chart keeps it).
fn check_tooltip(tip: &[String], c: &Chart, day: f64, runs: &[PathBuf], series: &str) {
    let first = &c.lines[0];
    let i = nearest(&first.days, day);
    assert_eq!(tip[0], format!("day {}", display_number(first.days[i])), "{tip:?}");
    assert_eq!(tip[1], c.yname);
    assert_eq!(tip.len(), 2 + c.lines.len(), "{tip:?}");
    let block = (first.days[i] * 7_200.0).round() as u64;
    for ((line, text), run) in c.lines.iter().zip(&tip[2..]).zip(runs) {
        let csv = run_values(run, series);
        let v = csv.iter().find(|(b, _)| *b == block).unwrap_or_else(|| panic!("block {block} in {}", run.display())).1;
        let j = nearest(&line.days, day);
        assert_eq!(line.values[j], kept(v, line.exponent), "the chart's data hold the run's value");
        assert_eq!(*text, format!("{}: {}", line.label, display_number(kept(v, line.exponent))));
    }
}

#[test]
#[ignore = "needs Chromium"]
fn hover_and_zoom_show_the_runs_values_in_a_browser() {
    let browser = chromium();
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/liquidity-shock.toml");
    let scenario = scenario.to_str().expect("path");
    // Two settings of one run each: the report has band charts with two lines and charts
    // against the parameter (error bars).
    // Folders in the order of the values, so that s01 is the thin book in every chart.
    for (name, depth) in [("a-thin", "2000000.0"), ("b-deep", "20000000.0")] {
        let set = format!("market.venue.depth_2pct_usd={depth}");
        taosim(&["run", scenario, "--quiet", "--horizon", "3d", "--set", &set, "--out", &format!("runs/{name}")], dir);
    }
    taosim(&["report", "--quiet", "runs", "--out", "report"], dir);
    let page = dir.join("report/report.html");
    let html = std::fs::read_to_string(&page).expect("report.html");
    let result = selftest(&dump_dom(&browser, &page, &dir.join("chromium")));
    assert!(result.get("error").is_none(), "{result}");

    let runs = [dir.join("runs/a-thin"), dir.join("runs/b-deep")];
    let (header, settings) = read_csv(&dir.join("report/settings.csv"));
    assert_eq!(header[..2], ["setting".to_string(), "market.venue.depth_2pct_usd".to_string()]);
    assert_eq!(settings[0][..2], ["s01".to_string(), "2000000.0".to_string()]);

    let band = &result["band"];
    let series = band["series"].as_str().expect("the series drawn");
    let c = chart(&html, band["title"].as_str().expect("title"));
    assert_eq!(c.lines.len(), 2, "one line per setting");
    let width = c.x1 - c.x0;
    let span = c.xmax - c.xmin;
    let pixel = 2.0 / width;

    // Hover at the middle of the plot: the sample nearest the pointer, and the guide there.
    let at = float(&band["hover"]["fraction"]);
    assert!((at - 0.5).abs() <= pixel, "{at}");
    let day = c.xmin + at * span;
    check_tooltip(&strings(&band["hover"]["lines"]), &c, day, &runs, series);
    let shown = c.lines[0].days[nearest(&c.lines[0].days, day)];
    let guide = c.x0 + (shown - c.xmin) / span * width;
    assert!((float(&band["hover"]["guide"]) - guide).abs() <= 0.05 + 1e-9, "guide at {guide}: {band}");

    // A drag from a quarter to three quarters of the plot shows those days.
    let (from, to) = (float(&band["zoom"]["from"]), float(&band["zoom"]["to"]));
    assert!((from - 0.25).abs() <= pixel && (to - 0.75).abs() <= pixel, "{from} {to}");
    let range: Vec<f64> = band["zoom"]["range"].as_array().expect("zoomed").iter().map(float).collect();
    let (lo, hi) = (c.xmin + from * span, c.xmin + to * span);
    assert!((range[0] - lo).abs() <= 1e-9 * span && (range[1] - hi).abs() <= 1e-9 * span, "{range:?} vs {lo} {hi}");
    let ticks: Vec<f64> = strings(&band["ticks"]).iter().map(|t| t.parse().expect("a tick")).collect();
    assert!((3..=12).contains(&ticks.len()) && ticks.iter().all(|t| (lo..=hi).contains(t)), "{ticks:?} in {lo}..{hi}");

    // Hover after the zoom: the pointer's day is in the zoomed range, not the whole axis.
    let at = float(&band["zoomed_hover"]["fraction"]);
    let day = lo + at * (hi - lo);
    let tip = strings(&band["zoomed_hover"]["lines"]);
    check_tooltip(&tip, &c, day, &runs, series);
    let unzoomed = c.lines[0].days[nearest(&c.lines[0].days, c.xmin + at * span)];
    assert_ne!(tip[0], format!("day {}", display_number(unzoomed)), "the zoom moved what the pointer is over");
    assert_eq!(band["reset"], serde_json::Value::Bool(true), "double-click restores the static chart");

    // An error-bar point: its label and the run's value of the metric (one run a setting:
    // every percentile is that value).
    let point = &result["point"];
    assert_eq!(point["kind"], "errorbar", "{result}");
    let values: Vec<f64> =
        point["values"].as_str().expect("data-v").split(' ').map(|v| v.parse().expect("number")).collect();
    assert!(values.windows(2).all(|w| w[0] == w[1]), "{values:?}");
    let lines = strings(&point["lines"]);
    assert_eq!(lines[0], point["label"].as_str().expect("label"));
    assert!(lines[0].starts_with("2M · "), "the first point is s01's: {lines:?}");
    let v = display_number(values[0]);
    assert!(lines[1].starts_with(&format!("median {v}; P25–P75 {v} – {v}; P5–P95 {v} – {v} (")), "{lines:?}");
    let metric = point["metric"].as_str().expect("metric");
    let (header, rows) = read_csv(&dir.join("report/runs.csv"));
    let col = header.iter().position(|h| h == metric).unwrap_or_else(|| panic!("{metric} in runs.csv"));
    let row = rows.iter().find(|r| r[1] == "s01").expect("s01's run");
    let run_value: f64 = row[col].parse().expect("a value");
    assert_eq!(values[0], analysis::format::round_significant(run_value, 5), "{metric}");
}

#[test]
#[ignore = "needs Chromium"]
fn a_forest_row_shows_its_change_and_interval_in_a_browser() {
    let browser = chromium();
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/liquidity-shock.toml");
    let scenario = scenario.to_str().expect("path");
    // Three seeds a side (an interval needs 3 runs), the same seeds: paired.
    for (side, depth) in [("A", "2000000.0"), ("B", "20000000.0")] {
        for seed in ["1", "2", "3"] {
            let set = format!("market.venue.depth_2pct_usd={depth}");
            let out = format!("{side}/s{seed}");
            taosim(&["run", scenario, "--quiet", "--horizon", "3d", "--seed", seed, "--set", &set, "--out", &out], dir);
        }
    }
    taosim(&["compare", "--quiet", "A", "B", "--out", "cmp"], dir);
    let result = selftest(&dump_dom(&browser, &dir.join("cmp/compare.html"), &dir.join("chromium")));
    assert!(result.get("error").is_none(), "{result}");
    // The forest's first row is compare.csv's first row with an interval.
    let (header, rows) = read_csv(&dir.join("cmp/compare.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("{name}"));
    let row = rows.iter().find(|r| !r[col("diff_ci_low")].is_empty()).expect("a row with an interval");
    let value = |name: &str| -> f64 { row[col(name)].parse().expect("a number") };
    let scale = value("mean_a").abs();
    let point = &result["point"];
    assert_eq!(point["kind"], "forest", "{result}");
    let lines = strings(&point["lines"]);
    assert_eq!(lines[0], row[col("metric")]);
    let percent = analysis::format::display_percent;
    assert_eq!(
        lines[1],
        format!(
            "{} (interval {} to {})",
            percent(value("relative_change")),
            percent(value("diff_ci_low") / scale),
            percent(value("diff_ci_high") / scale)
        )
    );
}
