//! The simulated network: the [`Model`] the engine runs for `taosim run`.
//!
//! It owns the chain state and the recorder of outputs, and reacts to a closed set of
//! [`Event`]s. Each block is one event at the block's start time: the block step
//! (subtensor's `block_step.rs`: registration prices, issuance-driven emission, the coinbase,
//! price EMAs) runs, halvings are logged, and every subnet whose epoch fell due gets an
//! [`Event::Epoch`] at the same instant, ordered after the block and by netuid, which pays its
//! drained emission. The timeseries (`timeseries.csv`, chain totals) and the per-subnet series
//! (`subnets.csv`, long format) are sampled every `sample_every_blocks`, and conservation is
//! checked at each sample. Participants ([`crate::economy::participants`]) add their events with their
//! own tie ranks: scenario events (shocks, attacks) and their ends, validators' weight
//! settings and the participants' decisions, each after the block and its epochs.

use crate::chain::emission::{EmissionSchedule, halvings_at};
use crate::chain::epoch::{EpochInput, EpochOutput};
use crate::chain::state::AUTHOR;
use crate::chain::subnet::HotkeyId;
use crate::chain::{ChainState, Rao};
use crate::economy::participants::Participants;
use crate::engine::{Block, Model, Scheduler, SimTime};
use crate::error::Error;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use substrate_fixed::types::U64F64;

/// Every event the network reacts to. Tie ranks order same-instant events by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The chain produces a block: the block step, then sampling. Emitted by the previous
    /// block. Touches the whole chain state.
    Block,
    /// A subnet's epoch pays its drained emission (`distribute_emission`). Emitted by the block
    /// that drained it, at the same instant. Touches that subnet's stakes and neurons.
    Epoch(u16),
    /// A scenario event (index into the scenario's `[[events]]`) ends (depth restored, freeze
    /// lifted). Emitted by its start. Touches the market.
    ScenarioEnd(u16),
    /// A scenario event starts (a shock or an attack). Scheduled at the start. Touches the
    /// market, and the chain through participants' operations.
    Scenario(u16),
    /// Validators set weights on every subnet. Emitted by the previous one, every
    /// `weights_every_blocks`. Touches weights.
    Weights,
    /// Participants decide (miners, holders, validators' sales). Emitted by the previous one,
    /// every `decision_every_blocks`. Touches balances, stakes, registrations and the market.
    Decide,
    /// The market steps (fair value, venue refill, queued orders' fills). Emitted by the
    /// previous one, every `market.step_blocks`. Touches the market and the balances of those
    /// whose purchases fill.
    Market,
}

/// Tie rank of [`Event::Block`] (first at its instant).
pub const TIE_RANK_BLOCK: u64 = 0;
/// Tie rank of [`Event::Epoch`] (after the block, by netuid).
pub const TIE_RANK_EPOCH: u64 = 1;
/// Tie rank of [`Event::ScenarioEnd`] (ends before starts, by index).
pub const TIE_RANK_SCENARIO_END: u64 = 2;
/// Tie rank of [`Event::Scenario`] (by index).
pub const TIE_RANK_SCENARIO: u64 = 3;
/// Tie rank of [`Event::Weights`].
pub const TIE_RANK_WEIGHTS: u64 = 4;
/// Tie rank of [`Event::Decide`].
pub const TIE_RANK_DECIDE: u64 = 5;
/// Tie rank of [`Event::Market`] (last at its instant).
pub const TIE_RANK_MARKET: u64 = 6;

impl Event {
    /// The stable tie key of this event: kind rank in the high bits, entity in the low bits.
    pub fn tie(&self) -> u64 {
        match self {
            Event::Block => TIE_RANK_BLOCK << 32,
            Event::Epoch(netuid) => (TIE_RANK_EPOCH << 32) | u64::from(*netuid),
            Event::ScenarioEnd(i) => (TIE_RANK_SCENARIO_END << 32) | u64::from(*i),
            Event::Scenario(i) => (TIE_RANK_SCENARIO << 32) | u64::from(*i),
            Event::Weights => TIE_RANK_WEIGHTS << 32,
            Event::Decide => TIE_RANK_DECIDE << 32,
            Event::Market => TIE_RANK_MARKET << 32,
        }
    }
}

/// One halving as the run saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct HalvingRecord {
    /// The first block minted at the new rate.
    pub block: u64,
    /// Halvings applied since issuance 0 (k in `base * 2^-k`).
    pub halvings: u32,
    /// Total issuance before that block, in rao.
    pub issuance_rao: u64,
    /// Emission per block before, in rao.
    pub emission_before_rao: u64,
    /// Emission per block from this block on, in rao.
    pub emission_after_rao: u64,
    /// True when a scenario event halved the base emission (a forced halving), not issuance.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub forced: bool,
}

/// Exact decimal TAO of an amount in rao, without trailing zeros (`15750000.5`).
pub fn tao_decimal(amount: Rao) -> String {
    amount.decimal_tao()
}

/// A price (or other fixed-point fraction) for output: Rust's shortest round-trip `{}` of the
/// nearest f64, the same on every platform.
pub fn fixed_decimal(v: U64F64) -> String {
    v.to_num::<f64>().to_string()
}

/// Streams the timeseries, the per-subnet series and the event log as CSV.
pub struct Recorder<W: Write> {
    timeseries: csv::Writer<W>,
    events: csv::Writer<W>,
    subnets: csv::Writer<W>,
    error: Option<csv::Error>,
    /// Rows written to the timeseries.
    pub samples: u64,
    /// Rows written to the event log.
    pub events_logged: u64,
    /// Rows written to the per-subnet series.
    pub subnet_rows: u64,
    /// Extra timeseries columns (participants'), after the chain's.
    extra_columns: usize,
}

/// Columns of `timeseries.csv`, units last.
pub const TIMESERIES_COLUMNS: [&str; 16] = [
    "block",
    "day",
    "total_issuance_tao",
    "block_emission_tao",
    "halvings",
    "minted_tao",
    "recycled_tao",
    "free_tao",
    "subnet_tao_reserves_tao",
    "root_stake_tao",
    "author_fees_tao",
    "subnets",
    "tao_injected_tao",
    "tao_chain_bought_tao",
    "sum_moving_prices",
    "root_sell",
];

/// Columns of `subnets.csv` (one row per subnet per sample), units last.
pub const SUBNET_COLUMNS: [&str; 25] = [
    "block",
    "netuid",
    "price_tao_per_alpha",
    "moving_price_tao_per_alpha",
    "tao_reserve_tao",
    "alpha_reserve_alpha",
    "alpha_out_alpha",
    "alpha_issuance_alpha",
    "quote_weight",
    "emission_share",
    "tao_emission_tao",
    "tao_in_tao",
    "alpha_in_alpha",
    "excess_tao",
    "alpha_bought_alpha",
    "alpha_emission_alpha",
    "root_proportion",
    "pending_alpha",
    "protocol_alpha",
    "alpha_burned_alpha",
    "alpha_recycled_alpha",
    "burn_tao",
    "neurons",
    "tao_flow_in_tao",
    "tao_flow_out_tao",
];

/// Columns of `events.csv`.
pub const EVENT_COLUMNS: [&str; 5] = ["block", "kind", "subject", "value", "detail"];

impl<W: Write> Recorder<W> {
    /// A recorder writing the headers of all three files.
    pub fn new(timeseries: W, events: W, subnets: W) -> Self {
        Self::with_columns(timeseries, events, subnets, &[])
    }

    /// A recorder whose timeseries has `extra` columns after the chain's.
    pub fn with_columns(timeseries: W, events: W, subnets: W, extra: &[String]) -> Self {
        let mut r = Self {
            timeseries: csv::Writer::from_writer(timeseries),
            events: csv::Writer::from_writer(events),
            subnets: csv::Writer::from_writer(subnets),
            error: None,
            samples: 0,
            events_logged: 0,
            subnet_rows: 0,
            extra_columns: extra.len(),
        };
        let header: Vec<&str> = TIMESERIES_COLUMNS.iter().copied().chain(extra.iter().map(String::as_str)).collect();
        let a = r.timeseries.write_record(header);
        let b = r.events.write_record(EVENT_COLUMNS);
        let c = r.subnets.write_record(SUBNET_COLUMNS);
        r.keep(a.and(b).and(c));
        r
    }

    fn keep(&mut self, result: csv::Result<()>) {
        if let Err(e) = result {
            self.error.get_or_insert(e);
        }
    }

    /// Appends a notable event.
    pub fn event(&mut self, block: Block, kind: &str, subject: &str, value: &str, detail: &str) {
        let result = self.events.write_record([block.0.to_string().as_str(), kind, subject, value, detail]);
        self.keep(result);
        self.events_logged += 1;
    }

    fn sample(&mut self, chain: &ChainState, extra: Vec<String>) {
        let block = chain.block;
        let halvings = halvings_at(chain.total_issuance, &chain.schedule).map_or(String::new(), |k| k.to_string());
        let subnets = chain.subnets.iter().flatten();
        let reserves: u128 = subnets.clone().map(|s| u128::from(s.pool.tao.0)).sum();
        let injected: u128 = subnets.clone().map(|s| u128::from(s.last.tao_in.0)).sum();
        let bought: u128 = subnets.clone().map(|s| u128::from(s.last.excess_tao.0)).sum();
        let sum_ema = subnets
            .clone()
            .fold(U64F64::saturating_from_num(0), |a, s| a.saturating_add(U64F64::saturating_from_num(s.moving_price)));
        let tao128 = |v: u128| tao_decimal(Rao(u64::try_from(v).unwrap_or(u64::MAX)));
        let mut row = vec![
            block.0.to_string(),
            block.days().to_string(),
            tao_decimal(chain.total_issuance),
            tao_decimal(chain.block_emission),
            halvings,
            tao_decimal(chain.minted),
            tao_decimal(chain.recycled),
            tao128(chain.free_total()),
            tao128(reserves),
            tao_decimal(chain.root.tao),
            tao_decimal(chain.balance(AUTHOR)),
            chain.subnet_count().to_string(),
            tao128(injected),
            tao128(bought),
            fixed_decimal(sum_ema),
            u8::from(sum_ema > U64F64::saturating_from_num(1)).to_string(),
        ];
        row.extend(extra);
        row.resize(TIMESERIES_COLUMNS.len() + self.extra_columns, String::new());
        let result = self.timeseries.write_record(row);
        self.keep(result);
        self.samples += 1;
        for s in chain.subnets.iter().flatten() {
            let root_prop = chain.root_proportion(s.netuid).to_num::<f64>();
            let pending = s.pending.total() + s.in_flight.map_or(0, |p| p.total());
            let result = self.subnets.write_record([
                block.0.to_string(),
                s.netuid.to_string(),
                fixed_decimal(s.pool.price()),
                fixed_decimal(U64F64::saturating_from_num(s.moving_price)),
                tao_decimal(s.pool.tao),
                tao_decimal(s.pool.alpha),
                tao_decimal(s.alpha_out),
                tao_decimal(s.alpha_issuance()),
                (s.pool.quote_weight as f64 / 1e18).to_string(),
                s.last.share.to_string(),
                tao_decimal(s.last.tao_emission),
                tao_decimal(s.last.tao_in),
                tao_decimal(s.last.alpha_in),
                tao_decimal(s.last.excess_tao),
                tao_decimal(s.last.alpha_bought),
                tao_decimal(s.last.alpha_out),
                root_prop.to_string(),
                tao128(pending),
                tao_decimal(s.protocol_alpha),
                tao_decimal(s.alpha_burned),
                tao_decimal(s.alpha_recycled),
                tao_decimal(s.burn),
                s.neurons.len().to_string(),
                tao128(s.flows.user_in_total),
                tao128(s.flows.user_out_total),
            ]);
            self.keep(result);
            self.subnet_rows += 1;
        }
    }

    /// Flushes all files and hands back the writers (timeseries, events, subnets), or the
    /// first write error.
    pub fn finish(self) -> Result<(W, W, W), String> {
        if let Some(e) = self.error {
            return Err(e.to_string());
        }
        let ts = self.timeseries.into_inner().map_err(|e| e.error().to_string())?;
        let ev = self.events.into_inner().map_err(|e| e.error().to_string())?;
        let sn = self.subnets.into_inner().map_err(|e| e.error().to_string())?;
        Ok((ts, ev, sn))
    }
}

/// The network model.
pub struct Network<W: Write> {
    /// The chain.
    pub chain: ChainState,
    /// The last block the run simulates.
    pub horizon: Block,
    /// Sampling interval in blocks.
    pub sample_every_blocks: u64,
    /// Output streams.
    pub recorder: Recorder<W>,
    /// Halvings seen, in order.
    pub halvings: Vec<HalvingRecord>,
    /// The first invariant failure, which stops the run.
    pub failure: Option<Error>,
    /// Epochs paid.
    pub epochs: u64,
    /// k (issuance-driven halvings) at the start and after each halving seen.
    halvings_seen: Option<u32>,
    /// Subnets whose epochs this block drained and that have not been computed yet.
    due_epochs: Vec<u16>,
    /// Epochs of this block computed ahead (in parallel), waiting to be paid by their event.
    computed_epochs: BTreeMap<u16, (Vec<(HotkeyId, Rao)>, EpochOutput)>,
    /// The participants and their market, when the scenario has them.
    pub participants: Option<Participants>,
    /// A block's due epochs go to the thread pool only when they hold at least this many
    /// stored weights together (see [`PARALLEL_EPOCHS_MIN_WEIGHTS`]); results are the same
    /// either way.
    pub parallel_epochs_min_weights: usize,
}

/// The default [`Network::parallel_epochs_min_weights`]. The chain runs at most two epochs a
/// block; two mainnet-sized epochs (64 validators x 192 miners, 24,576 stored weights
/// together) ran slower on the pool than one after the other on this project's 2-core machine
/// (10 days of `mainnet-like.toml`: 7.03 s wall with 2 threads against 6.66 s with one, and a
/// second of system time), because waking the pool's threads and their spinning afterwards
/// cost more than the second core saves at ~90 µs an epoch. Two nearly full 256-uid subnets
/// (about 65,000 weights each) still go to the pool.
pub const PARALLEL_EPOCHS_MIN_WEIGHTS: usize = 1 << 16;

impl<W: Write> Network<W> {
    /// A network at block 0; records the initial sample.
    pub fn new(chain: ChainState, horizon: Block, sample_every_blocks: u64, recorder: Recorder<W>) -> Self {
        Self::with_participants(chain, horizon, sample_every_blocks, recorder, None)
    }

    /// A network with participants (their columns must be in the recorder's header).
    pub fn with_participants(
        chain: ChainState,
        horizon: Block,
        sample_every_blocks: u64,
        recorder: Recorder<W>,
        participants: Option<Participants>,
    ) -> Self {
        let halvings_seen = halvings_at(chain.total_issuance, &chain.schedule);
        let mut n = Self {
            chain,
            horizon,
            sample_every_blocks: sample_every_blocks.max(1),
            recorder,
            halvings_seen,
            halvings: Vec::new(),
            failure: None,
            epochs: 0,
            due_epochs: Vec::new(),
            computed_epochs: BTreeMap::new(),
            participants,
            parallel_epochs_min_weights: PARALLEL_EPOCHS_MIN_WEIGHTS,
        };
        n.take_sample();
        n
    }

    fn take_sample(&mut self) {
        let extra = self.participants.as_mut().map(|p| p.sample(&self.chain)).unwrap_or_default();
        self.recorder.sample(&self.chain, extra);
    }

    /// Writes the participants' pending rows to `events.csv`.
    fn flush_log(&mut self) {
        if let Some(p) = self.participants.as_mut() {
            for row in p.log.drain(..) {
                self.recorder.event(Block(row.block), row.kind, &row.subject, &row.value, &row.detail);
            }
        }
    }

    /// Schedules the first block; call once before running.
    pub fn start(&self, scheduler: &mut Scheduler<Event>) {
        let first = Block(self.chain.block.0 + 1);
        scheduler.schedule_at(first.start(), Event::Block.tie(), Event::Block);
        if let Some(p) = &self.participants {
            scheduler.schedule_at(first.start(), Event::Weights.tie(), Event::Weights);
            scheduler.schedule_at(first.start(), Event::Decide.tie(), Event::Decide);
            scheduler.schedule_at(first.start(), Event::Market.tie(), Event::Market);
            for (i, e) in p.events.iter().enumerate() {
                let Ok(b) = e.at.block(p.start_date.as_deref()) else { continue };
                let at = Block(b.max(first.0));
                if at <= self.horizon {
                    let event = Event::Scenario(i as u16);
                    scheduler.schedule_at(at.start(), event.tie(), event);
                }
            }
        }
    }

    fn schedule_next(&self, scheduler: &mut Scheduler<Event>, event: Event, every: u64) {
        let next = Block(self.chain.block.0.saturating_add(every.max(1)));
        if next <= self.horizon {
            scheduler.schedule_at(next.start(), event.tie(), event);
        }
    }

    fn block_step(&mut self, scheduler: &mut Scheduler<Event>) {
        let issuance_before = self.chain.total_issuance;
        let outcome = self.chain.step_block();
        let is_halving_schedule = matches!(self.chain.schedule, EmissionSchedule::Halving { .. });
        if is_halving_schedule && outcome.emission < outcome.previous_emission {
            // k in `base * 2^-k` counts the issuance-driven halvings; when emission fell but k
            // did not grow, a scenario event halved the base emission instead (forced).
            let halvings = halvings_at(issuance_before, &self.chain.schedule).unwrap_or(u32::MAX);
            let forced = self.halvings_seen.is_some_and(|k| halvings <= k);
            self.halvings_seen = Some(halvings);
            let record = HalvingRecord {
                block: outcome.block.0,
                halvings,
                issuance_rao: issuance_before.0,
                emission_before_rao: outcome.previous_emission.0,
                emission_after_rao: outcome.emission.0,
                forced,
            };
            let what = if forced {
                "forced halving (the base emission was halved by a scenario event)".to_string()
            } else {
                format!("halving {halvings}")
            };
            self.recorder.event(
                outcome.block,
                "halving",
                "tao",
                &tao_decimal(outcome.emission),
                &format!(
                    "{what} at issuance {} TAO: block emission {} -> {} TAO",
                    tao_decimal(issuance_before),
                    tao_decimal(outcome.previous_emission),
                    tao_decimal(outcome.emission)
                ),
            );
            self.halvings.push(record);
        }
        let block = self.chain.block;
        self.computed_epochs.clear();
        self.due_epochs.clone_from(&outcome.epochs_due);
        for netuid in &outcome.epochs_due {
            let event = Event::Epoch(*netuid);
            scheduler.schedule_at(block.start(), event.tie(), event);
        }
        if block == self.horizon
            && let Some(p) = self.participants.as_mut()
        {
            p.finish(&self.chain);
            self.flush_log();
        }
        if block.0.is_multiple_of(self.sample_every_blocks) || block == self.horizon {
            self.take_sample();
            if let Err(message) = self.chain.check_conservation() {
                self.failure = Some(Error::Invariant { block: block.0, message });
                scheduler.request_stop();
                return;
            }
        }
        if block < self.horizon {
            scheduler.schedule_at(Block(block.0 + 1).start(), Event::Block.tie(), Event::Block);
        }
    }
}

impl<W: Write> Network<W> {
    /// Computes every epoch the last block drained, in parallel where they are large enough:
    /// inputs gathered in netuid order, the epoch function mapped over them with rayon
    /// (`collect` keeps their order), the results kept for the `Epoch` events to pay in netuid
    /// order. Paying one subnet's epoch
    /// does not change another's input (see [`ChainState::pay_epoch`]), so this equals running
    /// them one after another, on any number of threads.
    fn compute_due_epochs(&mut self) {
        let due = std::mem::take(&mut self.due_epochs);
        let inputs: Vec<(u16, EpochInput<'_>)> =
            due.iter().filter_map(|&n| self.chain.drained_epoch_input(n).map(|input| (n, input))).collect();
        let payout = self.chain.payout.clone();
        // Subnets' epochs are staggered, so most blocks have one: run it here, not on the pool
        // (waking the pool's threads costs more than a small epoch); so are a block's epochs
        // when the pool has one thread (handing them to it would only add two context
        // switches) or when they are too small together to pay for waking it.
        let epoch = |(_, input): &(u16, EpochInput<'_>)| payout.epoch(input);
        let weights: usize = inputs.iter().flat_map(|(_, input)| &input.neurons).map(|n| n.weights.len()).sum();
        let parallel =
            inputs.len() > 1 && rayon::current_num_threads() > 1 && weights >= self.parallel_epochs_min_weights;
        let outputs: Vec<EpochOutput> =
            if parallel { inputs.par_iter().map(epoch).collect() } else { inputs.iter().map(epoch).collect() };
        for ((netuid, input), output) in inputs.into_iter().zip(outputs) {
            self.computed_epochs.insert(netuid, (input.stakes(), output));
        }
    }
}

impl<W: Write> Model for Network<W> {
    type Event = Event;

    fn handle(&mut self, _now: SimTime, event: Event, scheduler: &mut Scheduler<Event>) {
        match event {
            Event::Block => self.block_step(scheduler),
            Event::Epoch(netuid) => {
                if !self.due_epochs.is_empty() {
                    self.compute_due_epochs();
                }
                let paid = match self.computed_epochs.remove(&netuid) {
                    Some((stakes, output)) => self.chain.pay_epoch(netuid, &stakes, output),
                    None => self.chain.run_epoch(netuid),
                };
                if paid.is_some() {
                    self.epochs += 1;
                    if let Some(p) = self.participants.as_mut() {
                        p.after_epoch(netuid, &self.chain);
                        p.governance_after_epoch(netuid, &mut self.chain);
                    }
                }
            }
            Event::Scenario(i) => {
                let end = self.participants.as_mut().and_then(|p| p.apply_event(usize::from(i), &mut self.chain));
                if let Some(blocks) = end {
                    self.schedule_next(scheduler, Event::ScenarioEnd(i), blocks);
                }
                self.flush_log();
            }
            Event::ScenarioEnd(i) => {
                if let Some(p) = self.participants.as_mut() {
                    p.end_event(usize::from(i), &mut self.chain);
                }
                self.flush_log();
            }
            Event::Weights => {
                let Some(p) = self.participants.as_mut() else { return };
                p.set_weights(&mut self.chain);
                let every = p.cfg.weights_every_blocks;
                self.schedule_next(scheduler, Event::Weights, every);
            }
            Event::Decide => {
                let Some(p) = self.participants.as_mut() else { return };
                p.decide(&mut self.chain);
                let every = p.cfg.decision_every_blocks;
                self.flush_log();
                self.schedule_next(scheduler, Event::Decide, every);
            }
            Event::Market => {
                let Some(p) = self.participants.as_mut() else { return };
                p.market_step(&mut self.chain);
                let every = p.market.params().step_blocks;
                self.flush_log();
                self.schedule_next(scheduler, Event::Market, every);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Simulation;
    use crate::scenario::Scenario;

    /// Computing a block's epochs together (in parallel) and paying them in netuid order leaves
    /// the chain exactly as running each epoch on its own, one after another, does.
    #[test]
    fn epochs_computed_together_equal_epochs_run_one_by_one() {
        let scenario = Scenario::default();
        let start = || {
            let mut chain = crate::chain::genesis::build(&scenario.genesis()).expect("genesis");
            chain.set_payout(scenario.chain.consensus.payout());
            chain
        };
        let blocks = 1_500;
        let recorder = Recorder::new(Vec::new(), Vec::new(), Vec::new());
        let mut sim = Simulation::new(Network::new(start(), Block(blocks), 100, recorder));
        // Every block with two epochs takes the pool (where the test has more than one thread).
        sim.model.parallel_epochs_min_weights = 0;
        sim.model.start(&mut sim.scheduler);
        sim.run_until(Block(blocks).start());
        let mut sequential = start();
        let mut epochs = 0;
        for _ in 0..blocks {
            for netuid in sequential.step_block().epochs_due {
                epochs += u64::from(sequential.run_epoch(netuid).is_some());
            }
        }
        assert!(epochs >= 8, "the run must pay several epochs, some in the same block");
        assert_eq!(sim.model.epochs, epochs);
        for netuid in sequential.netuids() {
            let a = format!("{:?}", sim.model.chain.subnet(netuid));
            let b = format!("{:?}", sequential.subnet(netuid));
            assert_eq!(a, b, "subnet {netuid}");
        }
    }

    /// A natural halving is counted as one; a scenario's halving of the base emission is
    /// logged as forced, with the same k.
    #[test]
    fn natural_and_forced_halvings_are_told_apart() {
        use crate::chain::emission::EmissionSchedule;
        let mut scenario = Scenario::default();
        scenario.chain.initial_issuance_tao = 15_749_999.0; // two blocks before the halving
        let chain = crate::chain::genesis::build(&scenario.genesis()).expect("genesis");
        let recorder = Recorder::new(Vec::new(), Vec::new(), Vec::new());
        let mut sim = Simulation::new(Network::new(chain, Block(40), 100, recorder));
        sim.model.start(&mut sim.scheduler);
        sim.run_until(Block(20).start());
        assert_eq!(sim.model.halvings.len(), 1);
        assert!(!sim.model.halvings[0].forced);
        if let EmissionSchedule::Halving { cap, base } = sim.model.chain.schedule {
            sim.model.chain.schedule = EmissionSchedule::Halving { cap, base: Rao(base.0 / 2) };
        }
        sim.run_until(Block(40).start());
        assert_eq!(sim.model.halvings.len(), 2);
        let forced = sim.model.halvings[1];
        assert!(forced.forced);
        assert_eq!(forced.halvings, sim.model.halvings[0].halvings);
        assert_eq!(forced.emission_after_rao * 2, forced.emission_before_rao);
    }
}
