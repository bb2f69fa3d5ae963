//! Reports of whole sweeps: well-formed HTML and SVG, charts present, no NaN or infinity,
//! tables that read back, and the same bytes whatever the thread count or folder location.

use crate::fixtures::{real_sweep, synthetic_sweep};
use analysis::analyse::{Options, analyse_folder};
use analysis::report::write_report;
use std::collections::BTreeMap;
use std::path::Path;

fn xml_options<'a>() -> roxmltree::ParsingOptions<'a> {
    roxmltree::ParsingOptions { allow_dtd: true, ..roxmltree::ParsingOptions::default() }
}

/// Every number in an attribute or path of an SVG element, which must be finite.
fn check_numbers(node: roxmltree::Node<'_, '_>) {
    for attr in node.attributes() {
        let value = attr.value();
        let numeric = matches!(
            attr.name(),
            "x" | "y" | "x1" | "x2" | "y1" | "y2" | "cx" | "cy" | "r" | "rx" | "width" | "height" | "stroke-width"
        );
        if numeric {
            let v: f64 = value.parse().unwrap_or_else(|_| panic!("{}={value:?} is not a number", attr.name()));
            assert!(v.is_finite(), "{}={value}", attr.name());
        }
        if attr.name() == "d" {
            for token in value.split(|c: char| c.is_ascii_alphabetic() || c == ' ').filter(|t| !t.is_empty()) {
                let v: f64 = token.parse().unwrap_or_else(|_| panic!("path number {token:?}"));
                assert!(v.is_finite(), "path {value}");
            }
        }
        // Labels (a setting, a metric) are text: checked word by word, like the page's text.
        if matches!(attr.name(), "data-label" | "data-tip" | "data-yname") {
            check_words(value);
            continue;
        }
        let lower = value.to_ascii_lowercase();
        assert!(!lower.contains("nan") && !lower.contains("inf"), "{}={value}", attr.name());
        // The values for the page's script: numbers, or `-` for a missing one.
        let data = [
            "data-x",
            "data-y",
            "data-v",
            "data-x0",
            "data-x1",
            "data-y0",
            "data-y1",
            "data-xmin",
            "data-xmax",
            "data-ymin",
            "data-ymax",
            "data-xexp",
            "data-yexp",
        ];
        if data.contains(&attr.name()) {
            for token in value.split(' ').filter(|t| *t != "-") {
                let v: f64 = token.parse().unwrap_or_else(|_| panic!("{}={value}", attr.name()));
                assert!(v.is_finite());
            }
        }
    }
}

/// No NaN or infinity among the words of a text.
fn check_words(text: &str) {
    for word in text.split(|c: char| !c.is_ascii_alphanumeric() && c != '-') {
        let w = word.trim_start_matches('-');
        assert!(!matches!(w, "NaN" | "nan" | "inf" | "Inf" | "infinity" | "Infinity"), "no NaN or infinity in: {text}");
    }
}

/// Parses report.html as XML and every SVG on its own; returns the SVGs' titles.
fn check_html(html: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse_with_options(html, xml_options()).expect("report.html is well-formed");
    assert_eq!(doc.root_element().tag_name().name(), "html");
    let mut titles = Vec::new();
    for svg in doc.descendants().filter(|n| n.tag_name().name() == "svg") {
        let range = svg.range();
        let alone = roxmltree::Document::parse(&html[range]).expect("each SVG is well-formed on its own");
        assert_eq!(alone.root_element().tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
        let title = svg.children().find(|n| n.tag_name().name() == "title").and_then(|t| t.text()).unwrap_or_default();
        assert!(!title.is_empty(), "every chart has a title");
        let texts = svg.descendants().filter(|n| n.tag_name().name() == "text").count();
        assert!(texts >= 4, "a chart has a title, axis labels and ticks: {title}");
        for node in svg.descendants() {
            check_numbers(node);
        }
        titles.push(title.to_string());
    }
    // Words, not substrings: text nodes joined with spaces (a metric `x.min` followed by
    // `fair_price` is not "inf").
    let text: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    for node in text {
        check_words(node);
    }
    // The charts' script is inline: nothing to fetch when the page is viewed.
    assert!(html.contains(analysis::report::CHARTS_SCRIPT));
    assert!(!html.contains("<script src") && !html.contains("src=\"http") && !html.contains("href=\"http"));
    titles
}

/// Reads a CSV: header and rows of equal length, every cell that looks numeric finite.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    let rows: Vec<Vec<String>> =
        reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect::<Vec<String>>()).collect();
    for row in &rows {
        assert_eq!(row.len(), header.len(), "{}", path.display());
        for cell in row {
            assert!(
                !cell.contains("NaN") && !cell.contains("inf") && !cell.contains('e') || cell.parse::<f64>().is_err(),
                "{}: plain numbers only, got {cell}",
                path.display()
            );
        }
    }
    (header, rows)
}

fn column<'a>(header: &[String], row: &'a [String], name: &str) -> &'a str {
    &row[header.iter().position(|h| h == name).unwrap_or_else(|| panic!("column {name}"))]
}

#[test]
fn a_real_sweep_renders_a_well_formed_report_with_its_tables() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = tmp.path().join("sweep");
    real_sweep(&sweep, &[1, 2, 3]);
    let analysis = analyse_folder(&sweep, &Options::default()).unwrap();
    assert_eq!(analysis.study.runs.len(), 6);
    assert_eq!(analysis.study.failed.len(), 1);
    assert_eq!(analysis.study.params, vec!["chain.emission.schedule"]);
    let files = write_report(&analysis, &sweep).unwrap();
    assert_eq!(files.len(), 6);
    let html = std::fs::read_to_string(sweep.join("report.html")).unwrap();
    let titles = check_html(&html);
    // Columns that change over time are drawn; the others are listed as constant.
    for t in ["Total issuance (TAO)", "Block emission (TAO)", "Minted (TAO)"] {
        assert!(titles.iter().any(|x| x == t), "{t} in {titles:?}");
    }
    // Some columns are constant in this model (e.g. the subnet count): they are named with
    // their value instead of being drawn as a flat band.
    let constant = html
        .split("<code>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</code> = ").map(|(name, _)| name.to_string()))
        .next()
        .expect("constant columns are named");
    let label = analysis::units::describe(&constant).label().to_lowercase();
    assert!(!titles.iter().any(|t| t.to_lowercase() == label), "constant column {constant} is not drawn: {titles:?}");
    assert!(html.contains("Failed runs (1)") && html.contains("model panicked: test failure"));
    assert!(html.contains("id=\"parameters\""), "a metric against the varied parameter");

    // Settings are named by a short label; settings.csv maps it to the full values.
    let (header, rows) = read_csv(&sweep.join("settings.csv"));
    assert_eq!(header, ["setting", "chain.emission.schedule", "runs"]);
    assert_eq!(rows, [["s01", "halving", "3"], ["s02", "smooth", "3"]]);
    let (header, rows) = read_csv(&sweep.join("bands.csv"));
    assert_eq!(header, ["setting", "series", "block", "day", "n", "p5", "p25", "p50", "p75", "p95"]);
    let first = rows
        .iter()
        .find(|r| r[0] == "s01" && r[1] == "total_issuance_tao" && r[2] == "0")
        .expect("issuance at block 0");
    assert_eq!((column(&header, first, "n"), column(&header, first, "p50")), ("3", "15700000"));
    // Day 16 ends at block 115,200: every run has it, sampled exactly.
    let last = rows.iter().rev().find(|r| r[0] == "s01" && r[1] == "total_issuance_tao").unwrap();
    assert_eq!(column(&header, last, "block"), "115200");
    assert_eq!(column(&header, last, "day"), "16");

    let (header, rows) = read_csv(&sweep.join("metrics.csv"));
    assert_eq!(&header[..3], ["setting", "chain.emission.schedule", "metric"]);
    let get = |group: &str, metric: &str| -> BTreeMap<String, String> {
        let row = rows.iter().find(|r| r[1] == group && r[2] == metric).unwrap_or_else(|| panic!("{group} {metric}"));
        header.iter().cloned().zip(row.iter().cloned()).collect()
    };
    let halving = get("halving", "halving1.block");
    assert_eq!((halving["n"].as_str(), halving["p50"].as_str()), ("3", "100002"), "the halving at block 100,002");
    let smooth = get("smooth", "final_issuance_tao");
    assert_eq!(smooth["n"], "3", "the failed run is not counted");
    assert_eq!(smooth["unit"], "TAO");
    assert!(rows.iter().all(|r| !(r[1] == "smooth" && r[2] == "halving1.block")), "smooth emission never halves");

    let (header, rows) = read_csv(&sweep.join("runs.csv"));
    assert_eq!(rows.len(), 6);
    assert_eq!(&header[..4], ["run_id", "setting", "seed", "chain.emission.schedule"]);
    // Event counts are 0 in runs that never logged the kind, never empty (NaN in pandas).
    let counts: Vec<usize> = (0..header.len()).filter(|&i| header[i].starts_with("events.")).collect();
    assert!(!counts.is_empty(), "{header:?}");
    for i in counts {
        assert!(rows.iter().all(|r| r[i].parse::<f64>().is_ok()), "{} has an empty cell", header[i]);
    }
    let halvings = header.iter().position(|h| h == "events.halving_count").expect("halving count");
    let smooth: Vec<&str> = rows.iter().filter(|r| r[3] == "smooth").map(|r| r[halvings].as_str()).collect();
    assert_eq!(smooth, ["0", "0", "0"], "smooth emission never halves: 0 halvings, not missing");
}

#[test]
fn a_sweep_of_128_subnets_draws_the_top_k_and_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = tmp.path().join("sweep");
    synthetic_sweep(&sweep, &[2e6, 2e7], &[1, 2, 3], 128);
    let analysis = analyse_folder(&sweep, &Options::default()).unwrap();
    write_report(&analysis, &sweep).unwrap();
    let html = std::fs::read_to_string(sweep.join("report.html")).unwrap();
    let titles = check_html(&html);
    assert!(titles.iter().any(|t| t == "TAO/USD price (USD per TAO)"), "{titles:?}");
    assert!(titles.iter().any(|t| t == "Subnets: emission (TAO/day)"), "{titles:?}");
    // An entity chart's legend: 8 subnets and the rest, never 128 lines.
    let doc = roxmltree::Document::parse_with_options(&html, xml_options()).unwrap();
    let entity_chart = doc
        .descendants()
        .find(|n| {
            n.tag_name().name() == "svg"
                && n.children()
                    .any(|c| c.tag_name().name() == "title" && c.text() == Some("Subnets: emission (TAO/day)"))
        })
        .unwrap();
    let lines = entity_chart.descendants().filter(|n| n.tag_name().name() == "path").count();
    assert_eq!(lines, 9, "8 medians and the rest's");
    assert!(html.contains("rest: mean of 120"));

    // Entity bands: one integer id per row (pandas reads the column as integers); the rest's
    // aggregates are series of their own in bands.csv.
    let (header, rows) = read_csv(&sweep.join("entity_bands.csv"));
    assert_eq!(header, ["setting", "series", "entity", "block", "day", "n", "p5", "p25", "p50", "p75", "p95"]);
    assert!(rows.iter().all(|r| r[2].parse::<u16>().is_ok()), "every entity is a netuid");
    let entities = |series: &str| -> Vec<String> {
        let mut e: Vec<String> =
            rows.iter().filter(|r| r[0] == "s01" && r[1] == series).map(|r| r[2].clone()).collect();
        e.dedup();
        e
    };
    assert_eq!(entities("subnets.emission_tao_per_day").len(), 8);
    assert_eq!(entities("subnets.price_tao").len(), 8);
    let (_, rows) = read_csv(&sweep.join("bands.csv"));
    let has = |series: &str| rows.iter().any(|r| r[0] == "s01" && r[1] == series);
    assert!(has("subnets.emission_tao_per_day.rest_mean") && has("subnets.emission_tao_per_day.rest_sum"));
    assert!(has("subnets.price_tao.rest_mean") && !has("subnets.price_tao.rest_sum"), "a price has no meaningful sum");

    let (_, rows) = read_csv(&sweep.join("metrics.csv"));
    for metric in [
        "tao_usd_price.max_drawdown_fraction",
        "tao_usd_price.var99_daily_loss_fraction",
        "tao_usd_price.es99_daily_loss_fraction",
        "sell_pressure_over_depth.peak_per_day",
        "halving1.miner_exit_30d_fraction",
        "halving1.gpus_online_change_fraction",
        "attackers.emission_over_stake_share_ratio",
        "subnets.emission_tao_per_day.nakamoto.final",
        "subnets.stake_tao.gini.final",
        "subnets.price_tao.max_drawdown_fraction.worst",
    ] {
        assert!(rows.iter().filter(|r| r[2] == metric).count() == 2, "{metric} in both settings");
    }
    // The shallow book (2M) shows more sell pressure per unit of depth than the deep one.
    let peak = |depth: &str| -> f64 {
        let row = rows.iter().find(|r| r[1] == depth && r[2] == "sell_pressure_over_depth.peak_per_day").unwrap();
        row[9].parse().unwrap()
    };
    assert!(peak("2000000") > 5.0 * peak("20000000"), "{} vs {}", peak("2000000"), peak("20000000"));
}

#[test]
fn reports_are_the_same_bytes_for_any_thread_count_and_location() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = tmp.path().join("a/sweep");
    synthetic_sweep(&sweep, &[2e6, 5e6], &[1, 2], 16);
    let render = |threads: usize, out: &Path| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let analysis = analyse_folder(&sweep, &Options::default()).unwrap();
            write_report(&analysis, out).unwrap();
        });
    };
    render(1, &tmp.path().join("one"));
    render(3, &tmp.path().join("three"));
    for name in ["report.html", "settings.csv", "bands.csv", "entity_bands.csv", "metrics.csv", "runs.csv"] {
        let a = std::fs::read(tmp.path().join("one").join(name)).unwrap();
        let b = std::fs::read(tmp.path().join("three").join(name)).unwrap();
        assert!(a == b, "{name} differs between 1 and 3 threads");
    }
    // The same sweep copied elsewhere reports the same bytes (no paths or times inside).
    let copy = tmp.path().join("b/sweep");
    copy_dir(&sweep, &copy);
    let analysis = analyse_folder(&copy, &Options::default()).unwrap();
    write_report(&analysis, &tmp.path().join("copy")).unwrap();
    assert!(
        std::fs::read(tmp.path().join("copy/report.html")).unwrap()
            == std::fs::read(tmp.path().join("one/report.html")).unwrap()
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn malformed_sweeps_are_refused_with_the_file_named() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("summary.csv"), "run_id,seed,x\nr1,1,2\n").unwrap();
    let e = analyse_folder(tmp.path(), &Options::default()).unwrap_err().to_string();
    assert!(e.contains("summary.csv") && e.contains("run_id, seed and status"), "{e}");
    let empty = tempfile::tempdir().unwrap();
    let e = analyse_folder(empty.path(), &Options::default()).unwrap_err().to_string();
    assert!(e.contains("not a taosim run or sweep folder"), "{e}");
}

/// A grid of 4 depths x 2 sell fractions (8 settings, more than fit side by side): the
/// headline shows every setting as a row with both parameters, never an evenly chosen subset
/// (which mixed the two parameters), and the legends tell the settings apart.
#[test]
fn a_grid_of_8_settings_shows_every_setting_and_distinct_legends() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = tmp.path().join("grid");
    let params = vec!["market.depth_usd".to_string(), "market.sell_fraction".to_string()];
    let mut points = Vec::new();
    for depth in [2e6, 5e6, 1e7, 2e7] {
        for sell in [0.1, 0.3] {
            let spec = analysis::synthetic::Spec { sell_fraction: sell, ..crate::fixtures::short_spec(depth, 0) };
            points.push((vec![depth.to_string(), sell.to_string()], spec));
        }
    }
    analysis::synthetic::write_sweep(&sweep, &params, &points, &[1, 2], &[]).unwrap();
    let analysis = analyse_folder(&sweep, &Options::default()).unwrap();
    assert_eq!(analysis.study.groups.len(), 8);
    write_report(&analysis, &sweep).unwrap();
    let html = std::fs::read_to_string(sweep.join("report.html")).unwrap();
    check_html(&html);
    let headline = &html[html.find("id=\"headline\"").unwrap()..html.find("id=\"over-time\"").unwrap()];
    assert!(!headline.contains("evenly chosen"), "no subset of the settings");
    for (g, (depth, sell)) in [
        ("2M", "0.1"),
        ("2M", "0.3"),
        ("5M", "0.1"),
        ("5M", "0.3"),
        ("10M", "0.1"),
        ("10M", "0.3"),
        ("20M", "0.1"),
        ("20M", "0.3"),
    ]
    .iter()
    .enumerate()
    {
        let row =
            format!("<tr><td class=\"l\">s0{}</td><td class=\"l\">{depth}</td><td class=\"l\">{sell}</td>", g + 1);
        assert!(headline.contains(&row), "{row} in the headline");
    }
    // Every chart's legend names each drawn setting once, distinctly.
    let doc = roxmltree::Document::parse_with_options(&html, xml_options()).unwrap();
    let chart = doc
        .descendants()
        .find(|n| {
            n.tag_name().name() == "svg"
                && n.children()
                    .any(|c| c.tag_name().name() == "title" && c.text() == Some("TAO/USD price (USD per TAO)"))
        })
        .expect("a price chart");
    let legend: Vec<&str> = chart
        .descendants()
        .filter(|n| n.tag_name().name() == "text")
        .filter_map(|n| n.text())
        .filter(|t| t.starts_with("s0"))
        .collect();
    let mut distinct = legend.clone();
    distinct.sort();
    distinct.dedup();
    assert!(legend.len() >= 8 && distinct.len() == legend.len(), "{legend:?}");
}
