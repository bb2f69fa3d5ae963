//! The metrics of one run, found by column name in its timeseries and event log.
//!
//! Every metric is looked up by the names later models write; when a column is absent the
//! metric is skipped and a note says which column it needs. Metric names are dotted, series
//! first and unit last (`tao_usd_price.max_drawdown_fraction`).
//!
//! | metric | from | definition |
//! |---|---|---|
//! | `<price>.min`, `.max` | any column with the token `price` | over the samples after `run.burn_in` (for [`crate::flags`]) |
//! | `<price>.max_drawdown_fraction` | any column with the token `price` | [`risk::max_drawdown`] over every sample after `run.burn_in` |
//! | `<price>.event.max_drawdown_fraction`, `.event.trough_days`, `.event.recovery_days`, `.event.recovered`, `.event.never_recovered`, `.event.var95_daily_loss_fraction`, ... | same, and a `shock`, `attack_step`, `halt_emission` or `halving` event | [`event_price_metrics`], from the first stress (else halving) at or after `run.burn_in` |
//! | `<price>.recovery_days`, `.recovered` | same | days from the trough back to the peak; 0/1 |
//! | `<price>.var95_daily_loss_fraction`, `.es95_...`, `.var99_...`, `.es99_...` | same | historical VaR/ES of daily simple returns ([`risk::historical_var_es`]) |
//! | `sell_pressure_over_depth.peak_per_day` | `sell_pressure_<ccy>_per_day` and `depth_<ccy>` | [`risk::peak_ratio`] |
//! | `<queued sell column>.peak`, `.peak_day` | a column with the tokens `queued` and `sell` (`queued_sell_tao`) | the most selling left unfilled (what the book could not absorb), after the burn-in, and when |
//! | `tao_market_cap_usd.event.before_usd`, `.event.max_loss_usd`; `<income>.event.before_7d`, `.after_7d` | `total_issuance_tao`, the TAO/USD price; columns with `profit` or `dividends`; an event | [`event_economy_metrics`] |
//! | `halvingK.miner_exit_30d_fraction` | `halving` events, `exit` events of subject `miner N`, `active_miners` | exits in `[h, h + 30 d)` over active miners just before `h` |
//! | `halvingK.gpus_online_before`, `_after_30d`, `_change_fraction` | `gpus_online` or the sum of `gpus_online_*` | last sample before `h`; at `h + 30 d` |
//! | `<attacker share>.mean`, `attackers.emission_over_<x>_share_ratio` | columns with the token `attacker(s)` and `share` | mean from the first sample with a positive attacker share |
//! | `<attacker cost>.final` | columns with `attacker(s)` and `cost` | last value (cumulative cost) |
//! | `<gini/nakamoto column>.final`, `.mean` | columns with the token `gini` or `nakamoto` | |
//! | `events.<kind>_count` | events.csv | events of each kind |

use crate::folder::{Event, Table};
use crate::risk::{self, BLOCKS_PER_DAY};
use crate::units::has_token;

/// Days in the window after a halving in which exits and GPUs are counted.
pub const HALVING_WINDOW_DAYS: u64 = 30;

/// The event kind of a halving.
pub const HALVING_EVENT: &str = "halving";

/// The event kind the simulator writes when a participant leaves (`exit`); whose exit it is
/// is in the subject (`miner 17`, `holder 3`).
pub const EXIT_EVENT: &str = "exit";

/// The subject prefix of a miner's events (`miner 17`).
pub const MINER_SUBJECT: &str = "miner";

/// An older spelling of a miner's exit (kind `miner_exit`), still read so that event logs
/// written by hand or by earlier models count.
pub const LEGACY_MINER_EXIT_EVENT: &str = "miner_exit";

/// Whether an event is a miner leaving: kind `exit` with a subject `miner <id>` (what the
/// simulator writes), or the older kind `miner_exit`. Holders' exits share the kind `exit`
/// and must not be counted as miners'.
pub fn is_miner_exit(e: &Event) -> bool {
    if e.kind == LEGACY_MINER_EXIT_EVENT {
        return true;
    }
    e.kind == EXIT_EVENT && e.subject.split_whitespace().next() == Some(MINER_SUBJECT)
}

/// Metrics of a run and notes on what was skipped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunMetrics {
    /// `(name, value)` in a fixed order; only finite values.
    pub values: Vec<(String, f64)>,
    /// Why some metrics are missing.
    pub notes: Vec<String>,
}

impl RunMetrics {
    fn push(&mut self, name: impl Into<String>, value: f64) {
        if value.is_finite() {
            self.values.push((name.into(), value));
        }
    }

    fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }
}

/// Blocks and values of a column with missing samples removed.
fn present(blocks: &[u64], values: &[f64]) -> (Vec<u64>, Vec<f64>) {
    blocks.iter().zip(values).filter(|(_, v)| v.is_finite()).map(|(b, v)| (*b, *v)).unzip()
}

fn days_between(a: u64, b: u64) -> f64 {
    b.saturating_sub(a) as f64 / BLOCKS_PER_DAY as f64
}

/// Where a run's metrics are measured from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// The run's `run.burn_in` in blocks: the start-up from the genesis snapshot, whose
    /// transient moves are not the scenario's risk. Whole-run price metrics start at it, and
    /// the event metrics' event is the first at or after it.
    pub burn_in_blocks: u64,
}

/// The event kind of a scripted shock (a price jump, a depth cut, a forced halving...).
pub const SHOCK_EVENT: &str = "shock";

/// The event kind of an attack's steps (a cabal's or takeover's stake purchases, a
/// governance attack's seat purchase or conviction lock).
pub const ATTACK_EVENT: &str = "attack_step";

/// The event kind of a governance halt of emission.
pub const HALT_EVENT: &str = "halt_emission";

/// What a scenario scripts as its stress: a shock, an attack's first step, a halt of
/// emission. The earliest one is the event of event-relative metrics.
pub const STRESS_EVENTS: [&str; 3] = [SHOCK_EVENT, ATTACK_EVENT, HALT_EVENT];

/// The block event-relative metrics are measured from: the first scripted stress (a shock,
/// an attack's first step, a halt of emission; [`STRESS_EVENTS`]) at or after the burn-in,
/// else the first halving at or after it (a halving is the event of a halving study; a
/// stress scripted after it is a second event).
pub fn event_block(events: &[Event], window: Window) -> Option<u64> {
    let first = |kinds: &[&str]| {
        events
            .iter()
            .filter(|e| kinds.contains(&e.kind.as_str()) && e.block >= window.burn_in_blocks)
            .map(|e| e.block)
            .min()
    };
    first(&STRESS_EVENTS).or_else(|| first(&[HALVING_EVENT]))
}

/// Drawdown, time to trough, recovery and daily tail risk measured from an event, pushed as
/// `<name>.event.<metric>`: over the samples from the last one before `event` (the level the
/// event starts from, the first peak) to the end. Whole-run figures would be dominated by
/// whatever happened first (in a fresh network, the start-up transient).
///
/// A run whose price never regains the drawdown's peak has `.event.recovered` 0 and
/// `.event.never_recovered` 1 and no `.event.recovery_days`: averages of recovery days are
/// over the runs that recovered only, and the share that did not is reported beside them.
pub fn event_price_metrics(name: &str, blocks: &[u64], values: &[f64], event: u64, out: &mut RunMetrics) {
    let (blocks, values) = present(blocks, values);
    let start = blocks.iter().rposition(|&b| b < event).or_else(|| blocks.iter().position(|&b| b >= event));
    let Some(start) = start else { return };
    let (blocks, values) = (&blocks[start..], &values[start..]);
    if let Some(d) = risk::max_drawdown(values) {
        out.push(format!("{name}.event.max_drawdown_fraction"), d.depth_fraction);
        out.push(format!("{name}.event.trough_days"), days_between(event, blocks[d.trough_index]));
        let recovered = d.recovery_index.is_some();
        out.push(format!("{name}.event.recovered"), f64::from(u8::from(recovered)));
        out.push(format!("{name}.event.never_recovered"), f64::from(u8::from(!recovered)));
        if let Some(r) = d.recovery_index {
            out.push(format!("{name}.event.recovery_days"), days_between(blocks[d.trough_index], blocks[r]));
        }
    }
    let returns = risk::simple_returns(&risk::daily_closes(blocks, values, BLOCKS_PER_DAY));
    for (level, tag) in [(0.95, "95"), (0.99, "99")] {
        if let Some(t) = risk::historical_var_es(&returns, level) {
            out.push(format!("{name}.event.var{tag}_daily_loss_fraction"), t.var);
            out.push(format!("{name}.event.es{tag}_daily_loss_fraction"), t.es);
        }
    }
}

/// Days before and after an event over which incomes are averaged.
pub const INCOME_WINDOW_DAYS: u64 = 7;

/// The mean of the finite values at blocks in `[from, to)`.
fn mean_between(blocks: &[u64], values: &[f64], from: u64, to: u64) -> Option<f64> {
    let inside: Vec<f64> =
        blocks.iter().zip(values).filter(|(b, v)| (from..to).contains(*b) && v.is_finite()).map(|(_, v)| *v).collect();
    crate::stats::mean(&inside)
}

/// What an event costs in USD and in income, for the risk summary:
/// - `tao_market_cap_usd.event.before_usd`: total issuance x TAO/USD at the last sample
///   before the event; `.event.max_loss_usd`: that minus the lowest market cap from the event
///   on (0 when it never falls below);
/// - for each income column (tokens `profit` or `dividends`, e.g.
///   `miner_profit_p50_usd_per_day`, `validator_dividends_honest_tao_per_day`):
///   `<column>.event.before_7d` and `.event.after_7d`, its mean over the 7 days before the
///   event and the 7 days from it.
pub fn event_economy_metrics(table: &Table, event: u64, out: &mut RunMetrics) {
    let blocks = &table.blocks;
    let price = table.columns.iter().position(|c| crate::flags::is_tao_usd_price(c));
    if let (Some(p), Some(issuance)) = (price, table.column("total_issuance_tao")) {
        let cap: Vec<f64> = issuance.iter().zip(&table.values[p]).map(|(i, p)| i * p).collect();
        let (b, c) = present(blocks, &cap);
        let start = b.iter().rposition(|&x| x < event).or_else(|| b.iter().position(|&x| x >= event));
        if let Some(start) = start {
            let before = c[start];
            let low = c[start..].iter().copied().fold(f64::INFINITY, f64::min);
            out.push("tao_market_cap_usd.event.before_usd", before);
            out.push("tao_market_cap_usd.event.max_loss_usd", (before - low).max(0.0));
        }
    }
    let window = INCOME_WINDOW_DAYS * BLOCKS_PER_DAY;
    for (i, column) in table.columns.iter().enumerate() {
        if !(has_token(column, "profit") || has_token(column, "dividends")) {
            continue;
        }
        let values = &table.values[i];
        if let Some(m) = mean_between(blocks, values, event.saturating_sub(window), event) {
            out.push(format!("{column}.event.before_7d"), m);
        }
        if let Some(m) = mean_between(blocks, values, event, event.saturating_add(window)) {
            out.push(format!("{column}.event.after_7d"), m);
        }
    }
}

/// Drawdown, recovery and daily tail risk of one price series, pushed as `<name>.<metric>`.
pub fn price_metrics(name: &str, blocks: &[u64], values: &[f64], out: &mut RunMetrics) {
    let (blocks, values) = present(blocks, values);
    if let Some(d) = risk::max_drawdown(&values) {
        out.push(format!("{name}.max_drawdown_fraction"), d.depth_fraction);
        out.push(format!("{name}.recovered"), f64::from(u8::from(d.recovery_index.is_some())));
        if let Some(r) = d.recovery_index {
            out.push(format!("{name}.recovery_days"), days_between(blocks[d.trough_index], blocks[r]));
        }
    }
    let returns = risk::simple_returns(&risk::daily_closes(&blocks, &values, BLOCKS_PER_DAY));
    for (level, tag) in [(0.95, "95"), (0.99, "99")] {
        if let Some(t) = risk::historical_var_es(&returns, level) {
            out.push(format!("{name}.var{tag}_daily_loss_fraction"), t.var);
            out.push(format!("{name}.es{tag}_daily_loss_fraction"), t.es);
        }
    }
    if returns.len() < 2 {
        out.note("VaR and ES need at least 2 daily returns (runs of 3 days or more): skipped for shorter runs");
    } else if returns.len() < 100 {
        out.note(format!(
            "VaR/ES 99% from fewer than 100 daily returns (here {}) rest on the one or two worst days: read them as indicative",
            returns.len()
        ));
    }
}

fn is_price(column: &str) -> bool {
    has_token(column, "price")
}

fn currency_of(column: &str) -> Option<&'static str> {
    ["usd", "tao", "alpha"].into_iter().find(|c| has_token(column, c))
}

/// The metrics of one run from its timeseries and events, measured after `window`'s burn-in.
pub fn run_metrics(table: &Table, events: &[Event], window: Window) -> RunMetrics {
    let mut out = RunMetrics::default();
    let blocks = &table.blocks;
    let last_block = blocks.last().copied().unwrap_or(0);

    // Prices: drawdown, recovery, VaR, ES, after the burn-in and from the event.
    let prices: Vec<usize> = (0..table.columns.len()).filter(|&i| is_price(&table.columns[i])).collect();
    if prices.is_empty() {
        out.note("no price column in timeseries.csv (a name with the token `price`, e.g. tao_usd_price): drawdown, VaR and ES skipped");
    }
    let from = blocks.partition_point(|&b| b < window.burn_in_blocks);
    if window.burn_in_blocks > 0 {
        out.push("run.burn_in_days", days_between(0, window.burn_in_blocks));
    }
    let event = event_block(events, window);
    match event {
        Some(e) => out.push("event.day", days_between(0, e)),
        None if !prices.is_empty() => out.note(
            "no shock, attack, halt of emission or halving in events.csv at or after the burn-in: the event-relative price metrics (<price>.event.*) skipped; the whole-run ones include whatever happens first",
        ),
        None => {}
    }
    for i in prices {
        let column = &table.columns[i];
        let (_, after) = present(&blocks[from..], &table.values[i][from..]);
        let (lo, hi) = after.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
        out.push(format!("{column}.min"), lo);
        out.push(format!("{column}.max"), hi);
        price_metrics(column, &blocks[from..], &table.values[i][from..], &mut out);
        if let Some(e) = event {
            event_price_metrics(column, blocks, &table.values[i], e, &mut out);
        }
    }
    if let Some(e) = event {
        event_economy_metrics(table, e, &mut out);
    }

    // Sell pressure over depth, in matching currencies.
    let find = |pred: &dyn Fn(&str) -> bool| table.columns.iter().position(|c| pred(c));
    let pair = ["usd", "tao"].into_iter().find_map(|ccy| {
        let sell = find(&|c: &str| has_token(c, "sell") && has_token(c, "pressure") && currency_of(c) == Some(ccy))?;
        let depth = find(&|c: &str| has_token(c, "depth") && currency_of(c) == Some(ccy))?;
        Some((sell, depth))
    });
    match pair {
        Some((sell, depth)) => {
            if let Some((ratio, at)) = risk::peak_ratio(&table.values[sell], &table.values[depth]) {
                out.push("sell_pressure_over_depth.peak_per_day", ratio);
                out.push("sell_pressure_over_depth.peak_day", days_between(0, blocks[at]));
            }
        }
        None => out.note(
            "no sell-pressure and depth columns in one currency (e.g. sell_pressure_usd_per_day and depth_usd): peak sell pressure over depth skipped",
        ),
    }

    // Selling the book could not absorb: what is left queued (the fills above are what it did
    // absorb, so their ratio to depth alone cannot show the excess).
    for (i, column) in table.columns.iter().enumerate() {
        if has_token(column, "queued") && has_token(column, "sell") {
            let peak = (0..blocks.len())
                .filter(|&s| blocks[s] >= window.burn_in_blocks && table.values[i][s].is_finite())
                .max_by(|&x, &y| table.values[i][x].total_cmp(&table.values[i][y]).then(y.cmp(&x)));
            if let Some(s) = peak {
                out.push(format!("{column}.peak"), table.values[i][s].max(0.0));
                out.push(format!("{column}.peak_day"), days_between(0, blocks[s]));
            }
        }
    }

    // Halvings: exits and GPUs around each.
    let halvings: Vec<u64> = events.iter().filter(|e| e.kind == HALVING_EVENT).map(|e| e.block).collect();
    let exits: Vec<u64> = events.iter().filter(|e| is_miner_exit(e)).map(|e| e.block).collect();
    let active = table.column("active_miners");
    let gpus: Option<Vec<f64>> = table.column("gpus_online").map(<[f64]>::to_vec).or_else(|| {
        let parts: Vec<usize> =
            (0..table.columns.len()).filter(|&i| table.columns[i].starts_with("gpus_online_")).collect();
        (!parts.is_empty()).then(|| {
            (0..blocks.len())
                .map(|s| parts.iter().map(|&i| table.values[i][s]).filter(|x| x.is_finite()).sum())
                .collect()
        })
    });
    let window = HALVING_WINDOW_DAYS * BLOCKS_PER_DAY;
    if halvings.is_empty() {
        out.note("no halving in a run: the per-halving exit fraction and GPUs online skipped for it");
    } else {
        if active.is_none() {
            out.note("no active_miners column: the miners' exit fraction after each halving skipped");
        }
        if gpus.is_none() {
            out.note("no gpus_online column (or gpus_online_<type> columns): GPUs online around each halving skipped");
        }
    }
    for (k, &h) in halvings.iter().enumerate() {
        let tag = format!("halving{}", k + 1);
        out.push(format!("{tag}.block"), h as f64);
        let window_end = h.saturating_add(window).min(last_block.saturating_add(1));
        out.push(format!("{tag}.window_days"), days_between(h, window_end));
        if window_end < h.saturating_add(window) {
            out.note("a 30-day window after a halving runs past the end of a run: counted to the end (see halvingK.window_days)");
        }
        if let Some(active) = active {
            let exited = risk::count_in_window(&exits, h, window) as f64;
            out.push(format!("{tag}.miner_exits_30d_count"), exited);
            if let Some(before) = risk::value_before(blocks, active, h).filter(|a| *a > 0.0) {
                out.push(format!("{tag}.miner_exit_30d_fraction"), exited / before);
            }
        }
        if let Some(gpus) = &gpus {
            let before = risk::value_before(blocks, gpus, h);
            let after = risk::value_at_or_before(blocks, gpus, h.saturating_add(window));
            if let Some(b) = before {
                out.push(format!("{tag}.gpus_online_before"), b);
            }
            if let Some(a) = after {
                out.push(format!("{tag}.gpus_online_after_30d"), a);
            }
            if let (Some(b), Some(a)) = (before, after)
                && b > 0.0
            {
                out.push(format!("{tag}.gpus_online_change_fraction"), a / b - 1.0);
            }
        }
    }

    // Attackers: share of emission against share of stake or cost, and cost.
    let attacker: Vec<usize> = (0..table.columns.len())
        .filter(|&i| has_token(&table.columns[i], "attacker") || has_token(&table.columns[i], "attackers"))
        .collect();
    if attacker.is_empty() {
        out.note("no attacker columns (e.g. attacker_emission_share, attacker_stake_share, attacker_cost_usd): attack metrics skipped");
    }
    let shares: Vec<usize> = attacker.iter().copied().filter(|&i| has_token(&table.columns[i], "share")).collect();
    let start = (0..blocks.len()).find(|&s| shares.iter().any(|&i| table.values[i][s] > 0.0));
    let mut share_means: Vec<(String, f64)> = Vec::new();
    for &i in &shares {
        let values: Vec<f64> =
            table.values[i][start.unwrap_or(0)..].iter().copied().filter(|x| x.is_finite()).collect();
        if let Some(m) = crate::stats::mean(&values) {
            out.push(format!("{}.mean", table.columns[i]), m);
            share_means.push((table.columns[i].clone(), m));
        }
    }
    if let Some((_, emission)) = share_means.iter().find(|(c, _)| has_token(c, "emission")) {
        for (column, m) in &share_means {
            let other = ["stake", "cost"].into_iter().find(|t| has_token(column, t));
            if let Some(other) = other
                && *m > 0.0
            {
                out.push(format!("attackers.emission_over_{other}_share_ratio"), emission / m);
            }
        }
    }
    for &i in &attacker {
        let column = &table.columns[i];
        if has_token(column, "cost") && !has_token(column, "share") {
            let (_, v) = present(blocks, &table.values[i]);
            if let Some(last) = v.last() {
                out.push(format!("{column}.final"), *last);
            }
        }
    }

    // Concentration columns written by the model.
    for (i, column) in table.columns.iter().enumerate() {
        if has_token(column, "gini") || has_token(column, "nakamoto") {
            let (_, v) = present(blocks, &table.values[i]);
            if let (Some(last), Some(mean)) = (v.last(), crate::stats::mean(&v)) {
                out.push(format!("{column}.final"), *last);
                out.push(format!("{column}.mean"), mean);
            }
        }
    }

    // Event counts by kind, in order of first appearance.
    let mut kinds: Vec<(&str, usize)> = Vec::new();
    for e in events {
        match kinds.iter_mut().find(|(k, _)| *k == e.kind) {
            Some((_, n)) => *n += 1,
            None => kinds.push((&e.kind, 1)),
        }
    }
    for (kind, n) in kinds {
        out.push(format!("events.{kind}_count"), n as f64);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(block: u64, kind: &str) -> Event {
        Event { block, kind: kind.into(), subject: String::new(), value: f64::NAN }
    }

    /// An exit as the simulator writes it (`exit`, subject `miner 17` or `holder 3`).
    fn exit(block: u64, subject: &str) -> Event {
        Event { block, kind: EXIT_EVENT.into(), subject: subject.into(), value: f64::NAN }
    }

    fn value(m: &RunMetrics, name: &str) -> Option<f64> {
        m.values.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    #[test]
    fn halving_exits_and_gpus_are_counted_in_the_30_day_window() {
        // Samples daily for 60 days; halving at day 10. 200 active miners before it; 5 exits
        // in [day 10, day 40), one before and one at day 40 (outside).
        let day = BLOCKS_PER_DAY;
        let mut t = Table { blocks: (0..=60).map(|d| d * day).collect(), ..Table::default() };
        t.push_column("active_miners".into(), (0..=60).map(|d| if d < 10 { 200.0 } else { 195.0 }).collect());
        t.push_column("gpus_online_h100".into(), (0..=60).map(|d| if d < 10 { 1000.0 } else { 800.0 }).collect());
        t.push_column("gpus_online_a100".into(), vec![100.0; 61]);
        // Exits as the simulator writes them; holders' exits in the window are not miners'.
        let mut events = vec![event(10 * day, HALVING_EVENT), exit(3 * day, "miner 1")];
        events.extend([10, 11, 12, 20, 39].map(|d| exit(d * day, &format!("miner {d}"))));
        events.push(exit(40 * day, "miner 40"));
        events.extend([11, 15].map(|d| exit(d * day, &format!("holder {d}"))));
        events.sort_by_key(|e| e.block);
        let m = run_metrics(&t, &events, Window::default());
        assert_eq!(value(&m, "halving1.miner_exits_30d_count"), Some(5.0));
        assert_eq!(value(&m, "halving1.miner_exit_30d_fraction"), Some(5.0 / 200.0));
        assert_eq!(value(&m, "halving1.gpus_online_before"), Some(1100.0));
        assert_eq!(value(&m, "halving1.gpus_online_after_30d"), Some(900.0));
        assert!((value(&m, "halving1.gpus_online_change_fraction").expect("change") + 200.0 / 1100.0).abs() < 1e-12);
        assert_eq!(value(&m, "halving1.window_days"), Some(30.0));
        assert_eq!(value(&m, "events.exit_count"), Some(9.0));
        assert!(m.notes.iter().any(|n| n.contains("no price column")), "{:?}", m.notes);
    }

    /// Daily prices: a start-up spike (100 -> 400 -> 100 by day 3), flat to day 5, a shock at
    /// day 5 (a shock before the burn-in at day 2 too), the trough 50 at day 8, back to 100
    /// at day 12, then 110.
    fn shocked_run(recover: bool) -> (Table, Vec<Event>) {
        let day = BLOCKS_PER_DAY;
        let mut prices = vec![100.0, 400.0, 200.0, 100.0, 100.0, 100.0, 60.0, 55.0, 50.0, 70.0, 80.0, 90.0];
        prices.extend(if recover { [100.0, 110.0] } else { [95.0, 99.0] });
        let mut t = Table { blocks: (0..prices.len() as u64).map(|d| d * day).collect(), ..Table::default() };
        t.push_column("tao_price_usd".into(), prices);
        let events = vec![event(2 * day, SHOCK_EVENT), event(5 * day, SHOCK_EVENT), event(6 * day, HALVING_EVENT)];
        (t, events)
    }

    #[test]
    fn price_risk_is_measured_from_the_event_after_the_burn_in() {
        let window = Window { burn_in_blocks: 4 * BLOCKS_PER_DAY };
        let (t, events) = shocked_run(true);
        assert_eq!(event_block(&events, window), Some(5 * BLOCKS_PER_DAY), "the first shock after the burn-in");
        let m = run_metrics(&t, &events, window);
        assert_eq!(value(&m, "event.day"), Some(5.0));
        assert_eq!(value(&m, "run.burn_in_days"), Some(4.0));
        // From the event: 100 before it, trough 50 three days later, 100 again 4 days on.
        assert_eq!(value(&m, "tao_price_usd.event.max_drawdown_fraction"), Some(0.5));
        assert_eq!(value(&m, "tao_price_usd.event.trough_days"), Some(3.0));
        assert_eq!(value(&m, "tao_price_usd.event.recovery_days"), Some(4.0));
        assert_eq!(value(&m, "tao_price_usd.event.recovered"), Some(1.0));
        assert_eq!(value(&m, "tao_price_usd.event.never_recovered"), Some(0.0));
        // The worst daily loss from the event is the shock's day: 100 -> 60.
        let es99 = value(&m, "tao_price_usd.event.es99_daily_loss_fraction").expect("es99");
        assert!((es99 - 0.4).abs() < 1e-12, "{es99}");
        // The whole-run drawdown after the burn-in is the shock's too; with the start-up it is 400 -> 50.
        assert_eq!(value(&m, "tao_price_usd.max_drawdown_fraction"), Some(0.5));
        let no_burn_in = run_metrics(&t, &events, Window::default());
        assert_eq!(value(&no_burn_in, "tao_price_usd.max_drawdown_fraction"), Some(0.875));
        assert_eq!(value(&no_burn_in, "event.day"), Some(2.0), "without a burn-in the first shock counts");
    }

    #[test]
    fn the_event_costs_market_cap_and_income() {
        let (mut t, events) = shocked_run(true);
        let n = t.blocks.len();
        t.push_column("total_issuance_tao".into(), vec![1_000.0; n]);
        // Miners' profit 10/day for the 5 days before the shock, -4/day after it.
        t.push_column("miner_profit_p50_usd_per_day".into(), (0..n).map(|d| if d < 5 { 10.0 } else { -4.0 }).collect());
        let m = run_metrics(&t, &events, Window { burn_in_blocks: 4 * BLOCKS_PER_DAY });
        // Before: 1,000 TAO x $100; the lowest after: 1,000 x $50.
        assert_eq!(value(&m, "tao_market_cap_usd.event.before_usd"), Some(100_000.0));
        assert_eq!(value(&m, "tao_market_cap_usd.event.max_loss_usd"), Some(50_000.0));
        assert_eq!(value(&m, "miner_profit_p50_usd_per_day.event.before_7d"), Some(10.0));
        assert_eq!(value(&m, "miner_profit_p50_usd_per_day.event.after_7d"), Some(-4.0));
    }

    #[test]
    fn a_run_that_never_recovers_says_so() {
        let (t, events) = shocked_run(false);
        let m = run_metrics(&t, &events, Window { burn_in_blocks: 4 * BLOCKS_PER_DAY });
        assert_eq!(value(&m, "tao_price_usd.event.recovered"), Some(0.0));
        assert_eq!(value(&m, "tao_price_usd.event.never_recovered"), Some(1.0));
        assert_eq!(value(&m, "tao_price_usd.event.recovery_days"), None);
        // Without a shock the halving is the event; without either, a note.
        let halving = [event(6 * BLOCKS_PER_DAY, HALVING_EVENT)];
        assert_eq!(event_block(&halving, Window::default()), Some(6 * BLOCKS_PER_DAY));
        // An attack's first step, or a halt of emission, is a scripted stress like a shock:
        // it comes before a halving, and the earliest stress wins.
        let day = BLOCKS_PER_DAY;
        let attack = [event(6 * day, HALVING_EVENT), event(9 * day, ATTACK_EVENT), event(10 * day, ATTACK_EVENT)];
        assert_eq!(event_block(&attack, Window::default()), Some(9 * day));
        let both = [event(8 * day, HALT_EVENT), event(9 * day, SHOCK_EVENT), event(3 * day, ATTACK_EVENT)];
        assert_eq!(event_block(&both, Window { burn_in_blocks: 4 * day }), Some(8 * day));
        let m = run_metrics(&t, &[], Window::default());
        assert!(m.notes.iter().any(|n| n.contains("no shock, attack, halt of emission or halving")), "{:?}", m.notes);
        assert_eq!(value(&m, "tao_price_usd.event.max_drawdown_fraction"), None);
    }

    #[test]
    fn a_miner_exit_is_the_simulators_exit_of_a_miner() {
        assert!(is_miner_exit(&exit(5, "miner 17")));
        assert!(!is_miner_exit(&exit(5, "holder 17")));
        assert!(!is_miner_exit(&exit(5, "miners")), "only the subject's first word, exactly");
        assert!(is_miner_exit(&event(5, LEGACY_MINER_EXIT_EVENT)));
        assert!(!is_miner_exit(&event(5, "entry")));
    }

    #[test]
    fn price_sell_pressure_and_attack_metrics() {
        let day = BLOCKS_PER_DAY;
        let mut t = Table { blocks: (0..=4).map(|d| d * day).collect(), ..Table::default() };
        t.push_column("tao_usd_price".into(), vec![100.0, 120.0, 90.0, 130.0, 117.0]);
        t.push_column("sell_pressure_usd_per_day".into(), vec![1.0, 2.0, 9.0, 1.0, 1.0]);
        t.push_column("depth_usd".into(), vec![100.0, 100.0, 30.0, 100.0, 100.0]);
        t.push_column("queued_sell_tao".into(), vec![-0.0, 0.0, 500.0, 120.0, 0.0]);
        t.push_column("attacker_emission_share".into(), vec![0.0, 0.2, 0.4, 0.4, 0.4]);
        t.push_column("attacker_stake_share".into(), vec![0.0, 0.1, 0.1, 0.1, 0.1]);
        t.push_column("attacker_cost_usd".into(), vec![0.0, 50.0, 60.0, 60.0, 60.0]);
        let m = run_metrics(&t, &[], Window::default());
        assert_eq!(value(&m, "queued_sell_tao.peak"), Some(500.0), "the most left unsold");
        assert_eq!(value(&m, "queued_sell_tao.peak_day"), Some(2.0));
        assert!((value(&m, "tao_usd_price.max_drawdown_fraction").expect("dd") - 0.25).abs() < 1e-12);
        assert_eq!(value(&m, "tao_usd_price.recovery_days"), Some(1.0), "trough day 2, back above 120 on day 3");
        // Returns: +20%, -25%, +44.4%, -10%: 95% VaR = -Q(0.05): h = 0.15 -> -0.25 + 0.15 * 0.15.
        let var95 = value(&m, "tao_usd_price.var95_daily_loss_fraction").expect("var");
        assert!((var95 - (0.25 - 0.15 * 0.15)).abs() < 1e-12, "{var95}");
        assert_eq!(value(&m, "sell_pressure_over_depth.peak_per_day"), Some(0.3));
        assert_eq!(value(&m, "sell_pressure_over_depth.peak_day"), Some(2.0));
        // Means from day 1 (first positive share): emission 0.35, stake 0.1 -> 3.5x.
        assert!((value(&m, "attacker_emission_share.mean").expect("mean") - 0.35).abs() < 1e-12);
        assert!((value(&m, "attackers.emission_over_stake_share_ratio").expect("ratio") - 3.5).abs() < 1e-12);
        assert_eq!(value(&m, "attacker_cost_usd.final"), Some(60.0));
        assert!(!m.notes.iter().any(|n| n.contains("no price column")));
    }
}
