//! `taosim validate` as a user meets it: the table, validation.csv, the run folders, the
//! exit codes, the same bytes on any thread count, and one clear line on bad input.

use std::path::Path;
use std::process::{Command, Output};

fn taosim(args: &[&str], dir: &Path, threads: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taosim"))
        .args(args)
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .expect("taosim runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The figures `validation.csv` must have, in order.
const FIGURES: [&str; 13] = [
    "tao_daily_sigma",
    "tao_excess_kurtosis",
    "tao_return_ac1_abs",
    "tao_abs_return_ac1",
    "tao_worst_day",
    "tao_drawdown_30d",
    "tao_min_over_start",
    "tao_max_over_start",
    "sum_moving_prices_mean",
    "alpha_daily_sigma_median",
    "emission_top10_share_mean",
    "emission_hhi_mean",
    "staked_share_mean",
];

#[test]
fn validates_the_default_scenario_deterministically() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let args = ["validate", "--seeds", "2", "--horizon", "40d", "--quiet", "--out"];
    let first = taosim(&[&args[..], &["v1"]].concat(), dir, "2");
    let code = first.status.code();
    assert!(code == Some(0) || code == Some(1), "exit {code:?}: {}", stderr(&first));
    let table = stdout(&first);
    let header: Vec<&str> = table.lines().next().expect("a table").split_whitespace().collect();
    assert_eq!(header, ["figure", "band", "P5", "P50", "P95", "min", "max", "statistic", "within"]);
    let within = table.lines().skip(1).take(13).filter(|l| l.ends_with(" yes")).count();
    assert!(table.contains(&format!("{within} of 13 figures within their bands; v1/validation.csv")), "{table}");
    assert_eq!(code == Some(0), within == 13, "exit 0 only when every figure is within");

    let csv = std::fs::read_to_string(dir.join("v1/validation.csv")).expect("validation.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("figure,band,band_low,band_high,p5,p50,p95,min,max,statistic,within,runs,"));
    assert_eq!(lines.len(), 1 + FIGURES.len(), "{csv}");
    for (line, figure) in lines[1..].iter().zip(FIGURES) {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[0], figure);
        for cell in &cells[4..9] {
            assert!(cell.parse::<f64>().is_ok_and(f64::is_finite), "{figure}: `{cell}` in {line}");
        }
        assert!(cells[10] == "true" || cells[10] == "false", "{line}");
        assert_eq!((cells[11], cells[12]), ("2", "2"), "two runs, both with a value: {line}");
    }
    for seed in ["default-seed42", "default-seed43"] {
        let run = dir.join("v1").join(seed);
        assert!(run.join("manifest.json").is_file(), "{seed}");
        let scenario = std::fs::read_to_string(run.join("scenario.toml")).expect("scenario");
        assert!(scenario.contains("sample_every_blocks = 7200"), "daily rows");
    }

    // The same command on one thread: the same bytes.
    let again = taosim(&[&args[..], &["v2"]].concat(), dir, "1");
    assert_eq!(again.status.code(), code, "{}", stderr(&again));
    assert_eq!(std::fs::read(dir.join("v2/validation.csv")).expect("csv"), csv.as_bytes());

    // A non-empty folder is refused before anything runs, and left as it was.
    let refused = taosim(&[&args[..], &["v1"]].concat(), dir, "2");
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(stderr(&refused).trim(), "error: v1: already exists and is not empty; use --force to replace it");
    assert_eq!(std::fs::read_to_string(dir.join("v1/validation.csv")).expect("csv"), csv);
    // With --force it is replaced as a whole: one seed now, the second seed's folder gone.
    let forced = taosim(&["validate", "--seeds", "1", "--horizon", "35d", "-q", "--out", "v1", "--force"], dir, "2");
    assert!(matches!(forced.status.code(), Some(0 | 1)), "{}", stderr(&forced));
    let replaced = std::fs::read_to_string(dir.join("v1/validation.csv")).expect("csv");
    assert!(replaced.lines().nth(1).is_some_and(|l| l.contains(",1,1,")), "{replaced}");
    assert!(!dir.join("v1/default-seed43").exists());
}

#[test]
fn bad_input_exits_2_with_one_line_and_runs_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    std::fs::write(dir.join("a-file"), "x").expect("write");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["validate", "missing.toml"], "error: missing.toml: cannot read the scenario: no such file"),
        (
            vec!["validate", "--set", "participants.enabled=false", "--horizon", "40d"],
            "error: default: timeseries.csv has no column `tao_price_usd` (a scenario without participants has no TAO/USD market",
        ),
        (
            vec!["validate", "--horizon", "30d"],
            "error: default: the run leaves 30 whole day(s) after the burn-in; the figures need at least 35",
        ),
        (
            vec!["validate", "--horizon", "40d", "--set", "run.burn_in=\"10d\""],
            "error: default: the run leaves 30 whole day(s) after the burn-in; the figures need at least 35 (the 30-day drawdown needs 30 days in its window): use --horizon 45d or longer",
        ),
        (vec!["validate", "--seeds", "0"], "error: --seeds: 0 is out of range; allowed 1 ..= 1000"),
        (
            vec!["validate", "--set", "seed=9223372036854775807", "--seeds", "2"],
            "error: --seeds: seeds 9223372036854775807 ..= ",
        ),
        (vec!["validate", "--horizon", "40d", "--out", "a-file"], "error: a-file: exists and is not a folder"),
    ];
    for (args, expected) in cases {
        let out = taosim(&args, dir, "2");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line, got {err:?}");
        assert!(err.starts_with(expected), "{args:?}: {err:?}");
    }
    assert!(!dir.join("runs").exists(), "nothing ran");
}
