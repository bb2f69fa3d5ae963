//! Robustness of the command line (issue 18): nothing left behind after a kill, `--force` that
//! replaces only run folders, exit code 2 for every bad input, inputs no longer silently
//! accepted, the build in the manifest, and merges that appear whole or not at all.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn taosim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_taosim"))
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    taosim().args(args).current_dir(dir).output().expect("taosim runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Every entry of `dir` by name, sorted, hidden ones included.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Waits until `done` holds, checking every 20 ms; panics with `what` after a minute. A wait
/// for a state, not a timing assertion: on a loaded machine it only waits longer.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn has_staging(dir: &Path) -> bool {
    entries(dir).iter().any(|n| n.contains(".partial-"))
}

/// Sends `signal` (`TERM`, `INT`, ...) with the system's `kill`; a negative id is a process group.
fn send(signal: &str, target: &str) {
    let status = Command::new("kill").args([&format!("-{signal}"), "--", target]).status().expect("kill runs");
    assert!(status.success(), "kill -{signal} {target}");
}

/// A run long enough to be killed while it writes (a year: minutes on a debug build).
fn long_run(dir: &Path, out: &str) -> Child {
    let mut cmd = taosim();
    cmd.args(["run", "--quiet", "--horizon", "365d", "--out", out])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own process group, as a shell gives a foreground job: Ctrl-C signals the group.
        cmd.process_group(0);
    }
    cmd.spawn().expect("taosim starts")
}

/// Item 2: a run killed by SIGTERM sent to its process group (as Ctrl-C or a shell's job
/// control does) or by SIGKILL leaves no `.NAME.partial-PID` behind.
#[cfg(unix)]
#[test]
fn killed_runs_leave_no_staging_folder() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (out, how) in [("by-group-term", "group TERM"), ("by-kill", "KILL")] {
        let mut child = long_run(tmp.path(), out);
        wait_for("the staging folder appears", || has_staging(tmp.path()));
        match how {
            "group TERM" => send("TERM", &format!("-{}", child.id())),
            _ => child.kill().expect("kill"),
        }
        let status = child.wait().expect("wait");
        assert!(!status.success(), "{how}: the run was cut short");
        wait_for("the watcher removes the staging folder", || !has_staging(tmp.path()));
        assert!(!tmp.path().join(out).exists(), "{how}: no run folder either");
    }
    assert_eq!(entries(tmp.path()), Vec::<String>::new());
}

/// A killed search leaves no staging folder and no search folder (it wrote its files into
/// `--out` one by one before, and had no watcher).
#[cfg(unix)]
#[test]
fn a_killed_search_leaves_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/governance-senate-seat-capture.toml");
    let mut child = taosim()
        .args(["search", scenario.to_str().expect("utf-8"), "--lo", "1", "--hi", "1300000", "--seeds", "4"])
        .args(["--out", "s", "--quiet"])
        .current_dir(tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("search starts");
    wait_for("the search's staging folder appears", || has_staging(tmp.path()));
    child.kill().expect("kill");
    assert!(!child.wait().expect("wait").success());
    wait_for("the watcher removes the staging folder", || !has_staging(tmp.path()));
    assert_eq!(entries(tmp.path()), Vec::<String>::new());
}

/// Item 2: a killed replay leaves nothing in the temporary folder.
#[cfg(unix)]
#[test]
fn a_killed_replay_leaves_nothing_in_the_temporary_folder() {
    use sha2::Digest;
    let tmp = tempfile::tempdir().expect("tempdir");
    let scratch = tmp.path().join("tmp");
    fs::create_dir(&scratch).expect("mkdir");
    let made = run_in(tmp.path(), &["run", "--quiet", "--horizon", "100", "--out", "r"]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    // Make its manifest a year-long run's (consistent with its own digests), so the replay is
    // still writing when it is killed.
    let year = sim::scenario::load(sim::scenario::Source::BuiltIn, &["run.horizon=\"365d\"".to_string()])
        .expect("valid scenario");
    let path = tmp.path().join("r/manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).expect("manifest")).expect("json");
    manifest["scenario"] = serde_json::to_value(&year).expect("scenario as json");
    manifest["outputs"]["scenario.toml"] = hex::encode(sha2::Sha256::digest(year.to_toml().as_bytes())).into();
    fs::write(&path, serde_json::to_vec_pretty(&manifest).expect("json")).expect("write");

    let mut cmd = taosim();
    cmd.args(["replay", "--quiet", "r"])
        .current_dir(tmp.path())
        .env("TMPDIR", &scratch)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().expect("replay starts");
    wait_for("the replay's scratch folder appears", || has_staging(&scratch));
    send("TERM", &format!("-{}", child.id()));
    assert!(!child.wait().expect("wait").success());
    wait_for("the replay's scratch folder goes", || entries(&scratch).is_empty());
}

/// Item 2: staging folders of processes that are gone are removed by the next run into the
/// same parent folder; those of running processes are kept.
#[test]
fn the_next_run_clears_stale_staging_folders() {
    let tmp = tempfile::tempdir().expect("tempdir");
    if !Path::new("/proc/self").exists() {
        // Without /proc a process's liveness cannot be told, and nothing is removed by design.
        return;
    }
    // Process ids above the kernel's limit (4194304) never run; the test's own process does.
    let dead = tmp.path().join(".old-run.partial-4294967295");
    let dead_old = tmp.path().join(".old-run.old-4294967294");
    let live = tmp.path().join(format!(".other.partial-{}", std::process::id()));
    for d in [&dead, &dead_old, &live] {
        fs::create_dir(d).expect("mkdir");
        fs::write(d.join("timeseries.csv.tmp"), "block\n").expect("write");
    }
    let out = run_in(tmp.path(), &["run", "--quiet", "--horizon", "100", "--out", "r"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let left = entries(tmp.path());
    assert_eq!(left, [live.file_name().expect("name").to_string_lossy().into_owned(), "r".to_string()]);
}

/// Item 3: `--force` replaces a run folder, and refuses a file or a folder that is not a run
/// folder before simulating (the refusal comes before a scenario whose holders cannot be
/// funded fails at its first block), leaving them as they were and no `.NAME.old` behind.
#[test]
fn force_replaces_only_run_folders_and_checks_before_simulating() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join("a-file"), "keep me").expect("write");
    fs::create_dir(tmp.path().join("notes")).expect("mkdir");
    fs::write(tmp.path().join("notes/todo.txt"), "keep me too").expect("write");
    for (target, expected) in [
        ("a-file", "error: a-file: is not a folder; --force replaces only run folders"),
        (
            "notes",
            "error: notes: is a folder that is not a taosim run folder (no manifest.json); --force replaces only",
        ),
    ] {
        let out = run_in(tmp.path(), &["run", "--quiet", "--horizon", "100", "--out", target, "--force"]);
        assert_eq!(out.status.code(), Some(2), "{target}: {}", text(&out.stderr));
        assert!(text(&out.stderr).starts_with(expected), "{target}: {}", text(&out.stderr));
        // Twice: a refused --force leaves nothing that makes the next one fail differently.
        let again = run_in(tmp.path(), &["run", "--quiet", "--horizon", "100", "--out", target, "--force"]);
        assert_eq!((again.status.code(), text(&again.stderr)), (Some(2), text(&out.stderr)));
    }
    // `validate --force` likewise replaces only a folder `validate` wrote.
    let validate =
        run_in(tmp.path(), &["validate", "--seeds", "1", "--horizon", "35d", "-q", "--out", "notes", "--force"]);
    assert_eq!(validate.status.code(), Some(2), "{}", text(&validate.stderr));
    assert!(
        text(&validate.stderr)
            .starts_with("error: notes: is not a validate folder (no validation.csv); --force replaces only"),
        "{}",
        text(&validate.stderr)
    );
    assert_eq!(fs::read_to_string(tmp.path().join("a-file")).expect("file"), "keep me");
    assert_eq!(fs::read_to_string(tmp.path().join("notes/todo.txt")).expect("file"), "keep me too");
    assert_eq!(entries(tmp.path()), ["a-file", "notes"], "no .NAME.old, no staging");

    // A run folder is replaced.
    let first = run_in(tmp.path(), &["run", "--quiet", "--horizon", "100", "--out", "r"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let forced = run_in(tmp.path(), &["run", "--quiet", "--horizon", "200", "--out", "r", "--force"]);
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    let summary = fs::read_to_string(tmp.path().join("r/summary.json")).expect("summary");
    assert!(summary.contains("\"blocks\": 200"), "{summary}");
    assert_eq!(entries(tmp.path()), ["a-file", "notes", "r"]);
}

/// Item 4: exit code 2 for each bad input, with one line naming the problem, and nothing
/// left behind.
#[test]
fn every_bad_input_exits_with_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, body: &str| fs::write(tmp.path().join(name), body).expect("write");
    write("no-profile.toml", "calibration_profile = \"missing-profile.toml\"\n");
    write("garbage-profile.toml", "this is not a profile\n");
    write("bad-profile.toml", "calibration_profile = \"garbage-profile.toml\"\n");
    write("poor.toml", "[participants.holders]\ncount = 10000\ntao_each = 1e6\n");
    write(
        "sweep-profile.toml",
        "[sweep]\nname = \"p\"\nseeds = [1]\n[sweep.vary]\n\"chain.tempo\" = [99, 100]\n\
         [base]\ncalibration_profile = \"missing-profile.toml\"\nrun.horizon = 100\n",
    );
    fs::create_dir(tmp.path().join("no-manifest")).expect("mkdir");
    fs::create_dir(tmp.path().join("bad-manifest")).expect("mkdir");
    write("bad-manifest/manifest.json", "{ \"format\": ");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["replay", "no-manifest"], "error: no-manifest/manifest.json: no manifest: not a taosim run folder"),
        (vec!["replay", "bad-manifest"], "error: bad-manifest/manifest.json: malformed manifest"),
        (vec!["run", "--horizon", "100", "--out", "."], "error: .: names no folder to create"),
        (vec!["run", "--horizon", "100", "--out", ".", "--force"], "error: .: names no folder to create"),
        (vec!["run", "--horizon", "100", "--out", "/"], "error: /: names no folder to create"),
        (vec!["run", "--horizon", "100", "--out", "/", "--force"], "error: /: names no folder to create"),
        (
            vec!["run", "no-profile.toml", "--horizon", "100"],
            "error: missing-profile.toml: cannot read the calibration profile",
        ),
        (vec!["run", "bad-profile.toml", "--horizon", "100"], "error: garbage-profile.toml: not a calibration profile"),
        (
            vec!["run", "poor.toml", "--horizon", "100"],
            "error: scenario: participants.holders: cannot fund the holders",
        ),
        (vec!["check", "no-profile.toml"], "error: no-profile.toml: missing-profile.toml: cannot read the calibration"),
        (vec!["check", "bad-profile.toml"], "error: bad-profile.toml: garbage-profile.toml: not a calibration profile"),
        (vec!["check", "poor.toml"], "error: poor.toml: scenario: participants.holders: cannot fund the holders"),
        (
            vec!["check", "sweep-profile.toml"],
            "error: sweep-profile.toml: missing-profile.toml: cannot read the calibration profile",
        ),
        (
            vec!["sweep", "sweep-profile.toml", "--out", "s", "--quiet"],
            "error: sweep-profile.toml: missing-profile.toml: cannot read the calibration profile",
        ),
    ];
    let before = entries(tmp.path());
    for (args, expected) in cases {
        let out = run_in(tmp.path(), &args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line, got {err:?}");
        assert!(err.starts_with(expected), "{args:?}: {err:?}");
    }
    assert_eq!(entries(tmp.path()), before, "nothing left behind (no runs/, no staging)");
}

fn epoch_input(alpha_stake: u64, tempo: u16) -> String {
    format!(
        r#"{{"block": 7200, "emission": 1000000000, "params": {{"tempo": {tempo}}},
            "neurons": [
              {{"alpha_stake": {alpha_stake}, "validator_permit": true, "last_update": 7190, "weights": [[1, 65535]]}},
              {{"alpha_stake": {alpha_stake}, "validator_permit": true, "last_update": 7190, "weights": [[0, 65535]]}}
            ]}}"#
    )
}

/// Item 5: inputs that were silently accepted are refused (exit 2) or reported.
#[test]
fn silently_accepted_inputs_are_refused_or_reported() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, body: &str| fs::write(tmp.path().join(name), body).expect("write");
    // `epoch`: stakes whose sum overflows the chain's fixed point, and tempo 0.
    write("max.json", &epoch_input(u64::MAX, 360));
    write("tempo0.json", &epoch_input(5_000_000_000_000, 0));
    write("fine.json", &epoch_input(5_000_000_000_000, 360));
    let fine = run_in(tmp.path(), &["epoch", "-i", "fine.json"]);
    assert!(fine.status.success(), "{}", text(&fine.stderr));
    for (file, expected) in [
        (
            "max.json",
            "error: max.json: neurons: the stakes (alpha_stake + tao_weight x root_stake) sum to 36893488147419103230 rao; allowed at most 9223372036854775807",
        ),
        ("tempo0.json", "error: tempo0.json: params.tempo: 0 is out of range; allowed 1 ..= 65535"),
    ] {
        let out = run_in(tmp.path(), &["epoch", "-i", file]);
        assert_eq!(out.status.code(), Some(2), "{file}: {}", text(&out.stderr));
        assert!(text(&out.stderr).starts_with(expected), "{file}: {}", text(&out.stderr));
        assert!(out.stdout.is_empty(), "{file}: no results");
    }

    // `--horizon` with `--set run.horizon`: refused rather than one silently winning.
    let both = run_in(tmp.path(), &["run", "--horizon", "100", "--set", "run.horizon=200", "--out", "x"]);
    assert_eq!(both.status.code(), Some(2));
    assert_eq!(text(&both.stderr), "error: --horizon and --set run.horizon both set the horizon; give only one\n");

    // Events after the horizon: the run goes on, with a warning naming them (an event at the
    // horizon block itself happens: the horizon is the run's last block).
    write(
        "late.toml",
        "[run]\nhorizon = 300\n\n[[events]]\nat = 300\nkind = \"price_jump\"\nfactor = 0.5\n\n\
         [[events]]\nat = 400\nkind = \"price_jump\"\nfactor = 2.0\n",
    );
    let late = run_in(tmp.path(), &["run", "--quiet", "late.toml", "--out", "late"]);
    assert!(late.status.success(), "{}", text(&late.stderr));
    assert_eq!(
        text(&late.stderr),
        "warning: events[1] (price_jump at block 400) after the horizon (block 300) never happen in this run\n"
    );
    let check = run_in(tmp.path(), &["check", "late.toml"]);
    assert!(check.status.success() && text(&check.stderr).contains("events[1] (price_jump at block 400)"));
    let on_time = run_in(tmp.path(), &["run", "--quiet", "late.toml", "--horizon", "400", "--out", "on-time"]);
    assert!(on_time.status.success() && on_time.stderr.is_empty(), "{}", text(&on_time.stderr));

    // A manifest edited by hand (a horizon of 100 years) is refused before anything re-runs.
    let path = tmp.path().join("late/manifest.json");
    let manifest = fs::read_to_string(&path).expect("manifest");
    assert!(manifest.contains("\"horizon\": 300,"), "{manifest}");
    fs::write(&path, manifest.replace("\"horizon\": 300,", "\"horizon\": \"36500d\",")).expect("edit");
    let replay = run_in(tmp.path(), &["replay", "--quiet", "late"]);
    assert_eq!(replay.status.code(), Some(2), "{}", text(&replay.stderr));
    assert!(
        text(&replay.stderr).contains("its scenario does not match the scenario.toml digest it records"),
        "{}",
        text(&replay.stderr)
    );
    // The manifest's own seed (listed before its scenario's).
    fs::write(&path, manifest.replacen("\"seed\": 42,", "\"seed\": 43,", 1)).expect("edit");
    let replay = run_in(tmp.path(), &["replay", "--quiet", "late"]);
    assert_eq!(replay.status.code(), Some(2), "{}", text(&replay.stderr));
    assert!(text(&replay.stderr).contains("seed 43 does not match its scenario's seed 42"), "{}", text(&replay.stderr));
}

/// Item 6: the manifest names the exact build; a replay by another binary notes it but does
/// not fail for it.
#[test]
fn the_manifest_names_the_build_and_replay_only_notes_another_binary() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = run_in(tmp.path(), &["run", "--quiet", "--horizon", "100", "--out", "r"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let path = tmp.path().join("r/manifest.json");
    let text_before = fs::read_to_string(&path).expect("manifest");
    let manifest: serde_json::Value = serde_json::from_str(&text_before).expect("json");
    let build = &manifest["build"];
    let commit = build["git_commit"].as_str().expect("git_commit");
    assert!(commit == "unknown" || (commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit())), "{commit}");
    let exe = fs::read(env!("CARGO_BIN_EXE_taosim")).expect("binary");
    use sha2::Digest;
    assert_eq!(build["binary_sha256"].as_str(), Some(hex::encode(sha2::Sha256::digest(&exe)).as_str()));
    assert!(build["rustc"].as_str().is_some_and(|v| v.starts_with("rustc ")), "{build}");
    assert!(build["target"].as_str().is_some_and(|t| t.contains('-')), "{build}");

    let same = run_in(tmp.path(), &["replay", "--quiet", "r"]);
    assert!(same.status.success(), "{}", text(&same.stderr));
    assert!(same.stderr.is_empty(), "{}", text(&same.stderr));
    let other = "0".repeat(64);
    let edited = text_before.replace(build["binary_sha256"].as_str().expect("digest"), &other);
    fs::write(&path, edited).expect("edit");
    let replay = run_in(tmp.path(), &["replay", "--quiet", "r"]);
    assert!(replay.status.success(), "{}{}", text(&replay.stdout), text(&replay.stderr));
    assert!(text(&replay.stdout).contains("all 5 digests match"), "{}", text(&replay.stdout));
    assert!(
        text(&replay.stderr).starts_with("note: the run was written by another binary (sha256 000000000000"),
        "{}",
        text(&replay.stderr)
    );
}

const SWEEP: &str = r#"
[sweep]
name = "merge-test"
seeds = [1, 2, 3, 4]

[sweep.vary]
"chain.tempo" = [99, 100]

[base]
name = "tiny"
run.horizon = 200
run.sample_every_blocks = 50
"#;

fn shards(tmp: &Path) -> Vec<PathBuf> {
    let file = tmp.join("sweep.toml");
    fs::write(&file, SWEEP).expect("write");
    (1..=2)
        .map(|k| {
            let out = tmp.join(format!("shard{k}"));
            let o = run_in(tmp, &["sweep", p(&file), "--out", p(&out), "--shard", &format!("{k}/2"), "--quiet"]);
            assert!(o.status.success(), "{}", text(&o.stderr));
            out
        })
        .collect()
}

/// Item 10: a merge that fails on a truncated summary or a damaged run leaves no output
/// folder, no `.summary.csv.partial` and no staging folder; an earlier merge stays whole.
#[test]
fn a_failed_merge_leaves_nothing_half_built() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dirs = shards(tmp.path());
    let merge = |out: &str| run_in(tmp.path(), &["merge", p(&dirs[0]), p(&dirs[1]), "--out", out, "--quiet"]);

    // A truncated shard summary (its last two runs cut off).
    let summary = dirs[1].join("summary.csv");
    let full = fs::read_to_string(&summary).expect("summary");
    let kept: Vec<&str> = full.lines().collect();
    fs::write(&summary, format!("{}\n", kept[..kept.len() - 2].join("\n"))).expect("truncate");
    let before = entries(tmp.path());
    let out = merge("merged");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("the shard is incomplete"), "{}", text(&out.stderr));
    assert_eq!(entries(tmp.path()), before, "no merged/, no staging folder");

    // A good merge, then one that fails on a damaged run: the earlier merge is untouched.
    fs::write(&summary, &full).expect("restore");
    let good = merge("merged");
    assert!(good.status.success(), "{}", text(&good.stderr));
    let merged_before = entries(&tmp.path().join("merged"));
    let summary_before = fs::read(tmp.path().join("merged/summary.csv")).expect("summary");
    assert_eq!(merged_before, ["manifest.json", "runs", "subnets.parquet", "summary.csv", "timeseries.parquet"]);
    let damaged_run = entries(&dirs[1].join("runs")).into_iter().next().expect("a run");
    fs::write(dirs[1].join("runs").join(&damaged_run).join("events.csv"), "damaged\n").expect("damage");
    // Remove the earlier merge's copy too, so the merge must take the damaged one.
    fs::remove_dir_all(tmp.path().join("merged/runs").join(&damaged_run)).expect("rm");
    let runs_before = entries(&tmp.path().join("merged/runs"));
    let out = merge("merged");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("does not verify against its manifest"), "{}", text(&out.stderr));
    assert_eq!(entries(&tmp.path().join("merged")), merged_before, "no .summary.csv.partial");
    assert_eq!(entries(&tmp.path().join("merged/runs")), runs_before);
    assert_eq!(fs::read(tmp.path().join("merged/summary.csv")).expect("summary"), summary_before);
    assert_eq!(entries(tmp.path()), ["merged", "shard1", "shard2", "sweep.toml"], "no staging folder");
}
