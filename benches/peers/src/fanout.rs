//! The validators-to-miners task market of the peers' `simpy_fanout.py`, on taosim's engine.
//!
//! V validators and M miners. At every tempo (t = 0, 360, 720, ...) each validator sends one
//! task to each miner. A task travels to its miner (latency 0.5), waits in the miner's FIFO
//! queue (one task served at a time), is served for an Exponential(mean 2.0) time, and the reply
//! travels back (0.5) into the validator's inbox, which the validator empties one reply at a
//! time. The run covers `tempos` tempos (until t = tempos · 360, exclusive).
//!
//! Model events, three per task as the peers count them: the send, the service completion and
//! the receipt of the reply. The validator's collector in SimPy takes a reply out of its inbox in
//! zero time, so the receipt happens when the reply arrives; here it is the reply's event.
//!
//! Engine events: one per validator per tempo (it sends that validator's M tasks), and per task
//! one arrival at the miner, one service completion and one reply: ≈ 3 per task, as in SimPy's
//! kernel. Every task is its own event in the queue, so up to V·M events are pending at once (as
//! in SimPy), and tasks that reach a miner at the same instant queue in the order they were sent
//! (validator 0 first), which is SimPy's order too.
//!
//! Random numbers: one taosim stream per miner for its service times
//! (`["peers", "fanout", "miner", m, "service"]`), exponential by the ziggurat method
//! ([`crate::expo`]); agreement with SimPy is statistical.

use crate::expo::Ziggurat;
use crate::{ConfigError, out_of_range, ticks};
use sim::engine::{Model, Scheduler, SimTime, Simulation};
use sim::label;
use sim::rng::{Stream, stream};
use std::collections::VecDeque;

/// One fan-out run.
#[derive(Clone, Debug, PartialEq)]
pub struct FanoutConfig {
    /// Validators V.
    pub validators: u32,
    /// Miners M.
    pub miners: u32,
    /// Tempos simulated.
    pub tempos: u32,
    /// Tempo length, time units.
    pub tempo: f64,
    /// Mean of the exponential service time, time units.
    pub mean_service: f64,
    /// One-way validator↔miner latency, time units.
    pub latency: f64,
    /// Seed of the miners' streams.
    pub seed: u64,
}

impl Default for FanoutConfig {
    fn default() -> Self {
        Self { validators: 64, miners: 1_000, tempos: 5, tempo: 360.0, mean_service: 2.0, latency: 0.5, seed: 42 }
    }
}

impl FanoutConfig {
    /// Refuses empty markets and non-positive or non-finite times.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.validators == 0 {
            return Err(out_of_range("validators", self.validators, "at least 1"));
        }
        if self.miners == 0 {
            return Err(out_of_range("miners", self.miners, "at least 1"));
        }
        if self.tempos == 0 {
            return Err(out_of_range("tempos", self.tempos, "at least 1"));
        }
        if !(self.tempo.is_finite() && self.tempo > 0.0 && self.tempo * f64::from(self.tempos) < 1e9) {
            return Err(out_of_range("tempo", self.tempo, "positive, and tempos × tempo below 1e9 time units"));
        }
        if !(self.mean_service.is_finite() && self.mean_service > 0.0) {
            return Err(out_of_range("mean-service", self.mean_service, "a positive finite time"));
        }
        if !(self.latency.is_finite() && self.latency >= 0.0) {
            return Err(out_of_range("latency", self.latency, "a finite time ≥ 0"));
        }
        Ok(())
    }

    /// Tasks sent over the run: V · M · tempos.
    pub fn tasks(&self) -> u64 {
        u64::from(self.validators) * u64::from(self.miners) * u64::from(self.tempos)
    }
}

/// What a run measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FanoutStats {
    /// Tasks sent.
    pub sent: u64,
    /// Tasks served.
    pub served: u64,
    /// Replies received by the validators.
    pub received: u64,
    /// Sum of the round-trip times (send to reply receipt), in engine ticks (exact).
    pub rtt_ticks: u128,
    /// Events the engine handled.
    pub engine_events: u64,
    /// The most events pending in the engine's queue at once (sampled at every tempo event).
    pub peak_pending: usize,
}

impl FanoutStats {
    /// Model events: send + service completion + reply receipt.
    pub fn model_events(&self) -> u64 {
        self.sent + self.served + self.received
    }

    /// Mean round-trip time of the received replies, time units.
    pub fn mean_rtt(&self) -> f64 {
        if self.received == 0 {
            return 0.0;
        }
        self.rtt_ticks as f64 / crate::TICKS_PER_UNIT / self.received as f64
    }
}

/// Engine events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanoutEvent {
    /// Validator `v` sends its tasks of tempo `k` to every miner.
    Tempo {
        /// Validator.
        v: u32,
        /// Tempo index.
        k: u32,
    },
    /// The task of validator `v`, tempo `k` reaches miner `m`.
    TaskArrives {
        /// Validator.
        v: u32,
        /// Miner.
        m: u32,
        /// Tempo index (the send time is k · tempo).
        k: u32,
    },
    /// Miner `m` finishes the task it is serving.
    ServiceDone {
        /// Miner.
        m: u32,
    },
    /// The reply to validator `v`'s task of tempo `k` reaches its inbox.
    ReplyArrives {
        /// Validator.
        v: u32,
        /// Tempo index.
        k: u32,
    },
}

/// A miner: a FIFO of waiting tasks (validator, tempo) and the task in service.
struct Miner {
    rng: Stream,
    serving: Option<(u32, u32)>,
    waiting: VecDeque<(u32, u32)>,
}

struct Fanout {
    config: FanoutConfig,
    latency_ticks: u64,
    tempo_ticks: u64,
    miners: Vec<Miner>,
    ziggurat: Ziggurat,
    stats: FanoutStats,
}

impl Fanout {
    fn start_service(&mut self, m: u32, task: (u32, u32), scheduler: &mut Scheduler<FanoutEvent>) {
        let mean = self.config.mean_service;
        let miner = &mut self.miners[m as usize];
        miner.serving = Some(task);
        let service = self.ziggurat.exponential(&mut miner.rng, mean);
        scheduler.schedule_in(ticks(service), 0, FanoutEvent::ServiceDone { m });
    }
}

impl Model for Fanout {
    type Event = FanoutEvent;

    fn handle(&mut self, now: SimTime, event: FanoutEvent, scheduler: &mut Scheduler<FanoutEvent>) {
        match event {
            FanoutEvent::Tempo { v, k } => {
                self.stats.peak_pending = self.stats.peak_pending.max(scheduler.pending());
                for m in 0..self.config.miners {
                    scheduler.schedule_in(self.latency_ticks, 0, FanoutEvent::TaskArrives { v, m, k });
                }
                self.stats.sent += u64::from(self.config.miners);
                if k + 1 < self.config.tempos {
                    let next = SimTime::from_ms(u64::from(k + 1) * self.tempo_ticks);
                    scheduler.schedule_at(next, 0, FanoutEvent::Tempo { v, k: k + 1 });
                }
            }
            FanoutEvent::TaskArrives { v, m, k } => {
                let miner = &mut self.miners[m as usize];
                if miner.serving.is_none() {
                    self.start_service(m, (v, k), scheduler);
                } else {
                    miner.waiting.push_back((v, k));
                }
            }
            FanoutEvent::ServiceDone { m } => {
                self.stats.served += 1;
                let miner = &mut self.miners[m as usize];
                if let Some((v, k)) = miner.serving.take() {
                    scheduler.schedule_in(self.latency_ticks, 0, FanoutEvent::ReplyArrives { v, k });
                }
                if let Some(next) = miner.waiting.pop_front() {
                    self.start_service(m, next, scheduler);
                }
            }
            FanoutEvent::ReplyArrives { k, .. } => {
                self.stats.received += 1;
                let sent = u64::from(k) * self.tempo_ticks;
                self.stats.rtt_ticks += u128::from(now.ms() - sent);
            }
        }
    }
}

/// Runs the market for `tempos` tempos.
pub fn run(config: &FanoutConfig) -> Result<FanoutStats, ConfigError> {
    config.validate()?;
    let miners = (0..config.miners)
        .map(|m| Miner {
            rng: stream(config.seed, &label!["peers", "fanout", "miner", m, "service"]),
            serving: None,
            waiting: VecDeque::new(),
        })
        .collect();
    let model = Fanout {
        config: config.clone(),
        latency_ticks: ticks(config.latency),
        tempo_ticks: ticks(config.tempo),
        miners,
        ziggurat: Ziggurat::new(),
        stats: FanoutStats::default(),
    };
    let mut sim = Simulation::new(model);
    for v in 0..config.validators {
        sim.scheduler.schedule_at(SimTime::ZERO, 0, FanoutEvent::Tempo { v, k: 0 });
    }
    // SimPy's `env.run(until=tempos * tempo)` handles events strictly before the end.
    let end = u64::from(config.tempos) * sim.model.tempo_ticks;
    sim.run_until(SimTime::from_ms(end.saturating_sub(1)));
    let mut stats = sim.model.stats.clone();
    stats.engine_events = sim.events_handled();
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_is_answered_and_events_are_counted_three_per_task() {
        let cfg = FanoutConfig { validators: 8, miners: 50, tempos: 3, ..FanoutConfig::default() };
        let s = run(&cfg).expect("valid config");
        let tasks = cfg.tasks();
        assert_eq!((s.sent, s.served, s.received), (tasks, tasks, tasks));
        assert_eq!(s.model_events(), 3 * tasks);
        // Engine: one tempo event per validator and tempo, three per task.
        assert_eq!(s.engine_events, 8 * 3 + 3 * tasks);
        assert_eq!(run(&cfg).expect("valid"), s);
    }

    /// With 64 tasks landing on a miner at once, the k-th task in line waits for k − 1 services:
    /// its round trip is 1 (latencies) + the sum of k services, so the mean RTT over the 64 is
    /// 1 + 2 · (64 + 1)/2 = 66 time units. SimPy measured 65.95 and 65.94 at V = 64.
    #[test]
    fn mean_round_trip_matches_the_fifo_queue_arithmetic() {
        let cfg = FanoutConfig { validators: 64, miners: 200, tempos: 2, ..FanoutConfig::default() };
        let s = run(&cfg).expect("valid config");
        assert_eq!(s.received, cfg.tasks());
        // RTT_k = 1 + S_1 + ... + S_k (services Exponential, mean 2, variance 4), so a batch's
        // sum is 64 + Σ_i (65 − i)·S_i with variance 4·Σ_j j² (j = 1..64). The 400 (miner, tempo)
        // batches are independent: every miner is idle again long before the next tempo.
        let batch_var: f64 = (1..=64).map(|j| 4.0 * f64::from(j * j)).sum();
        let sd = batch_var.sqrt() / 64.0 / 400f64.sqrt();
        let z = (s.mean_rtt() - 66.0) / sd;
        assert!(z.abs() < 4.0, "mean rtt {} ({z:.2} sd from 66)", s.mean_rtt());
    }

    #[test]
    fn zero_latency_and_single_entities_work() {
        let cfg = FanoutConfig { validators: 1, miners: 1, tempos: 2, latency: 0.0, ..FanoutConfig::default() };
        let s = run(&cfg).expect("valid config");
        assert_eq!(s.received, 2);
        assert!(run(&FanoutConfig { miners: 0, ..cfg.clone() }).is_err());
        assert!(run(&FanoutConfig { latency: -1.0, ..cfg }).is_err());
    }
}
