//! Training subnets on the chain (Templar-like, `[participants.miners.tasks] training_netuids`):
//! every chain window (`blocks_per_window`, Templar's 125 blocks) validators evaluate a sample
//! of the subnet's peers with the Gauntlet rule ([`crate::economy::agents::gauntlet`]), and
//! honest and lazy validators set Templar's weights (burn UID, gather top-20 ramp, reserve
//! decay), which Yuma turns into incentive. Peers are the subnet's miners: they pay rent, sell
//! by their policy and enter and leave by profit like every miner; what they deliver is their
//! GPUs' training throughput from the calibration profile at the tasks' model size.

use super::*;
use crate::economy::agents::gauntlet::{GauntletRule, PeerScore, gauntlet_weights};
use crate::rng::standard_normal;

/// Blocks per window: Templar's `blocks_per_window` (hparams.json), 25 minutes.
pub const BLOCKS_PER_WINDOW: u64 = 125;

/// Measurement noise of a gradient score (log-normal standard deviation): Templar scores a
/// peer's pseudo-gradient on a few random batches, so one evaluation is noisy.
pub const SCORE_NOISE_SD: f64 = 0.1;

/// One training subnet's validator state and books.
#[derive(Clone, Debug)]
pub struct TrainingSubnet {
    /// The subnet.
    pub netuid: u16,
    /// The validators' memory of each peer.
    pub scores: BTreeMap<HotkeyId, PeerScore>,
    /// The last Gauntlet weights, one per UID (sums to 1).
    pub weights: Vec<f64>,
    /// Peers in the last gather (top `gather_peers` by final score).
    pub gathered: Vec<HotkeyId>,
    /// The last window evaluated.
    pub window: u64,
    /// Peers' income over the last decision, USD per day.
    pub income_usd_per_day: f64,
    /// Peers' rent over the last decision, USD per day.
    pub rent_usd_per_day: f64,
    income_acc: f64,
    rent_acc: f64,
    rng: Stream,
}

impl TrainingSubnet {
    /// A training subnet with no history, its sampling stream `["gauntlet", netuid]`.
    pub fn new(seed: u64, netuid: u16, block: u64) -> Self {
        Self {
            netuid,
            scores: BTreeMap::new(),
            weights: Vec::new(),
            gathered: Vec::new(),
            window: block / BLOCKS_PER_WINDOW,
            income_usd_per_day: 0.0,
            rent_usd_per_day: 0.0,
            income_acc: 0.0,
            rent_acc: 0.0,
            rng: stream(seed, &label!["gauntlet", netuid]),
        }
    }
}

impl Participants {
    /// Evaluates every window that closed since the last call on each training subnet and
    /// recomputes its Gauntlet weights.
    pub(super) fn evaluate_training_windows(&mut self, chain: &ChainState) {
        let rule = GauntletRule::default();
        let now = chain.block.0 / BLOCKS_PER_WINDOW;
        for t in &mut self.training {
            let Some(s) = chain.subnet(t.netuid) else { continue };
            // Peers: the subnet's miners (validators and the owner are not scored).
            let peers: Vec<HotkeyId> =
                s.neurons.iter().map(|n| n.hotkey).filter(|h| self.quality.contains_key(h)).collect();
            t.scores.retain(|h, _| peers.contains(h));
            while t.window < now {
                t.window += 1;
                let mut pool = peers.clone();
                for _ in 0..rule.evaluated_per_window.min(pool.len()) {
                    let hotkey = pool.swap_remove(below(&mut t.rng, pool.len() as u64) as usize);
                    let q = self.quality.get(&hotkey).copied().unwrap_or(0.0);
                    let score = if q > 0.0 { q * libm::exp(SCORE_NOISE_SD * standard_normal(&mut t.rng)) } else { 0.0 };
                    t.scores.entry(hotkey).or_default().update(score, &rule);
                }
            }
            let finals: Vec<f64> =
                s.neurons.iter().map(|n| t.scores.get(&n.hotkey).map_or(0.0, |p| p.final_score(&rule))).collect();
            let burn_uid = s.uid_of(s.owner_hotkey).map_or(usize::MAX, usize::from);
            t.weights = gauntlet_weights(&finals, burn_uid, &rule);
            let mut ranked: Vec<usize> = (0..finals.len()).filter(|&u| u != burn_uid && finals[u] > 0.0).collect();
            ranked.sort_by(|&a, &b| finals[b].total_cmp(&finals[a]).then(a.cmp(&b)));
            t.gathered = ranked.iter().take(rule.gather_peers).map(|&u| s.neurons[u].hotkey).collect();
        }
    }

    /// The last Gauntlet weights of `netuid` when it is a training subnet that has some.
    pub(super) fn gauntlet_weights_of(&self, netuid: u16) -> Option<Vec<f64>> {
        let t = self.training.iter().find(|t| t.netuid == netuid)?;
        t.weights.iter().any(|w| *w > 0.0).then(|| t.weights.clone())
    }

    /// Adds a training peer's day to its subnet's books.
    pub(super) fn book_training_peer(&mut self, netuid: u16, income_usd: f64, rent_usd: f64) {
        if let Some(t) = self.training.iter_mut().find(|t| t.netuid == netuid) {
            t.income_acc += income_usd;
            t.rent_acc += rent_usd;
        }
    }

    /// Closes the decision's books of every training subnet (per day).
    pub(super) fn close_training_books(&mut self, dt_days: f64) {
        for t in &mut self.training {
            t.income_usd_per_day = t.income_acc / dt_days.max(1e-9);
            t.rent_usd_per_day = t.rent_acc / dt_days.max(1e-9);
            t.income_acc = 0.0;
            t.rent_acc = 0.0;
        }
    }

    /// Timeseries columns of the training subnets (none without one).
    pub(super) fn training_columns(&self) -> Vec<String> {
        let mut c = Vec::new();
        for t in &self.training {
            for what in [
                "peers",
                "peers_gathered",
                "tokens_per_day",
                "usd_per_mtoken",
                "peers_income_usd_per_day",
                "peers_rent_usd_per_day",
                "burn_weight",
                "top_weight",
            ] {
                c.push(format!("training{}_{what}", t.netuid));
            }
        }
        c
    }

    /// The training subnets' columns of one row: peers (miners on the subnet with GPUs),
    /// gathered peers, tokens a day (the gathered peers' training throughput, the tasks'
    /// model), rent per million tokens, peers' income and rent, the burn UID's weight and the
    /// best peer's.
    pub(super) fn training_sample(&self, chain: &ChainState) -> Vec<String> {
        let mut out = Vec::new();
        for t in &self.training {
            let mut peers = 0usize;
            let mut tokens_per_s = 0.0;
            let mut rent_per_s = 0.0;
            for m in self.miners.iter().filter(|m| m.state == MinerState::Active && m.attack.is_none() && m.gpus > 0) {
                let Some(pos) = m.positions.iter().find(|p| p.netuid == t.netuid) else { continue };
                let Some(g) = self.gpus.get(m.gpu) else { continue };
                let share = f64::from(m.gpus) / m.positions.len().max(1) as f64;
                peers += 1;
                rent_per_s += share * g.usd_per_hour / 3600.0;
                if t.gathered.contains(&pos.hotkey) {
                    tokens_per_s += share * g.tokens_per_s[Task::Training.index()];
                }
            }
            let tokens_per_day = tokens_per_s * 86_400.0;
            let usd_per_mtoken = if tokens_per_s > 0.0 { rent_per_s / tokens_per_s * 1e6 } else { 0.0 };
            let burn_uid = chain.subnet(t.netuid).and_then(|s| s.uid_of(s.owner_hotkey)).map(usize::from);
            let burn = burn_uid.and_then(|u| t.weights.get(u)).copied().unwrap_or(0.0);
            let top =
                t.weights.iter().enumerate().filter(|(u, _)| Some(*u) != burn_uid).map(|(_, w)| *w).fold(0.0, f64::max);
            out.extend([
                peers.to_string(),
                t.gathered.len().to_string(),
                tokens_per_day.to_string(),
                usd_per_mtoken.to_string(),
                t.income_usd_per_day.to_string(),
                t.rent_usd_per_day.to_string(),
                burn.to_string(),
                top.to_string(),
            ]);
        }
        out
    }
}
