//! The training subnet as a [`Model`] on taosim's engine.
//!
//! A round is one chain window of `window_blocks` blocks (Templar's `blocks_per_window`):
//!
//! 1. `WindowStart`: validators' current ratings choose the G peers whose uploads the outer
//!    step will use (Templar picks gather peers ahead of the window); each peer draws whether
//!    it sits the round out, and those that finished the previous round's communication start
//!    their inner steps (the others start when it ends).
//! 2. A peer runs up to H inner steps, stopping early if the window closes (Templar's trainer
//!    breaks out at the window change): `ComputeDone`. It compresses its pseudo-gradient (a
//!    memory-bound pass over its parameter shard) and uploads it once the window has closed.
//! 3. `UploadDone`: uploads that land within `put_window_s` of the window's end count; later
//!    ones are stragglers, left out and scored 0.
//! 4. The gather is fixed once every selected peer's upload is in, or at the put deadline,
//!    when missing ones are replaced by the best-rated on-time reserves (Templar's
//!    `gather_with_reserve`). Each peer downloads the aggregated payloads (all but its own) as
//!    they become available, decodes them and applies the outer step: `OuterStepDone`. Its
//!    next round's inner steps start then.
//! 5. `PutDeadline`: validators score every on-time upload, update ratings, and the ratings
//!    set the round's incentive.
//!
//! Every random draw comes from a stream of the run seed and a label naming the peer and the
//! purpose (`["training", "peer", i, "jitter"]`), consumed in round order, so the run does not
//! depend on how same-time events interleave.

use super::config::TrainingConfig;
use super::report::{PeerReport, RoundReport, TrainingReport, TrainingSummary};
use super::topology::{Direction, LinkLoad, Topology};
use super::validator;
use crate::engine::{Model, Scheduler, SimTime};
use crate::label;
use crate::rng::{self, Stream};

/// Every event of the training model, with its tie rank (same-instant order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A window opens. Emitted by the previous window's start (and the run's start).
    WindowStart {
        /// The round.
        round: u64,
    },
    /// A peer finished its inner steps. Emitted when it started them.
    ComputeDone {
        /// The round.
        round: u64,
        /// The peer.
        peer: usize,
    },
    /// A peer's upload reached the store. Emitted by `ComputeDone`.
    UploadDone {
        /// The round.
        round: u64,
        /// The peer.
        peer: usize,
    },
    /// The put window of a round closes. Emitted by `WindowStart`.
    PutDeadline {
        /// The round.
        round: u64,
    },
    /// A peer applied the round's outer step. Emitted when the round's gather is fixed.
    OuterStepDone {
        /// The round.
        round: u64,
        /// The peer.
        peer: usize,
    },
}

impl Event {
    /// Stable tie key: kind rank in the high bits, peer in the low bits. An upload landing
    /// exactly at the deadline is handled before the deadline, so it counts.
    pub fn tie(&self) -> u64 {
        let (rank, peer) = match *self {
            Event::WindowStart { .. } => (0u64, 0usize),
            Event::ComputeDone { peer, .. } => (1, peer),
            Event::UploadDone { peer, .. } => (2, peer),
            Event::PutDeadline { .. } => (3, 0),
            Event::OuterStepDone { peer, .. } => (4, peer),
        };
        (rank << 32) | peer as u64
    }
}

/// A peer's fixed description and its random streams.
#[derive(Debug)]
pub struct Peer {
    /// Its fixed figures.
    pub spec: PeerSpec,
    jitter_rng: Stream,
    offline_rng: Stream,
    score_rng: Stream,
}

/// What one peer did in one round.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PeerRound {
    /// Sat the round out.
    pub offline: bool,
    /// Inner steps completed.
    pub steps: u64,
    /// When its inner steps started (ms).
    pub compute_start_ms: Option<u64>,
    /// Compute time (ms).
    pub compute_ms: u64,
    /// Compression time (ms).
    pub compress_ms: u64,
    /// When its upload started (ms).
    pub upload_start_ms: u64,
    /// When its upload lands (ms), once known.
    pub upload_done_ms: Option<u64>,
    /// When it applied the outer step (ms).
    pub outer_done_ms: Option<u64>,
    /// Bytes it downloaded.
    pub bytes_down: u64,
    /// Whether its gather and outer step are planned.
    pub gather_planned: bool,
}

/// One round's shared state.
#[derive(Clone, Debug)]
struct Round {
    start_ms: u64,
    window_end_ms: u64,
    deadline_ms: u64,
    primaries: Vec<usize>,
    pending_primaries: usize,
    /// Peers that did not sit out (they may still fail to complete a step).
    present: Vec<usize>,
    /// Link loads of the uploads (the present peers) and of the gathers (those that computed).
    upload_load: LinkLoad,
    gather_load: Option<LinkLoad>,
    /// The gather once fixed: (peer, when its payload is available to download), by
    /// availability then peer.
    gather: Option<Vec<(usize, u64)>>,
    peers: Vec<PeerRound>,
    incentive: Vec<f64>,
}

/// The subnet being simulated.
#[derive(Debug)]
pub struct TrainingModel {
    cfg: TrainingConfig,
    topology: Topology,
    peers: Vec<Peer>,
    ratings: Vec<f64>,
    rounds: Vec<Round>,
    /// Whether a peer is between its compute and its applied outer step.
    in_communication: Vec<bool>,
    payload_bytes: u64,
    tokens_per_step: u64,
}

fn ms(seconds: f64) -> u64 {
    if seconds.is_finite() && seconds > 0.0 { (seconds * 1e3).ceil().min(u64::MAX as f64 / 2.0) as u64 } else { 0 }
}

impl TrainingModel {
    /// A model of `cfg` (validated) with per-peer timings, on `topology`, drawing from `seed`.
    pub fn new(cfg: TrainingConfig, topology: Topology, specs: Vec<PeerSpec>, seed: u64) -> Self {
        let peers: Vec<Peer> = specs
            .into_iter()
            .enumerate()
            .map(|(i, spec)| Peer {
                spec,
                jitter_rng: rng::stream(seed, &label!["training", "peer", i, "jitter"]),
                offline_rng: rng::stream(seed, &label!["training", "peer", i, "offline"]),
                score_rng: rng::stream(seed, &label!["training", "peer", i, "score"]),
            })
            .collect();
        let n = peers.len();
        Self {
            payload_bytes: cfg.payload_bytes(),
            tokens_per_step: cfg.tokens_per_step(),
            cfg,
            topology,
            peers,
            // Everyone starts equal: the first selection goes by peer index.
            ratings: vec![1.0; n],
            rounds: Vec::new(),
            in_communication: vec![false; n],
        }
    }

    /// Schedules the first window.
    pub fn start(&self, scheduler: &mut Scheduler<Event>) {
        let e = Event::WindowStart { round: 0 };
        scheduler.schedule_at(SimTime::ZERO, e.tie(), e);
    }

    fn round(&self, round: u64) -> &Round {
        &self.rounds[round as usize]
    }

    fn round_mut(&mut self, round: u64) -> &mut Round {
        &mut self.rounds[round as usize]
    }

    fn window_start(&mut self, now: u64, round: u64, s: &mut Scheduler<Event>) {
        let window_ms = self.cfg.window_ms();
        let n = self.peers.len();
        let mut peers = vec![PeerRound::default(); n];
        let mut present = Vec::with_capacity(n);
        for (i, p) in self.peers.iter_mut().enumerate() {
            // One draw per peer and round, whether or not it matters, keeps streams aligned.
            let u = rng::unit_f64(&mut p.offline_rng);
            peers[i].offline = u < p.spec.offline_probability;
            if !peers[i].offline {
                present.push(i);
            }
        }
        let everyone: Vec<usize> = (0..n).collect();
        let primaries = validator::select_top(&self.ratings, &everyone, self.cfg.validator.gather_peers as usize);
        let deadline_ms = now + window_ms + ms(self.cfg.put_window_s);
        self.rounds.push(Round {
            start_ms: now,
            window_end_ms: now + window_ms,
            deadline_ms,
            pending_primaries: primaries.len(),
            primaries,
            upload_load: self.topology.load(&present),
            gather_load: None,
            present: present.clone(),
            gather: None,
            peers,
            incentive: vec![0.0; n],
        });
        for p in present {
            if !self.in_communication[p] {
                self.start_compute(now, round, p, s);
            }
        }
        let deadline = Event::PutDeadline { round };
        s.schedule_at(SimTime::from_ms(deadline_ms), deadline.tie(), deadline);
        if round + 1 < self.cfg.rounds {
            let next = Event::WindowStart { round: round + 1 };
            s.schedule_at(SimTime::from_ms(now + window_ms), next.tie(), next);
        }
    }

    fn start_compute(&mut self, now: u64, round: u64, peer: usize, s: &mut Scheduler<Event>) {
        let h = self.cfg.inner_steps;
        let p = &mut self.peers[peer];
        let z = rng::standard_normal(&mut p.jitter_rng);
        // Log-normal with mean 1: exp(sigma z - sigma^2 / 2).
        let (base_s, jitter) = (p.spec.step_s, p.spec.jitter);
        let step_s = base_s * libm::exp(jitter * z - jitter * jitter / 2.0);
        let window_end = self.round(round).window_end_ms;
        let available_s = window_end.saturating_sub(now) as f64 / 1e3;
        let steps = if step_s > 0.0 { ((available_s / step_s).floor() as u64).min(h) } else { h };
        let r = &mut self.round_mut(round).peers[peer];
        r.compute_start_ms = Some(now);
        r.steps = steps;
        if steps == 0 {
            return; // the window closed before one step: a straggler this round
        }
        r.compute_ms = ms(steps as f64 * step_s);
        let e = Event::ComputeDone { round, peer };
        s.schedule_at(SimTime::from_ms(now + r.compute_ms), e.tie(), e);
    }

    fn compute_done(&mut self, now: u64, round: u64, peer: usize, s: &mut Scheduler<Event>) {
        self.in_communication[peer] = true;
        let compress_ms = ms(self.peers[peer].spec.compress_s);
        let rnd = self.round(round);
        let upload_start = (now + compress_ms).max(rnd.window_end_ms);
        let rate = self.topology.rate_bps(peer, &rnd.upload_load, Direction::Up);
        let seconds = self.topology.rtt_s(peer) + self.payload_bytes as f64 * 8.0 / rate;
        let done = upload_start + ms(seconds);
        let r = &mut self.round_mut(round).peers[peer];
        r.compress_ms = compress_ms;
        r.upload_start_ms = upload_start;
        r.upload_done_ms = Some(done);
        let e = Event::UploadDone { round, peer };
        s.schedule_at(SimTime::from_ms(done), e.tie(), e);
    }

    fn upload_done(&mut self, now: u64, round: u64, peer: usize, s: &mut Scheduler<Event>) {
        let rnd = self.round_mut(round);
        let on_time = now <= rnd.deadline_ms;
        if on_time && rnd.gather.is_none() && rnd.primaries.contains(&peer) {
            rnd.pending_primaries = rnd.pending_primaries.saturating_sub(1);
            if rnd.pending_primaries == 0 {
                self.fix_gather(now, round, s);
                return;
            }
        }
        if self.round(round).gather.is_some() {
            self.plan_gather(now, round, peer, s);
        }
    }

    /// Fixes the set of aggregated uploads and plans the gather of every peer whose own
    /// upload is in.
    fn fix_gather(&mut self, now: u64, round: u64, s: &mut Scheduler<Event>) {
        let rnd = self.round(round);
        let landed = |p: usize| rnd.peers[p].upload_done_ms.filter(|&t| t <= now && t <= rnd.deadline_ms);
        let mut gather: Vec<(usize, u64)> = rnd.primaries.iter().filter_map(|&p| landed(p).map(|t| (p, t))).collect();
        let g = self.cfg.validator.gather_peers as usize;
        if gather.len() < g {
            // Reserves: the best-rated on-time uploads that were not selected, found now.
            let others: Vec<usize> =
                (0..self.peers.len()).filter(|p| !rnd.primaries.contains(p) && landed(*p).is_some()).collect();
            for p in validator::select_top(&self.ratings, &others, g - gather.len()) {
                gather.push((p, now));
            }
        }
        gather.sort_by_key(|&(p, t)| (t, p));
        // Everyone who computed this round gathers (a late uploader too, to stay in sync).
        let gatherers: Vec<usize> = rnd.present.iter().copied().filter(|&p| rnd.peers[p].steps > 0).collect();
        let load = self.topology.load(&gatherers);
        let r = self.round_mut(round);
        r.gather = Some(gather);
        r.gather_load = Some(load);
        let uploaded: Vec<usize> = (0..self.peers.len())
            .filter(|&p| self.round(round).peers[p].upload_done_ms.is_some_and(|t| t <= now))
            .collect();
        for p in uploaded {
            self.plan_gather(now, round, p, s);
        }
    }

    /// Plans one peer's gather and outer step: downloads in order of availability, sharing the
    /// peer's path with every other gathering peer; then decode and apply.
    fn plan_gather(&mut self, now: u64, round: u64, peer: usize, s: &mut Scheduler<Event>) {
        let rnd = self.round(round);
        let (Some(gather), Some(load)) = (rnd.gather.as_ref(), rnd.gather_load.as_ref()) else {
            return;
        };
        let Some(own) = rnd.peers[peer].upload_done_ms else {
            return;
        };
        if rnd.peers[peer].gather_planned {
            return;
        }
        let rate = self.topology.rate_bps(peer, load, Direction::Down);
        let rtt = self.topology.rtt_s(peer);
        let transfer_s = self.payload_bytes as f64 * 8.0 / rate;
        let mut t_s = own as f64 / 1e3;
        let mut downloads = 0u64;
        for &(other, available_ms) in gather {
            if other == peer {
                continue; // its own pseudo-gradient is already local
            }
            t_s = t_s.max(available_ms as f64 / 1e3 + rtt) + transfer_s;
            downloads += 1;
        }
        let done = ms(t_s + self.peers[peer].spec.apply_s).max(now);
        let bytes = downloads * self.payload_bytes;
        let r = &mut self.round_mut(round).peers[peer];
        r.bytes_down = bytes;
        r.gather_planned = true;
        let e = Event::OuterStepDone { round, peer };
        s.schedule_at(SimTime::from_ms(done), e.tie(), e);
    }

    fn put_deadline(&mut self, now: u64, round: u64, s: &mut Scheduler<Event>) {
        if self.round(round).gather.is_none() {
            self.fix_gather(now, round, s);
        }
        // Validators score every upload; late and missing ones score 0.
        let (h, noise) = (self.cfg.inner_steps, self.cfg.validator.score_noise);
        let deadline = self.round(round).deadline_ms;
        let mut scores = vec![0.0; self.peers.len()];
        for (i, p) in self.peers.iter_mut().enumerate() {
            let z = rng::standard_normal(&mut p.score_rng);
            let r = &self.rounds[round as usize].peers[i];
            if r.upload_done_ms.is_some_and(|t| t <= deadline) {
                scores[i] = validator::score(p.spec.quality, r.steps, h, noise, z);
            }
        }
        validator::inplace_update_ratings(&mut self.ratings, &scores, self.cfg.validator.rating_alpha);
        self.round_mut(round).incentive = validator::incentive_shares(&self.ratings, self.cfg.validator.power);
    }

    fn outer_step_done(&mut self, now: u64, round: u64, peer: usize, s: &mut Scheduler<Event>) {
        self.round_mut(round).peers[peer].outer_done_ms = Some(now);
        self.in_communication[peer] = false;
        // Start the newest open window's inner steps if this peer is present in it.
        if let Some(latest) = self.rounds.len().checked_sub(1)
            && latest as u64 > round
        {
            let latest = latest as u64;
            let r = &self.round(latest).peers[peer];
            if !r.offline && r.compute_start_ms.is_none() {
                self.start_compute(now, latest, peer, s);
            }
        }
    }

    /// The report of a finished run.
    pub fn report(&self) -> TrainingReport {
        let window_s = self.cfg.window_ms() as f64 / 1e3;
        let deadline_ok = |rnd: &Round, p: usize| rnd.peers[p].upload_done_ms.is_some_and(|t| t <= rnd.deadline_ms);
        let mut rounds = Vec::with_capacity(self.rounds.len());
        let n = self.peers.len();
        let mut per_peer_comm = vec![(0.0f64, 0u64); n];
        let mut aggregated_count = vec![0u64; n];
        let mut straggled = vec![0u64; n];
        let mut participated = vec![0u64; n];
        let mut incentive_sum = vec![0.0f64; n];
        for (index, rnd) in self.rounds.iter().enumerate() {
            let participants: Vec<usize> = (0..n).filter(|&p| rnd.peers[p].steps > 0).collect();
            let stragglers: Vec<usize> = (0..n)
                .filter(|&p| {
                    let r = &rnd.peers[p];
                    !r.offline && r.compute_start_ms.is_some() && !deadline_ok(rnd, p)
                })
                .collect();
            let aggregated: Vec<usize> = {
                let mut a: Vec<usize> = rnd.gather.iter().flatten().map(|&(p, _)| p).collect();
                a.sort_unstable();
                a
            };
            let (mut compute, mut comm, mut comm_max, mut idle, mut counted) = (0.0, 0.0, 0.0f64, 0.0, 0usize);
            for &p in &participants {
                let r = &rnd.peers[p];
                participated[p] += 1;
                let Some(outer) = r.outer_done_ms else { continue };
                let c = r.compute_ms as f64 / 1e3;
                let m = (r.compress_ms + outer.saturating_sub(r.upload_start_ms)) as f64 / 1e3;
                let compute_end = r.compute_start_ms.unwrap_or(0) + r.compute_ms + r.compress_ms;
                idle += r.upload_start_ms.saturating_sub(compute_end) as f64 / 1e3;
                compute += c;
                comm += m;
                comm_max = comm_max.max(m);
                counted += 1;
                per_peer_comm[p].0 += m;
                per_peer_comm[p].1 += 1;
            }
            for &p in &aggregated {
                aggregated_count[p] += 1;
            }
            for &p in &stragglers {
                straggled[p] += 1;
            }
            for (p, share) in rnd.incentive.iter().enumerate() {
                incentive_sum[p] += share;
            }
            let mean = |x: f64| if counted > 0 { x / counted as f64 } else { 0.0 };
            let tokens: u64 = aggregated.iter().map(|&p| rnd.peers[p].steps * self.tokens_per_step).sum();
            let bytes_up =
                (0..n).filter(|&p| rnd.peers[p].upload_done_ms.is_some()).count() as u64 * self.payload_bytes;
            rounds.push(RoundReport {
                round: index as u64,
                start_s: rnd.start_ms as f64 / 1e3,
                round_time_s: window_s,
                participants: participants.len(),
                offline: rnd.peers.iter().filter(|r| r.offline).count(),
                aggregated,
                stragglers,
                compute_s_mean: mean(compute),
                communication_s_mean: mean(comm),
                communication_s_max: comm_max,
                idle_s_mean: mean(idle),
                utilisation: if compute + comm > 0.0 { compute / (compute + comm) } else { 0.0 },
                wall_utilisation: if counted > 0 { compute / (counted as f64 * window_s) } else { 0.0 },
                bytes_up,
                bytes_down: rnd.peers.iter().map(|r| r.bytes_down).sum(),
                tokens_aggregated: tokens,
                tokens_per_s: tokens as f64 / window_s,
                incentive: rnd.incentive.clone(),
            });
        }
        let count = rounds.len().max(1) as f64;
        let avg = |f: &dyn Fn(&RoundReport) -> f64| rounds.iter().map(f).sum::<f64>() / count;
        let summary = TrainingSummary {
            rounds: rounds.len() as u64,
            peers: n,
            payload_bytes: self.payload_bytes,
            communication_s_mean: avg(&|r| r.communication_s_mean),
            compute_s_mean: avg(&|r| r.compute_s_mean),
            utilisation_mean: avg(&|r| r.utilisation),
            wall_utilisation_mean: avg(&|r| r.wall_utilisation),
            tokens_per_s_mean: avg(&|r| r.tokens_per_s),
            bytes_moved: rounds.iter().map(|r| r.bytes_up + r.bytes_down).sum(),
        };
        let peers = (0..n)
            .map(|p| {
                let spec = &self.peers[p].spec;
                let fleet = &self.cfg.fleets[spec.fleet];
                PeerReport {
                    peer: p,
                    fleet: fleet.name.clone(),
                    gpu: fleet.gpu.clone(),
                    gpus: fleet.gpus_per_peer,
                    region: self.cfg.regions[spec.region].name.clone(),
                    step_s: spec.step_s,
                    rounds_participated: participated[p],
                    rounds_aggregated: aggregated_count[p],
                    rounds_straggled: straggled[p],
                    communication_s_mean: if per_peer_comm[p].1 > 0 {
                        per_peer_comm[p].0 / per_peer_comm[p].1 as f64
                    } else {
                        0.0
                    },
                    incentive_share_mean: incentive_sum[p] / count,
                }
            })
            .collect();
        TrainingReport { summary, rounds, peers }
    }
}

/// A peer's fixed figures, computed from the config and the calibration profile.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerSpec {
    /// Fleet index.
    pub fleet: usize,
    /// Region index.
    pub region: usize,
    /// Seconds per inner step.
    pub step_s: f64,
    /// Seconds to compress the pseudo-gradient.
    pub compress_s: f64,
    /// Seconds to decode and apply the aggregated pseudo-gradients.
    pub apply_s: f64,
    /// Contribution per token.
    pub quality: f64,
    /// Step-time spread.
    pub jitter: f64,
    /// Chance of sitting a round out.
    pub offline_probability: f64,
}

impl Model for TrainingModel {
    type Event = Event;

    fn handle(&mut self, now: SimTime, event: Event, s: &mut Scheduler<Event>) {
        let now = now.ms();
        match event {
            Event::WindowStart { round } => self.window_start(now, round, s),
            Event::ComputeDone { round, peer } => self.compute_done(now, round, peer, s),
            Event::UploadDone { round, peer } => self.upload_done(now, round, peer, s),
            Event::PutDeadline { round } => self.put_deadline(now, round, s),
            Event::OuterStepDone { round, peer } => self.outer_step_done(now, round, peer, s),
        }
    }
}
