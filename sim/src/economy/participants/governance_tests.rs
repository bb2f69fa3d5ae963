//! Governance events and attacks in the network: each model's pass rule on a small case, an
//! emission halt's shares, conviction maturity and the owner change at hand-computed blocks,
//! the attackers' purchases moving the venue and the pool by their formulas, conservation.

use super::config::{At, Change, EventKind, EventSpec, Vote};
use super::*;
use crate::governance::conviction::{MATURITY_RATE, ONE_YEAR_BLOCKS};
use crate::governance::{AttackerSection, GovernanceSection, GovernanceState, Model};
use crate::run::simulate;
use crate::scenario::{Scenario, Source, load};

fn scenario(overrides: &[&str]) -> Scenario {
    let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    load(Source::BuiltIn, &o).expect("valid scenario")
}

/// Chain and participants of `s` with governance `model`, without running the engine.
fn setup(s: &Scenario, model: Model, budget_tao: f64) -> (ChainState, Participants) {
    let mut chain = crate::chain::genesis::build(&s.genesis()).expect("genesis");
    chain.set_payout(s.chain.consensus.payout());
    let profile = kernels::profile::Profile::builtin_default().expect("profile");
    let mut p = Participants::new(&s.participants, &s.market, &s.events, None, s.seed, &profile, &mut chain)
        .expect("participants");
    let cfg = GovernanceSection { model, ..GovernanceSection::default() };
    p.governance = GovernanceState::new(cfg, AttackerSection { budget_tao, ..AttackerSection::default() });
    (chain, p)
}

fn proposal(validators: Vote) -> EventSpec {
    EventSpec {
        change: Some(Change::TaoWeight),
        value: Some(0.5),
        validators_vote: Some(validators),
        ..EventSpec::new(At::Block(1), EventKind::Proposal)
    }
}

#[test]
fn a_proposal_passes_or_fails_by_each_models_rule() {
    // The default network: 4 validators with equal root stake (the senate: 4 members, each
    // above 1 %; the Economic collective: their 4 coldkeys; no subnet is 180 days old, so no
    // Building members).
    let s = scenario(&[]);
    let half = libm::round(0.5 * u64::MAX as f64) as u64;
    // Senate: 4 nays of 4 -> rejected; 4 ayes -> passed, enacted after the 12-hour motion.
    let (mut chain, mut p) = setup(&s, Model::Senate, 0.0);
    let before = chain.params.tao_weight;
    p.events = vec![proposal(Vote::Nay), proposal(Vote::Aye)];
    assert_eq!(p.apply_event(0, &mut chain), None);
    assert_eq!(chain.params.tao_weight, before);
    assert_eq!(p.apply_event(1, &mut chain), Some(3_600));
    assert_eq!(chain.params.tao_weight, before, "not before the motion closes");
    p.end_event(1, &mut chain);
    assert_eq!(chain.params.tao_weight, half);
    // Sudo 3-of-5: two signatures fail, three pass at once.
    let (mut chain, mut p) = setup(&s, Model::Sudo, 0.0);
    p.events = vec![
        EventSpec { signatures: Some(2), ..proposal(Vote::Aye) },
        EventSpec { signatures: Some(3), ..proposal(Vote::Nay) },
    ];
    assert_eq!(p.apply_event(0, &mut chain), None);
    assert_eq!(chain.params.tao_weight, before);
    assert_eq!(p.apply_event(1, &mut chain), None);
    assert_eq!(chain.params.tao_weight, half);
    // Collectives: one triumvir is not 2/3; with 2, the 4 Economic members' nays (100 % >= 51 %)
    // cancel it; abstaining, it is enacted after the 24-hour review delay.
    let (mut chain, mut p) = setup(&s, Model::Collectives, 0.0);
    p.events = vec![
        EventSpec { triumvirate_ayes: Some(1), ..proposal(Vote::Aye) },
        EventSpec { triumvirate_ayes: Some(2), ..proposal(Vote::Nay) },
        EventSpec { triumvirate_ayes: Some(2), ..proposal(Vote::Abstain) },
        EventSpec { triumvirate_ayes: Some(2), ..proposal(Vote::Aye) },
    ];
    assert_eq!(p.apply_event(0, &mut chain), None);
    assert_eq!(p.apply_event(1, &mut chain), None);
    assert_eq!(chain.params.tao_weight, before);
    assert_eq!(p.apply_event(2, &mut chain), Some(7_200));
    // 4 of 4 approve: >= 75 % fast-tracks to the next block.
    assert_eq!(p.apply_event(3, &mut chain), Some(1));
    let outcomes: Vec<String> = p.log.iter().filter(|r| r.kind == "proposal").map(|r| r.value.clone()).collect();
    assert_eq!(outcomes, ["Rejected", "Cancelled", "Enacted(7200)", "Enacted(1)"]);
}

#[test]
fn a_halted_subnets_share_is_zero_and_the_others_sum_to_one() {
    let s = scenario(&[]);
    let (mut chain, mut p) = setup(&s, Model::Sudo, 0.0);
    p.events =
        vec![EventSpec { netuid: Some(2), days: Some(1.0), ..EventSpec::new(At::Block(1), EventKind::HaltEmission) }];
    chain.step_block();
    let before: Vec<f64> = (1..=4).map(|n| chain.subnet(n).expect("subnet").last.share).collect();
    assert!(before[1] > 0.1, "{before:?}");
    assert_eq!(p.apply_event(0, &mut chain), Some(7_200));
    let out = chain.step_block();
    let shares: Vec<f64> = (1..=4).map(|n| chain.subnet(n).expect("subnet").last.share).collect();
    assert_eq!(shares[1], 0.0);
    assert_eq!(chain.subnet(2).expect("subnet").last.tao_emission, Rao::ZERO);
    let rest: f64 = shares.iter().sum();
    assert!((rest - 1.0).abs() < 1e-15, "{shares:?}");
    // Each other subnet's share grew by the halted one's, in proportion: s_i / (1 - s_2).
    for i in [0, 2, 3] {
        assert!((shares[i] - before[i] / (1.0 - before[1])).abs() < 1e-6, "{shares:?} vs {before:?}");
    }
    let emitted: u64 = (1..=4).map(|n| chain.subnet(n).expect("subnet").last.tao_emission.0).sum();
    assert!(emitted <= out.emission.0 && out.emission.0 - emitted < 10, "{emitted} of {}", out.emission.0);
    p.end_event(0, &mut chain);
    chain.step_block();
    assert!(chain.subnet(2).expect("subnet").last.share > 0.1);
    assert!(chain.check_conservation().is_ok());
}

#[test]
fn an_attackers_purchase_moves_the_venue_and_the_pool_by_their_formulas() {
    let s = scenario(&[]);
    let (mut chain, mut p) = setup(&s, Model::Sudo, 20_000.0);
    chain.step_block();
    let market = p.market.clone();
    let pool = chain.subnet(3).expect("subnet").pool.clone();
    let burn = chain.subnet(3).expect("subnet").burn;
    p.events = vec![EventSpec { netuid: Some(3), ..EventSpec::new(At::Block(1), EventKind::ConvictionTakeover) }];
    p.apply_event(0, &mut chain);
    let books = p.governance.attacks[0].clone();
    // The venue: one market order of all the USD paid walks the book to the same place.
    let mut venue = market.clone();
    let fill = venue.buy_now(books.cost_usd);
    assert!((fill.tao - books.tao_acquired).abs() < 1e-6 * books.tao_acquired, "{fill:?} vs {books:?}");
    assert!((venue.price_usd() - p.market.price_usd()).abs() < 1e-9 * venue.price_usd());
    assert!(p.market.price_usd() > market.price_usd() * 1.001, "the purchase lifts TAO/USD for everyone");
    assert!(books.impact_usd > 0.0);
    // The pool: the registration burn, then the rest of the TAO, each a `buy_alpha`; exact.
    let mut expected = pool.clone();
    expected.buy_alpha(burn, None, false).expect("burn swap");
    let rest = Rao::from_tao_f64(books.tao_acquired).expect("rao").min(Rao(u64::MAX)).0 - burn.0;
    let out = expected.buy_alpha(Rao(rest), None, false).expect("stake swap");
    let after = &chain.subnet(3).expect("subnet").pool;
    assert_eq!(after.price(), expected.price());
    assert_eq!((after.tao, after.alpha), (expected.tao, expected.alpha));
    assert_eq!(books.stake, out.paid_out.as_tao_f64());
    assert!(after.price() > pool.price());
    assert!(chain.check_conservation().is_ok());
}

#[test]
fn conviction_matures_and_ownership_changes_at_the_hand_computed_blocks() {
    // Subnet 4 turns a year old at block 1000; the attacker's perpetual lock of m alpha holds
    // conviction m (1 - e^{-dt/τ}). With alpha out A fixed (no blocks stepped), total
    // conviction reaches A / 10 at dt* = -τ ln(1 - A / (10 m)).
    let s = scenario(&[&format!("chain.subnets.age_blocks={}", ONE_YEAR_BLOCKS - 1_000)]);
    let (mut chain, mut p) = setup(&s, Model::Sudo, 30_000.0);
    chain.step_block();
    p.events = vec![EventSpec { netuid: Some(4), ..EventSpec::new(At::Block(1), EventKind::ConvictionTakeover) }];
    p.apply_event(0, &mut chain);
    let start = chain.block.0;
    let sub = chain.subnet(4).expect("subnet");
    let (owner, alpha_out) = (sub.owner_coldkey, sub.alpha_out.0 as f64);
    let m = p.governance.attacks[0].stake * 1e9;
    let dt = -(MATURITY_RATE as f64) * libm::log(1.0 - alpha_out / (10.0 * m));
    assert!(dt > 2_000.0, "the conviction gate binds after the age gate: {dt}");
    let crossing = start + libm::ceil(dt) as u64;
    let at = |chain: &mut ChainState, p: &mut Participants, block: u64| {
        chain.block = crate::engine::Block(block);
        p.governance_after_epoch(4, chain);
        chain.subnet(4).expect("subnet").owner_coldkey
    };
    assert_eq!(at(&mut chain, &mut p, crossing - 2), owner, "conviction below 10 % of alpha out");
    assert!(!p.governance.attacks[0].captured);
    assert_eq!(at(&mut chain, &mut p, crossing + 1), p.governance.attacker_coldkeys[0]);
    assert!(p.governance.attacks[0].captured);
    assert_eq!(p.governance.attacks[0].capture_block, Some(crossing + 1));

    // The age gate: with ample conviction, nothing before the subnet's first birthday (block
    // 1000 here), the change at it.
    let s = scenario(&[&format!("chain.subnets.age_blocks={}", ONE_YEAR_BLOCKS - 1_000_000)]);
    let (mut chain, mut p) = setup(&s, Model::Sudo, 30_000.0);
    chain.step_block();
    p.events = vec![EventSpec { netuid: Some(4), ..EventSpec::new(At::Block(1), EventKind::ConvictionTakeover) }];
    p.apply_event(0, &mut chain);
    let owner = chain.subnet(4).expect("subnet").owner_coldkey;
    assert_eq!(at(&mut chain, &mut p, 999_999), owner);
    assert_eq!(at(&mut chain, &mut p, 1_000_000), p.governance.attacker_coldkeys[0]);
}

#[test]
fn tokens_are_conserved_exactly_with_every_governance_attack_active() {
    // Runs check conservation at every sample and stop on the first failure.
    let mut s = scenario(&[
        "run.horizon=6000",
        "run.sample_every_blocks=250",
        &format!("chain.subnets.age_blocks={}", ONE_YEAR_BLOCKS),
    ]);
    s.governance = Some(GovernanceSection { model: Model::Senate, ..GovernanceSection::default() });
    s.attacker = Some(AttackerSection { budget_tao: 50_000.0, ..AttackerSection::default() });
    let at = |b: u64, kind| EventSpec::new(At::Block(b), kind);
    s.events = vec![
        EventSpec { netuid: Some(2), days: Some(0.2), ..at(100, EventKind::HaltEmission) },
        EventSpec { at: At::Block(200), ..proposal(Vote::Aye) },
        EventSpec {
            days: Some(0.1),
            kind: EventKind::SeatCapture,
            ..EventSpec { at: At::Block(300), ..proposal(Vote::Nay) }
        },
        EventSpec { netuid: Some(4), count: Some(3), ..at(400, EventKind::ConvictionTakeover) },
        EventSpec { netuid: Some(1), count: Some(2), ..at(500, EventKind::HostileOwner) },
    ];
    assert!(s.validate("test").is_ok(), "{:?}", s.validate("test"));
    let (summary, _, ev, _) = simulate(&s, Vec::new(), Vec::new(), Vec::new(), None).expect("runs conserved");
    let ev = String::from_utf8(ev).expect("utf8");
    let gov = summary.participants.expect("participants").governance;
    assert_eq!(gov.len(), 2, "{gov:?}");
    assert!(gov.iter().all(|a| a.cost_usd > 0.0 && a.tao_acquired > 0.0));
    for kind in ["halt_emission", "proposal", "proposal_enacted", "governance_report"] {
        assert!(ev.lines().any(|l| l.split(',').nth(1) == Some(kind)), "no {kind} row");
    }
}

#[test]
fn a_consensus_takeover_pays_the_venues_impact_with_an_attacker_section() {
    let mut s = scenario(&["run.horizon=600", "run.sample_every_blocks=100"]);
    s.events = vec![EventSpec {
        netuid: Some(4),
        step_tao: Some(5_000.0),
        ..EventSpec::new(At::Block(100), EventKind::Takeover)
    }];
    let spot = simulate(&s, Vec::new(), Vec::new(), Vec::new(), None).expect("runs").0;
    s.attacker = Some(AttackerSection::default());
    let priced = simulate(&s, Vec::new(), Vec::new(), Vec::new(), None).expect("runs").0;
    let (a, b) = (&spot.participants.expect("p").attacks[0], &priced.participants.expect("p").attacks[0]);
    assert!(a.reached && b.reached);
    // The same TAO, bought through the book: more USD than at spot (its impact).
    assert!((a.cost_tao - b.cost_tao).abs() < 1e-6 * a.cost_tao, "{a:?} {b:?}");
    assert!(b.cost_usd > a.cost_usd * 1.001, "{} vs {}", b.cost_usd, a.cost_usd);
}
