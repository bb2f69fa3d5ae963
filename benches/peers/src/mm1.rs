//! The M/M/1 queue of the peers' `simpy_mm1.py`, on taosim's engine.
//!
//! Poisson arrivals (rate λ), one server with exponential service (rate μ), FIFO, unbounded
//! queue, starting empty. The run stops when N *model events* have been handled, where a model
//! event is an arrival or a service completion (the peers' definition: queue entry and service
//! start are not counted separately). Here every engine event is a model event, so the engine's
//! count equals N.
//!
//! Random numbers: taosim's streams, one for inter-arrival times and one for service times
//! (labels `["peers", "mm1", "arrivals"]` and `["peers", "mm1", "service"]`), turned into
//! exponential draws by the ziggurat method ([`crate::expo`]). SimPy draws both from one
//! `random.Random` by inversion, so the two sides agree statistically, not draw by draw.
//!
//! Theory (stationary FIFO M/M/1, ρ = λ/μ < 1): the sojourn time is Exponential(μ − λ), mean
//! W = 1/(μ − λ) = 10 for the defaults. Its customer average over n customers is approximately
//! normal with variance [`sojourn_variance_constant`]/n, and a queue that starts empty biases the
//! sum of sojourns by [`EMPTY_START_BIAS_SUM`] (both derived in `derivations/mm1_variance.py`).

use crate::expo::Ziggurat;
use crate::{ConfigError, out_of_range, ticks, units};
use sim::engine::{Model, Scheduler, SimTime, Simulation};
use sim::label;
use sim::rng::{Stream, stream};
use std::collections::VecDeque;

/// One M/M/1 run: rates, length and seed.
#[derive(Clone, Debug, PartialEq)]
pub struct Mm1Config {
    /// Model events to handle (arrivals + service completions).
    pub n_events: u64,
    /// λ, arrivals per time unit.
    pub arrival_rate: f64,
    /// μ, service completions per time unit of service.
    pub service_rate: f64,
    /// Seed of the two random streams.
    pub seed: u64,
}

impl Default for Mm1Config {
    fn default() -> Self {
        Self { n_events: 1_000_000, arrival_rate: 0.9, service_rate: 1.0, seed: 42 }
    }
}

impl Mm1Config {
    /// Refuses rates that are not positive and finite, and a run of no events.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.n_events == 0 {
            return Err(out_of_range("N", self.n_events, "at least 1 model event"));
        }
        for (field, rate) in [("arrival-rate", self.arrival_rate), ("service-rate", self.service_rate)] {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(out_of_range(field, rate, "a positive finite rate"));
            }
        }
        Ok(())
    }

    /// The theoretical mean sojourn 1/(μ − λ); infinite when ρ ≥ 1.
    pub fn theory_mean_sojourn(&self) -> f64 {
        if self.service_rate > self.arrival_rate {
            1.0 / (self.service_rate - self.arrival_rate)
        } else {
            f64::INFINITY
        }
    }
}

/// What a run measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mm1Stats {
    /// Model events handled (= N).
    pub events: u64,
    /// Customers that arrived.
    pub arrivals: u64,
    /// Customers that completed service.
    pub completions: u64,
    /// Sum of the completed customers' sojourn times, in engine ticks (exact).
    pub sojourn_ticks: u128,
    /// Model time at the end of the run.
    pub end_time: f64,
    /// Events the engine handled (every one is a model event here).
    pub engine_events: u64,
}

impl Mm1Stats {
    /// Mean sojourn time of the completed customers, in model time units.
    pub fn mean_sojourn(&self) -> f64 {
        if self.completions == 0 {
            return 0.0;
        }
        self.sojourn_ticks as f64 / crate::TICKS_PER_UNIT / self.completions as f64
    }
}

/// The two kinds of engine event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mm1Event {
    /// A customer arrives.
    Arrival,
    /// The customer in service leaves.
    Departure,
}

/// The queue's state: arrival times of the customers in the system, the one in service first.
struct Mm1 {
    n_events: u64,
    mean_interarrival: f64,
    mean_service: f64,
    arrivals_rng: Stream,
    service_rng: Stream,
    ziggurat: Ziggurat,
    in_system: VecDeque<SimTime>,
    stats: Mm1Stats,
}

impl Mm1 {
    fn count_event(&mut self, scheduler: &mut Scheduler<Mm1Event>) {
        self.stats.events += 1;
        if self.stats.events == self.n_events {
            scheduler.request_stop();
        }
    }

    fn start_service(&mut self, scheduler: &mut Scheduler<Mm1Event>) {
        let service = self.ziggurat.exponential(&mut self.service_rng, self.mean_service);
        scheduler.schedule_in(ticks(service), 0, Mm1Event::Departure);
    }
}

impl Model for Mm1 {
    type Event = Mm1Event;

    fn handle(&mut self, now: SimTime, event: Mm1Event, scheduler: &mut Scheduler<Mm1Event>) {
        match event {
            Mm1Event::Arrival => {
                self.stats.arrivals += 1;
                self.in_system.push_back(now);
                if self.in_system.len() == 1 {
                    self.start_service(scheduler);
                }
                let gap = self.ziggurat.exponential(&mut self.arrivals_rng, self.mean_interarrival);
                scheduler.schedule_in(ticks(gap), 0, Mm1Event::Arrival);
            }
            Mm1Event::Departure => {
                if let Some(arrived) = self.in_system.pop_front() {
                    self.stats.completions += 1;
                    self.stats.sojourn_ticks += u128::from(now.ms() - arrived.ms());
                }
                if !self.in_system.is_empty() {
                    self.start_service(scheduler);
                }
            }
        }
        self.count_event(scheduler);
    }
}

/// Runs the queue until N model events have been handled.
pub fn run(config: &Mm1Config) -> Result<Mm1Stats, ConfigError> {
    config.validate()?;
    let model = Mm1 {
        n_events: config.n_events,
        mean_interarrival: 1.0 / config.arrival_rate,
        mean_service: 1.0 / config.service_rate,
        arrivals_rng: stream(config.seed, &label!["peers", "mm1", "arrivals"]),
        service_rng: stream(config.seed, &label!["peers", "mm1", "service"]),
        ziggurat: Ziggurat::new(),
        in_system: VecDeque::new(),
        stats: Mm1Stats::default(),
    };
    let mut sim = Simulation::new(model);
    // As in the SimPy model, the first customer arrives after one inter-arrival time.
    let m = &mut sim.model;
    let first = m.ziggurat.exponential(&mut m.arrivals_rng, m.mean_interarrival);
    sim.scheduler.schedule_at(SimTime::from_ms(ticks(first)), 0, Mm1Event::Arrival);
    sim.run_until(SimTime::from_ms(u64::MAX));
    let mut stats = sim.model.stats.clone();
    stats.end_time = units(sim.scheduler.now());
    stats.engine_events = sim.events_handled();
    Ok(stats)
}

/// Asymptotic variance constant σ² of the customer-average sojourn time in a stationary FIFO
/// M/M/1 queue: √n·(mean of n sojourns − 1/(μ−λ)) → Normal(0, σ²) with
/// σ² = (1 + ρ)² / (μ² (1 − ρ)⁴); 36,100 for λ = 0.9, μ = 1.
///
/// Derived by Poisson's equation for the waiting-time chain (`derivations/mm1_variance.py`,
/// which also reproduces Daley's (1968) constant ρ(2 + 5ρ − 4ρ² + ρ³)/(μ²(1 − ρ)⁴) for the
/// waiting time before service, as a check of the method).
pub fn sojourn_variance_constant(arrival_rate: f64, service_rate: f64) -> f64 {
    let rho = arrival_rate / service_rate;
    (1.0 + rho).powi(2) / (service_rate.powi(2) * (1.0 - rho).powi(4))
}

/// Σₖ (E[T_k | empty at start] − W) for λ = 0.9, μ = 1: a queue that starts empty lowers the sum
/// of the sojourn times by 900 time units in expectation (−0.009 on the mean of 10⁵ customers).
pub const EMPTY_START_BIAS_SUM: f64 = -900.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_after_exactly_n_model_events_and_conserves_customers() {
        let cfg = Mm1Config { n_events: 10_001, ..Mm1Config::default() };
        let s = run(&cfg).expect("valid config");
        assert_eq!(s.events, 10_001);
        assert_eq!(s.engine_events, 10_001);
        assert_eq!(s.arrivals + s.completions, 10_001);
        assert!(s.completions <= s.arrivals);
        // Same seed, same run; another seed, another run.
        assert_eq!(run(&cfg).expect("valid"), s);
        assert_ne!(run(&Mm1Config { seed: 43, ..cfg }).expect("valid").sojourn_ticks, s.sojourn_ticks);
    }

    /// The mean sojourn lands within statistical error of 1/(μ − λ) = 10: the tolerance is four
    /// standard errors of the customer average, σ/√n with σ² = 36,100 from the M/M/1 theory
    /// (not estimated from the data), after the known bias of the empty start.
    #[test]
    fn mean_sojourn_matches_theory_within_statistical_error() {
        let cfg = Mm1Config { n_events: 400_000, ..Mm1Config::default() };
        let s = run(&cfg).expect("valid config");
        let n = s.completions as f64;
        let expected = cfg.theory_mean_sojourn() + EMPTY_START_BIAS_SUM / n;
        let std_error = (sojourn_variance_constant(0.9, 1.0) / n).sqrt();
        let z = (s.mean_sojourn() - expected) / std_error;
        assert!(z.abs() < 4.0, "mean sojourn {} vs {expected}: {z:.2} standard errors", s.mean_sojourn());
        // The arrival rate is right too: arrivals/time ≈ λ (Poisson count, sd √(λt)).
        let rate_z = (s.arrivals as f64 - 0.9 * s.end_time) / (0.9 * s.end_time).sqrt();
        assert!(rate_z.abs() < 4.0, "arrival count off by {rate_z:.2} sd");
    }

    #[test]
    fn variance_constant_matches_the_derivation() {
        assert!((sojourn_variance_constant(0.9, 1.0) - 36_100.0).abs() < 1e-6);
        assert!((sojourn_variance_constant(0.5, 1.0) - 36.0).abs() < 1e-12);
        assert!((sojourn_variance_constant(0.75, 2.0) - 1936.0 / 625.0).abs() < 1e-12);
    }

    #[test]
    fn bad_configs_are_refused_with_the_field_named() {
        let e = run(&Mm1Config { service_rate: 0.0, ..Mm1Config::default() }).expect_err("refused");
        assert!(e.to_string().starts_with("service-rate = 0"));
        assert!(run(&Mm1Config { n_events: 0, ..Mm1Config::default() }).is_err());
        assert!(run(&Mm1Config { arrival_rate: f64::NAN, ..Mm1Config::default() }).is_err());
    }
}
