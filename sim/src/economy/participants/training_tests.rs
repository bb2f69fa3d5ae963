//! A training subnet on the chain (issue 15 item 3): the Gauntlet's weights reach Yuma, half
//! the subnet's miner emission is burned, peers' income follows the halving.

use crate::run::simulate;
use crate::scenario::{Source, load};
use std::path::Path;

/// (header, rows) of a CSV.
fn table(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let text = String::from_utf8(bytes.to_vec()).expect("utf8");
    let mut lines = text.lines();
    let header = lines.next().expect("header").split(',').map(str::to_string).collect();
    (header, lines.map(|l| l.split(',').map(str::to_string).collect()).collect())
}

fn col(header: &[String], rows: &[Vec<String>], name: &str) -> Vec<f64> {
    let k = header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    rows.iter().map(|r| r[k].parse().unwrap_or(f64::NAN)).collect()
}

/// Subnet `netuid`'s alpha burned at the last sample of subnets.csv.
fn burned(subnets: &[u8], netuid: &str) -> f64 {
    let (h, rows) = table(subnets);
    let k = h.iter().position(|x| x == "alpha_burned_alpha").expect("column");
    let n = h.iter().position(|x| x == "netuid").expect("column");
    rows.iter().rev().find(|r| r[n] == netuid).expect("subnet").get(k).and_then(|v| v.parse().ok()).expect("value")
}

#[test]
fn a_training_subnet_weights_by_the_gauntlet_and_burns_half_its_miners_emission() {
    let base = ["run.horizon=\"4d\"".to_string(), "run.sample_every_blocks=720".to_string()];
    let plain = load(Source::BuiltIn, &base).expect("scenario");
    let mut with = base.to_vec();
    with.push("participants.miners.tasks.training_netuids=[3]".into());
    let training = load(Source::BuiltIn, &with).expect("scenario");
    let (_, ts0, _, sub0) = simulate(&plain, Vec::new(), Vec::new(), Vec::new(), None).expect("runs");
    let (_, ts1, _, sub1) = simulate(&training, Vec::new(), Vec::new(), Vec::new(), None).expect("runs");
    let (h0, _) = table(&ts0);
    assert!(!h0.iter().any(|c| c.starts_with("training")), "no training columns without a training subnet");
    let (h, rows) = table(&ts1);
    let last = rows.len() - 1;
    assert_eq!(col(&h, &rows, "training3_burn_weight")[last], 0.5, "half the weight to the owner's UID");
    let peers = col(&h, &rows, "training3_peers")[last];
    let gathered = col(&h, &rows, "training3_peers_gathered")[last];
    assert!(peers > 0.0 && gathered == peers.min(20.0), "{peers} peers, {gathered} gathered");
    assert!(col(&h, &rows, "training3_tokens_per_day")[last] > 0.0);
    assert!(col(&h, &rows, "training3_peers_rent_usd_per_day")[last] > 0.0);
    // The owner's incentive is burned by the chain: subnet 3 burns alpha, the others do not.
    assert!(burned(&sub1, "3") > 0.0, "the Gauntlet's burn reaches the chain");
    assert_eq!(burned(&sub0, "3"), 0.0);
    assert_eq!(burned(&sub1, "2"), 0.0);
}

#[test]
fn a_training_netuid_that_does_not_exist_is_refused() {
    let s = load(Source::BuiltIn, &["participants.miners.tasks.training_netuids=[9]".to_string()]).expect("loads");
    let e = simulate(&s, Vec::new(), Vec::new(), Vec::new(), None).expect_err("no subnet 9").to_string();
    assert!(e.contains("participants.miners.tasks.training_netuids: subnet 9 does not exist"), "{e}");
}

/// `scenarios/training-subnet.toml`: 90 days, the halving on day 45. Peers keep training and
/// their income pays their rent on both sides (at the reference B200 rent); their income in
/// TAO does not halve with the block emission, since miners earn alpha, whose own issuance
/// does not halve, valued at a pool price that falls only as less TAO flows in.
#[test]
fn the_training_subnet_scenario_runs_across_the_halving() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/training-subnet.toml");
    let s = load(Source::File(&path), &[]).expect("valid scenario");
    let (summary, ts, _, _) = simulate(&s, Vec::new(), Vec::new(), Vec::new(), None).expect("runs");
    let halving = summary.halvings.iter().map(|h| h.block).max().expect("a halving");
    assert!((44 * 7200..46 * 7200).contains(&halving), "halving at block {halving}");
    let (h, rows) = table(&ts);
    let day = col(&h, &rows, "day");
    let price = col(&h, &rows, "tao_price_usd");
    let income = col(&h, &rows, "training3_peers_income_usd_per_day");
    let tokens = col(&h, &rows, "training3_tokens_per_day");
    let rent = col(&h, &rows, "training3_peers_rent_usd_per_day");
    let peers = col(&h, &rows, "training3_peers");
    let mean = |v: &[f64], from: f64, to: f64| {
        let x: Vec<f64> = (0..rows.len()).filter(|&i| day[i] >= from && day[i] < to).map(|i| v[i]).collect();
        x.iter().sum::<f64>() / x.len() as f64
    };
    let tao_income: Vec<f64> = income.iter().zip(&price).map(|(u, p)| u / p).collect();
    for (from, to, when) in [(30.0, 45.0, "before"), (46.0, 61.0, "after")] {
        eprintln!(
            "{when} the halving (days {from}-{to}): {:.1} peers, {:.0} USD/day income ({:.1} TAO), {:.0} USD/day rent, \
             {:.3e} tokens/day",
            mean(&peers, from, to),
            mean(&income, from, to),
            mean(&tao_income, from, to),
            mean(&rent, from, to),
            mean(&tokens, from, to),
        );
        assert!(mean(&income, from, to) > mean(&rent, from, to), "training pays {when} the halving");
    }
    assert!(tokens.iter().zip(&day).filter(|(_, d)| **d >= 2.0).all(|(t, _)| *t > 0.0), "training throughout");
}
