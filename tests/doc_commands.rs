//! Every command the README and the book show is run, so the docs cannot drift from the code.
//!
//! What runs: each line of a ```` ```sh ```` block (and each `$ ` line of a ```` ```console ````
//! block, whose following lines are the expected output, compared exactly) in `README.md` and
//! `docs/src/*.md`. Synopses (`taosim run [SCENARIO.toml] ...`) live in ```` ```text ```` blocks
//! and are not run. A file's blocks run in order in one scratch folder that links the
//! repository's `scenarios/`, `docs/` and `kernels/`, so `runs/first` made by one line is there
//! for the next; paths under `/tmp/` are moved into the scratch folder.
//!
//! `taosim` lines run the binary under test, shortened so the debug build runs them in seconds
//! (the same code paths, a shorter horizon): `run` gets `--horizon 1d`, `sweep` gets
//! `--set run.horizon="6h"`, `validate` `--seeds 2 --horizon 15d`, `calibrate`
//! `--samples 1 --warmup 0`, `search` `--seeds 2 --steps 2 --horizon 1d`. A line expects exit
//! code 0 unless its comment says `# exits N`. Any other command must be one that another
//! check runs (see [`COVERED_ELSEWHERE`]); a command that nothing runs fails this test.
//!
//! Commands shown inline in prose or tables (`` `taosim run scenarios/x.toml ...` ``), often
//! the long runs behind a figure, are not run here; [`inline_commands_name_real_flags_and_files`]
//! checks that their subcommand and flags exist and that the files they name do.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Commands the docs show that this test does not run, each with what runs it instead.
const COVERED_ELSEWHERE: [(&str, &str); 12] = [
    ("cargo build", ".ci/run builds the workspace (and `--features cuda`) on every submission"),
    ("cargo test", ".ci/run runs the README's test command"),
    ("cargo run --release --features cuda", "needs a GPU: kernels/gpu-check.sh runs it on a lent GPU machine"),
    (
        "cargo bench",
        "criterion benches: their figures are measured by hand, with the date, into docs/src/performance.md",
    ),
    ("benches/", "benchmark scripts, minutes long: their figures carry their command and date"),
    ("bash deploy/slurm/", "tests/deploy_slurm.rs runs the Slurm script with a stub sbatch"),
    ("bash deploy/k8s/", "tests/deploy_k8s.rs runs the Kubernetes script with a stub kubectl"),
    ("kubectl ", "tests/deploy_k8s.rs checks the manifests' fields"),
    ("docker build", "tests/deploy_k8s.rs checks the Dockerfile; CI has no Docker daemon"),
    ("cargo install mdbook", ".ci/run installs mdBook this way"),
    ("mdbook build docs", ".ci/run builds the book"),
    ("pip install ./python", ".ci/run (python/ci.sh) installs the package in a fresh virtualenv and runs its pytest"),
];

/// The markdown files whose commands are run: the README and every chapter of the book.
fn doc_files() -> Vec<PathBuf> {
    let mut files = vec![Path::new(ROOT).join("README.md")];
    let mut chapters: Vec<PathBuf> = fs::read_dir(Path::new(ROOT).join("docs/src"))
        .expect("docs/src")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    chapters.sort();
    files.extend(chapters);
    files
}

/// One command of a doc: its text (continuation lines joined), where it is, and what it prints.
#[derive(Debug, Clone, PartialEq)]
struct DocCommand {
    line: usize,
    text: String,
    expected_output: Option<String>,
}

/// The commands of `sh` and `console` blocks, in order.
fn commands(markdown: &str) -> Vec<DocCommand> {
    let mut out = Vec::new();
    let mut block: Option<&str> = None;
    let mut pending: Option<DocCommand> = None;
    for (i, line) in markdown.lines().enumerate() {
        if let Some(tag) = line.trim_start().strip_prefix("```") {
            match block {
                None => block = Some(tag.trim()),
                Some(_) => {
                    out.extend(pending.take());
                    block = None;
                }
            }
            continue;
        }
        match block {
            Some("sh") => {
                let trimmed = line.trim();
                if let Some(p) = pending.as_mut().filter(|p| p.text.ends_with('\\')) {
                    p.text.pop();
                    p.text.push(' ');
                    p.text.push_str(trimmed);
                } else if !trimmed.is_empty() && !trimmed.starts_with('#') {
                    out.extend(pending.take());
                    pending = Some(DocCommand { line: i + 1, text: trimmed.to_string(), expected_output: None });
                }
            }
            Some("console") => {
                if let Some(cmd) = line.strip_prefix("$ ") {
                    out.extend(pending.take());
                    pending = Some(DocCommand {
                        line: i + 1,
                        text: cmd.trim().to_string(),
                        expected_output: Some(String::new()),
                    });
                } else if let Some(expected) = pending.as_mut().and_then(|p| p.expected_output.as_mut()) {
                    expected.push_str(line.trim_end());
                    expected.push('\n');
                }
            }
            _ => {}
        }
    }
    out.extend(pending);
    out
}

/// Splits a shell line into words (single and double quotes, no expansion) and its comment.
fn shell_words(line: &str) -> (Vec<String>, String) {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '#') if !in_word => return (words, line[i + 1..].trim().to_string()),
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    (words, String::new())
}

/// The exit code a comment promises (`# exits 2`), 0 by default.
fn expected_exit(comment: &str) -> i32 {
    comment
        .split("exits ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The arguments the test passes for a doc's `taosim` arguments: shortened as the module says.
fn shortened(args: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut skip_value = false;
    let sub = args.first().map(String::as_str).unwrap_or("");
    for (i, arg) in args.iter().enumerate() {
        if skip_value {
            skip_value = false;
            continue;
        }
        let replaced_flag = match sub {
            "run" => ["--horizon"].as_slice(),
            "validate" => ["--horizon", "--seeds"].as_slice(),
            "calibrate" => ["--samples", "--warmup"].as_slice(),
            "search" => ["--seeds", "--steps", "--horizon"].as_slice(),
            _ => [].as_slice(),
        };
        if replaced_flag.contains(&arg.as_str()) {
            skip_value = true;
            continue;
        }
        if arg == "--set" && args.get(i + 1).is_some_and(|v| v.starts_with("run.horizon=")) {
            skip_value = true;
            continue;
        }
        out.push(arg.clone());
    }
    let extra: &[&str] = match sub {
        "run" => &["--horizon", "1d"],
        "sweep" => &["--set", "run.horizon=\"6h\""],
        "validate" => &["--seeds", "2", "--horizon", "15d"],
        "calibrate" => &["--samples", "1", "--warmup", "0"],
        "search" => &["--seeds", "2", "--steps", "2", "--horizon", "1d"],
        _ => &[],
    };
    out.extend(extra.iter().map(|s| s.to_string()));
    out
}

/// A scratch folder that looks like the repository root to the docs' commands.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("scratch");
    for linked in ["scenarios", "docs", "kernels"] {
        std::os::unix::fs::symlink(Path::new(ROOT).join(linked), dir.path().join(linked)).expect("link");
    }
    dir
}

/// Runs one doc command in `dir`; `Err` says what went wrong.
fn run_command(cmd: &DocCommand, dir: &Path) -> Result<bool, String> {
    let (mut words, comment) = shell_words(&cmd.text);
    // Leading `NAME=value` words are the environment, as in a shell.
    let mut env = BTreeMap::new();
    while let Some((k, v)) = words
        .first()
        .and_then(|w| w.split_once('='))
        .filter(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
    {
        env.insert(k.to_string(), v.to_string());
        words.remove(0);
    }
    let program = words.first().cloned().unwrap_or_default();
    let args: Vec<String> = match program.as_str() {
        "taosim" | "target/release/taosim" => words[1..].to_vec(),
        "cargo" if words.get(1..4) == Some(&["run".into(), "--release".into(), "--".into()]) => words[4..].to_vec(),
        _ => {
            let joined = words.join(" ");
            let text = if joined.is_empty() { cmd.text.clone() } else { joined };
            return match COVERED_ELSEWHERE.iter().find(|(prefix, _)| text.starts_with(prefix)) {
                Some(_) => Ok(false),
                None => Err(format!("`{}`: not a taosim command and nothing else runs it", cmd.text)),
            };
        }
    };
    let args: Vec<String> = shortened(&args)
        .into_iter()
        .map(|a| match a.strip_prefix("/tmp/") {
            Some(rest) => dir.join("tmp").join(rest).to_string_lossy().into_owned(),
            None => a,
        })
        .collect();
    fs::create_dir_all(dir.join("tmp")).expect("tmp");
    let output = Command::new(env!("CARGO_BIN_EXE_taosim"))
        .args(&args)
        .envs(env)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("`{}`: {e}", cmd.text))?;
    let code = output.status.code().unwrap_or(-1);
    let want = expected_exit(&comment);
    if code != want {
        return Err(format!(
            "`{}` (run as taosim {}) exited {code}, the doc expects {want}: {}",
            cmd.text,
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or("")
        ));
    }
    if let Some(expected) = &cmd.expected_output {
        let got: String =
            String::from_utf8_lossy(&output.stdout).lines().map(|l| format!("{}\n", l.trim_end())).collect();
        if !expected.is_empty() && &got != expected {
            return Err(format!("`{}` printed\n{got}\nthe doc shows\n{expected}", cmd.text));
        }
    }
    Ok(true)
}

#[test]
fn every_command_in_the_readme_and_the_book_runs() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for file in doc_files() {
        let text = fs::read_to_string(&file).expect("doc");
        let dir = scratch();
        let name = file.strip_prefix(ROOT).unwrap_or(&file).display().to_string();
        for cmd in commands(&text) {
            match run_command(&cmd, dir.path()) {
                Ok(true) => ran += 1,
                Ok(false) => {}
                Err(e) => failures.push(format!("{name}:{}: {e}", cmd.line)),
            }
        }
    }
    assert!(ran >= 15, "only {ran} doc commands ran: the scan finds too few");
    assert!(failures.is_empty(), "doc commands that fail:\n{}", failures.join("\n\n"));
}

/// `taosim` commands in inline code spans, outside code blocks.
fn inline_commands(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_block = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        for (i, span) in line.split('`').enumerate() {
            let span = span.trim();
            let cmd = span
                .find("taosim ")
                .filter(|&at| at == 0 || span[..at].ends_with("release/") || span[..at].ends_with(' '))
                .map(|at| &span[at + "taosim ".len()..]);
            if let Some(cmd) = cmd.filter(|_| i % 2 == 1) {
                // Pipelines and chains: the first command is the taosim one.
                let cmd = cmd.split(" && ").next().unwrap_or(cmd).split(" | ").next().unwrap_or(cmd);
                out.push(cmd.to_string());
            }
        }
    }
    out
}

/// The long flags each subcommand accepts, read from its `--help`.
fn flags_of(sub: &str) -> Option<Vec<String>> {
    let out = Command::new(env!("CARGO_BIN_EXE_taosim")).args([sub, "--help"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let help = String::from_utf8_lossy(&out.stdout);
    Some(
        help.split_whitespace()
            .filter_map(|w| w.strip_prefix("--"))
            .map(|w| w.trim_end_matches([',', '.', ')', ']']).split(['=', '[', '<']).next().unwrap_or("").to_string())
            .filter(|w| !w.is_empty())
            .collect(),
    )
}

#[test]
fn inline_commands_name_real_flags_and_files() {
    let mut problems = Vec::new();
    let mut checked = 0;
    let mut flags: BTreeMap<String, Option<Vec<String>>> = BTreeMap::new();
    for file in doc_files() {
        let text = fs::read_to_string(&file).expect("doc");
        let name = file.strip_prefix(ROOT).unwrap_or(&file).display().to_string();
        for cmd in inline_commands(&text) {
            let (words, _) = shell_words(&cmd);
            let Some(sub) = words.first() else { continue };
            if sub.starts_with('-') || sub.chars().any(|c| c.is_ascii_uppercase() || c == '<' || c == '[') {
                continue;
            }
            let known = flags.entry(sub.clone()).or_insert_with(|| flags_of(sub));
            let Some(known) = known else {
                problems.push(format!("{name}: `taosim {cmd}`: no subcommand `{sub}`"));
                continue;
            };
            checked += 1;
            for word in &words[1..] {
                if let Some(flag) = word.strip_prefix("--") {
                    let flag = flag.split('=').next().unwrap_or(flag);
                    if !flag.is_empty() && !known.iter().any(|k| k == flag) {
                        problems.push(format!("{name}: `taosim {cmd}`: `{sub}` has no flag --{flag}"));
                    }
                } else if (word.starts_with("scenarios/") || word.starts_with("docs/"))
                    && !word.contains(['<', '*', '$'])
                    && !word.contains("/X.")
                    && !Path::new(ROOT).join(word).exists()
                {
                    problems.push(format!("{name}: `taosim {cmd}`: {word} does not exist"));
                }
            }
        }
    }
    assert!(checked >= 20, "only {checked} inline commands checked: the scan finds too few");
    assert!(problems.is_empty(), "inline commands that drifted:\n{}", problems.join("\n"));
}

#[test]
fn the_parser_reads_blocks_quotes_comments_and_continuations() {
    let md = "text `taosim run x`\n```sh\ncargo test   # all\ntaosim a 'b c' \\\n  --d \"e f\"\n```\n\
              ```text\ntaosim [SYNOPSIS]\n```\n```console\n$ taosim epoch --input f\n{\n  \"x\": 1\n}\n```\n";
    let cmds = commands(md);
    let texts: Vec<&str> = cmds.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, ["cargo test   # all", "taosim a 'b c'  --d \"e f\"", "taosim epoch --input f"]);
    assert_eq!(cmds[2].expected_output.as_deref(), Some("{\n  \"x\": 1\n}\n"));
    let (words, comment) = shell_words("taosim a 'b c' --set 'events=[]' # exits 2");
    assert_eq!(words, ["taosim", "a", "b c", "--set", "events=[]"]);
    assert_eq!(expected_exit(&comment), 2);
    assert_eq!(inline_commands(md), ["run x"]);
    let run: Vec<String> = ["run", "x.toml", "--horizon", "365d"].iter().map(|s| s.to_string()).collect();
    assert_eq!(shortened(&run), ["run", "x.toml", "--horizon", "1d"]);
}
