//! Participants' policies in the network, each alone, and emergent behaviour in small runs.
//!
//! The copier and cabal tests run on Yuma consensus (`chain.consensus.epoch = "yuma"`, the
//! default, set explicitly there), where weights decide incentive.

use super::config::{At, EventKind, EventSpec};
use super::*;
use crate::run::simulate;
use crate::scenario::{Scenario, Source, load};

fn scenario(overrides: &[&str]) -> Scenario {
    let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    load(Source::BuiltIn, &o).expect("valid scenario")
}

fn run(s: &Scenario) -> (crate::run::Summary, String, String) {
    let (summary, ts, ev, _) = simulate(s, Vec::new(), Vec::new(), Vec::new(), None).expect("runs");
    (summary, String::from_utf8(ts).expect("utf8"), String::from_utf8(ev).expect("utf8"))
}

/// (block, subject) of every events.csv row of `kind`.
fn rows(events: &str, kind: &str) -> Vec<(u64, String)> {
    events
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.splitn(5, ',').collect();
            (f.get(1) == Some(&kind)).then(|| (f[0].parse().unwrap_or(0), f[2].to_string()))
        })
        .collect()
}

/// A timeseries column as f64 values.
fn column(ts: &str, name: &str) -> Vec<f64> {
    let mut lines = ts.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let k = header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no column {name}"));
    lines.map(|l| l.split(',').nth(k).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)).collect()
}

/// Participants on the built-in default network, without running the engine.
fn setup(s: &Scenario) -> (ChainState, Participants) {
    let mut chain = crate::chain::genesis::build(&s.genesis()).expect("genesis");
    chain.set_payout(s.chain.consensus.payout());
    let profile = kernels::profile::Profile::builtin_default().expect("profile");
    let p = Participants::new(&s.participants, &s.market, &s.events, None, s.seed, &profile, &mut chain)
        .expect("participants");
    (chain, p)
}

/// Advances `blocks` blocks with epochs, weights every 360 blocks (as the network does).
fn advance(chain: &mut ChainState, p: &mut Participants, blocks: u64) {
    for _ in 0..blocks {
        let outcome = chain.step_block();
        for netuid in &outcome.epochs_due {
            if chain.run_epoch(*netuid).is_some() {
                p.after_epoch(*netuid, chain);
            }
        }
        if chain.block.0.is_multiple_of(360) {
            p.set_weights(chain);
        }
    }
}

#[test]
fn a_miner_leaves_after_the_configured_losses_and_not_before() {
    // GPUs at 1000 USD an hour: every miner loses money every day. Decisions at blocks 1
    // (opens the books), 7201, 14401, 21601: the third loss in a row comes at block 21601.
    let base = [
        "run.horizon=21700",
        "participants.miners.candidates=0",
        "participants.miners.patience_days=3",
        "participants.miners.gpus_min=8",
        "participants.miners.gpu_types=[{name=\"H100\", usd_per_gpu_hour=1000.0, share=1.0}]",
    ];
    let (summary, _, events) = run(&scenario(&base));
    let exits: Vec<(u64, String)> = rows(&events, "exit").into_iter().filter(|(_, s)| s.starts_with("miner")).collect();
    let genesis_miners = 4 * (16 - 1 - 4);
    assert_eq!(exits.len(), genesis_miners, "every miner leaves");
    assert!(exits.iter().all(|(b, _)| *b == 21_601), "{exits:?}");
    let participants = summary.participants.expect("participants");
    assert_eq!((participants.exits, participants.active_miners), (genesis_miners as u64, 0));
    // With one more day of patience nobody has left yet.
    let mut patient = base.to_vec();
    patient[2] = "participants.miners.patience_days=4";
    let (_, _, events) = run(&scenario(&patient));
    assert!(rows(&events, "exit").iter().all(|(_, s)| !s.starts_with("miner")));
    // Cheap GPUs: nobody leaves.
    let (_, _, events) = run(&scenario(&["run.horizon=21700", "participants.miners.candidates=0"]));
    assert!(rows(&events, "exit").iter().all(|(_, s)| !s.starts_with("miner")));
}

#[test]
fn a_copiers_weights_equal_the_last_visible_consensus_with_and_without_commit_reveal() {
    for delay in [0u32, 2] {
        let s = scenario(&[
            "chain.consensus.epoch=\"yuma\"",
            "participants.validators.copier_fraction=0.25",
            "participants.validators.lazy_fraction=0",
            &format!("participants.validators.commit_reveal_epochs={delay}"),
        ]);
        let (mut chain, mut p) = setup(&s);
        advance(&mut chain, &mut p, 360 * 6 + 7);
        // Weights now, with no epoch since: the copier's row is what it can see now.
        p.set_weights(&mut chain);
        let copier = p.validators.iter().find(|v| v.policy == ValidatorPolicy::Copier).expect("a copier");
        assert_eq!(p.validators.iter().filter(|v| v.policy == ValidatorPolicy::Copier).count(), 1);
        for netuid in chain.netuids() {
            let history = p.consensus_history.get(&netuid).expect("history kept");
            assert_eq!(history.len(), delay as usize + 1);
            let subnet = chain.subnet(netuid).expect("subnet");
            let uid = subnet.uid_of(copier.hotkey).expect("registered");
            let row = &subnet.neurons[usize::from(uid)].weights;
            let visible = p.visible_consensus(netuid).expect("visible");
            let expected: Vec<(u16, u16)> = visible
                .iter()
                .enumerate()
                .filter(|(j, w)| **w > 0 && *j != usize::from(uid))
                .map(|(j, w)| (j as u16, *w))
                .collect();
            assert!(!expected.is_empty());
            assert_eq!(row, &expected, "subnet {netuid}, delay {delay}");
            if delay > 0 {
                let newest = history.back().expect("newest");
                assert_ne!(visible, newest, "commit-reveal hides the newest consensus (subnet {netuid})");
            }
        }
    }
}

#[test]
fn a_cabals_weights_go_to_its_own_miners_only() {
    let mut s = scenario(&["chain.consensus.epoch=\"yuma\""]);
    s.events = vec![EventSpec {
        netuid: Some(1),
        stake_share: Some(0.3),
        count: Some(3),
        ..EventSpec::new(At::Block(1), EventKind::Cabal)
    }];
    let (mut chain, mut p) = setup(&s);
    advance(&mut chain, &mut p, 10);
    p.apply_event(0, &mut chain);
    p.set_weights(&mut chain);
    let attack = &p.attacks[0];
    assert!(attack.reached, "the cabal bought its stake share");
    assert!(attack.cost_usd > 0.0 && attack.cost_tao > 0.0 && attack.slippage_tao > 0.0);
    let cabal = p.validators.iter().find(|v| v.policy == ValidatorPolicy::Cabal).expect("cabal validator");
    let subnet = chain.subnet(1).expect("subnet 1");
    let own: Vec<u16> = p
        .miners
        .iter()
        .filter(|m| m.attack == Some(0))
        .flat_map(|m| m.positions.iter().map(|x| x.hotkey))
        .filter_map(|h| subnet.uid_of(h))
        .collect();
    assert_eq!(own.len(), 3);
    let row = &subnet.neurons[usize::from(subnet.uid_of(cabal.hotkey).expect("registered"))].weights;
    let targets: Vec<u16> = row.iter().map(|(u, _)| *u).collect();
    assert_eq!(targets, own, "all weight on its own miners, none elsewhere");
    assert!(row.iter().all(|(_, w)| *w == u16::MAX));
    // Honest validators give the GPU-less cabal miners nothing.
    let honest = p.validators.iter().find(|v| matches!(v.policy, ValidatorPolicy::Honest { .. })).expect("honest");
    let honest_row = &subnet.neurons[usize::from(subnet.uid_of(honest.hotkey).expect("uid"))].weights;
    assert!(honest_row.iter().all(|(u, _)| !own.contains(u)));
    chain.check_conservation().expect("conserved");
}

#[test]
fn a_minority_cabal_is_clipped_and_a_majority_cabal_captures_emission() {
    let share = |stake_share: f64| {
        // Little validator stake, so that a majority can be bought from the pool.
        let mut s = scenario(&[
            "run.horizon=7300",
            "chain.consensus.epoch=\"yuma\"",
            "chain.subnets.staked_alpha_ratio=0.1",
            "chain.subnets.root_stake_tao=10000",
        ]);
        s.events = vec![EventSpec {
            netuid: Some(1),
            stake_share: Some(stake_share),
            count: Some(3),
            ..EventSpec::new(At::Block(10), EventKind::Cabal)
        }];
        let (summary, _, events) = run(&s);
        assert_eq!(rows(&events, "attack_report").len(), 1);
        let a = &summary.participants.expect("participants").attacks[0];
        (a.emission_tao / a.subnet_emission_tao, a.stake_share)
    };
    let (minority, minority_stake) = share(0.3);
    let (majority, majority_stake) = share(0.7);
    assert!(minority_stake > 0.25 && majority_stake > 0.6, "{minority_stake} {majority_stake}");
    // Clipped: a minority cabal earns far less than its stake share (its own miners' weight
    // is clipped to the honest consensus); ~6 % of the subnet's emission for ~30 % of stake.
    assert!(minority < minority_stake / 4.0, "clipped: {minority} for a stake share of {minority_stake}");
    assert!(majority > 0.6, "captures: {majority}");
}

#[test]
fn a_deep_liquidity_shock_raises_sell_pressure_and_drives_miners_out() {
    let base = [
        "run.horizon=40d",
        "run.sample_every_blocks=7200",
        "market.fair_value.daily_vol=0.0",
        "market.venue.depth_2pct_usd=200000.0",
        // Fleets whose rent is covered at the start price, and not after a 90 % crash.
        "participants.miners.gpus_min=32",
        "participants.miners.gpus_max=32",
        "participants.holders.count=0",
        "participants.miners.candidates=0",
    ];
    let calm = scenario(&base);
    let mut shocked = calm.clone();
    shocked.events = vec![
        EventSpec { factor: Some(0.02), days: Some(30.0), ..EventSpec::new(At::Day(2.0), EventKind::DepthCut) },
        EventSpec { factor: Some(0.1), ..EventSpec::new(At::Day(2.0), EventKind::PriceJump) },
    ];
    let (_, ts_calm, _) = run(&calm);
    let (_, ts_shock, ev_shock) = run(&shocked);
    assert_eq!(rows(&ev_shock, "shock").len(), 2);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let pressure_calm = column(&ts_calm, "sell_pressure_tao_per_day");
    let pressure_shock = column(&ts_shock, "sell_pressure_tao_per_day");
    let (a, b) = (mean(&pressure_calm[3..30]), mean(&pressure_shock[3..30]));
    assert!(b > a, "sell pressure in TAO rises: {a} -> {b}");
    let active_calm = column(&ts_calm, "active_miners");
    let active_shock = column(&ts_shock, "active_miners");
    let (x, y) = (active_calm.last().copied().unwrap_or(0.0), active_shock.last().copied().unwrap_or(0.0));
    assert!(y < x, "fewer active miners: {x} -> {y}");
}

#[test]
fn every_attack_and_shock_runs_conserved() {
    let mut s = scenario(&["run.horizon=3000", "run.sample_every_blocks=500"]);
    let at = |b: u64, kind| EventSpec::new(At::Block(b), kind);
    s.events = vec![
        at(100, EventKind::Halving),
        EventSpec { factor: Some(0.1), days: Some(0.1), ..at(200, EventKind::DepthCut) },
        EventSpec { factor: Some(0.7), ..at(300, EventKind::PriceJump) },
        EventSpec { days: Some(0.05), ..at(400, EventKind::OffRampFreeze) },
        EventSpec { netuid: Some(2), fraction: Some(0.5), ..at(500, EventKind::MassUnstake) },
        EventSpec { netuid: Some(1), stake_share: Some(0.2), count: Some(2), ..at(600, EventKind::Cabal) },
        EventSpec { count: Some(1), ..at(700, EventKind::WeightCopiers) },
        EventSpec { netuid: Some(3), step_tao: Some(5000.0), ..at(800, EventKind::Takeover) },
        EventSpec { netuid: Some(4), count: Some(4), ..at(900, EventKind::Sybil) },
        EventSpec { netuid: Some(2), count: Some(2), ..at(1000, EventKind::OwnerSelfMining) },
    ];
    let (summary, ts, events) = run(&s);
    assert_eq!(rows(&events, "shock").len(), 4 + 1, "halving, depth, jump, freeze, unstake");
    assert_eq!(rows(&events, "shock_end").len(), 2);
    assert!(!rows(&events, "attack_step").is_empty());
    assert_eq!(rows(&events, "attack_report").len(), 4);
    let attacks = summary.participants.expect("participants").attacks;
    let takeover = attacks.iter().find(|a| a.kind == "takeover").expect("takeover");
    assert!(takeover.reached && takeover.cost_usd > 0.0 && takeover.slippage_tao > 0.0, "{takeover:?}");
    assert!(column(&ts, "attack_cost_usd").last().is_some_and(|c| *c > 0.0));
}

#[test]
fn a_sell_tao_event_moves_the_price_by_the_square_root_law_and_less_when_spread() {
    // A quiet market (no fair-value noise) and no other sellers, so the trade alone moves it.
    let base = [
        "run.horizon=3d",
        "market.fair_value.daily_vol=0.0",
        "participants.holders.count=0",
        "participants.miners.candidates=0",
        "participants.miners.sell={policy=\"hold\"}",
        "participants.validators.sell_fraction=0",
    ];
    // 1 % of the venue's daily volume (120M USD at 250 USD/TAO).
    let amount = 0.01 * 120e6 / 250.0;
    let worst = |over: &str| {
        let mut s = scenario(&base);
        s.events = vec![EventSpec {
            amount_tao: Some(amount),
            over: Some(over.into()),
            holder: Some("whale".into()),
            ..EventSpec::new(At::Day(1.0), EventKind::SellTao)
        }];
        let (_, _, events) = run(&s);
        let done: Vec<f64> = events
            .lines()
            .map(|l| l.splitn(5, ',').collect::<Vec<_>>())
            .filter(|f| f.get(1) == Some(&"trade_done"))
            .filter_map(|f| f.get(3).and_then(|v| v.parse().ok()))
            .collect();
        assert_eq!(done.len(), 1, "the trade finishes once");
        done[0]
    };
    let (fast, slow) = (worst("1h"), worst("1d"));
    // Square-root law with Y in [0.3, 2], sigma 6 %: 1 % of V moves the price by 0.6 % (Y = 1).
    let law = 0.06 * libm::sqrt(0.01);
    assert!(-fast > 0.3 * law && -fast < 2.0 * law, "an hour's sale moves {fast} (law {law})");
    assert!(slow > fast && slow < 0.0, "spread over a day it moves less at its worst: {slow} vs {fast}");
}

#[test]
fn a_freeze_halts_both_sides_and_the_queued_sale_executes_after_it_in_full() {
    let mut s = scenario(&[
        "run.horizon=4d",
        "run.sample_every_blocks=300",
        "market.fair_value.daily_vol=0.0",
        "participants.holders.count=0",
        "participants.miners.candidates=0",
    ]);
    let amount = 20_000.0;
    s.events = vec![
        EventSpec { days: Some(1.0), ..EventSpec::new(At::Day(1.0), EventKind::OffRampFreeze) },
        EventSpec {
            amount_tao: Some(amount),
            over: Some("6h".into()),
            holder: Some("fund".into()),
            ..EventSpec::new(At::Day(1.0), EventKind::SellTao)
        },
    ];
    let (_, ts, events) = run(&s);
    let day = column(&ts, "day");
    let queued = column(&ts, "queued_sell_tao");
    let frozen = column(&ts, "off_ramp_frozen");
    let price = column(&ts, "tao_price_usd");
    let fair = column(&ts, "fair_price_usd");
    // While frozen the whole sale waits (with the miners' and validators' daily sales placed
    // during the freeze), nothing fills, and the price is the fair value.
    let during: Vec<usize> = (0..day.len()).filter(|&k| frozen[k] == 1.0 && day[k] > 1.3).collect();
    assert!(!during.is_empty(), "samples inside the freeze");
    for w in during.windows(2) {
        assert!(
            queued[w[1]] >= queued[w[0]] - 1e-9,
            "nothing fills while frozen: {} -> {}",
            queued[w[0]],
            queued[w[1]]
        );
    }
    for &k in &during {
        assert!(queued[k] >= amount - 1e-6, "day {}: queued {}", day[k], queued[k]);
        assert!((price[k] / fair[k] - 1.0).abs() < 1e-3, "day {}: {} vs fair {}", day[k], price[k], fair[k]);
    }
    // After it the queue drains and the whole amount is sold, below the fair value.
    assert_eq!(queued.last().copied(), Some(0.0));
    let done: Vec<String> = events.lines().filter(|l| l.contains(",trade_done,")).map(str::to_string).collect();
    assert_eq!(done.len(), 1, "{events}");
    assert!(done[0].contains(&format!("fund sold {amount} TAO")), "{}", done[0]);
    let after: Vec<usize> = (0..day.len()).filter(|&k| day[k] > 2.0 && day[k] < 2.3).collect();
    assert!(after.iter().any(|&k| price[k] < fair[k] * 0.999), "the sale moves the price after the freeze");
}

/// USD the venue paid out, minus what it received, as its books say (makers and the wider
/// market start at zero).
fn venue_paid_usd(p: &Participants) -> f64 {
    -(p.market.venue().makers_usd() + p.market.venue().wider_market_usd())
}

/// USD the participants and scenario events hold from trading, with what miners paid for
/// their GPUs (charged minus still due) added back.
fn traders_usd(p: &Participants) -> f64 {
    let miners: f64 = p.miners.iter().map(|m| m.usd + m.costs_usd - m.costs_due_usd).sum();
    let holders: f64 = p.holders.iter().map(|h| h.usd).sum();
    let validators: f64 = p.validators.iter().map(|v| v.usd).sum();
    miners + holders + validators + p.event_usd.iter().sum::<f64>()
}

#[test]
fn usd_is_conserved_between_the_venue_and_everyone_who_trades_through_it() {
    let mut s = scenario(&["participants.holders.count=12", "participants.holders.entry_days=2"]);
    s.events = vec![
        EventSpec { days: Some(0.5), ..EventSpec::new(At::Block(10_000), EventKind::OffRampFreeze) },
        EventSpec {
            amount_tao: Some(30_000.0),
            over: Some("12h".into()),
            ..EventSpec::new(At::Block(10_500), EventKind::SellTao)
        },
        EventSpec {
            amount_tao: Some(5_000.0),
            over: Some("6h".into()),
            ..EventSpec::new(At::Block(20_000), EventKind::BuyTao)
        },
        EventSpec { netuid: Some(1), fraction: Some(0.3), ..EventSpec::new(At::Block(25_000), EventKind::MassUnstake) },
    ];
    let (mut chain, mut p) = setup(&s);
    let freeze_end = 10_000 + 3_600;
    let mut traded = false;
    for block in 1..=36_000u64 {
        advance(&mut chain, &mut p, 1);
        for (i, e) in s.events.iter().enumerate() {
            if let At::Block(b) = e.at
                && b == block
            {
                p.apply_event(i, &mut chain);
            }
        }
        if block == freeze_end {
            p.end_event(0, &mut chain);
        }
        if block % 7_200 == 1 {
            p.decide(&mut chain);
        }
        if block % 300 == 1 {
            p.market_step(&mut chain);
        }
        if block % 1_000 == 0 {
            let (paid, held) = (venue_paid_usd(&p), traders_usd(&p));
            assert!((paid - held).abs() <= 1e-9 * paid.abs().max(1.0), "block {block}: venue {paid} vs traders {held}");
            traded |= paid.abs() > 1e6;
            chain.check_conservation().expect("chain conserved");
        }
    }
    assert!(traded, "the venue traded");
    let (sold, bought) = p.market.queued();
    assert!(sold < 1e-6 && bought < 1e-6, "every queued order filled: {sold} TAO, {bought} USD");
}

/// Sum of the subnets' spot prices.
fn spot_sum(chain: &ChainState) -> f64 {
    chain.netuids().into_iter().map(|n| price_of(chain, n)).sum()
}

/// The default network with `count` speculators (no news, no holders) a few blocks in, so
/// every subnet has had its emission.
fn speculating(count: u32, extra: &[&str]) -> (ChainState, Participants) {
    let count = format!("participants.speculators.count={count}");
    let mut o =
        vec![count.as_str(), "participants.holders.count=0", "participants.speculators.policy.news_daily_sd=0.0"];
    o.extend_from_slice(extra);
    let (mut chain, mut p) = setup(&scenario(&o));
    advance(&mut chain, &mut p, 10);
    (chain, p)
}

#[test]
fn speculators_start_with_alpha_moved_not_bought() {
    let (before, _) = speculating(0, &[]);
    let (chain, p) = speculating(4, &["participants.speculators.genesis_alpha_share=0.2"]);
    chain.check_conservation().expect("conserved");
    // No swap: the pools and the hotkeys' totals are those of the network without them.
    assert_eq!(spot_sum(&chain), spot_sum(&before));
    for netuid in chain.netuids() {
        let (a, b) = (chain.subnet(netuid).expect("subnet"), before.subnet(netuid).expect("subnet"));
        assert_eq!((a.pool.tao, a.pool.alpha, a.alpha_out), (b.pool.tao, b.pool.alpha, b.alpha_out));
        let held: u64 = p.speculators.iter().map(|s| chain.stake_of(s.coldkey, s.positions[&netuid], netuid).0).sum();
        let share = held as f64 / a.staked_alpha() as f64;
        assert!((share - 0.2).abs() < 0.01, "subnet {netuid}: speculators hold {share}");
    }
}

#[test]
fn speculators_sell_a_pumped_subnet_back_toward_its_value() {
    let pump = |count: u32| {
        let (mut chain, mut p) = speculating(count, &["participants.speculators.genesis_alpha_share=0.3"]);
        // Their first decision fixes the multiple that prices this network fairly.
        p.speculators_step(&mut chain, 1.0);
        let whale = chain.create_coldkey(Rao::from_tao(200_000)).expect("funded");
        let hotkey = chain.subnet(1).expect("subnet 1").neurons[1].hotkey;
        let before = price_of(&chain, 1);
        chain.add_stake(whale, hotkey, 1, Rao::from_tao(15_000), None).expect("staked");
        let pumped = price_of(&chain, 1);
        for _ in 0..10 {
            p.speculators_step(&mut chain, 1.0);
        }
        chain.check_conservation().expect("conserved");
        (before, pumped, price_of(&chain, 1))
    };
    let (before, pumped, after) = pump(8);
    assert!(pumped > 1.5 * before, "the whale lifts the price: {before} -> {pumped}");
    assert!(after < pumped, "speculators sell it down: {pumped} -> {after}");
    // Ten days at 20 % of the gap a day close most of it while their alpha lasts, without
    // overshooting the value.
    let gap = |p: f64| libm::log(p / before);
    assert!(gap(after) < 0.5 * gap(pumped) && gap(after) > -0.05, "gap {} -> {}", gap(pumped), gap(after));
    let (_, pumped0, after0) = pump(0);
    assert_eq!(pumped0, after0, "without speculators nothing moves it back");
}

#[test]
fn a_longer_multiple_lifts_prices_and_a_shorter_one_lowers_them() {
    // The multiple that prices this network fairly, fixed at the first decision.
    let (mut chain, mut p) = speculating(8, &[]);
    p.speculators_step(&mut chain, 1.0);
    let fair = p.speculator_days.expect("calibrated");
    let sum_after = |days: f64| {
        let days = format!("participants.speculators.policy.value_days={days}");
        let (mut chain, mut p) = speculating(8, &[days.as_str(), "participants.speculators.genesis_alpha_share=0.3"]);
        let start = spot_sum(&chain);
        for _ in 0..10 {
            p.speculators_step(&mut chain, 1.0);
        }
        (start, spot_sum(&chain))
    };
    let (start, low) = sum_after(fair / 4.0);
    let (_, high) = sum_after(fair * 4.0);
    assert!(low < 0.9 * start && high > 1.1 * start, "{low} < {start} < {high}");
}
