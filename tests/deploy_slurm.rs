//! `deploy/slurm/taosim-sweep.sbatch` without Slurm: a stub `sbatch` on PATH records each
//! submission's arguments and answers a job id; the test then plays Slurm, running the script
//! as each array task and as the merge job with the arguments it submitted, on the real
//! binary. Needs bash (as the script does).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/slurm/taosim-sweep.sbatch");
const TAOSIM: &str = env!("CARGO_BIN_EXE_taosim");

/// 2 points x 2 seeds of 200-block runs.
const SWEEP: &str = r#"
[sweep]
name = "slurm-test"
seeds = [3, 4]

[sweep.vary]
"chain.emission.schedule" = ["halving", "smooth"]

[base]
run.horizon = 200
run.sample_every_blocks = 50
"#;

/// Records its arguments, one a line, in $SBATCH_LOG/call-N and answers `100N;cluster`.
const SBATCH_STUB: &str = r#"#!/bin/sh
n=$(($(cat "$SBATCH_LOG/count" 2>/dev/null || echo 0) + 1))
echo "$n" > "$SBATCH_LOG/count"
for a in "$@"; do printf '%s\n' "$a"; done > "$SBATCH_LOG/call-$n"
echo "$((1000 + n));cluster"
"#;

struct Cluster {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl Cluster {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        fs::create_dir_all(dir.join("bin")).expect("bin");
        fs::create_dir_all(dir.join("log")).expect("log");
        let stub = dir.join("bin/sbatch");
        fs::write(&stub, SBATCH_STUB).expect("stub");
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&stub, fs::Permissions::from_mode(0o755)).expect("chmod");
        fs::write(dir.join("sweep.toml"), SWEEP).expect("sweep file");
        Cluster { _tmp: tmp, dir }
    }

    /// The login node: a clean environment whose PATH has `sbatch` but no `taosim`.
    fn submit(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut cmd = Command::new("bash");
        cmd.arg(SCRIPT).args(args).current_dir(&self.dir).env_clear();
        cmd.env("PATH", format!("{}:/usr/bin:/bin", self.dir.join("bin").display()));
        cmd.env("SBATCH_LOG", self.dir.join("log"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("bash runs")
    }

    /// The arguments of every sbatch call so far.
    fn calls(&self) -> Vec<Vec<String>> {
        let count: usize =
            fs::read_to_string(self.dir.join("log/count")).map_or(0, |s| s.trim().parse().expect("count"));
        (1..=count)
            .map(|n| {
                let args = fs::read_to_string(self.dir.join(format!("log/call-{n}"))).expect("call");
                args.lines().map(str::to_string).collect()
            })
            .collect()
    }

    /// A compute node running what call `call` submitted (as array task `task`, if any).
    fn run_job(&self, call: &[String], task: Option<u32>) -> Output {
        let at = call.iter().position(|a| a == SCRIPT).expect("the script is submitted");
        let mut cmd = Command::new("bash");
        cmd.arg(SCRIPT).args(&call[at + 1..]).current_dir("/").env_clear();
        cmd.env("PATH", "/usr/bin:/bin").env("SLURM_JOB_ID", "1001");
        if let Some(cpus) = option(call, "--cpus-per-task") {
            cmd.env("SLURM_CPUS_PER_TASK", cpus);
        }
        if let Some(k) = task {
            cmd.env("SLURM_ARRAY_TASK_ID", k.to_string());
        }
        cmd.output().expect("bash runs")
    }

    fn out(&self) -> PathBuf {
        self.dir.join("out")
    }
}

/// The value of `--name=value` in a call.
fn option<'a>(call: &'a [String], name: &str) -> Option<&'a str> {
    call.iter().find_map(|a| a.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
}

fn ok(out: Output, what: &str) -> String {
    assert!(out.status.success(), "{what} failed ({:?}): {}", out.status.code(), text(&out.stderr));
    text(&out.stdout)
}

fn refused(out: &Output, needle: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "expected exit 2, got {:?}: {err}", out.status.code());
    assert!(err.contains(needle), "stderr should mention {needle:?}: {err}");
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn array_tasks_and_merge_give_what_one_machine_gives_with_set_cpus_and_sbatch_args() {
    let c = Cluster::new();
    let env = [
        ("SWEEP", "sweep.toml"),
        ("OUT", "out"),
        ("SHARDS", "3"),
        ("TAOSIM", TAOSIM),
        ("CPUS_PER_TASK", "2"),
        ("SBATCH_ARGS", "--partition=short --account=lab"),
    ];
    ok(c.submit(&env, &["--set", "run.sample_every_blocks=25"]), "submission");
    let calls = c.calls();
    assert_eq!(calls.len(), 2, "an array job and a merge job: {calls:?}");
    let (array, merge) = (&calls[0], &calls[1]);
    assert_eq!(option(array, "--array"), Some("1-3"));
    assert_eq!(option(array, "--cpus-per-task"), Some("2"));
    for call in &calls {
        assert!(call.iter().any(|a| a == "--partition=short") && call.iter().any(|a| a == "--account=lab"));
    }
    // The merge waits for the tasks to end, failed or not: it never stays pending forever.
    assert_eq!(option(merge, "--dependency"), Some("afterany:1001"));

    for k in 1..=3 {
        ok(c.run_job(array, Some(k)), &format!("task {k}"));
    }
    ok(c.run_job(merge, None), "merge");

    let whole = c.dir.join("whole");
    let sweep = c.dir.join("sweep.toml");
    let single = Command::new(TAOSIM)
        .args(["sweep", sweep.to_str().expect("utf-8"), "--out", whole.to_str().expect("utf-8")])
        .args(["--quiet", "--set", "run.sample_every_blocks=25"])
        .output()
        .expect("taosim runs");
    ok(single, "one machine");
    for file in ["summary.csv", "manifest.json"] {
        assert!(read(&c.out().join("merged").join(file)) == read(&whole.join(file)), "merged {file} differs");
    }
    // --set reached the tasks: every run sampled every 25 blocks.
    let scenario = String::from_utf8(read(&c.out().join("merged/runs/p0000-s3/scenario.toml"))).expect("utf-8");
    assert!(scenario.contains("sample_every_blocks = 25"), "{scenario}");
}

#[test]
fn resubmission_needs_only_out_and_keeps_shards_sbatch_args_and_set() {
    let c = Cluster::new();
    let first = [
        ("SWEEP", "sweep.toml"),
        ("OUT", "out"),
        ("SHARDS", "3"),
        ("TAOSIM", TAOSIM),
        ("SBATCH_ARGS", "--partition=short"),
    ];
    ok(c.submit(&first, &["--set", "run.sample_every_blocks=25"]), "submission");
    let array = c.calls()[0].clone();
    // Task 2 failed: only tasks 1 and 3 ran; the merge (afterany) says which shard to redo.
    ok(c.run_job(&array, Some(1)), "task 1");
    ok(c.run_job(&array, Some(3)), "task 3");
    let merge = c.run_job(&c.calls()[1], None);
    refused(&merge, "shard(s) 2 of 3 did not finish");
    refused(&merge, "TASKS=2 bash deploy/slurm/taosim-sweep.sbatch");
    assert!(!c.out().join("merged").exists(), "nothing merged");

    // Resubmit with OUT and TASKS only: no SWEEP, SHARDS, TAOSIM (not on PATH) or SBATCH_ARGS.
    ok(c.submit(&[("OUT", "out"), ("TASKS", "2")], &[]), "resubmission");
    let calls = c.calls();
    assert_eq!(calls.len(), 4, "{calls:?}");
    let (array, merge) = (&calls[2], &calls[3]);
    assert_eq!(option(array, "--array"), Some("2"));
    assert_eq!(option(array, "--cpus-per-task"), Some("1"), "default: 1 CPU, which any node has");
    assert!(array.iter().any(|a| a == "--partition=short") && merge.iter().any(|a| a == "--partition=short"));
    assert_eq!(option(merge, "--dependency"), Some("afterany:1003"));
    let task = c.run_job(array, Some(2));
    assert!(ok(task, "task 2").contains("shard-2-of-3"), "shard 2 of 3, not of 8");
    ok(c.run_job(merge, None), "merge");
    assert!(c.out().join("merged/summary.csv").is_file());

    // MODE=merge submits only the merge; another SHARDS or --set on this OUT is refused.
    ok(c.submit(&[("OUT", "out"), ("MODE", "merge")], &[]), "merge only");
    let calls = c.calls();
    assert_eq!(calls.len(), 5);
    assert_eq!(option(&calls[4], "--dependency"), None);
    refused(&c.submit(&[("OUT", "out"), ("SHARDS", "8")], &[]), "split into 3 shards");
    refused(&c.submit(&[("OUT", "out")], &["--set", "run.sample_every_blocks=10"]), "--set differs");
    assert_eq!(c.calls().len(), 5, "nothing submitted when refused");
}

#[test]
fn taosim_not_found_is_a_clear_error_with_exit_2_not_127() {
    let c = Cluster::new();
    let base = [("SWEEP", "sweep.toml"), ("OUT", "out")];
    refused(&c.submit(&base, &[]), "set TAOSIM");
    let mut missing = base.to_vec();
    missing.push(("TAOSIM", "/nonexistent/taosim"));
    refused(&c.submit(&missing, &[]), "'/nonexistent/taosim' is not an executable");
    assert!(c.calls().is_empty() && !c.out().exists(), "nothing submitted or created");

    // A node where the recorded binary is missing says so too.
    let env_file = c.dir.join("taosim-sweep.env");
    let settings = "sweep=/s.toml\nout=/o\nshards=2\ntaosim=/gone/taosim\ncpus_per_task=1\nsets=( )\n";
    fs::write(&env_file, settings).expect("env file");
    let job = vec![SCRIPT.to_string(), "task".to_string(), env_file.display().to_string()];
    refused(&c.run_job(&job, Some(1)), "taosim not found");
}

#[test]
fn bad_settings_are_refused_with_exit_2_before_anything_is_submitted() {
    let c = Cluster::new();
    let good = [("SWEEP", "sweep.toml"), ("OUT", "out"), ("TAOSIM", TAOSIM), ("SHARDS", "3")];
    let with = |k: &'static str, v: &'static str| {
        let mut e: Vec<(&str, &str)> = good.iter().filter(|(name, _)| *name != k).copied().collect();
        e.push((k, v));
        e
    };
    refused(&c.submit(&with("SHARDS", "0"), &[]), "SHARDS must be a whole number");
    refused(&c.submit(&with("CPUS_PER_TASK", "four"), &[]), "CPUS_PER_TASK must be a whole number");
    refused(&c.submit(&with("PARALLEL", "-1"), &[]), "PARALLEL must be a whole number");
    refused(&c.submit(&with("TASKS", "4"), &[]), "task 4 is not one of 1..3");
    refused(&c.submit(&with("SWEEP", "missing.toml"), &[]), "no such file");
    refused(&c.submit(&good, &["--jobs", "4"]), "unknown argument '--jobs'");
    refused(&c.submit(&[("SWEEP", "sweep.toml"), ("TAOSIM", TAOSIM)], &[]), "set OUT");
    refused(&c.submit(&[("OUT", "out"), ("TAOSIM", TAOSIM)], &[]), "set SWEEP");
    // Shard folders of another split: forgetting SHARDS must not silently run K/8.
    fs::create_dir_all(c.out().join("shard-1-of-3")).expect("old shard");
    refused(&c.submit(&with("SHARDS", "8"), &[]), "holds shard-1-of-3 but SHARDS is 8");
    // Submitted with sbatch --array directly (the script submits itself).
    let direct = Command::new("bash")
        .arg(SCRIPT)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("SLURM_JOB_ID", "7")
        .env("SLURM_ARRAY_TASK_ID", "1")
        .output()
        .expect("bash runs");
    refused(&direct, "not with sbatch --array");
    assert!(c.calls().is_empty(), "nothing submitted: {:?}", c.calls());
}
