//! The simulated network: the [`Model`] the engine runs for `taosim run`.
//!
//! It owns the chain state and the recorder of outputs, and reacts to a closed set of
//! [`Event`]s. Each block is one event at the block's start time; the block step mints the
//! issuance-driven emission (subtensor's coinbase, `block_step.rs`), logs halvings, samples
//! the timeseries every `sample_every_blocks` and checks conservation at each sample.
//! Later models (subnets, pools, epochs, participants) add their state here and their events
//! to [`Event`], each with its own tie rank.

use crate::chain::emission::{EmissionSchedule, halvings_at};
use crate::chain::{ChainState, RAO_PER_TAO, Rao};
use crate::engine::{Block, Model, Scheduler, SimTime};
use crate::error::Error;
use serde::Serialize;
use std::io::Write;

/// Every event the network reacts to. Tie ranks order same-instant events by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The chain produces a block: emission, then sampling. Emitted by the previous block.
    Block,
}

impl Event {
    /// The stable tie key of this event: kind rank in the high bits, entity in the low bits.
    pub fn tie(&self) -> u64 {
        match self {
            Event::Block => 0,
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
}

/// Exact decimal TAO of an amount in rao, without trailing zeros (`15750000.5`).
pub fn tao_decimal(amount: Rao) -> String {
    let whole = amount.0 / RAO_PER_TAO;
    let frac = amount.0 % RAO_PER_TAO;
    if frac == 0 { whole.to_string() } else { format!("{whole}.{}", format!("{frac:09}").trim_end_matches('0')) }
}

/// Streams the timeseries and the event log as CSV.
pub struct Recorder<W: Write> {
    timeseries: csv::Writer<W>,
    events: csv::Writer<W>,
    error: Option<csv::Error>,
    /// Rows written to the timeseries.
    pub samples: u64,
    /// Rows written to the event log.
    pub events_logged: u64,
}

/// Columns of `timeseries.csv`, units last.
pub const TIMESERIES_COLUMNS: [&str; 7] =
    ["block", "day", "total_issuance_tao", "block_emission_tao", "halvings", "minted_tao", "recycled_tao"];

/// Columns of `events.csv`.
pub const EVENT_COLUMNS: [&str; 5] = ["block", "kind", "subject", "value", "detail"];

impl<W: Write> Recorder<W> {
    /// A recorder writing the headers of both files.
    pub fn new(timeseries: W, events: W) -> Self {
        let mut r = Self {
            timeseries: csv::Writer::from_writer(timeseries),
            events: csv::Writer::from_writer(events),
            error: None,
            samples: 0,
            events_logged: 0,
        };
        let a = r.timeseries.write_record(TIMESERIES_COLUMNS);
        let b = r.events.write_record(EVENT_COLUMNS);
        r.keep(a.and(b));
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

    fn sample(&mut self, chain: &ChainState) {
        let block = chain.block;
        let halvings = halvings_at(chain.total_issuance, &chain.schedule).map_or(String::new(), |k| k.to_string());
        let result = self.timeseries.write_record([
            block.0.to_string(),
            block.days().to_string(),
            tao_decimal(chain.total_issuance),
            tao_decimal(chain.block_emission),
            halvings,
            tao_decimal(chain.minted),
            tao_decimal(chain.recycled),
        ]);
        self.keep(result);
        self.samples += 1;
    }

    /// Flushes both files and hands back the writers, or the first write error.
    pub fn finish(self) -> Result<(W, W), String> {
        if let Some(e) = self.error {
            return Err(e.to_string());
        }
        let ts = self.timeseries.into_inner().map_err(|e| e.error().to_string())?;
        let ev = self.events.into_inner().map_err(|e| e.error().to_string())?;
        Ok((ts, ev))
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
}

impl<W: Write> Network<W> {
    /// A network at block 0; records the initial sample.
    pub fn new(chain: ChainState, horizon: Block, sample_every_blocks: u64, recorder: Recorder<W>) -> Self {
        let mut n = Self {
            chain,
            horizon,
            sample_every_blocks: sample_every_blocks.max(1),
            recorder,
            halvings: Vec::new(),
            failure: None,
        };
        n.recorder.sample(&n.chain);
        n
    }

    /// Schedules the first block; call once before running.
    pub fn start(&self, scheduler: &mut Scheduler<Event>) {
        scheduler.schedule_at(Block(self.chain.block.0 + 1).start(), Event::Block.tie(), Event::Block);
    }

    fn block_step(&mut self, scheduler: &mut Scheduler<Event>) {
        let issuance_before = self.chain.total_issuance;
        let outcome = self.chain.step_block();
        let is_halving_schedule = matches!(self.chain.schedule, EmissionSchedule::Halving { .. });
        if is_halving_schedule && outcome.emission < outcome.previous_emission {
            let record = HalvingRecord {
                block: outcome.block.0,
                halvings: halvings_at(issuance_before, &self.chain.schedule).unwrap_or(u32::MAX),
                issuance_rao: issuance_before.0,
                emission_before_rao: outcome.previous_emission.0,
                emission_after_rao: outcome.emission.0,
            };
            self.recorder.event(
                outcome.block,
                "halving",
                "tao",
                &tao_decimal(outcome.emission),
                &format!(
                    "halving {} at issuance {} TAO: block emission {} -> {} TAO",
                    record.halvings,
                    tao_decimal(issuance_before),
                    tao_decimal(outcome.previous_emission),
                    tao_decimal(outcome.emission)
                ),
            );
            self.halvings.push(record);
        }
        let block = self.chain.block;
        if block.0.is_multiple_of(self.sample_every_blocks) || block == self.horizon {
            self.recorder.sample(&self.chain);
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

impl<W: Write> Model for Network<W> {
    type Event = Event;

    fn handle(&mut self, _now: SimTime, event: Event, scheduler: &mut Scheduler<Event>) {
        match event {
            Event::Block => self.block_step(scheduler),
        }
    }
}
