//! `taosim search` and the shipped governance scenarios as a user meets them: the smallest
//! budget that captures, its CSVs, bad input; each governance scenario's attack at work.

use sha2::Digest;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn taosim(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taosim")).args(args).current_dir(dir).output().expect("taosim runs")
}

fn scenario(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name).display().to_string()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn search_brackets_the_senate_capture_budget_and_writes_the_curve() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = scenario("governance-senate-seat-capture.toml");
    let out = taosim(
        &[
            "search", &s, "--lo", "100000", "--hi", "1300000", "--seeds", "1", "--steps", "2", "--points", "3",
            "--out", "o", "-q",
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // 100k fails, 1.3M captures; 700k captures (seven hotkeys above the sixth senator's
    // ~86k), 400k does not: the bracket is (400k, 700k].
    let thresholds = std::fs::read_to_string(tmp.path().join("o/thresholds.csv")).expect("thresholds");
    assert_eq!(
        thresholds,
        "seed,status,attacker.budget_tao_low,attacker.budget_tao_capturing\n11,between,400000,700000\n"
    );
    let curve = std::fs::read_to_string(tmp.path().join("o/curve.csv")).expect("curve");
    assert_eq!(curve, "attacker.budget_tao,capture_probability\n100000,0\n700000,1\n1300000,1\n");
    let svg = std::fs::read_to_string(tmp.path().join("o/curve.svg")).expect("svg");
    assert!(svg.starts_with("<svg") && svg.contains("Capture probability against attacker.budget_tao"), "{svg}");
    // The manifest names the search, its seeds and scenario, and each file's SHA-256.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("o/manifest.json")).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["format"], "taosim-search/1");
    assert_eq!(manifest["search"]["param"], "attacker.budget_tao");
    assert_eq!((manifest["search"]["lo"].as_f64(), manifest["search"]["hi"].as_f64()), (Some(1e5), Some(1.3e6)));
    assert_eq!(manifest["seeds"], serde_json::json!([11]));
    assert_eq!(manifest["scenario"]["name"], "governance-senate-seat-capture");
    for file in ["thresholds.csv", "curve.csv", "curve.svg"] {
        let bytes = std::fs::read(tmp.path().join("o").join(file)).expect("file");
        assert_eq!(
            manifest["outputs"][file].as_str(),
            Some(hex::encode(sha2::Sha256::digest(&bytes)).as_str()),
            "{file}"
        );
    }
    // Again without --force: refused, nothing changed.
    let again = taosim(&["search", &s, "--lo", "1", "--hi", "2", "--out", "o"], tmp.path());
    assert_eq!(again.status.code(), Some(2), "{}", text(&again.stderr));
    assert_eq!(std::fs::read_to_string(tmp.path().join("o/thresholds.csv")).expect("kept"), thresholds);
}

#[test]
fn search_force_replaces_only_a_search_folder_and_leaves_no_staging() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = scenario("governance-senate-seat-capture.toml");
    let quick = |out: &str, force: bool| {
        let mut args = vec![
            "search",
            &s,
            "--lo",
            "100000",
            "--hi",
            "1300000",
            "--seeds",
            "1",
            "--steps",
            "1",
            "--points",
            "2",
            "--horizon",
            "2d",
            "--out",
            out,
            "-q",
        ];
        if force {
            args.push("--force");
        }
        taosim(&args, tmp.path())
    };
    // A folder of someone else's files: refused even with --force, and left as it was.
    std::fs::create_dir(tmp.path().join("mine")).expect("mkdir");
    std::fs::write(tmp.path().join("mine/notes.txt"), "keep me").expect("write");
    let refused = quick("mine", true);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("is not a search folder"), "{}", text(&refused.stderr));
    assert_eq!(std::fs::read_to_string(tmp.path().join("mine/notes.txt")).expect("kept"), "keep me");
    // A search folder is replaced with --force, whole.
    assert!(quick("o", false).status.success());
    std::fs::write(tmp.path().join("o/stale.txt"), "old").expect("write");
    let forced = quick("o", true);
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert!(!tmp.path().join("o/stale.txt").exists(), "the old folder was replaced whole");
    assert!(tmp.path().join("o/manifest.json").is_file());
    let mut names: Vec<String> = std::fs::read_dir(tmp.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["mine", "o"], "no staging folder left");

    // `taosim report` draws the search: the range, the curve, each seed.
    let report = taosim(&["report", "o", "--out", "rep", "-q"], tmp.path());
    assert!(report.status.success(), "{}", text(&report.stderr));
    let html = std::fs::read_to_string(tmp.path().join("rep/report.html")).expect("report");
    assert!(html.contains("How much attacker.budget_tao captures: governance-senate-seat-capture"), "{html}");
    assert!(html.contains("<td>11</td>") && html.contains("<svg"), "a seed row and the curve");
    let thresholds = std::fs::read_to_string(tmp.path().join("o/thresholds.csv")).expect("thresholds");
    let seed_row = thresholds.lines().nth(1).expect("one seed");
    let status = seed_row.split(',').nth(1).expect("status");
    let wanted = match status {
        "above" => "does not capture at the upper end",
        "at_or_below" => "captures already at the lower end",
        _ => "captures within the bracket",
    };
    assert!(html.contains(wanted), "{status}: {html}");

    // `taosim replay` re-runs the search from its manifest: all match; a changed file is
    // named as modified (exit 1); a manifest that is not a search's is refused.
    let replay = taosim(&["replay", "o", "-q"], tmp.path());
    assert!(replay.status.success(), "{}{}", text(&replay.stdout), text(&replay.stderr));
    assert!(text(&replay.stdout).contains("all 3 digests match"), "{}", text(&replay.stdout));
    let curve = tmp.path().join("o/curve.csv");
    let original = std::fs::read_to_string(&curve).expect("curve");
    std::fs::write(&curve, original.replace(",1\n", ",0.5\n")).expect("edit");
    let changed = taosim(&["replay", "o", "-q"], tmp.path());
    assert_eq!(changed.status.code(), Some(1), "{}", text(&changed.stdout));
    assert!(
        text(&changed.stdout).contains("curve.csv       MODIFIED since it was written"),
        "{}",
        text(&changed.stdout)
    );
    let path = tmp.path().join("o/manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("manifest")).expect("json");
    manifest["search"]["lo"] = serde_json::Value::Null;
    std::fs::write(&path, manifest.to_string()).expect("write");
    let refused = taosim(&["replay", "o", "-q"], tmp.path());
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("not a search manifest"), "{}", text(&refused.stderr));
}

#[test]
fn search_refuses_bad_input_with_exit_2() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = scenario("governance-senate-seat-capture.toml");
    for args in [
        vec!["search", &s, "--lo", "5", "--hi", "5"],
        vec!["search", &s, "--lo", "1", "--hi", "5", "--seeds", "0"],
        vec!["search", &s, "--lo", "1", "--hi", "5", "--param", "attacker.no_such_field"],
        vec!["search", &s, "--lo", "1", "--hi", "5", "--set", "attacker.budget_tao=3.0"],
        vec!["search", "no-such-file.toml", "--lo", "1", "--hi", "5"],
    ] {
        let out = taosim(&args, tmp.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).starts_with("error: "), "{args:?}");
    }
    assert!(!tmp.path().join("runs").exists(), "nothing written");
}

#[test]
fn the_conviction_takeover_scenario_takes_the_subnet_and_turns_hostile() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = scenario("governance-conviction-takeover.toml");
    let args = ["run", &s, "--out", "r", "-q", "--horizon", "35d", "--set", "attacker.budget_tao=200000.0"];
    let out = taosim(&args, tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events = std::fs::read_to_string(tmp.path().join("r/events.csv")).expect("events");
    assert!(events.contains(",ownership_change,subnet 4,"), "{events}");
    assert!(events.contains("hostile owner of subnet 4"), "the new owner turns hostile");
    // With a tenth of the budget the owner's auto-locked cut and the 10 % gate hold.
    let args = ["run", &s, "--out", "r2", "-q", "--horizon", "35d", "--set", "attacker.budget_tao=20000.0"];
    let out = taosim(&args, tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events = std::fs::read_to_string(tmp.path().join("r2/events.csv")).expect("events");
    assert!(!events.contains(",ownership_change,"));
    assert!(events.contains(",governance_report,governance 0,false,"));
}
