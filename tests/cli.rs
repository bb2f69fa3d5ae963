//! The `taosim` command line as a user meets it: runs, replay, determinism, bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn taosim(args: &[&str], dir: &Path) -> Output {
    taosim_env(args, dir, &[])
}

fn taosim_env(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_taosim"));
    cmd.args(args).current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("taosim runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every file of a run folder, by name, with its bytes.
fn folder_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("run folder")
        .map(|e| {
            let e = e.expect("entry");
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).expect("read"))
        })
        .collect();
    files.sort();
    files
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn default_run_shows_the_halving_at_the_right_block_and_replays() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = taosim(&["run", "--quiet"], tmp.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let run_dir = tmp.path().join(stdout(&out).trim());
    assert_eq!(run_dir, tmp.path().join("runs/default-seed42"));
    let events = std::fs::read_to_string(run_dir.join("events.csv")).expect("events");
    // 15.70M TAO start, 0.5 TAO per block: without recycling issuance would reach 15.75M after
    // block 100,000; the coinbase recycles ~0.0004 TAO of rounding by then, so the issuance
    // crosses 15.75M in block 100,001 and block 100,002 is the first minted at 0.25 TAO. (The
    // rounding depends on the pools, which participants trade through since the default
    // scenario has them: 0.000399872 TAO recycled by block 100,000 with them, 0.000400017
    // without.)
    assert!(events.contains("\n100002,halving,tao,0.25,halving 2 at issuance 15750000.499600124 TAO"), "{events}");
    let ts = std::fs::read_to_string(run_dir.join("timeseries.csv")).expect("timeseries");
    assert!(ts.contains("\n100000,13.88888888888889,15749999.999600128,0.5,1,50000,0.000399872,"), "before");
    assert!(ts.contains("\n100100,13.902777777777779,15750025.249599729,0.25,2,50025.25,0.000400271,"), "after");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("manifest.json")).expect("manifest")).expect("json");
    assert_eq!(manifest["seed"], 42);
    assert_eq!(manifest["scenario"]["chain"]["tempo"], 360);
    for name in ["timeseries.csv", "events.csv", "summary.json", "scenario.toml"] {
        assert!(manifest["outputs"][name].as_str().is_some_and(|d| d.len() == 64), "{name} digest");
    }

    let replay = taosim(&["replay", "--quiet", run_dir.to_str().expect("utf8")], tmp.path());
    assert!(replay.status.success(), "{}{}", stdout(&replay), stderr(&replay));
    assert!(stdout(&replay).contains("all 5 digests match"), "{}", stdout(&replay));

    // A tampered output is caught.
    std::fs::write(run_dir.join("events.csv"), "block,kind\n").expect("tamper");
    let replay = taosim(&["replay", "--quiet", run_dir.to_str().expect("utf8")], tmp.path());
    assert!(!replay.status.success());
    let events_line = stdout(&replay).lines().find(|l| l.starts_with("events.csv")).map(str::to_string);
    assert!(events_line.is_some_and(|l| l.contains("MODIFIED")), "{}", stdout(&replay));

    // Running the same command again gives a second folder, never an overwrite.
    let again = taosim(&["run", "--quiet"], tmp.path());
    assert!(again.status.success());
    assert_eq!(stdout(&again).trim(), "runs/default-seed42-2");
}

#[test]
fn same_seed_same_bytes_on_any_thread_count_and_another_seed_differs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut folders = Vec::new();
    for threads in ["1", "2", "8"] {
        let out_dir = format!("t{threads}");
        let out = taosim_env(
            &["run", "--quiet", "--horizon", "20000", "--out", &out_dir],
            tmp.path(),
            &[("RAYON_NUM_THREADS", threads)],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        folders.push(folder_bytes(&tmp.path().join(out_dir)));
    }
    assert_eq!(folders[0], folders[1], "1 vs 2 threads");
    assert_eq!(folders[0], folders[2], "1 vs 8 threads");
    let other = taosim(&["run", "--quiet", "--horizon", "20000", "--seed", "43", "--out", "s43"], tmp.path());
    assert!(other.status.success());
    assert_ne!(folder_bytes(&tmp.path().join("s43")), folders[0]);
    // Participants (market, miners' fleets, validators' noise) draw from the seed: the
    // timeseries itself differs, not only the summary.
    let timeseries = |dir: &str| std::fs::read(tmp.path().join(dir).join("timeseries.csv")).expect("timeseries");
    assert_ne!(timeseries("s43"), timeseries("t1"), "another seed gives another timeseries.csv");
}

#[test]
fn overrides_and_horizon_flags_reach_the_resolved_scenario() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = taosim(
        &[
            "run",
            "--quiet",
            "--horizon",
            "2h",
            "--set",
            "chain.tempo=99",
            "--set",
            "run.sample_every_blocks=50",
            "--out",
            "r",
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let scenario = std::fs::read_to_string(tmp.path().join("r/scenario.toml")).expect("scenario");
    assert!(scenario.contains("tempo = 99"));
    assert!(scenario.contains("horizon = \"2h\""));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("r/summary.json")).expect("summary")).expect("json");
    assert_eq!(summary["blocks"], 600);
    assert_eq!(summary["samples"], 13);
}

#[test]
fn every_shipped_scenario_checks() {
    let dir = repo_root().join("scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("scenarios/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        let out = taosim(&["check", file.to_str().expect("utf8")], &repo_root());
        assert!(out.status.success(), "{}: {}", file.display(), stderr(&out));
    }
}

/// Each bad input: one clear line on stderr, a non-zero exit, and no run folder left behind.
#[test]
fn bad_input_gets_one_clear_line_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().expect("tmp");
    let write = |name: &str, text: &str| std::fs::write(tmp.path().join(name), text).expect("write");
    write("malformed.toml", "[chain\ntempo = 3\n");
    write("unknown.toml", "[chain]\ntempoo = 3\n");
    write("negative.toml", "[run]\nhorizon = -10\n");
    write("range.toml", "[chain]\ninitial_issuance_tao = 30e6\n");
    write("a-file", "not a folder");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["run", "missing.toml"], "error: missing.toml: cannot read the scenario: no such file"),
        (vec!["run", "malformed.toml"], "error: malformed.toml: malformed TOML: line 1, column"),
        (vec!["run", "unknown.toml"], "error: unknown.toml: chain.tempoo: unknown field `tempoo`, expected one of"),
        (vec!["run", "negative.toml"], "error: negative.toml: run.horizon: -10 blocks: the horizon must be positive"),
        (
            vec!["run", "--horizon", "-3"],
            "error: built-in default: run.horizon: -3 blocks: the horizon must be positive",
        ),
        (vec!["run", "range.toml"], "error: range.toml: chain.initial_issuance_tao: 30000000 TAO is out of range"),
        (
            vec!["run", "--set", "chain.tempo=0"],
            "error: built-in default: chain.tempo: 0 is out of range; allowed 1 ..= 50400",
        ),
        (vec!["run", "--out", "a-file/run"], "error: a-file: cannot create the output folder"),
        (vec!["check", "unknown.toml"], "error: unknown.toml: chain.tempoo: unknown field"),
    ];
    for (args, expected) in cases {
        let out = taosim(&args, tmp.path());
        let err = stderr(&out);
        assert!(!out.status.success(), "{args:?} must fail");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line, got {err:?}");
        assert!(err.starts_with(expected), "{args:?}: {err:?}");
    }
    // An existing run folder is refused without --force and replaced with it.
    let first = taosim(&["run", "--quiet", "--horizon", "100", "--out", "r"], tmp.path());
    assert!(first.status.success());
    let before = folder_bytes(&tmp.path().join("r"));
    let again = taosim(&["run", "--quiet", "--horizon", "200", "--out", "r"], tmp.path());
    assert!(!again.status.success());
    assert_eq!(stderr(&again).lines().count(), 1);
    assert!(stderr(&again).contains("already exists"), "{}", stderr(&again));
    assert_eq!(folder_bytes(&tmp.path().join("r")), before, "untouched");
    let forced = taosim(&["run", "--quiet", "--horizon", "200", "--out", "r", "--force"], tmp.path());
    assert!(forced.status.success());
    assert_ne!(folder_bytes(&tmp.path().join("r")), before, "replaced");

    // Nothing else was left behind: no runs/ folder, no staging folders.
    let mut left: Vec<String> = std::fs::read_dir(tmp.path())
        .expect("ls")
        .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["a-file", "malformed.toml", "negative.toml", "r", "range.toml", "unknown.toml"]);
}

#[test]
fn replay_of_a_folder_without_manifest_is_a_clear_error() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = taosim(&["replay", "nowhere"], tmp.path());
    assert!(!out.status.success());
    assert_eq!(stderr(&out).trim(), "error: nowhere/manifest.json: no manifest: not a taosim run folder");
}
