//! The venue alone: the square-root law, the book's bounds, path independence, conservation of
//! money, TAO and orders, freezes, resilience and liquidity shocks.

use super::*;
use proptest::prelude::*;

const P0: f64 = 250.0;
const V: f64 = DEFAULT_DAILY_VOLUME_USD;
const HOUR: f64 = 1.0 / 24.0;

fn venue_with(params: VenueParams) -> Venue {
    Venue::new(params, P0).expect("valid venue")
}

fn venue() -> Venue {
    venue_with(VenueParams::default())
}

/// The immediate log impact of selling `usd` worth of TAO at the current mid.
fn impact(v: &mut Venue, usd: f64) -> f64 {
    let before = v.price_usd();
    v.sell_now(usd / before);
    libm::log(before / v.price_usd())
}

/// Least-squares slope of ln(y) against ln(x).
fn log_log_slope(x: &[f64], y: &[f64]) -> f64 {
    let lx: Vec<f64> = x.iter().map(|v| libm::log(*v)).collect();
    let ly: Vec<f64> = y.iter().map(|v| libm::log(*v)).collect();
    let n = lx.len() as f64;
    let (mx, my) = (lx.iter().sum::<f64>() / n, ly.iter().sum::<f64>() / n);
    let cov: f64 = lx.iter().zip(&ly).map(|(a, b)| (a - mx) * (b - my)).sum();
    let var: f64 = lx.iter().map(|a| (a - mx) * (a - mx)).sum();
    cov / var
}

/// Slices from 1e-4 V to 0.1 V (13 points, log-spaced) and their impacts from rest.
fn impacts(params: &VenueParams) -> (Vec<f64>, Vec<f64>) {
    let qs: Vec<f64> = (0..13).map(|i| V * 1e-4 * libm::pow(10.0, f64::from(i) * 0.25)).collect();
    let is = qs.iter().map(|q| impact(&mut venue_with(params.clone()), *q)).collect();
    (qs, is)
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn the_default_depth_follows_from_the_square_root_law() {
    let p = VenueParams::default();
    assert!(close(p.depth_2pct_usd, 120e6 / 9.0, 1e-12), "{}", p.depth_2pct_usd);
    let v = venue();
    assert!(close(v.inventory_limit_tao(), 2.0 * 120e6 / P0, 1e-12));
    // Within 2 % each side the book holds D2 valued at the anchor price; a sale receives the
    // levels' (lower) prices, a buy pays their (higher) prices.
    let d = v.depth_usd_within(0.02);
    let d2 = p.depth_2pct_usd;
    assert!(d.bid_usd < d2 && d.bid_usd > d2 * libm::exp(-0.02), "{d:?}");
    assert!(d.ask_usd > d2 && d.ask_usd < d2 * libm::exp(0.02), "{d:?}");
    // Deeper distances hold more: D(4 %) = 4 D(2 %) with exponent 2.
    assert!(close(v.depth_usd_within(0.04).bid_usd / d.bid_usd, 4.0, 0.02));
}

#[test]
fn the_proceeds_series_matches_numeric_integration() {
    for k in [1.0, 1.5, 2.0, 3.0] {
        let params = VenueParams { profile_exponent: k, ..VenueParams::default() };
        let p = Profile::new(&params, 1.0);
        for s in [-0.9, -0.3, -0.01, 0.01, 0.3, 0.9] {
            // Simpson's rule on e^{-u} D'(|u|) from 0 to s.
            let n = 20_000;
            let h = s / f64::from(n);
            let f = |u: f64| libm::exp(-u) * p.scale * k * libm::pow(u.abs(), k - 1.0);
            let mut sum = f(0.0) + f(s);
            for i in 1..n {
                sum += if i % 2 == 1 { 4.0 } else { 2.0 } * f(h * f64::from(i));
            }
            let want = sum * h / 3.0;
            assert!(close(p.value(s), want, 1e-6), "k {k} s {s}: {} vs {want}", p.value(s));
            assert!((p.position(p.depth(s)) - s).abs() < 1e-12);
        }
    }
}

#[test]
fn impact_follows_the_square_root_law_over_three_decades() {
    let (qs, is) = impacts(&VenueParams::default());
    for (q, i) in qs.iter().zip(&is) {
        let y = i / (0.06 * libm::sqrt(q / V));
        assert!((0.3..=2.0).contains(&y), "Q {q}: Y {y}");
    }
    let slope = log_log_slope(&qs, &is);
    assert!((0.4..=0.6).contains(&slope), "slope {slope}");
    // The test can fail: a flat profile (exponent 1) gives linear impact.
    let (qs, is) = impacts(&VenueParams { profile_exponent: 1.0, ..VenueParams::default() });
    let linear = log_log_slope(&qs, &is);
    assert!(linear > 0.9, "exponent 1: slope {linear}");
}

#[test]
fn one_percent_of_volume_at_once_follows_the_law_and_a_day_long_twap_moves_less() {
    let usd = 0.01 * V;
    let i = impact(&mut venue(), usd);
    let y = i / (0.06 * libm::sqrt(0.01));
    assert!((0.3..=2.0).contains(&y), "1 % of V at once: Y {y}");
    let tao = usd / P0;
    let worst = |over_days: f64| {
        let mut v = venue();
        v.submit(1, Side::Sell, tao, ExecPolicy::Twap { over_days }).expect("valid order");
        let mut worst = P0;
        let mut sold = 0.0;
        for _ in 0..48 {
            v.step(HOUR, P0);
            worst = worst.min(v.price_usd());
            sold += v.take_fills().iter().map(|f| f.2.tao).sum::<f64>();
        }
        assert!(close(sold, tao, 1e-12) && v.queued(Side::Sell) == 0.0, "all sold: {sold}");
        worst
    };
    let (day, hour) = (worst(1.0), worst(HOUR));
    assert!(day > hour, "TWAP over a day: worst {day}; over an hour: worst {hour}");
    // Over an hour it is one slice: the same impact as the sale at once (fair unchanged).
    assert!(close(libm::log(P0 / hour), i, 1e-9));
}

#[test]
fn a_sale_beyond_the_book_fills_what_it_holds_and_the_makers_limit_caps_fills() {
    // A thin book and makers without a binding limit: the book's end binds.
    let params = VenueParams { depth_2pct_usd: 1e5, mm_inventory_limit_tao: 1e12, ..VenueParams::default() };
    let mut v = venue_with(params.clone());
    let holds_tao = 1e5 * libm::pow(0.9 / 0.02, 2.0) / P0;
    let f = v.sell_now(1e7);
    assert!(close(f.tao, holds_tao, 1e-12), "filled {} of a book holding {holds_tao}", f.tao);
    assert!(close(v.price_usd(), P0 * libm::exp(-0.9), 1e-12));
    assert!(close(f.usd, Profile::new(&params, 1.0).value(0.9), 1e-12));
    assert!(f.usd < f.tao * P0);
    assert_eq!(v.sell_now(1.0), Fill::default(), "nothing left below");
    // The default makers' limit (960,000 TAO) binds before the book's end.
    let mut v = venue();
    let f = v.sell_now(1e6);
    assert!(close(f.tao, 960_000.0, 1e-12), "{f:?}");
    assert!(close(v.inventory_tao(), v.inventory_limit_tao(), 1e-12));
    assert!(v.sell_now(10.0).tao < 1e-6, "the bid side is exhausted");
    assert!(v.depth_usd_within(0.5).bid_usd < 1e-3);
    assert!(v.depth_usd_within(0.5).ask_usd > 1e6);
    assert!(v.buy_now(1e6).tao > 0.0, "the ask side still trades");
    // Buying: the makers' short limit.
    let mut v = venue();
    let f = v.buy_now(1e12);
    assert!(close(f.tao, 960_000.0, 1e-12) && close(v.inventory_tao(), -960_000.0, 1e-12), "{f:?}");
    assert!(v.buy_now(1e6).tao < 1e-6);
}

#[test]
fn a_freeze_halts_both_sides_and_the_queue_executes_after_it() {
    let mut v = venue();
    v.set_frozen(true);
    assert!(v.is_frozen());
    assert_eq!(v.sell_now(100.0), Fill::default());
    assert_eq!(v.buy_now(1e4), Fill::default());
    assert_eq!(v.depth_usd_within(0.1), Depth::default());
    let s = v.submit(1, Side::Sell, 1_000.0, ExecPolicy::Twap { over_days: HOUR }).expect("valid");
    let b = v.submit(2, Side::Buy, 1e5, ExecPolicy::Participation { rate: 0.01 }).expect("valid");
    for i in 0..24 {
        let fair = P0 + f64::from(i);
        v.step(HOUR, fair);
        assert!(v.take_fills().is_empty());
        assert_eq!(v.price_usd(), fair, "prices follow the fair value while frozen");
    }
    assert_eq!(v.remaining(s), Some(1_000.0), "a TWAP past its time keeps its rest queued");
    assert_eq!(v.queued(Side::Buy), 1e5);
    v.set_frozen(false);
    v.step(HOUR, 273.0);
    let fills = v.take_fills();
    assert_eq!(fills.len(), 2);
    assert_eq!((fills[0].0, fills[0].1, fills[0].2.tao), (s, 1, 1_000.0), "the late TWAP catches up");
    assert_eq!((fills[1].0, fills[1].1), (b, 2));
    assert!(close(fills[1].2.usd, 0.01 * V * HOUR, 1e-12), "one participation slice: {:?}", fills[1]);
    assert_eq!(v.remaining(s), None);
    assert!(close(v.queued(Side::Buy), 1e5 - 0.01 * V * HOUR, 1e-12));
}

#[test]
fn impact_and_inventory_decay_with_their_half_lives() {
    let mut v = venue_with(VenueParams { mm_skew: 0.0, ..VenueParams::default() });
    v.sell_now(20_000.0);
    let d0 = v.displacement();
    let inv0 = v.inventory_tao();
    assert!(d0 > 0.01);
    v.step(0.25, P0); // 6 h: one resilience half-life
    assert!((v.displacement() - d0 / 2.0).abs() < 1e-9, "{} vs {}", v.displacement(), d0 / 2.0);
    assert!((libm::log(P0 / v.price_usd()) - d0 / 2.0).abs() < 1e-9);
    v.step(0.75, 300.0); // a day in all: one unwind half-life; unwound at the new fair price
    assert!(close(v.inventory_tao(), inv0 / 2.0, 1e-12));
    let unwound = inv0 / 2.0;
    let first = inv0 * (1.0 - libm::exp(-std::f64::consts::LN_2 / 4.0));
    let usd_in = first * P0 + (unwound - first) * 300.0;
    assert!(close(v.wider_market_tao(), unwound, 1e-12) && close(v.wider_market_usd(), -usd_in, 1e-12));
    // With the default skew the makers' long inventory lowers the anchor.
    let mut v = venue();
    v.sell_now(100_000.0);
    v.step(HOUR, P0);
    let want = P0 * libm::exp(-0.05 * v.inventory_tao() / v.inventory_limit_tao());
    assert!(close(v.anchor_usd(), want, 1e-12) && v.anchor_usd() < P0);
    // Sensitivity: a longer resilience half-life keeps more of the impact.
    let mut slow = venue_with(VenueParams { resilience_half_life_hours: 24.0, mm_skew: 0.0, ..VenueParams::default() });
    slow.sell_now(20_000.0);
    slow.step(0.25, P0);
    assert!(slow.displacement() > d0 / 2.0 + 1e-4);
}

#[test]
fn a_depth_cut_to_5_percent_moves_the_price_sqrt_20_times_more() {
    let usd = 1e6;
    let full = impact(&mut venue(), usd);
    let mut cut = venue();
    cut.set_depth_factor(0.05);
    assert_eq!(cut.depth_factor(), 0.05);
    let thin = impact(&mut cut, usd);
    assert!(thin < 0.9, "the fill stays inside the profile");
    assert!(close(thin / full, libm::sqrt(20.0), 1e-9), "ratio {}", thin / full);
    // The cut keeps the price; invalid factors are ignored; restoring restores the depth.
    let mut v = venue();
    v.sell_now(1_000.0);
    let p = v.price_usd();
    v.set_depth_factor(0.05);
    v.set_depth_factor(f64::NAN);
    v.set_depth_factor(0.0);
    assert_eq!((v.price_usd(), v.depth_factor()), (p, 0.05));
}

#[test]
fn orders_fill_in_id_order_and_participation_slices_follow_the_volume() {
    let mut v = venue();
    let a = v.submit(7, Side::Sell, 500.0, ExecPolicy::Twap { over_days: 0.0 }).expect("valid");
    let b = v.submit(8, Side::Sell, 500.0, ExecPolicy::Twap { over_days: 0.0 }).expect("valid");
    v.step(HOUR, P0);
    let f = v.take_fills();
    assert_eq!((f[0].0, f[0].1, f[1].0, f[1].1), (a, 7, b, 8));
    assert!(f[0].2.usd > f[1].2.usd, "the earlier order sells first, at better prices");
    assert!(v.take_fills().is_empty());
    // Participation: rate * V * dt USD a step, in TAO at the mid.
    let mut v = venue();
    let id = v.submit(1, Side::Sell, 10_000.0, ExecPolicy::Participation { rate: 0.1 }).expect("valid");
    let mut steps = 0;
    while v.remaining(id).is_some() {
        let decayed = v.displacement() * libm::exp(-std::f64::consts::LN_2 / 6.0);
        v.step(HOUR, P0);
        // The slice is priced at the mid when it executes: the new anchor, the decayed book.
        let mid = v.anchor_usd() * libm::exp(-decayed);
        let f = v.take_fills();
        let want = (0.1 * V * HOUR / mid).min(f[0].2.tao);
        assert!(close(f[0].2.tao, want, 1e-9), "step {steps}: {:?} vs {want}", f[0]);
        steps += 1;
    }
    // 0.1 * 120e6 / 24 = 500,000 USD an hour ≈ 2,000 TAO: five to six hours for 10,000 TAO.
    assert!((5..=6).contains(&steps), "{steps} steps");
}

#[test]
fn cancelling_returns_the_rest_and_volume_is_counted_once() {
    let mut v = venue();
    let id = v.submit(3, Side::Buy, 1e6, ExecPolicy::Twap { over_days: 1.0 }).expect("valid");
    v.step(HOUR, P0);
    let paid: f64 = v.take_fills().iter().map(|f| f.2.usd).sum();
    assert!(close(paid, 1e6 / 24.0, 1e-12));
    let sold = v.sell_now(10.0);
    assert!(close(v.volume_usd(), paid + sold.usd, 1e-12));
    assert!(close(v.take_volume(), paid + sold.usd, 1e-12));
    assert_eq!(v.volume_usd(), 0.0);
    let rest = v.cancel(id).expect("queued");
    assert!(close(rest, 1e6 - paid, 1e-12));
    assert_eq!(v.cancel(id), None);
    assert_eq!(v.queued(Side::Buy), 0.0);
}

#[test]
fn bad_inputs_are_refused_with_their_reason() {
    let mut v = venue();
    assert!(matches!(
        v.submit(1, Side::Sell, f64::NAN, ExecPolicy::Twap { over_days: 1.0 }),
        Err(VenueError::Amount(_))
    ));
    assert_eq!(v.submit(1, Side::Sell, 0.0, ExecPolicy::Twap { over_days: 1.0 }), Err(VenueError::Amount(0.0)));
    let bad = ExecPolicy::Twap { over_days: -1.0 };
    assert_eq!(v.submit(1, Side::Sell, 1.0, bad), Err(VenueError::Policy(bad)));
    let bad = ExecPolicy::Participation { rate: 1.5 };
    assert_eq!(v.submit(1, Side::Buy, 1.0, bad), Err(VenueError::Policy(bad)));
    assert_eq!(v.sell_now(-1.0), Fill::default());
    assert_eq!(v.buy_now(f64::INFINITY), Fill::default());
    assert_eq!(v.queued(Side::Sell), 0.0);
    assert!(matches!(Venue::new(VenueParams::default(), 0.0), Err(VenueError::Price(_))));
    let bad = VenueParams { max_distance: 3.0, ..VenueParams::default() };
    assert!(matches!(Venue::new(bad, P0), Err(VenueError::Parameter { field: "max_distance", .. })));
}

#[test]
fn default_parameters_are_valid_and_bad_ones_are_named() {
    assert!(VenueParams::default().problems().is_empty());
    let bad =
        VenueParams { depth_2pct_usd: 0.0, mm_skew: f64::NAN, mm_inventory_limit_tao: -1.0, ..VenueParams::default() };
    let fields: Vec<_> = bad.problems().into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["depth_2pct_usd", "mm_inventory_limit_tao", "mm_skew"]);
    let p: VenueParams = toml::from_str("depth_2pct_usd = 5e6\nmm_inventory_limit_tao = 1e5").expect("valid");
    assert_eq!(p, VenueParams { depth_2pct_usd: 5e6, mm_inventory_limit_tao: 1e5, ..VenueParams::default() });
    assert_eq!(p.inventory_limit_tao(P0), 1e5);
    assert!(toml::from_str::<VenueParams>("depth = 5e6").is_err());
}

/// A venue displaced by a prior trade (a sale for positive `pre`, a buy for negative), with a
/// profile exponent and depth factor.
fn displaced(pre: f64, exponent: f64, factor: f64) -> Venue {
    let mut v = venue_with(VenueParams { profile_exponent: exponent, ..VenueParams::default() });
    v.set_depth_factor(factor);
    if pre > 0.0 {
        v.sell_now(pre);
    } else {
        v.buy_now(-pre * P0);
    }
    v
}

/// One random operation on the venue.
#[derive(Clone, Debug)]
enum Op {
    SellNow(f64),
    BuyNow(f64),
    Submit { sell: bool, amount: f64, twap: bool, param: f64 },
    Cancel(usize),
    Step { hours: f64, fair_factor: f64 },
    Freeze(bool),
    Depth(f64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1.0f64..1.5e6).prop_map(Op::SellNow),
        (1e3f64..3e8).prop_map(Op::BuyNow),
        (any::<bool>(), 1.0f64..1e6, any::<bool>(), 0.01f64..1.0).prop_map(|(sell, a, twap, param)| Op::Submit {
            sell,
            amount: if sell { a } else { a * P0 },
            twap,
            param
        }),
        (0usize..8).prop_map(Op::Cancel),
        (prop_oneof![Just(1.0), Just(6.0), Just(24.0), Just(0.0)], 0.8f64..1.25)
            .prop_map(|(hours, fair_factor)| Op::Step { hours, fair_factor }),
        any::<bool>().prop_map(Op::Freeze),
        (0.05f64..2.0).prop_map(Op::Depth),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// A sale is paid at most the mid before it and at least the mid after it for every TAO;
    /// a buy symmetrically; nothing fills beyond the amount.
    #[test]
    fn fills_stay_between_the_prices_before_and_after(
        pre in -5e5f64..5e5, amount in 1e-3f64..1e7, exponent in prop_oneof![Just(1.0), Just(2.0), Just(3.0)],
        factor in 0.01f64..3.0,
    ) {
        let mut v = displaced(pre, exponent, factor);
        let before = v.price_usd();
        let f = v.sell_now(amount);
        prop_assert!(f.tao <= amount && f.tao >= 0.0);
        prop_assert!(f.usd <= f.tao * before);
        prop_assert!(f.usd >= f.tao * v.price_usd());
        let mut v = displaced(pre, exponent, factor);
        let before = v.price_usd();
        let usd = amount * P0;
        let f = v.buy_now(usd);
        prop_assert!(f.usd <= usd && f.usd >= 0.0);
        prop_assert!(f.tao <= f.usd / before);
        prop_assert!(f.tao >= f.usd / v.price_usd());
    }

    /// Within a step an order split into parts fills what the whole fills and ends at the same
    /// price: finer splitting never lowers the total impact. A buy-back over the same levels
    /// returns to the start.
    #[test]
    fn splitting_within_a_step_changes_nothing(
        pre in -5e5f64..5e5, amount in 1.0f64..2e6, parts in proptest::collection::vec(0.01f64..1.0, 1..8),
        exponent in prop_oneof![Just(1.0), Just(2.0), Just(3.0)],
    ) {
        let total: f64 = parts.iter().sum();
        let mut whole = displaced(pre, exponent, 1.0);
        let start = whole.displacement();
        let w = whole.sell_now(amount);
        let mut split = displaced(pre, exponent, 1.0);
        let (mut tao, mut usd) = (0.0, 0.0);
        for p in &parts {
            let f = split.sell_now(amount * p / total);
            tao += f.tao;
            usd += f.usd;
        }
        prop_assert!(close(tao, w.tao, 1e-9) && close(usd, w.usd, 1e-9), "{tao} {usd} vs {w:?}");
        prop_assert!(split.displacement() >= whole.displacement() - 1e-12);
        prop_assert!((split.displacement() - whole.displacement()).abs() < 1e-12);
        // Buys split the same way.
        let mut whole = displaced(pre, exponent, 1.0);
        let wb = whole.buy_now(amount * P0);
        let mut split = displaced(pre, exponent, 1.0);
        let (mut tao, mut usd) = (0.0, 0.0);
        for p in &parts {
            let f = split.buy_now(amount * P0 * p / total);
            tao += f.tao;
            usd += f.usd;
        }
        prop_assert!(close(tao, wb.tao, 1e-9) && close(usd, wb.usd, 1e-9), "{tao} {usd} vs {wb:?}");
        prop_assert!(split.displacement() <= whole.displacement() + 1e-12);
        // Round trip: buying back the sale's proceeds returns the TAO and the price.
        let mut v = displaced(pre, exponent, 1.0);
        let s = v.sell_now(amount);
        let b = v.buy_now(s.usd);
        prop_assert!(close(b.tao, s.tao, 1e-9) && (v.displacement() - start).abs() < 1e-9);
    }

    /// Whatever happens, every USD and TAO is somewhere (traders, makers, the wider market),
    /// every order's amount is filled, queued or cancelled, nothing fills while frozen and the
    /// makers never pass their limit.
    #[test]
    fn money_tao_and_orders_are_conserved(ops in proptest::collection::vec(op(), 1..60)) {
        let mut v = venue();
        let (mut t_usd, mut t_tao) = (0.0f64, 0.0f64);
        let mut ids: Vec<(OrderId, usize)> = Vec::new();
        let (mut submitted, mut filled, mut cancelled) = ([0.0f64; 2], [0.0f64; 2], [0.0f64; 2]);
        let mut scale = 1.0f64;
        let mut fair = P0;
        for op in ops {
            let frozen = v.is_frozen();
            let mut fills = Vec::new();
            match op {
                Op::SellNow(tao) => fills.push((Side::Sell, false, v.sell_now(tao))),
                Op::BuyNow(usd) => fills.push((Side::Buy, false, v.buy_now(usd))),
                Op::Submit { sell, amount, twap, param } => {
                    let side = if sell { Side::Sell } else { Side::Buy };
                    let policy = if twap {
                        ExecPolicy::Twap { over_days: param * 2.0 }
                    } else {
                        ExecPolicy::Participation { rate: param }
                    };
                    ids.push((v.submit(1, side, amount, policy).expect("valid order"), usize::from(sell)));
                    submitted[usize::from(sell)] += amount;
                }
                Op::Cancel(i) => {
                    if let Some((id, side)) = ids.get(i).copied()
                        && let Some(rest) = v.cancel(id)
                    {
                        cancelled[side] += rest;
                    }
                }
                Op::Step { hours, fair_factor } => {
                    fair *= fair_factor;
                    v.step(hours / 24.0, fair);
                    for (id, _, f) in v.take_fills() {
                        let sell = ids.iter().any(|(i, side)| *i == id && *side == 1);
                        fills.push((if sell { Side::Sell } else { Side::Buy }, true, f));
                    }
                }
                Op::Freeze(f) => v.set_frozen(f),
                Op::Depth(f) => v.set_depth_factor(f),
            }
            for (side, parent, f) in fills {
                prop_assert!(!frozen || f == Fill::default(), "a fill while frozen");
                scale += f.usd + f.tao * fair;
                match side {
                    Side::Sell => {
                        t_tao -= f.tao;
                        t_usd += f.usd;
                        filled[1] += if parent { f.tao } else { 0.0 };
                    }
                    Side::Buy => {
                        t_tao += f.tao;
                        t_usd -= f.usd;
                        filled[0] += if parent { f.usd } else { 0.0 };
                    }
                }
            }
            prop_assert!(v.inventory_tao().abs() <= v.inventory_limit_tao() * (1.0 + 1e-12));
            let usd = t_usd + v.makers_usd() + v.wider_market_usd();
            let tao = t_tao + v.inventory_tao() + v.wider_market_tao();
            prop_assert!(usd.abs() <= 1e-9 * scale, "USD off by {usd}");
            prop_assert!(tao.abs() <= 1e-9 * scale / P0, "TAO off by {tao}");
        }
        let queued = [v.queued(Side::Buy), v.queued(Side::Sell)];
        for s in 0..2 {
            let off = submitted[s] - filled[s] - queued[s] - cancelled[s];
            prop_assert!(off.abs() <= 1e-9 * submitted[s].max(1.0), "side {s}: off by {off}");
        }
    }
}
