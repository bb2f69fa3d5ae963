//! The report of a `taosim search` folder: how much of a parameter (an attacker's budget) it
//! takes for the scenario's attack to capture, seed by seed, and the capture probability
//! across seeds — the page a risk team publishes beside the folder.
//!
//! The folder's files are checked against its manifest's SHA-256 first (a changed or cut
//! file is refused, as for run folders); the page draws the search's own `curve.svg` (with
//! hover values), states the range of thresholds and their median, and lists each seed's
//! bracket. Nothing is recomputed: every figure is read from the folder.

use crate::error::{Error, Result};
use crate::format::{display_number, escape};
use crate::report::{figure, page};
use sim::search::{FILES, MANIFEST_FORMAT};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Whether `dir` holds a search (its `manifest.json` has the search format).
pub fn is_search_folder(dir: &Path) -> bool {
    read_manifest(dir).is_ok_and(|m| m["format"] == MANIFEST_FORMAT)
}

fn read_manifest(dir: &Path) -> Result<serde_json::Value> {
    let path = dir.join(sim::output::MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, "cannot read", e))?;
    serde_json::from_str(&text).map_err(|e| Error::format(&path, format!("malformed JSON: {e}")))
}

/// One seed's row of `thresholds.csv`.
#[derive(Clone, Debug, PartialEq)]
struct SeedRow {
    seed: String,
    status: String,
    low: Option<f64>,
    capturing: Option<f64>,
}

fn read_thresholds(path: &Path) -> Result<(String, Vec<SeedRow>)> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| Error::format(path, format!("cannot read: {e}")))?;
    let header = reader.headers().map_err(|e| Error::format(path, format!("malformed CSV: {e}")))?.clone();
    let param = header
        .get(2)
        .and_then(|h| h.strip_suffix("_low"))
        .ok_or_else(|| Error::format(path, "not a thresholds table (seed,status,<param>_low,<param>_capturing)"))?
        .to_string();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| Error::format(path, format!("malformed CSV: {e}")))?;
        let number = |i: usize| record.get(i).filter(|c| !c.is_empty()).and_then(|c| c.parse::<f64>().ok());
        rows.push(SeedRow {
            seed: record.get(0).unwrap_or_default().to_string(),
            status: record.get(1).unwrap_or_default().to_string(),
            low: number(2),
            capturing: number(3),
        });
    }
    Ok((param, rows))
}

/// The median of sorted values (the mean of the middle two for an even count).
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The page's body from the manifest, the thresholds and the curve's SVG.
fn render(manifest: &serde_json::Value, param: &str, rows: &[SeedRow], curve_svg: &str) -> String {
    let search = &manifest["search"];
    let scenario = manifest["scenario"]["name"].as_str().unwrap_or("?");
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".into(),
        other => other.to_string(),
    };
    let mut out = String::new();
    let _ = writeln!(out, "<h1>How much {} captures: {}</h1>", escape(param), escape(scenario));
    let mut capturing: Vec<f64> = rows.iter().filter_map(|r| r.capturing).collect();
    capturing.sort_by(f64::total_cmp);
    let headline = match (capturing.first(), capturing.last(), median(&capturing)) {
        (Some(lo), Some(hi), Some(mid)) => format!(
            "The attack captures from <b>{}</b> to <b>{}</b> of {} across {} of {} seeds (median {}): each figure is the smallest value found to capture for that seed, to the bisection's step.",
            display_number(*lo),
            display_number(*hi),
            escape(param),
            capturing.len(),
            rows.len(),
            display_number(mid)
        ),
        _ => format!(
            "No seed captures up to {} = {}.",
            escape(param),
            search["hi"].as_f64().map(display_number).unwrap_or_else(|| "?".into())
        ),
    };
    let _ = writeln!(out, "<p>{headline}</p>");
    out.push_str("<table><tbody>\n");
    let build = &manifest["build"];
    for (name, value) in [
        ("scenario file", text(&search["scenario_file"])),
        ("parameter", text(&search["param"])),
        ("from", search["lo"].as_f64().map_or_else(|| text(&search["lo"]), display_number)),
        ("to", search["hi"].as_f64().map_or_else(|| text(&search["hi"]), display_number)),
        ("bisection steps", text(&search["steps"])),
        ("curve points", text(&search["points"])),
        ("horizon", text(&search["horizon"])),
        (
            "overrides",
            search["set"].as_array().map_or("-".into(), |s| s.iter().map(text).collect::<Vec<_>>().join(", ")),
        ),
        ("taosim version", text(&manifest["taosim_version"])),
        ("git commit", text(&build["git_commit"])),
    ] {
        let value = if value.is_empty() { "-".to_string() } else { value };
        let _ = writeln!(out, "<tr><th>{}</th><td>{}</td></tr>", escape(name), escape(&value));
    }
    out.push_str("</tbody></table>\n");
    figure(
        &mut out,
        curve_svg,
        "Capture probability: the share of seeds whose smallest capturing value is at or below each value (hover for values).",
    );
    out.push_str("<h2>Each seed</h2>\n<table><thead><tr><th>seed</th><th>result</th><th>largest value tried that does not capture</th><th>smallest value found to capture</th></tr></thead><tbody>\n");
    for r in rows {
        let cell = |v: Option<f64>| v.map(display_number).unwrap_or_else(|| "-".into());
        let result = match r.status.as_str() {
            "between" => "captures within the bracket",
            "at_or_below" => "captures already at the lower end",
            "above" => "does not capture at the upper end",
            other => other,
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&r.seed),
            escape(result),
            cell(r.low),
            cell(r.capturing)
        );
    }
    out.push_str("</tbody></table>\n");
    out.push_str("<h2>How to read it</h2>\n<p>For each seed the search runs the scenario at both ends, then bisects: the true threshold lies above the largest value that did not capture and at or below the smallest that did. Bisection assumes more of the parameter never loses a capture that less won, for a given seed. Seeds differ in the network the attack meets (stakes, prices, who holds the seats), so the spread across seeds is the uncertainty a budget should cover. <code>taosim replay</code> on this folder re-runs the search and checks every file.</p>\n");
    out
}

/// Writes `report.html` for the search folder `dir` into `out_dir` (staged and renamed);
/// returns its path. Refuses a folder whose files do not match its manifest.
pub fn write_search_report(dir: &Path, out_dir: &Path) -> Result<Vec<PathBuf>> {
    let manifest = read_manifest(dir)?;
    if manifest["format"] != MANIFEST_FORMAT {
        return Err(Error::NotAStudy(dir.to_path_buf()));
    }
    for name in FILES {
        let path = dir.join(name);
        let expected = manifest["outputs"][name].as_str().unwrap_or("");
        let actual = sim::output::file_digest(&path).map_err(|e| Error::Integrity {
            path: path.clone(),
            message: format!("listed in manifest.json but cannot be read ({e}): rerun the search"),
        })?;
        if actual != expected {
            return Err(Error::Integrity {
                path,
                message: format!(
                    "SHA-256 {actual} is not the {expected} that manifest.json records: the file was changed or cut short after the search; rerun it"
                ),
            });
        }
    }
    let (param, rows) = read_thresholds(&dir.join(FILES[0]))?;
    let svg_path = dir.join(FILES[2]);
    let svg = std::fs::read_to_string(&svg_path).map_err(|e| Error::io(&svg_path, "cannot read", e))?;
    let title = format!("taosim search: {}", manifest["scenario"]["name"].as_str().unwrap_or("?"));
    let html = page(&title, &render(&manifest, &param, &rows, &svg));
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, "cannot create", e))?;
    let mut staging = crate::tables::Staging::default();
    let target = out_dir.join("report.html");
    staging.file(&target, |w| {
        std::io::Write::write_all(w, html.as_bytes()).map_err(|e| Error::io(out_dir, "cannot write", e))
    })?;
    staging.commit()?;
    Ok(vec![target])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_thresholds() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[1.0, 2.0, 10.0]), Some(2.0));
        assert_eq!(median(&[1.0, 2.0, 4.0, 10.0]), Some(3.0));
    }

    #[test]
    fn the_page_states_the_range_and_each_seed() {
        let rows = vec![
            SeedRow { seed: "11".into(), status: "between".into(), low: Some(400_000.0), capturing: Some(700_000.0) },
            SeedRow { seed: "12".into(), status: "between".into(), low: Some(550_000.0), capturing: Some(625_000.0) },
            SeedRow { seed: "13".into(), status: "above".into(), low: Some(1_300_000.0), capturing: None },
        ];
        let manifest = serde_json::json!({
            "format": MANIFEST_FORMAT,
            "search": {"param": "attacker.budget_tao", "lo": 100000.0, "hi": 1300000.0, "steps": 2, "points": 3, "set": []},
            "scenario": {"name": "senate"},
        });
        let body = render(&manifest, "attacker.budget_tao", &rows, "<svg viewBox=\"0 0 580 300\"></svg>");
        assert!(body.contains("from <b>625,000</b> to <b>700,000</b>"), "{body}");
        assert!(body.contains("across 2 of 3 seeds (median 662,500)"), "{body}");
        assert!(
            body.contains("<td>13</td><td>does not capture at the upper end</td><td>1,300,000</td><td>-</td>"),
            "{body}"
        );
        let none = render(&manifest, "attacker.budget_tao", &rows[2..], "<svg viewBox=\"0 0 580 300\"></svg>");
        assert!(none.contains("No seed captures up to attacker.budget_tao = 1,300,000."), "{none}");
    }
}
