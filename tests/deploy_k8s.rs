//! `deploy/k8s` and the `Dockerfile` without a cluster: `deploy/k8s/taosim-sweep.sh` runs with a
//! stub `kubectl` on PATH that records each call, keeps what is applied and answers Job
//! statuses from files the test writes; the shell bodies of the applied Jobs then run with a
//! stub `taosim` that records its arguments. Needs bash and sh (as the script and pods do).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const SWEEP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/sweeps/halving-timing.toml");

/// Records its arguments in $KLOG/call-N; `get pvc` fails if $KLOG/no-pvc exists; `get job NAME`
/// prints $KLOG/status-NAME (the Job's true conditions); `apply -f F` keeps F as $KLOG/applied-N.
const KUBECTL_STUB: &str = r#"#!/bin/sh
n=$(($(cat "$KLOG/count" 2>/dev/null || echo 0) + 1))
echo "$n" > "$KLOG/count"
for a in "$@"; do printf '%s\n' "$a"; done > "$KLOG/call-$n"
case "$1" in
  get)
    if [ "$2" = pvc ]; then
      if [ -e "$KLOG/no-pvc" ]; then echo 'Error from server (NotFound)' >&2; exit 1; fi
      echo persistentvolumeclaim/taosim-sweeps
    else
      cat "$KLOG/status-$3" 2>/dev/null
    fi ;;
  create) echo "kind: ConfigMap" ;;
  apply) cp "$3" "$KLOG/applied-$n" ;;
esac
exit 0
"#;

const TAOSIM_STUB: &str = "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$TLOG\"\n";

struct Cluster {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn executable(path: &Path, body: &str) {
    fs::write(path, body).expect("write stub");
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod");
}

impl Cluster {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        for d in ["bin", "klog"] {
            fs::create_dir_all(dir.join(d)).expect("mkdir");
        }
        executable(&dir.join("bin/kubectl"), KUBECTL_STUB);
        Cluster { _tmp: tmp, dir }
    }

    fn status(&self, job: &str, conditions: &str) {
        fs::write(self.dir.join(format!("klog/status-{job}")), conditions).expect("status");
    }

    /// The script, with a clean environment: `kubectl` is the stub, no `taosim` on PATH.
    fn run(&self, env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new("bash");
        cmd.arg(format!("{ROOT}/deploy/k8s/taosim-sweep.sh")).current_dir(&self.dir).env_clear();
        cmd.env("PATH", format!("{}:/usr/bin:/bin", self.dir.join("bin").display()));
        cmd.env("KLOG", self.dir.join("klog")).env("POLL_S", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("bash runs")
    }

    fn calls(&self) -> Vec<Vec<String>> {
        let count: usize =
            fs::read_to_string(self.dir.join("klog/count")).map_or(0, |s| s.trim().parse().expect("count"));
        (1..=count)
            .map(|n| {
                let args = fs::read_to_string(self.dir.join(format!("klog/call-{n}"))).expect("call");
                args.lines().map(str::to_string).collect()
            })
            .collect()
    }

    /// Everything applied, in order.
    fn applied(&self) -> Vec<String> {
        (1..=self.calls().len())
            .filter_map(|n| fs::read_to_string(self.dir.join(format!("klog/applied-{n}"))).ok())
            .collect()
    }
}

fn settings(id: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("SWEEP", SWEEP),
        ("IMAGE", "registry.example.com/taosim:abc123"),
        ("SHARDS", "5"),
        ("CPUS", "2"),
        ("SWEEP_ID", id),
    ]
}

fn ok(out: &Output, what: &str) {
    assert!(out.status.success(), "{what} failed ({:?}): {}", out.status.code(), text(&out.stderr));
}

fn exits(out: &Output, code: i32, needle: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "expected exit {code}, got {:?}: {err}", out.status.code());
    assert!(err.contains(needle), "stderr should mention {needle:?}: {err}");
}

/// The `args: - |` shell body of a Job's container, dedented.
fn body(yaml: &str) -> String {
    let lines: Vec<&str> = yaml.lines().collect();
    let args = lines.iter().position(|l| l.trim() == "args:").expect("args:");
    let start = lines[args + 1..].iter().position(|l| l.trim() == "- |").expect("- |") + args + 2;
    let indent = |l: &str| l.len() - l.trim_start().len();
    let parent = indent(lines[start - 1]);
    let block: Vec<&str> =
        lines[start..].iter().take_while(|l| l.trim().is_empty() || indent(l) > parent).copied().collect();
    let cut = indent(block[0]);
    block.iter().map(|l| l.get(cut..).unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// The container's `- name: X` / `value: "Y"` pairs.
fn env_of(yaml: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = yaml.lines().map(str::trim).collect();
    lines
        .windows(2)
        .filter_map(|w| {
            let name = w[0].strip_prefix("- name: ")?;
            let value = w[1].strip_prefix("value: ")?;
            Some((name.to_string(), value.trim_matches('"').to_string()))
        })
        .collect()
}

/// Runs a Job's body with sh and the stub taosim; returns taosim's arguments.
fn run_body(c: &Cluster, yaml: &str, index: Option<u32>) -> Vec<String> {
    executable(&c.dir.join("bin/taosim"), TAOSIM_STUB);
    let log = c.dir.join("taosim-args");
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(body(yaml)).env_clear();
    cmd.env("PATH", format!("{}:/usr/bin:/bin", c.dir.join("bin").display())).env("TLOG", &log);
    for (k, v) in env_of(yaml) {
        cmd.env(k, v);
    }
    if let Some(i) = index {
        cmd.env("JOB_COMPLETION_INDEX", i.to_string());
    }
    ok(&cmd.output().expect("sh runs"), "job body");
    fs::read_to_string(&log).expect("taosim ran").lines().map(str::to_string).collect()
}

#[test]
fn n_is_set_once_and_the_job_bodies_run_their_shard_and_the_merge() {
    let c = Cluster::new();
    c.status("taosim-sweep-t1", "Complete ");
    c.status("taosim-merge-t1", "Complete ");
    ok(&c.run(&settings("t1")), "submission");
    let applied = c.applied();
    assert_eq!(applied.len(), 3, "the ConfigMap, the shards' Job, the merge Job");
    let (job, merge) = (&applied[1], &applied[2]);
    for yaml in [job, merge] {
        for placeholder in ["${SWEEP_ID}", "${SHARDS}", "${PARALLEL}", "${CPUS}", "${IMAGE}"] {
            assert!(!yaml.contains(placeholder), "{placeholder} filled in:\n{yaml}");
        }
        assert!(yaml.contains("image: registry.example.com/taosim:abc123"));
        assert!(env_of(yaml).contains(&("SHARDS".into(), "5".into())));
        for line in
            ["runAsNonRoot: true", "readOnlyRootFilesystem: true", "drop: [\"ALL\"]", "allowPrivilegeEscalation: false"]
        {
            assert!(yaml.contains(line), "securityContext: {line}");
        }
    }
    assert!(
        job.contains("name: taosim-sweep-t1\n") && merge.contains("name: taosim-merge-t1\n"),
        "Job names carry SWEEP_ID"
    );
    assert!(job.contains("completions: 5\n") && job.contains("parallelism: 5\n"));
    assert!(job.contains("cpu: \"2\""));

    let shard = run_body(&c, job, Some(2));
    let expected = [
        "sweep",
        "/opt/taosim/scenarios/k8s/sweep.toml",
        "--out",
        "/data/t1/shard-3-of-5",
        "--shard",
        "3/5",
        "--jobs",
        "2",
        "--quiet",
    ];
    assert_eq!(shard, expected);
    let mut merged = vec!["merge".to_string()];
    merged.extend((1..=5).map(|k| format!("/data/t1/shard-{k}-of-5")));
    merged.extend(["--out".to_string(), "/data/t1/merged".to_string()]);
    assert_eq!(run_body(&c, merge, None), merged);

    // The ConfigMap holds the sweep file; the Jobs of this SWEEP_ID are replaced on a rerun.
    let calls = c.calls();
    assert!(calls.iter().any(|a| a.contains(&format!("--from-file=sweep.toml={SWEEP}"))), "{calls:?}");
    assert!(calls.iter().any(|a| a.len() >= 3 && a[..3] == ["delete", "job", "taosim-sweep-t1"]), "{calls:?}");
}

#[test]
fn a_failed_job_ends_the_wait_at_once_with_exit_1_and_a_timeout_too() {
    let c = Cluster::new();
    c.status("taosim-sweep-t2", "FailureTarget Failed ");
    let out = c.run(&settings("t2"));
    exits(&out, 1, "job/taosim-sweep-t2 failed");
    exits(&out, 1, "resume with SWEEP_ID=t2");
    assert_eq!(c.applied().len(), 2, "no merge after a failure");

    // Never complete: the wait gives up after TIMEOUT_S.
    let c = Cluster::new();
    let mut env = settings("t3");
    env.push(("TIMEOUT_S", "2"));
    let out = c.run(&env);
    exits(&out, 1, "job/taosim-sweep-t3 is not complete after 2 s");
}

#[test]
fn bad_settings_exit_2_before_anything_is_created() {
    let c = Cluster::new();
    let with = |k: &'static str, v: &'static str| {
        let mut e: Vec<(&str, &str)> = settings("t4").into_iter().filter(|(name, _)| *name != k).collect();
        e.push((k, v));
        e
    };
    exits(&c.run(&with("SWEEP", "")), 2, "set SWEEP");
    exits(&c.run(&with("SWEEP", "missing.toml")), 2, "no such file");
    exits(&c.run(&with("IMAGE", "")), 2, "set IMAGE");
    exits(&c.run(&with("IMAGE", "a b|c")), 2, "not an image reference");
    exits(&c.run(&with("SHARDS", "0")), 2, "SHARDS must be a whole number");
    exits(&c.run(&with("CPUS", "x")), 2, "CPUS must be a whole number");
    exits(&c.run(&with("SWEEP_ID", "Bad_ID")), 2, "SWEEP_ID=Bad_ID");
    exits(&c.run(&with("KUBECTL", "/nonexistent/kubectl")), 2, "kubectl not found");
    fs::write(c.dir.join("klog/no-pvc"), "").expect("no pvc");
    exits(&c.run(&settings("t4")), 2, "no PersistentVolumeClaim taosim-sweeps");
    assert!(c.applied().is_empty(), "nothing applied");
}

#[test]
fn the_default_sweep_id_is_a_valid_name_from_the_file_and_the_time() {
    let c = Cluster::new();
    let render = c.dir.join("rendered");
    let env = [("SWEEP", SWEEP), ("IMAGE", "taosim:dev"), ("RENDER_ONLY", render.to_str().expect("utf-8"))];
    ok(&c.run(&env), "render only");
    let names: Vec<String> = fs::read_dir(&render)
        .expect("rendered")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    for name in &names {
        let id = name.trim_start_matches("taosim-sweep-").trim_start_matches("taosim-merge-").trim_end_matches(".yaml");
        assert!(id.starts_with("halving-timing-2") && id.len() <= 40, "{name}");
        assert!(id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'), "{name}");
    }
    assert!(c.calls().is_empty(), "RENDER_ONLY needs no cluster");
}

#[test]
fn the_image_builds_in_two_stages_runs_as_the_jobs_user_and_the_context_leaves_out_target() {
    let dockerfile = fs::read_to_string(format!("{ROOT}/Dockerfile")).expect("Dockerfile");
    let from: Vec<&str> = dockerfile.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(from.len(), 2, "build stage and run stage: {from:?}");
    assert!(from[0].contains("rust:") && from[0].ends_with(" AS build") && from[1].contains("-slim"));
    assert!(dockerfile.contains("COPY --from=build /src/target/release/taosim /usr/local/bin/taosim"));
    let user = dockerfile.lines().rfind(|l| l.starts_with("USER ")).expect("USER");
    assert_eq!(user, "USER 10001:10001", "non-root, numeric (runAsNonRoot checks it)");
    for yaml in ["taosim-sweep-job.yaml", "taosim-sweep-merge.yaml"] {
        let text = fs::read_to_string(format!("{ROOT}/deploy/k8s/{yaml}")).expect("yaml");
        assert!(text.contains("runAsUser: 10001") && text.contains("runAsGroup: 10001"), "{yaml}: the image's user");
    }

    let ignore = fs::read_to_string(format!("{ROOT}/.dockerignore")).expect(".dockerignore");
    let patterns: Vec<&str> = ignore.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    for needed in ["target", ".git"] {
        assert!(patterns.contains(&needed), ".dockerignore leaves out {needed}: {patterns:?}");
    }
    // What the build needs stays in the context: the manifests and every workspace member.
    for kept in ["Cargo.toml", "Cargo.lock", "src", "sim", "kernels", "analysis", "benches", "scenarios"] {
        assert!(Path::new(ROOT).join(kept).exists(), "{kept} exists");
        assert!(!patterns.iter().any(|p| p.trim_start_matches('/') == kept), "{kept} is not ignored");
    }

    let pvc = fs::read_to_string(format!("{ROOT}/deploy/k8s/taosim-sweeps-pvc.yaml")).expect("pvc");
    assert!(pvc.contains("accessModes: [\"ReadWriteMany\"]") && pvc.contains("\n  storageClassName: "));
}
