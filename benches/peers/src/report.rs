//! The peers' CSV schema, peak memory, and the side-by-side table.
//!
//! Every row, taosim's and the peers', has the columns of the peers' `peers_common.py`, so the
//! outputs of both sides concatenate into one file. [`comparison_markdown`] reads such a file
//! and prints, per model and size, every implementation's throughput and memory with the ratio
//! taosim / peer, then a summary against the targets.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The peers' CSV columns, in order (commented in `../shared/peers/peers_common.py`).
pub const COLUMNS: [&str; 23] = [
    "bench",
    "impl",
    "version",
    "mode",
    "procs",
    "N",
    "V",
    "M",
    "tempos",
    "S",
    "B",
    "R",
    "seed",
    "wall_s",
    "events",
    "events_per_s",
    "internal_events",
    "blocks_per_s",
    "block_subnet_updates_per_s",
    "peak_rss_mb",
    "child_peak_rss_mb",
    "tree_peak_rss_mb",
    "check",
];

/// One CSV row: column → text; columns left out are empty.
pub type Row = BTreeMap<String, String>;

/// The CSV header line.
pub fn header_line() -> String {
    COLUMNS.join(",")
}

/// A row as one CSV line in [`COLUMNS`] order (fields quoted as Python's csv module does).
pub fn csv_line(row: &Row) -> String {
    COLUMNS
        .iter()
        .map(|c| {
            let v = row.get(*c).map(String::as_str).unwrap_or("");
            if v.contains([',', '"', '\n', '\r']) { format!("\"{}\"", v.replace('"', "\"\"")) } else { v.to_string() }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A float as the peers format it: `%.0f` from 1e5 up, else `%.6g`.
pub fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return String::new();
    }
    if x.abs() >= 1e5 {
        return format!("{x:.0}");
    }
    if x == 0.0 {
        return "0".into();
    }
    let sci = format!("{x:.5e}");
    let exponent: i32 = sci.split_once('e').and_then(|(_, e)| e.parse().ok()).unwrap_or(0);
    if !(-4..6).contains(&exponent) {
        let (m, _) = sci.split_once('e').unwrap_or((&sci, ""));
        let m = if m.contains('.') { m.trim_end_matches('0').trim_end_matches('.') } else { m };
        return format!("{m}e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.unsigned_abs());
    }
    let s = format!("{x:.*}", (5 - exponent) as usize);
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// Peak resident memory of this process in MiB (`VmHWM` of /proc/self/status, Linux), the
/// same quantity as the peers' `getrusage(RUSAGE_SELF).ru_maxrss`.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kib / 1024.0 * 10.0).round() / 10.0)
}

/// Reads CSV text with a header into rows (column → text).
pub fn read_rows(text: &str) -> Result<Vec<Row>, csv::Error> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let headers = reader.headers()?.clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record?;
        rows.push(headers.iter().zip(record.iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect());
    }
    Ok(rows)
}

fn get<'a>(row: &'a Row, column: &str) -> &'a str {
    row.get(column).map(String::as_str).unwrap_or("")
}

fn num(row: &Row, column: &str) -> Option<f64> {
    get(row, column).parse().ok()
}

/// The throughput a row is compared on: model events/s (queues) or blocks/s (bittensor_lite).
fn rate(row: &Row) -> Option<f64> {
    if get(row, "bench") == "bittensor_lite" { num(row, "blocks_per_s") } else { num(row, "events_per_s") }
}

/// The model and size a row belongs to.
fn group_key(row: &Row) -> (String, String) {
    let bench = get(row, "bench").to_string();
    let size = match bench.as_str() {
        "mm1" => format!("N={}", get(row, "N")),
        "fanout" => format!("V={} M={} tempos={}", get(row, "V"), get(row, "M"), get(row, "tempos")),
        _ => format!("S={} B={} R={}", get(row, "S"), get(row, "B"), get(row, "R")),
    };
    (bench, size)
}

/// Whether a row's figures were copied from an earlier peer run rather than measured now.
fn is_reused(row: &Row) -> bool {
    get(row, "check").contains("reused_from=")
}

/// taosim's single-threaded row of a group: the one every ratio is taken against.
fn taosim_base<'a>(rows: &[&'a Row]) -> Option<&'a Row> {
    rows.iter().copied().find(|r| get(r, "impl") == "taosim" && get(r, "procs") == "1" && rate(r).is_some())
}

fn fmt_rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn fmt_ratio(x: f64) -> String {
    if x >= 100.0 { format!("{x:.0}x") } else { format!("{x:.1}x") }
}

/// The targets: (label, bench prefix, which peer rows, minimum ratio).
struct Target {
    label: &'static str,
    benches: &'static [&'static str],
    peer: fn(&Row) -> bool,
    min_ratio: f64,
}

fn is_simpy(r: &Row) -> bool {
    get(r, "impl") == "simpy"
}
fn is_radcad_default(r: &Row) -> bool {
    get(r, "impl") == "radcad" && !get(r, "mode").contains("no_deepcopy") && !get(r, "mode").contains("drop_substeps")
}
fn is_cadcad_default(r: &Row) -> bool {
    get(r, "impl") == "cadcad" && !get(r, "mode").contains("deepcopy_off")
}
fn is_numpy(r: &Row) -> bool {
    get(r, "impl") == "numpy"
}

const TARGETS: [Target; 4] = [
    Target { label: "M/M/1 and fan-out vs SimPy", benches: &["mm1", "fanout"], peer: is_simpy, min_ratio: 100.0 },
    Target {
        label: "bittensor_lite vs radCAD (default engine options, fastest backend)",
        benches: &["bittensor_lite"],
        peer: is_radcad_default,
        min_ratio: 1000.0,
    },
    Target {
        label: "bittensor_lite vs cadCAD (deepcopy on, fastest mode)",
        benches: &["bittensor_lite"],
        peer: is_cadcad_default,
        min_ratio: 100.0,
    },
    Target { label: "bittensor_lite vs numpy", benches: &["bittensor_lite"], peer: is_numpy, min_ratio: 10.0 },
];

/// The comparison as Markdown: one table of every row with its ratio, then the targets.
pub fn comparison_markdown(rows: &[Row]) -> String {
    let groups = group_rows(rows);
    let mut o = rows_table(&groups);
    o.push('\n');
    o.push_str(&targets_table(&groups));
    o
}

/// Only the summary against the targets.
pub fn targets_markdown(rows: &[Row]) -> String {
    targets_table(&group_rows(rows))
}

type Groups<'a> = Vec<((String, String), Vec<&'a Row>)>;

fn group_rows(rows: &[Row]) -> Groups<'_> {
    let mut groups: Vec<((String, String), Vec<&Row>)> = Vec::new();
    for row in rows {
        let key = group_key(row);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(row),
            None => groups.push((key, vec![row])),
        }
    }
    groups
}

fn rows_table(groups: &Groups<'_>) -> String {
    let mut o = String::new();
    o.push_str("| model | size | impl | mode | procs | wall s | model events/s or blocks/s | peak RSS MB | taosim / this | source |\n");
    o.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for ((bench, size), members) in groups {
        let base = taosim_base(members).and_then(rate);
        let mut ordered: Vec<&Row> = members.iter().copied().filter(|r| get(r, "impl") == "taosim").collect();
        ordered.extend(members.iter().copied().filter(|r| get(r, "impl") != "taosim"));
        for r in ordered {
            let wall = num(r, "wall_s").map(|w| format!("{w:.3}")).unwrap_or_else(|| get(r, "check").to_string());
            let speed = rate(r).map(fmt_rate).unwrap_or_default();
            let rss = num(r, "peak_rss_mb").map(|m| format!("{m:.0}")).unwrap_or_default();
            let ratio = match (base, rate(r)) {
                (Some(b), Some(x)) if get(r, "impl") != "taosim" => fmt_ratio(b / x),
                _ => String::new(),
            };
            let source = if is_reused(r) { "reused from peers' results" } else { "measured" };
            let _ = writeln!(
                o,
                "| {bench} | {size} | {} | {} | {} | {wall} | {speed} | {rss} | {ratio} | {source} |",
                get(r, "impl"),
                get(r, "mode"),
                get(r, "procs"),
            );
        }
    }
    o
}

fn targets_table(groups: &Groups<'_>) -> String {
    let mut o = String::new();
    o.push_str("| target | needed | smallest ratio (worst size) | largest ratio | sizes compared | met |\n");
    o.push_str("|---|---|---|---|---|---|\n");
    for t in &TARGETS {
        let mut ratios: Vec<(f64, String)> = Vec::new();
        for ((bench, size), members) in groups {
            if !t.benches.contains(&bench.as_str()) {
                continue;
            }
            let Some(base) = taosim_base(members).and_then(rate) else { continue };
            // Against the fastest peer row of the kind: the most conservative ratio.
            let best = members
                .iter()
                .filter(|r| (t.peer)(r))
                .filter_map(|r| rate(r))
                .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
            if let Some(peer) = best {
                ratios.push((base / peer, format!("{bench} {size}")));
            }
        }
        if ratios.is_empty() {
            let _ = writeln!(o, "| {} | {}x | | | 0 | not measured |", t.label, t.min_ratio);
            continue;
        }
        ratios.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (lo, lo_at) = &ratios[0];
        let hi = ratios[ratios.len() - 1].0;
        let met = if *lo >= t.min_ratio { "yes" } else { "no" };
        let _ = writeln!(
            o,
            "| {} | {}x | {} ({lo_at}) | {} | {} | {met} |",
            t.label,
            t.min_ratio,
            fmt_ratio(*lo),
            fmt_ratio(hi),
            ratios.len()
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_formatted_as_the_peers_format_them() {
        // Python: '%.6g' % x, and '%.0f' from 1e5 up.
        assert_eq!(fmt_num(0.464459123), "0.464459");
        assert_eq!(fmt_num(75690.91), "75690.9");
        assert_eq!(fmt_num(211881.3), "211881");
        assert_eq!(fmt_num(17.4), "17.4");
        assert_eq!(fmt_num(0.00001234567), "1.23457e-05");
        assert_eq!(fmt_num(3.0), "3");
        assert_eq!(fmt_num(f64::NAN), "");
    }

    #[test]
    fn lines_follow_the_schema_and_quote_like_python() {
        let mut row = Row::new();
        row.insert("bench".into(), "mm1".into());
        row.insert("check".into(), "a=1;b=\"x,y\"".into());
        let line = csv_line(&row);
        assert_eq!(line.split(',').count(), COLUMNS.len() + 1); // the quoted comma
        assert!(line.starts_with("mm1,,"));
        assert!(line.ends_with(",\"a=1;b=\"\"x,y\"\"\""));
        let back = read_rows(&format!("{}\n{line}\n", header_line())).expect("parse");
        assert_eq!(back[0]["check"], "a=1;b=\"x,y\"");
    }

    fn row(pairs: &[(&str, &str)]) -> Row {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn ratios_are_taken_against_taosims_single_thread_row_and_the_fastest_peer() {
        let rows = vec![
            row(&[("bench", "mm1"), ("impl", "taosim"), ("procs", "1"), ("N", "1000"), ("events_per_s", "2e7")]),
            row(&[("bench", "mm1"), ("impl", "simpy"), ("procs", "1"), ("N", "1000"), ("events_per_s", "2e5")]),
            row(&[
                ("bench", "bittensor_lite"),
                ("impl", "taosim"),
                ("procs", "1"),
                ("S", "32"),
                ("blocks_per_s", "1e6"),
            ]),
            row(&[
                ("bench", "bittensor_lite"),
                ("impl", "numpy"),
                ("procs", "1"),
                ("S", "32"),
                ("blocks_per_s", "2e5"),
            ]),
            row(&[
                ("bench", "bittensor_lite"),
                ("impl", "radcad"),
                ("mode", "single_process"),
                ("S", "32"),
                ("blocks_per_s", "1e3"),
                ("check", "reused_from=x.csv"),
            ]),
            row(&[
                ("bench", "bittensor_lite"),
                ("impl", "radcad"),
                ("mode", "pathos"),
                ("S", "32"),
                ("blocks_per_s", "5e2"),
            ]),
        ];
        let md = comparison_markdown(&rows);
        assert!(md.contains("| mm1 | N=1000 | simpy |  | 1 |  | 200.0k |  | 100x | measured |"), "{md}");
        assert!(md.contains("reused from peers' results"));
        assert!(md.contains("| M/M/1 and fan-out vs SimPy | 100x | 100x (mm1 N=1000) | 100x | 1 | yes |"), "{md}");
        // radCAD: against the fastest default row (1e3), not pathos (5e2).
        assert!(md.contains("fastest backend) | 1000x | 1000x"), "{md}");
        assert!(
            md.contains("| bittensor_lite vs numpy | 10x | 5.0x (bittensor_lite S=32 B= R=) | 5.0x | 1 | no |"),
            "{md}"
        );
        assert!(md.contains("cadCAD (deepcopy on, fastest mode) | 100x | | | 0 | not measured |"), "{md}");
    }

    #[test]
    fn peak_rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let mb = peak_rss_mb().expect("VmHWM");
            assert!(mb > 0.0 && mb < 100_000.0);
        }
    }
}
