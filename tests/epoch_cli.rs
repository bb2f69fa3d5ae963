//! `taosim epoch` end to end: the shipped example through the binary, and bad input.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn taosim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_taosim"))
}

fn example() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/epochs/example.json")
}

#[test]
fn the_example_runs_through_the_cli_and_matches_the_library() {
    let out = taosim().args(["epoch", "--input"]).arg(example()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let input = std::fs::read_to_string(example()).unwrap();
    assert_eq!(text, sim::chain::yuma::json::run_json(&input).unwrap());

    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let neurons = v["neurons"].as_array().unwrap();
    assert_eq!(neurons.len(), 4);
    let sum = |key: &str| neurons.iter().map(|x| x[key].as_u64().unwrap()).sum::<u64>();
    assert!((65_531..=65_535).contains(&sum("incentive")), "incentive {}", sum("incentive"));
    assert!((65_531..=65_535).contains(&sum("dividends")), "dividends {}", sum("dividends"));
    let emission = v["emission"].as_u64().unwrap();
    let paid = sum("server_emission") + sum("validator_emission");
    assert_eq!(paid, v["emission_paid"].as_u64().unwrap());
    assert!(paid <= emission && emission - paid < 1_000, "paid {paid} of {emission}");
    // The owner (uid 0) keeps its permit; the miners earn incentive, the validators dividends.
    assert_eq!(neurons[0]["validator_permit"], true);
    assert!(neurons[2]["incentive"].as_u64().unwrap() > 0 && neurons[3]["incentive"].as_u64().unwrap() > 0);
    assert!(neurons[0]["dividends"].as_u64().unwrap() > neurons[1]["dividends"].as_u64().unwrap());

    // Stdin gives the same.
    let mut child = taosim().args(["epoch", "-i", "-"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let piped = child.wait_with_output().unwrap();
    assert!(piped.status.success());
    assert_eq!(String::from_utf8(piped.stdout).unwrap(), text);
}

#[test]
fn bad_input_is_one_line_naming_the_neuron_and_field_with_exit_2() {
    for (input, expected) in [
        (
            r#"{"block":1,"emission":1,"neurons":[{},{"weights":[[7,1]]}]}"#,
            "neuron 1: weights[0]: uid 7 does not exist",
        ),
        (r#"{"block":1,"emission":1,"neurons":[{"bonds":[[0,70000]]}]}"#, "neurons[0].bonds[0]"),
        (r#"{"block":1,"emission":"x","neurons":[]}"#, "emission: invalid type"),
        (r#"{"block":1,"emission":1,"neurons":[{"uid":0},{"uid":0}]}"#, "neurons[1].uid: 0 is listed twice"),
    ] {
        let mut child = taosim()
            .args(["epoch", "--input", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{input}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("error: -: ") && err.contains(expected), "{err}");
    }
    let out = taosim().args(["epoch", "--input", "/nonexistent/state.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
