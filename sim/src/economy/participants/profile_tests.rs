//! The calibration profile drives the economy (issue 15 item 2): a GPU kind's throughput on
//! its subnets' tasks decides what its miners earn and whether they stay.

use super::*;
use crate::run::simulate_with_profile;
use crate::scenario::{Scenario, Source, load};
use kernels::profile::Profile;
use std::path::Path;

/// `halving.toml` (a natural halving on day 5.6, a forced one on day 20) over 30 days:
/// miners near break-even, so who earns decides who leaves.
fn halving() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/halving.toml");
    load(Source::File(&path), &["run.horizon=\"30d\"".to_string()]).expect("valid scenario")
}

/// Every output file and the participants' summary of a run with `profile`.
fn run(s: &Scenario, profile: &Profile) -> ([Vec<u8>; 3], ParticipantsSummary) {
    let (summary, ts, ev, sub) =
        simulate_with_profile(s, profile, Vec::new(), Vec::new(), Vec::new(), None).expect("runs");
    ([ts, ev, sub], summary.participants.expect("participants"))
}

fn kind<'a>(p: &'a ParticipantsSummary, name: &str) -> &'a GpuSummary {
    p.gpus.iter().find(|g| g.name == name).expect("GPU kind listed")
}

#[test]
fn h100_cut_four_times_earns_less_and_leaves_more_and_a_common_factor_changes_nothing() {
    let s = halving();
    let base = Profile::builtin_default().expect("profile");
    let (out, p) = run(&s, &base);

    // H100 alone at a quarter of its throughput (both roofline terms).
    let mut slow = base.clone();
    let h100 = slow.gpus.iter_mut().find(|g| g.name == "H100").expect("H100");
    h100.flops_efficiency = Some(base.scaling.flops_efficiency / 4.0);
    h100.bytes_efficiency = Some(base.scaling.bytes_efficiency / 4.0);
    let (out_slow, p_slow) = run(&s, &slow);
    let (h, h_slow) = (kind(&p, "H100"), kind(&p_slow, "H100"));
    assert_eq!(h_slow.training_tokens_per_s, h.training_tokens_per_s / 4.0);
    assert!(h_slow.income_usd < 0.8 * h.income_usd, "H100 income {} -> {}", h.income_usd, h_slow.income_usd);
    assert!(h_slow.exits > h.exits + 10, "H100 exits {} -> {}", h.exits, h_slow.exits);
    assert!(h_slow.gpus_online < h.gpus_online, "H100 online {} -> {}", h.gpus_online, h_slow.gpus_online);
    // The income H100 miners lose goes to the others: faster kinds earn more.
    let others =
        |p: &ParticipantsSummary| p.gpus.iter().filter(|g| g.name != "H100").map(|g| g.income_usd).sum::<f64>();
    assert!(others(&p_slow) > others(&p), "{} -> {}", others(&p), others(&p_slow));
    for k in 0..3 {
        assert_ne!(out[k], out_slow[k], "output file {k} unchanged by the H100 cut");
    }

    // Every kind at a quarter: weights within a subnet depend on throughput ratios only, so
    // every output is the same byte for byte.
    let mut all = base.clone();
    all.scaling.flops_efficiency /= 4.0;
    all.scaling.bytes_efficiency /= 4.0;
    let (out_all, p_all) = run(&s, &all);
    assert_eq!(out_all, out, "a factor common to every GPU kind changed the economy");
    assert_eq!(kind(&p_all, "H100").exits, h.exits);
    assert_eq!(kind(&p_all, "H100").training_tokens_per_s, h.training_tokens_per_s / 4.0);
}

#[test]
fn flops_alone_reorder_inference_subnets_but_not_training_ones() {
    // Every subnet training: a common cut of FLOP/s alone is a common factor again.
    let mut s = halving();
    s.run.horizon = crate::scenario::Horizon::Blocks(10 * crate::engine::time::BLOCKS_PER_DAY as i64);
    s.participants.miners.tasks.training_share = 1.0;
    let base = Profile::builtin_default().expect("profile");
    let mut flops = base.clone();
    flops.scaling.flops_efficiency /= 4.0;
    assert_eq!(run(&s, &flops).0, run(&s, &base).0, "training ranks by FLOP/s only");
    // Every subnet serving: FLOP/s and bytes/s are two roofline terms, so cutting one moves
    // kinds by different factors and changes who earns.
    s.participants.miners.tasks.training_share = 0.0;
    assert_ne!(run(&s, &flops).0, run(&s, &base).0, "inference depends on the compute/memory balance");
}
