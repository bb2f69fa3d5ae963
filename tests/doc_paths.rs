//! The README and the book (`docs/src/`) name files of this repository in backticks
//! (`scenarios/...`, `deploy/...`, `benches/...`): every one of them must exist, so a doc cannot
//! point at a folder that was removed (as notes once pointed at `scenarios/sweeps/pending/`).

use std::fs;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const TOP: [&str; 10] =
    ["scenarios/", "deploy/", "benches/", "docs/", "tests/", "python/", "src/", "sim/", "analysis/", "kernels/"];

/// Paths in backticks in `text` that start with a top-level folder, without placeholders.
fn named_paths(text: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for (i, quoted) in text.split('`').enumerate() {
        if i % 2 == 0 || !TOP.iter().any(|top| quoted.starts_with(top)) {
            continue;
        }
        // `benches/peers/results/peers-2026-11-25.{csv,md}` names two files.
        let path = quoted.split_whitespace().next().unwrap_or("").trim_end_matches([',', '.', ':', ')']);
        if let Some((stem, rest)) = path.split_once('{') {
            let (alternatives, tail) = rest.split_once('}').unwrap_or((rest, ""));
            paths.extend(alternatives.split(',').map(|a| format!("{stem}{a}{tail}")));
        } else if !path.contains(['<', '*', '$']) && !path.contains("/X.") && !path.contains("...") {
            paths.push(path.to_string());
        }
    }
    paths
}

#[test]
fn every_repository_path_the_readme_and_the_book_name_exists() {
    let mut docs = vec![Path::new(ROOT).join("README.md")];
    for entry in fs::read_dir(Path::new(ROOT).join("docs/src")).expect("docs/src") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            docs.push(path);
        }
    }
    // Folders git ignores are made by commands (runs/, kernels/gpu-bin/): named, not shipped.
    let ignored: Vec<String> = fs::read_to_string(Path::new(ROOT).join(".gitignore"))
        .expect(".gitignore")
        .lines()
        .filter(|l| l.ends_with('/') || !l.contains(['*', '.']))
        .map(|l| l.trim_start_matches('/').trim_end_matches('/').to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let mut missing = Vec::new();
    let mut checked = 0;
    for doc in &docs {
        let text = fs::read_to_string(doc).expect("doc");
        for path in named_paths(&text) {
            if ignored.iter().any(|i| path == *i || path.starts_with(&format!("{i}/"))) {
                continue;
            }
            checked += 1;
            if !Path::new(ROOT).join(&path).exists() {
                missing.push(format!("{}: {path}", doc.strip_prefix(ROOT).unwrap_or(doc).display()));
            }
        }
    }
    assert!(checked > 40, "the docs name {checked} paths: the scan finds too few");
    assert!(missing.is_empty(), "named but missing:\n{}", missing.join("\n"));
}

#[test]
fn the_scan_finds_paths_and_expands_braces() {
    let text = "see `scenarios/sweeps/pending/`, `deploy/k8s/taosim-sweep.sh` and \
                `benches/r/p.{csv,md}`; not `scenarios/X.toml`, `runs/<id>` or `taosim run`";
    let expected = ["scenarios/sweeps/pending/", "deploy/k8s/taosim-sweep.sh", "benches/r/p.csv", "benches/r/p.md"];
    assert_eq!(named_paths(text), expected);
}
