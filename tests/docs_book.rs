//! The book in `docs/` holds together: every chapter is in `SUMMARY.md` and every entry of
//! `SUMMARY.md` exists, and every relative link of the README and the book points at a file that
//! exists and, with a `#fragment`, at a heading of that file (mdBook's anchor rule). CI also runs
//! `mdbook build docs`; this test needs no mdBook, so it runs with `cargo test` everywhere.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn book_src() -> PathBuf {
    Path::new(ROOT).join("docs/src")
}

/// Markdown links `[text](target)` and images `![alt](target)` outside code.
fn links(markdown: &str) -> Vec<String> {
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
        // Drop inline code, whose brackets are not links.
        let prose: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    out
}

/// mdBook's id for a heading: lower case, spaces to `-`, only alphanumerics, `-` and `_` kept.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a markdown file's headings (outside code blocks).
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut in_block = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
        } else if !in_block && line.starts_with('#') {
            out.insert(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![Path::new(ROOT).join("README.md")];
    let mut chapters: Vec<PathBuf> = fs::read_dir(book_src())
        .expect("docs/src")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    chapters.sort();
    files.extend(chapters);
    files
}

#[test]
fn every_chapter_is_in_the_summary_and_every_entry_exists() {
    let summary = fs::read_to_string(book_src().join("SUMMARY.md")).expect("SUMMARY.md");
    let listed: BTreeSet<String> = links(&summary).into_iter().collect();
    let on_disk: BTreeSet<String> = markdown_files()
        .iter()
        .filter(|p| p.starts_with(book_src()))
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| n != "SUMMARY.md")
        .collect();
    assert!(listed.len() >= 10, "SUMMARY.md lists {} chapters: the scan finds too few", listed.len());
    let missing: Vec<_> = listed.difference(&on_disk).collect();
    let unlisted: Vec<_> = on_disk.difference(&listed).collect();
    assert!(missing.is_empty(), "SUMMARY.md lists chapters that do not exist: {missing:?}");
    assert!(unlisted.is_empty(), "chapters missing from SUMMARY.md: {unlisted:?}");
}

#[test]
fn every_relative_link_resolves() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in markdown_files() {
        let text = fs::read_to_string(&file).expect("doc");
        let dir = file.parent().expect("parent");
        for link in links(&text) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (path, fragment) = link.split_once('#').unwrap_or((&link, ""));
            let target = if path.is_empty() { file.clone() } else { dir.join(path) };
            let name = file.strip_prefix(ROOT).unwrap_or(&file).display().to_string();
            if !target.exists() {
                broken.push(format!("{name}: ({link}): no file {}", target.display()));
            } else if !fragment.is_empty() {
                let target_text = fs::read_to_string(&target).unwrap_or_default();
                if !anchors(&target_text).contains(fragment) {
                    broken.push(format!("{name}: ({link}): no heading with anchor #{fragment}"));
                }
            }
        }
    }
    assert!(checked >= 30, "only {checked} links checked: the scan finds too few");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn anchors_follow_mdbook() {
    assert_eq!(anchor(" Chain performance (2 shared cores)"), "chain-performance-2-shared-cores");
    assert_eq!(anchor("Yuma consensus and `taosim epoch`"), "yuma-consensus-and-taosim-epoch");
    assert_eq!(links("see [a](b.md#c) and `[x](y)` and ![p](images/p.png)"), ["b.md#c", "images/p.png"]);
}
