//! `taosim report` and `taosim compare` as a user meets them: on run folders and a folder of
//! runs, with the files they promise, and a one-line error with exit code 2 on bad input.

use std::path::Path;
use std::process::{Command, Output};

fn taosim(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taosim")).args(args).current_dir(dir).output().expect("taosim runs")
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn report_and_compare_runs_from_the_command_line() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    for (name, schedule) in [("halving", "halving"), ("smooth", "smooth")] {
        ok(&taosim(
            &[
                "run",
                "--quiet",
                "--horizon",
                "15d",
                "--set",
                &format!("chain.emission.schedule=\"{schedule}\""),
                "--out",
                &format!("runs/{name}"),
            ],
            dir,
        ));
    }
    let out = ok(&taosim(&["report", "--quiet", "runs/halving"], dir));
    for name in ["bands.csv", "metrics.csv", "runs.csv", "report.html"] {
        assert!(out.contains(name), "{out}");
        assert!(dir.join("runs/halving").join(name).is_file(), "{name}");
    }
    let html = std::fs::read_to_string(dir.join("runs/halving/report.html")).expect("html");
    assert!(html.contains("taosim report: halving (run)"));

    // A folder of runs: the varied parameter is found from the manifests.
    ok(&taosim(&["report", "--quiet", "runs", "--out", "report"], dir));
    let metrics = std::fs::read_to_string(dir.join("report/metrics.csv")).expect("metrics");
    assert!(metrics.starts_with("group,chain.emission.schedule,metric,"), "{metrics}");

    let table = ok(&taosim(&["compare", "--quiet", "runs/halving", "runs/smooth", "--out", "cmp"], dir));
    assert!(table.contains("final_issuance_tao") && table.contains("moved"), "{table}");
    assert!(dir.join("cmp/compare.html").is_file() && dir.join("cmp/compare.csv").is_file());
}

#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    let tmp = tempfile::tempdir().expect("tmp");
    let o = taosim(&["report", "nowhere"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("nowhere") && err.contains("not a taosim run or sweep folder"), "{err}");
    let o = taosim(&["report", ".", "--top-k", "0"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--top-k: 0 is out of range"));
}
