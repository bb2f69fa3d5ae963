//! `taosim sweep`, `taosim merge` and `taosim check` of sweep files, through the binary.
//!
//! Sweeps here are small (short horizons) so the whole file runs in seconds on a debug build.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn taosim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_taosim"))
}

fn run(args: &[&str]) -> Output {
    taosim().args(args).output().expect("taosim runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(args: &[&str]) -> Output {
    let out = run(args);
    assert!(out.status.success(), "taosim {args:?} failed: {}", text(&out.stderr));
    out
}

/// Writes a sweep file into `dir` and returns its path.
fn sweep_file(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, body).expect("write sweep");
    path
}

/// A grid of 3 x 2 points x 3 seeds; the point with supply cap 1M is out of range (its
/// starting issuance exceeds the cap), so 6 of its 18 runs fail.
const GRID: &str = r#"
[sweep]
name = "grid-test"
seeds = [11, 5, 7]

[sweep.vary]
"chain.emission.supply_cap_tao" = [21000000.0, 1000000.0, 42000000.0]
"chain.emission.schedule" = ["halving", "smooth"]

[base]
name = "tiny"
run.horizon = 300
run.sample_every_blocks = 50
"#;

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The sweep's files that must be identical however it was run: summary, the Parquet files
/// (timeseries, subnets), manifest.
fn sweep_files(dir: &Path) -> (String, Vec<Vec<u8>>, String) {
    let bytes = ["timeseries.parquet", "subnets.parquet"]
        .iter()
        .map(|name| fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}/{name}: {e}", dir.display())))
        .collect();
    (read(&dir.join("summary.csv")), bytes, read(&dir.join("manifest.json")))
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[test]
fn summary_is_byte_identical_for_any_thread_count_and_for_merged_shards() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = sweep_file(tmp.path(), "grid.toml", GRID);
    let mut summaries = BTreeMap::new();
    for jobs in ["1", "2", "8"] {
        let out = tmp.path().join(format!("jobs{jobs}"));
        ok(&["sweep", p(&file), "--out", p(&out), "--jobs", jobs, "--quiet"]);
        summaries.insert(format!("jobs {jobs}"), sweep_files(&out));
    }
    let mut shard_dirs = Vec::new();
    for k in 1..=3 {
        let out = tmp.path().join(format!("shard{k}"));
        ok(&["sweep", p(&file), "--out", p(&out), "--jobs", "2", "--shard", &format!("{k}/3"), "--quiet"]);
        shard_dirs.push(out);
    }
    let merged = tmp.path().join("merged");
    // Shards given in any order.
    ok(&["merge", p(&shard_dirs[2]), p(&shard_dirs[0]), p(&shard_dirs[1]), "--out", p(&merged), "--quiet"]);
    summaries.insert("3 shards merged".into(), sweep_files(&merged));

    let (reference, parquet, manifest) = summaries["jobs 1"].clone();
    for (what, (summary, table, m)) in &summaries {
        assert_eq!(summary, &reference, "{what}: summary.csv differs");
        assert!(table == &parquet, "{what}: a Parquet file differs");
        assert_eq!(m, &manifest, "{what}: manifest.json differs");
    }
    // A shard's own folder gathers only its runs: a smaller file than the whole sweep's.
    let shard_parquet = fs::metadata(shard_dirs[0].join("timeseries.parquet")).expect("shard parquet").len();
    assert!(shard_parquet < parquet[0].len() as u64, "shard {shard_parquet} vs whole {}", parquet[0].len());
    // The summary has every run in plan order, 6 failed runs with their error, and metrics.
    let lines: Vec<&str> = reference.lines().collect();
    assert_eq!(lines.len(), 19);
    assert!(lines[0].starts_with(
        "run_id,point,seed,chain.emission.schedule,chain.emission.supply_cap_tao,status,error,author_fees_tao,blocks,"
    ));
    let blocks_column = lines[0].split(',').position(|c| c == "blocks").expect("a blocks column");
    for (line, prefix) in
        [(lines[1], "p0000-s11,0,11,halving,21000000.0,ok,,"), (lines[2], "p0000-s5,0,5,halving,21000000.0,ok,,")]
    {
        assert!(line.starts_with(prefix), "{line}");
        assert_eq!(line.split(',').nth(blocks_column), Some("300"), "{line}");
    }
    let failed: Vec<&&str> = lines.iter().filter(|l| l.contains(",failed,")).collect();
    assert_eq!(failed.len(), 6);
    assert!(
        failed.iter().all(|l| l.contains(",1000000.0,failed,chain.initial_issuance_tao: 15700000 TAO is out of range")),
        "{failed:?}"
    );
    // Every successful run has its own complete run folder in the merged sweep.
    let run_dirs = fs::read_dir(merged.join("runs")).expect("runs").count();
    assert_eq!(run_dirs, 12);
    let run_manifest = read(&merged.join("runs/p0005-s7/manifest.json"));
    assert!(run_manifest.contains("\"seed\": 7"), "{run_manifest}");
    // Merging again is a no-op that gives the same bytes.
    ok(&["merge", p(&shard_dirs[0]), p(&shard_dirs[1]), p(&shard_dirs[2]), "--out", p(&merged), "--quiet"]);
    assert_eq!(read(&merged.join("summary.csv")), reference);
    assert!(sweep_files(&merged).1 == parquet, "merging again changed a Parquet file");
}

/// Non-hidden entries of `runs/` (complete run folders) with their inode numbers.
#[cfg(unix)]
fn run_folders(dir: &Path) -> BTreeMap<String, u64> {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = fs::read_dir(dir.join("runs")) else { return BTreeMap::new() };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.metadata().expect("metadata").ino()))
        .collect()
}

#[cfg(unix)]
#[test]
fn a_killed_sweep_resumes_to_the_same_summary_without_recomputing_finished_runs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // 2 points x 20 seeds of 20,000 blocks: long enough to kill part-way on one thread.
    let body = "[sweep]\nseeds = { count = 20, first = 100 }\n[sweep.vary]\n\"chain.emission.schedule\" = [\"halving\", \"smooth\"]\n[base]\nrun.horizon = 20000\nrun.sample_every_blocks = 1000\n";
    let file = sweep_file(tmp.path(), "long.toml", body);
    let reference = tmp.path().join("reference");
    ok(&["sweep", p(&file), "--out", p(&reference), "--jobs", "2", "--quiet"]);

    let out = tmp.path().join("killed");
    let mut child = taosim()
        .args(["sweep", p(&file), "--out", p(&out), "--jobs", "1", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(120);
    while run_folders(&out).len() < 4 {
        assert!(child.try_wait().expect("try_wait").is_none(), "the sweep finished before it could be killed");
        assert!(Instant::now() < deadline, "no run folders after 120 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("kill");
    child.wait().expect("wait");
    let finished = run_folders(&out);
    assert!(finished.len() >= 4 && finished.len() < 40, "killed part-way: {} runs finished", finished.len());
    assert!(!out.join("summary.csv").exists(), "an interrupted sweep publishes no summary");
    assert!(!out.join("timeseries.parquet").exists(), "an interrupted sweep publishes no Parquet file");
    assert!(!out.join("subnets.parquet").exists(), "an interrupted sweep publishes no Parquet file");
    let mtimes: BTreeMap<String, std::time::SystemTime> = finished
        .keys()
        .map(|id| {
            (
                id.clone(),
                fs::metadata(out.join("runs").join(id).join("timeseries.csv"))
                    .and_then(|m| m.modified())
                    .expect("mtime"),
            )
        })
        .collect();

    let again = ok(&["sweep", p(&file), "--out", p(&out), "--jobs", "2"]);
    let stderr = text(&again.stderr);
    assert!(stderr.contains(&format!("{} reused", finished.len())), "{stderr}");
    assert!(sweep_files(&out) == sweep_files(&reference), "the resumed sweep's files differ");
    let after = run_folders(&out);
    assert_eq!(after.len(), 40);
    for (id, inode) in &finished {
        assert_eq!(after.get(id), Some(inode), "{id} was recomputed (new folder)");
        let mtime =
            fs::metadata(out.join("runs").join(id).join("timeseries.csv")).and_then(|m| m.modified()).expect("mtime");
        assert_eq!(mtime, mtimes[id], "{id} was rewritten");
    }
    let leftovers: Vec<String> = fs::read_dir(out.join("runs"))
        .expect("runs")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "staging folders left: {leftovers:?}");
}

#[cfg(unix)]
#[test]
fn a_run_folder_that_no_longer_verifies_is_redone_and_the_rest_are_kept() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = sweep_file(tmp.path(), "grid.toml", GRID);
    let out = tmp.path().join("out");
    ok(&["sweep", p(&file), "--out", p(&out), "--jobs", "2", "--quiet"]);
    let summary = read(&out.join("summary.csv"));
    let before = run_folders(&out);
    // Damage one run's output and delete another run entirely.
    fs::write(out.join("runs/p0000-s5/timeseries.csv"), "block\n0\n").expect("damage");
    fs::remove_dir_all(out.join("runs/p0003-s7")).expect("remove");
    let again = ok(&["sweep", p(&file), "--out", p(&out), "--jobs", "2"]);
    let stderr = text(&again.stderr);
    assert!(stderr.contains("(2 ran, 10 reused, 6 failed)"), "{stderr}");
    assert_eq!(read(&out.join("summary.csv")), summary);
    let after = run_folders(&out);
    // Kept runs keep their folder (same inode). Redone runs are checked by content, not by a
    // new inode: the file system may give the recreated folder the removed one's inode.
    for (id, inode) in &before {
        if id != "p0000-s5" && id != "p0003-s7" {
            assert_eq!(after.get(id), Some(inode), "{id} was kept");
        }
    }
    assert!(after.contains_key("p0003-s7"), "the removed run is back");
    assert_ne!(read(&out.join("runs/p0000-s5/timeseries.csv")), "block\n0\n", "the damaged run is redone");
    let check = run(&["replay", p(&out.join("runs/p0000-s5")), "--quiet"]);
    assert!(check.status.success(), "the redone run replays: {}", text(&check.stdout));
}

#[test]
fn failing_runs_are_recorded_and_the_sweep_goes_on() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Zip: the middle point's starting issuance is above its cap; the others are fine.
    let body = r#"
[sweep]
mode = "zip"
seeds = [1, 2]
[sweep.vary]
"chain.emission.supply_cap_tao" = [21000000.0, 100.0, 42000000.0]
"chain.tempo" = [360, 0, 99]
[base]
run.horizon = 100
"#;
    let file = sweep_file(tmp.path(), "zip.toml", body);
    let out = tmp.path().join("out");
    let result = ok(&["sweep", p(&file), "--out", p(&out), "--jobs", "2"]);
    let stderr = text(&result.stderr);
    assert!(stderr.contains("warning: 1 of 3 points are out of range"), "{stderr}");
    assert!(stderr.contains("(4 ran, 0 reused, 2 failed)"), "{stderr}");
    let summary = read(&out.join("summary.csv"));
    let rows: Vec<Vec<&str>> = summary.lines().skip(1).map(|l| l.split(',').collect()).collect();
    let statuses: Vec<(&str, &str)> = rows.iter().map(|r| (r[0], r[5])).collect();
    assert_eq!(
        statuses,
        [
            ("p0000-s1", "ok"),
            ("p0000-s2", "ok"),
            ("p0001-s1", "failed"),
            ("p0001-s2", "failed"),
            ("p0002-s1", "ok"),
            ("p0002-s2", "ok")
        ]
    );
    assert!(summary.contains(
        "p0001-s1,1,1,100.0,0,failed,chain.tempo: 0 is out of range; allowed 1 ..= 50400; chain.initial_issuance_tao: 15700000 TAO is out of range; allowed 0 ..= 100 TAO,,"
    ), "{summary}");
    assert!(out.join("runs/p0002-s2/manifest.json").exists());
    assert!(!out.join("runs/p0001-s1").exists(), "a failed run leaves no run folder");
    // check reports the same points as errors naming the sweep file and the varied field.
    let check = run(&["check", p(&file)]);
    assert_eq!(check.status.code(), Some(2));
    let err = text(&check.stderr);
    assert!(
        err.contains(&format!("error: {}: sweep.vary.chain.tempo: 0 is out of range; allowed 1 ..= 50400 at p0001 (chain.emission.supply_cap_tao = 100.0, chain.tempo = 0)", file.display())),
        "{err}"
    );
    assert!(err.contains("1 of 3 points are out of range"), "{err}");
}

#[test]
fn bad_sweep_files_and_flags_get_clear_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cases: &[(&str, &str)] = &[
        (
            "[sweep]\nseeds = [1]\n[sweep.vary]\n\"chain.tempoo\" = [1, 2]\n",
            "sweep.vary.chain.tempoo: unknown field `tempoo`, expected one of",
        ),
        (
            "[sweep]\nseeds = [1]\n[sweep.vary]\n\"chain.emission.schedule\" = [\"cliff\"]\n",
            "sweep.vary.chain.emission.schedule: unknown variant `cliff`, expected `halving` or `smooth` (value cliff)",
        ),
        (
            "[sweep]\nseeds = [1]\nmode = \"zip\"\n[sweep.vary]\n\"chain.tempo\" = [1, 2]\n\"run.horizon\" = [5]\n",
            "sweep.vary: in zip mode every list has the same length; chain.tempo has 2, run.horizon has 1",
        ),
        ("[sweep]\nseeds = []\n", "sweep.seeds: the list is empty"),
        ("[sweep]\nseeds = [1]\nbase = \"missing.toml\"\n", "sweep.base: cannot read the base scenario"),
        ("[sweep]\nseeds = [1]\nextra = 1\n", "sweep.extra: unknown field `extra`"),
    ];
    for (i, (body, expected)) in cases.iter().enumerate() {
        let file = sweep_file(tmp.path(), &format!("bad{i}.toml"), body);
        for args in [vec!["check", p(&file)], vec!["sweep", p(&file), "--out", p(&tmp.path().join(format!("o{i}")))]] {
            let out = run(&args);
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            let err = text(&out.stderr);
            assert!(err.starts_with(&format!("error: {}: ", file.display())), "{err}");
            assert!(err.contains(expected), "{args:?}: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
        assert!(!tmp.path().join(format!("o{i}")).exists(), "nothing written for an invalid sweep");
    }

    let file = sweep_file(tmp.path(), "good.toml", "[sweep]\nseeds = [1, 2]\n[base]\nrun.horizon = 10\n");
    let out_dir = tmp.path().join("good");
    for (args, expected) in [
        (vec!["--shard", "4/3"], "error: --shard: `4/3` is not a shard; expected K/N with 1 <= K <= N"),
        (vec!["--jobs", "0"], "error: --jobs: 0 is out of range; allowed 1 ..= 1024"),
        (vec!["--set", "seed=4"], "error: --set: seed: a sweep's seeds come from sweep.seeds"),
    ] {
        let mut all = vec!["sweep", p(&file), "--out", p(&out_dir)];
        all.extend(args);
        let out = run(&all);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).starts_with(expected), "{}", text(&out.stderr));
    }
    // A folder of another sweep, or of another shard, is refused; so is a non-sweep folder.
    ok(&["sweep", p(&file), "--out", p(&out_dir), "--quiet"]);
    let other = sweep_file(tmp.path(), "other.toml", "[sweep]\nseeds = [1, 3]\n[base]\nrun.horizon = 10\n");
    let out = run(&["sweep", p(&other), "--out", p(&out_dir)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("holds another sweep (`good`"), "{}", text(&out.stderr));
    let out = run(&["sweep", p(&file), "--out", p(&out_dir), "--shard", "1/2"]);
    assert!(text(&out.stderr).contains("holds the whole sweep of this sweep, not shard 1/2"), "{}", text(&out.stderr));
    let out = run(&["sweep", p(&file), "--out", p(tmp.path())]);
    assert!(text(&out.stderr).contains("exists and is not a sweep folder"), "{}", text(&out.stderr));

    // Merges: a missing shard, an unfinished shard, shards of two sweeps.
    let s1 = tmp.path().join("s1");
    let s2 = tmp.path().join("s2");
    ok(&["sweep", p(&file), "--out", p(&s1), "--shard", "1/2", "--quiet"]);
    let merged = tmp.path().join("merged");
    let out = run(&["merge", p(&s1), "--out", p(&merged)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("shard 2/2 is missing"), "{}", text(&out.stderr));
    ok(&["sweep", p(&file), "--out", p(&s2), "--shard", "2/2", "--quiet"]);
    fs::remove_file(s2.join("summary.csv")).expect("unfinish");
    let out = run(&["merge", p(&s1), p(&s2), "--out", p(&merged)]);
    assert!(text(&out.stderr).contains("shard 2/2 is unfinished (no summary.csv)"), "{}", text(&out.stderr));
    let s2_other = tmp.path().join("s2-other");
    ok(&["sweep", p(&other), "--out", p(&s2_other), "--shard", "2/2", "--quiet"]);
    let out = run(&["merge", p(&s1), p(&s2_other), "--out", p(&merged)]);
    assert!(text(&out.stderr).contains("is from another sweep than"), "{}", text(&out.stderr));
    assert!(!merged.exists(), "nothing written by a refused merge");
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every shipped sweep file checks and runs (every point, every seed) with a short horizon.
#[test]
fn every_shipped_sweep_file_checks_and_runs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = repo().join("scenarios/sweeps");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("scenarios/sweeps")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "shipped sweeps: {files:?}");
    for file in &files {
        ok(&["check", p(file)]);
        let out = tmp.path().join(file.file_stem().expect("stem"));
        let result =
            ok(&["sweep", p(file), "--out", p(&out), "--set", "run.horizon=40", "--set", "run.sample_every_blocks=10"]);
        let stderr = text(&result.stderr);
        assert!(stderr.contains(" 0 failed)"), "{}: {stderr}", file.display());
        let summary = read(&out.join("summary.csv"));
        assert!(summary.lines().count() > 1 && !summary.contains(",failed,"), "{summary}");
    }
}
