//! taosim's bittensor_lite against the peers' reference final states (`reference/`, copied from
//! `../shared/peers/reference/`, see `reference/README.md`).
//!
//! What must hold (the peers' README, "Comparing another implementation"): issuance and block
//! emission equal exactly; T, A, p, pbar within a relative difference of 1e-9, and bit-identical
//! where the order of operations allows. Here:
//! - stakers off (q = 0, no logarithm involved): the JSON taosim writes is byte-identical to the
//!   reference, so every value is bit-identical;
//! - stakers on (seed 42): with the portable `libm` logarithm the values agree within 1e-9 (not
//!   bit for bit: libm's ln differs from glibc's in the last bit for ~7% of inputs); with the
//!   platform's C library (`--log libc`) they are byte-identical on a glibc machine whose `log`
//!   is the one that made the references (glibc's FMA variant), which the test detects first.

use peers::bittensor_lite::{self, BlConfig, LogFn, RunResult, issuance_closed_form};
use peers::pyfmt::{final_state_json, trace_csv};
use serde_json::Value;
use std::path::PathBuf;

/// The spec's tolerance for T, A, p, pbar.
const RTOL: f64 = 1e-9;

fn reference(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("reference").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn config(blocks: u64, runs: u64, staker_prob: f64, log: LogFn) -> BlConfig {
    BlConfig { subnets: 32, blocks, runs, seed: 42, staker_prob, record_every: 100, log, threads: 1 }
}

fn relative_difference(x: f64, y: f64) -> f64 {
    (x - y).abs() / x.abs().max(y.abs()).max(1e-300)
}

/// Compares runs with a reference document: issuance and emission exactly, the pools within
/// RTOL; returns the largest relative difference of T, A, p, pbar.
fn compare(doc: &Value, runs: &[RunResult]) -> f64 {
    let ref_runs = doc["runs"].as_array().expect("runs");
    assert_eq!(ref_runs.len(), runs.len());
    let mut worst: f64 = 0.0;
    for (want, got) in ref_runs.iter().zip(runs) {
        assert_eq!(want["issuance"].as_f64(), Some(got.issuance), "run {}: issuance", got.run);
        assert_eq!(want["block_emission"].as_f64(), Some(got.emission), "run {}: emission", got.run);
        for (key, values) in
            [("T", got.tao.clone()), ("A", got.alpha.clone()), ("p", got.prices()), ("pbar", got.pbar.clone())]
        {
            let want: Vec<f64> = want[key].as_array().expect(key).iter().map(|v| v.as_f64().expect("number")).collect();
            assert_eq!(want.len(), values.len());
            for (w, g) in want.iter().zip(&values) {
                worst = worst.max(relative_difference(*w, *g));
            }
        }
    }
    assert!(worst <= RTOL, "largest relative difference {worst:e} > {RTOL:e}");
    worst
}

#[test]
fn reference_files_are_the_peers_originals() {
    // Spot checks of content that the digests in reference/README.md pin; a changed file shows
    // up here as a changed configuration or closed form.
    for (name, blocks, q) in [
        ("bittensor_lite_S32_B7200_q0.json", 7200, 0.0),
        ("bittensor_lite_S32_B216000_q0.json", 216_000, 0.0),
        ("bittensor_lite_S32_B7200_seed42_R2.json", 7200, 0.2),
    ] {
        let doc: Value = serde_json::from_str(&reference(name)).expect("json");
        assert_eq!(doc["spec"], "bittensor_lite/1");
        assert_eq!(doc["S"], 32);
        assert_eq!(doc["B"], blocks);
        assert_eq!(doc["staker_prob"].as_f64(), Some(q));
        let (i, e) = issuance_closed_form(blocks);
        assert_eq!(doc["closed_form"]["issuance"].as_f64(), Some(i));
        assert_eq!(doc["closed_form"]["block_emission"].as_f64(), Some(e));
    }
}

#[test]
fn stakers_off_one_day_is_byte_identical() {
    let cfg = config(7200, 1, 0.0, LogFn::Libm);
    let runs = bittensor_lite::run(&cfg).expect("valid");
    assert_eq!(final_state_json("numpy", &cfg, &runs), reference("bittensor_lite_S32_B7200_q0.json"));
}

/// 30 days cross the first halving at block 100,000 (issuance 10,558,000 TAO, E = 0.5).
#[test]
fn stakers_off_thirty_days_is_byte_identical() {
    let cfg = config(216_000, 1, 0.0, LogFn::Libm);
    let runs = bittensor_lite::run(&cfg).expect("valid");
    assert_eq!((runs[0].issuance, runs[0].emission), (10_558_000.0, 0.5));
    assert_eq!(final_state_json("numpy", &cfg, &runs), reference("bittensor_lite_S32_B216000_q0.json"));
}

#[test]
fn stakers_on_with_libm_agree_within_the_spec_tolerance() {
    let cfg = config(7200, 2, 0.2, LogFn::Libm);
    let runs = bittensor_lite::run(&cfg).expect("valid");
    let doc: Value = serde_json::from_str(&reference("bittensor_lite_S32_B7200_seed42_R2.json")).expect("json");
    let worst = compare(&doc, &runs);
    eprintln!("libm: largest relative difference of T, A, p, pbar = {worst:e}");
    // The trace: same blocks, issuance and emission exactly, prices within the tolerance.
    let want = reference("bittensor_lite_S32_B7200_seed42_trace.csv");
    let got = trace_csv(runs.iter().flat_map(|r| &r.trace));
    assert_eq!(want.lines().count(), got.lines().count());
    for (w, g) in want.lines().zip(got.lines()).skip(1) {
        let (w, g): (Vec<&str>, Vec<&str>) = (w.split(',').collect(), g.split(',').collect());
        assert_eq!(w[..4], g[..4], "run, block, issuance, emission");
        for (x, y) in w[4].split(' ').zip(g[4].split(' ')) {
            let (x, y): (f64, f64) = (x.parse().expect("price"), y.parse().expect("price"));
            assert!(relative_difference(x, y) <= RTOL, "block {}: {x} vs {y}", w[1]);
        }
    }
}

/// Inputs where glibc 2.36's two x86-64 `log` variants differ, with the FMA variant's result
/// (the one Python's `math.log` returned when the references were made).
const GLIBC_FMA_LOG_PROBES: [(f64, f64); 4] = [
    (0.917840747484313, -0.08573138109657437),
    (0.8939279722987065, -0.11213007495292902),
    (0.4784847218502625, -0.7371309978564273),
    (0.4430159476341957, -0.8141495104106995),
];

#[test]
fn stakers_on_with_the_references_log_are_byte_identical() {
    let cfg = config(7200, 2, 0.2, LogFn::Libc);
    let runs = bittensor_lite::run(&cfg).expect("valid");
    let doc: Value = serde_json::from_str(&reference("bittensor_lite_S32_B7200_seed42_R2.json")).expect("json");
    compare(&doc, &runs);
    let same_log = GLIBC_FMA_LOG_PROBES.iter().all(|(x, ln)| x.ln().to_bits() == ln.to_bits());
    if !same_log {
        eprintln!("this platform's log is not the references' (glibc 2.36 FMA): checked within {RTOL:e} only");
        return;
    }
    assert_eq!(final_state_json("numpy", &cfg, &runs), reference("bittensor_lite_S32_B7200_seed42_R2.json"));
    assert_eq!(trace_csv(runs.iter().flat_map(|r| &r.trace)), reference("bittensor_lite_S32_B7200_seed42_trace.csv"));
}
