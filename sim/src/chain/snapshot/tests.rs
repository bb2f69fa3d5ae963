use super::*;
use crate::chain::ChainParams;
use crate::chain::emission::EmissionSchedule;
use crate::chain::genesis::{Genesis, Shape, build};
use crate::chain::subnet::HotkeyId;
use crate::scenario::{Source, load};
use std::path::Path;

/// A full network of `subnets` subnets: 256 UIDs each, 64 validators, 3M TAO on root.
fn genesis(subnets: u16, shape: Shape) -> Genesis {
    Genesis {
        initial_issuance: Rao::from_tao(10_600_000),
        schedule: EmissionSchedule::default(),
        params: ChainParams::default(),
        subnets,
        tao_reserve: Rao::from_tao(25_000),
        price_max: 0.1,
        price_min: 0.003,
        staked_alpha_ratio: 1.0,
        neurons_per_subnet: 256,
        validators: 64,
        root_stake: Rao::from_tao(3_000_000),
        subnet_age_blocks: 400_000,
        shape,
    }
}

fn snapshot_genesis(subnets: u16) -> Genesis {
    genesis(subnets, Shape::Snapshot(SnapshotParams::default()))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn the_default_law_gives_the_2025_emission_concentration_for_128_subnets() {
    let f = ShareFigures::of(&SnapshotParams::default().prices(128));
    // Reference (Sep-Oct 2025): top-10 43-49 %, HHI 0.028-0.034, largest 8-10 %, median 0.3 %.
    assert!((f.top10 - 0.45).abs() < 0.02, "{f:?}");
    assert!((f.hhi - 0.031).abs() < 0.003, "{f:?}");
    assert!((0.08..=0.10).contains(&f.largest), "{f:?}");
    assert!((f.median - 0.003).abs() < 0.0005, "{f:?}");
}

#[test]
fn a_three_subnet_snapshot_matches_the_hand_computation() {
    // s = 1, c = 0: weights 1, 1/2, 1/3 (sum 11/6), so prices 1.1 * (6, 3, 2) / 11.
    let p = SnapshotParams { price_sum: 1.1, price_exponent: 1.0, price_offset: 0.0, ..SnapshotParams::default() };
    let prices = p.prices(3);
    assert!(prices.iter().zip([0.6, 0.3, 0.2]).all(|(got, want)| close(*got, want)), "{prices:?}");
    let f = ShareFigures::of(&prices);
    assert!(close(f.top10, 1.0) && close(f.hhi, 49.0 / 121.0), "{f:?}");
    assert!(close(f.largest, 6.0 / 11.0) && close(f.median, 3.0 / 11.0), "{f:?}");
    // c = 1: weights 1/2, 1/3, 1/4 (sum 13/12): shares 6/13, 4/13, 3/13.
    let shifted = rank_law(3, 1.0, 1.0);
    assert!(shifted.iter().zip([6.0, 4.0, 3.0]).all(|(got, want)| close(*got, want / 13.0)), "{shifted:?}");
    // Pools of 100 TAO on average: k = 1 gives TAO in proportion to price (equal alpha), k = 0
    // equal TAO.
    let deep = SnapshotParams { pool_depth_exponent: 1.0, ..p.clone() }.pools(3, 100.0, 0.001);
    let expected = [(1800.0 / 11.0, 3000.0 / 11.0), (900.0 / 11.0, 3000.0 / 11.0), (600.0 / 11.0, 3000.0 / 11.0)];
    assert!(deep.iter().zip(expected).all(|(a, b)| close(a.0, b.0) && (a.1 - b.1).abs() < 1e-9), "{deep:?}");
    let flat = SnapshotParams { pool_depth_exponent: 0.0, ..p }.pools(3, 100.0, 0.001);
    assert!(flat.iter().all(|(tao, _)| close(*tao, 100.0)), "{flat:?}");
    // The floor holds a pool at the minimum.
    assert_eq!(pool_reserves(&[1.0, 1e-12], 10.0, 1.0, 0.5), vec![10.0 / (1.0 + 1e-12), 0.5]);
}

#[test]
fn prices_sum_to_price_sum_on_paper_and_in_the_pools() {
    for (count, sum, s, c) in [(1, 1.3, 1.3, 4.0), (3, 2.4, 0.5, 0.0), (128, 1.3, 1.3, 4.0), (128, 1.0, 3.0, 0.0)] {
        let p = SnapshotParams { price_sum: sum, price_exponent: s, price_offset: c, ..SnapshotParams::default() };
        let total: f64 = p.prices(count).iter().sum();
        assert!((total - sum).abs() <= 1e-9 * sum, "{count} subnets: {total} against {sum}");
    }
    let chain = build(&snapshot_genesis(128)).expect("genesis");
    let total: f64 = chain.subnets.iter().flatten().map(|s| s.pool.price().to_num::<f64>()).sum();
    assert!((total - 1.3).abs() <= 1e-9 * 1.3, "{total}");
    // The price EMA (I96F32) holds each price to 2^-32.
    let ema: f64 = chain.subnets.iter().flatten().map(|s| s.moving_price.to_num::<f64>()).sum();
    assert!((ema - 1.3).abs() <= 128.0 / 4_294_967_296.0, "{ema}");
}

#[test]
fn validators_stake_follows_the_rank_law_and_exponent_zero_splits_equally() {
    let chain = build(&snapshot_genesis(2)).expect("genesis");
    chain.check_conservation().expect("conserved");
    assert_eq!(chain.root.tao, Rao::from_tao(3_000_000));
    let root: Vec<f64> = chain.root.stakes.values().map(|p| p.total.as_tao_f64()).collect();
    let alpha: Vec<f64> =
        chain.subnet(2).map(|s| s.stakes.values().map(|p| p.total.as_tao_f64()).collect()).unwrap_or_default();
    for stakes in [&root, &alpha] {
        assert_eq!(stakes.len(), 64);
        let f = ShareFigures::of(stakes);
        // Reference (Jun 2024): top-10 ~85 %, top-5 > 65 %.
        assert!((f.top10 - 0.85).abs() < 0.015 && f.top5 > 0.65, "{f:?}");
    }
    let mut equal = snapshot_genesis(2);
    equal.shape = Shape::Snapshot(SnapshotParams { validator_stake_exponent: 0.0, ..SnapshotParams::default() });
    let chain = build(&equal).expect("genesis");
    assert!(chain.root.stakes.values().all(|p| p.total == Rao::from_tao(3_000_000 / 64)));
}

#[test]
fn apportioning_is_exact_and_equal_weights_split_as_the_ladder() {
    assert_eq!(apportion(10, &[1, 1, 1]), vec![4, 3, 3]);
    assert_eq!(apportion(100, &[3, 1]), vec![75, 25]);
    assert_eq!(apportion(7, &[]), Vec::<u64>::new());
    let w = integer_weights(&rank_law(64, 1.5, 0.0));
    let parts = apportion(3_000_000_000_000_000, &w);
    assert_eq!(parts.iter().sum::<u64>(), 3_000_000_000_000_000);
    assert!(parts.windows(2).all(|p| p[0] >= p[1]), "largest first");
}

#[test]
fn miner_weights_and_records_match_the_hand_computation() {
    assert_eq!(miner_weights(3, 0.0), vec![u16::MAX; 3]);
    assert_eq!(miner_weights(3, 1.0), vec![65535, 32768, 21845]);
    assert_eq!(miner_weights(2, 30.0), vec![65535, 1], "never below 1");
    // Half of 1000 to validators by stake 3:1, half to miners by weights 2:1:1.
    let (v, m) = established_records(Rao(1000), &[3, 1], &[2, 1, 1]);
    assert_eq!(
        v.iter().map(|r| (r.emission.0, r.dividends, r.incentive)).collect::<Vec<_>>(),
        [(375, 49151, 0), (125, 16383, 0)]
    );
    assert_eq!(
        m.iter().map(|r| (r.emission.0, r.incentive, r.dividends)).collect::<Vec<_>>(),
        [(250, 32767, 0), (125, 16383, 0), (125, 16383, 0)]
    );
    // An epoch's alpha: 1 alpha a block for tempo + 1 blocks less the owner's cut; halved once
    // alpha issuance passes 10.5M.
    assert_eq!(epoch_alpha(Rao::from_tao(1_000_000), 360, 0), Rao::from_tao(361));
    assert_eq!(epoch_alpha(Rao::from_tao(11_000_000), 360, 0), Rao(180_500_000_000));
    assert_eq!(epoch_alpha(Rao::from_tao(1_000_000), 9, 6553), Rao(9_000_076_296));
}

#[test]
fn genesis_uids_carry_one_epochs_records_and_the_ladder_none() {
    let g = snapshot_genesis(2);
    let chain = build(&g).expect("genesis");
    chain.check_conservation().expect("records move no tokens");
    let s = chain.subnet(2).expect("subnet 2");
    let epoch = epoch_alpha(s.alpha_issuance(), g.params.tempo, g.params.subnet_owner_cut).0;
    let paid: u64 = s.neurons.iter().map(|n| n.emission.0).sum();
    assert!(paid <= epoch && epoch - paid < 256, "{paid} of {epoch}");
    let (validators, miners) = s.neurons[1..].split_at(64);
    assert!(validators.iter().all(|n| n.validator_permit && n.emission.0 > 0 && n.incentive == 0));
    assert!(miners.iter().all(|n| !n.validator_permit && n.emission.0 > 0 && n.dividends == 0));
    let dividends: u32 = validators.iter().map(|n| u32::from(n.dividends)).sum();
    let incentive: u32 = miners.iter().map(|n| u32::from(n.incentive)).sum();
    assert!((65_535 - 64..=65_535).contains(&dividends) && (65_535 - 191..=65_535).contains(&incentive));
    // The smallest validator earns more than the lowest miners: pruning takes miners first.
    let smallest_validator = validators.iter().map(|n| n.emission).min().unwrap_or_default();
    assert!(miners.iter().filter(|n| n.emission < smallest_validator).count() > 100);
    let ladder = build(&genesis(2, Shape::Ladder)).expect("genesis");
    assert!(ladder.subnets.iter().flatten().flat_map(|s| &s.neurons).all(|n| n.emission.0 == 0 && !n.validator_permit));
}

/// Registers `count` new hotkeys on subnet 1 at block 1; returns the chain and their UIDs.
fn register_at_block_one(g: &Genesis, count: usize) -> (ChainState, Vec<u16>) {
    let mut chain = build(g).expect("genesis");
    chain.step_block();
    let funder = chain.create_coldkey(Rao::from_tao(50_000)).expect("funded");
    let uids = (0..count)
        .map(|_| {
            let hotkey = chain.create_hotkey(funder).expect("hotkey");
            chain.register_neuron(funder, hotkey, 1).expect("registered")
        })
        .collect();
    (chain, uids)
}

fn validators_registered(chain: &ChainState) -> usize {
    let validators: Vec<HotkeyId> = chain.root.stakes.keys().copied().collect();
    chain.subnet(1).map_or(0, |s| validators.iter().filter(|h| s.uid_of(**h).is_some()).count())
}

#[test]
fn registrations_at_block_one_prune_miners_never_validators() {
    // Every genesis UID is still immune: the lowest-emission miner (the lowest UID among the
    // last miners, whose rounded weights tie) goes, then each newcomer (emission 0) makes way
    // for the next.
    let g = snapshot_genesis(2);
    let lowest =
        build(&g).ok().and_then(|c| c.subnet(1).and_then(|s| s.neurons.iter().skip(1).map(|n| n.emission).min()));
    let (chain, uids) = register_at_block_one(&g, 40);
    chain.check_conservation().expect("conserved");
    let first = build(&g).ok().and_then(|c| c.subnet(1).map(|s| s.neurons[usize::from(uids[0])].emission));
    assert!(uids[0] > 64 && uids.iter().all(|u| *u == uids[0]) && first == lowest, "{uids:?}");
    assert_eq!(validators_registered(&chain), 64);
    // Genesis immunity over: registrations walk up the miners' ranking, lowest emission first.
    let mut g = snapshot_genesis(2);
    g.params.immunity_period = 1;
    let (chain, mut uids) = register_at_block_one(&g, 100);
    assert!(uids.iter().all(|u| *u > 64), "{uids:?}");
    uids.sort_unstable();
    uids.dedup();
    assert_eq!((uids.len(), validators_registered(&chain)), (100, 64));
    // The ladder's zero records prune the oldest, lowest UIDs: validators.
    let (chain, uids) = register_at_block_one(&genesis(2, Shape::Ladder), 3);
    assert_eq!((uids, validators_registered(&chain)), (vec![1, 2, 3], 61));
}

#[test]
fn steeper_laws_concentrate_more() {
    let base = SnapshotParams::default();
    let f = |p: &SnapshotParams| ShareFigures::of(&p.prices(128));
    let steeper = SnapshotParams { price_exponent: 1.6, ..base.clone() };
    assert!(f(&steeper).top10 > f(&base).top10 + 0.05, "{:?} {:?}", f(&steeper), f(&base));
    assert!(f(&steeper).hhi > f(&base).hhi);
    let flatter_top = SnapshotParams { price_offset: 10.0, ..base.clone() };
    assert!(f(&flatter_top).largest < f(&base).largest);
    let top10 = |a: f64| ShareFigures::of(&rank_law(64, a, 0.0)).top10;
    assert!(top10(2.0) > top10(1.5) && top10(1.5) > top10(1.0) && close(top10(0.0), 10.0 / 64.0));
    // Deeper pools for the large subnets as k grows.
    let pools = |k: f64| SnapshotParams { pool_depth_exponent: k, ..base.clone() }.pools(128, 25_000.0, 0.001);
    let (flat, deep) = (pools(0.0), pools(1.0));
    assert!(close(flat[0].0, 25_000.0) && deep[0].0 > pools(0.75)[0].0 && pools(0.75)[0].0 > 25_000.0);
    assert!(deep[127].0 < flat[127].0);
}

#[test]
fn scenario_fields_are_validated_and_the_ladder_writes_nothing_new() {
    let text = |s: &str| load(Source::Text { name: "t.toml", text: s }, &[]);
    let first = |s: &str| text(s).expect_err("invalid")[0].to_string();
    assert_eq!(
        first("[chain.subnets.snapshot]\nprice_sum = 0.0\n"),
        "t.toml: chain.subnets.snapshot.price_sum: 0 is out of range; allowed 0.000001 ..= 1000000"
    );
    assert!(
        first("[chain.subnets.snapshot]\nprice_summ = 1\n")
            .contains("chain.subnets.snapshot.price_summ: unknown field")
    );
    assert!(
        first("[chain.subnets]\nshape = \"zipf\"\n")
            .contains("unknown variant `zipf`, expected `ladder` or `snapshot`")
    );
    let tiny = first("[chain.subnets]\nshape = \"snapshot\"\n[chain.subnets.snapshot]\nprice_sum = 1e-6\n");
    assert!(tiny.starts_with("t.toml: chain.subnets.tao_reserve_tao: subnet 1's pool"), "{tiny}");
    let ladder = text("").expect("valid").to_toml();
    assert!(!ladder.contains("shape") && !ladder.contains("snapshot"), "{ladder}");
    let s = text("[chain.subnets]\nshape = \"snapshot\"\n[chain.subnets.snapshot]\nprice_sum = 2.0\n").expect("valid");
    assert_eq!(text(&s.to_toml()).expect("round trip"), s);
    assert!(matches!(s.genesis().shape, Shape::Snapshot(p) if p.price_sum == 2.0));
}

#[test]
fn mainnet_like_starts_near_the_2025_network() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/mainnet-like.toml");
    let scenario = load(Source::File(&path), &[]).expect("valid");
    let mut chain = build(&scenario.genesis()).expect("genesis");
    chain.check_conservation().expect("conserved");
    let prices: f64 = chain.subnets.iter().flatten().map(|s| s.pool.price().to_num::<f64>()).sum();
    assert!((1.0..=2.4).contains(&prices), "sum of prices {prices}");
    let holders = &scenario.participants.holders;
    let staked = staked_tao(&chain) + f64::from(holders.count) * holders.tao_each;
    let share = staked / chain.total_issuance.as_tao_f64();
    assert!((0.6..=0.8).contains(&share), "staked share {share}");
    let root: Vec<f64> = chain.root.stakes.values().map(|p| p.total.as_tao_f64()).collect();
    assert!((ShareFigures::of(&root).top10 - 0.85).abs() < 0.015);
    chain.step_block();
    let shares: Vec<f64> = chain.subnets.iter().flatten().map(|s| s.last.share).collect();
    let f = ShareFigures::of(&shares);
    assert!((0.43..=0.49).contains(&f.top10) && (0.028..=0.034).contains(&f.hhi), "{f:?}");
    assert!((0.08..=0.10).contains(&f.largest) && (f.median - 0.003).abs() < 0.0005, "{f:?}");
}
