//! What a training simulation reports: per round, per peer and in summary.
//!
//! Two utilisations are reported because they answer different questions:
//! - `utilisation`: compute / (compute + communication) of the peers that took part — the
//!   share of a peer's *active* time spent computing, which is how decentralised-training
//!   reports state it (communication being the time from the end of the inner steps to the
//!   applied outer step, less any wait for the window to close);
//! - `wall_utilisation`: compute / (peers × window length) — the share of wall-clock GPU time,
//!   which also counts the time a fast peer idles until the chain's window closes.

use serde::Serialize;

/// One round (window).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RoundReport {
    /// Round index.
    pub round: u64,
    /// When the window opened, seconds since the start.
    pub start_s: f64,
    /// The window's length, seconds (`window_blocks` × 12 s).
    pub round_time_s: f64,
    /// Peers that computed at least one inner step.
    pub participants: usize,
    /// Peers that sat the round out.
    pub offline: usize,
    /// Peers whose pseudo-gradients the outer step aggregated, by index.
    pub aggregated: Vec<usize>,
    /// Peers that computed but missed the put window (or ran out of window before one step).
    pub stragglers: Vec<usize>,
    /// Mean compute time of the participants, seconds.
    pub compute_s_mean: f64,
    /// Mean communication time of the participants (compress, upload, gather, apply), seconds.
    pub communication_s_mean: f64,
    /// Longest communication time of a participant, seconds.
    pub communication_s_max: f64,
    /// Mean time a participant waited for the window to close, seconds.
    pub idle_s_mean: f64,
    /// Compute over compute plus communication (see the module docs).
    pub utilisation: f64,
    /// Compute over participants × window (see the module docs).
    pub wall_utilisation: f64,
    /// Bytes uploaded to the store.
    pub bytes_up: u64,
    /// Bytes downloaded from the store.
    pub bytes_down: u64,
    /// Tokens behind the aggregated pseudo-gradients.
    pub tokens_aggregated: u64,
    /// `tokens_aggregated` per second of the window: the network's training throughput.
    pub tokens_per_s: f64,
    /// Each peer's share of the round's incentive (sums to 1 when any rating is positive).
    pub incentive: Vec<f64>,
}

/// One peer over the run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PeerReport {
    /// Index.
    pub peer: usize,
    /// Its fleet's name.
    pub fleet: String,
    /// GPU type.
    pub gpu: String,
    /// GPUs in the peer.
    pub gpus: u64,
    /// Its region.
    pub region: String,
    /// Seconds per inner step (before jitter), from the calibration profile.
    pub step_s: f64,
    /// Rounds in which it computed.
    pub rounds_participated: u64,
    /// Rounds in which the outer step used its pseudo-gradient.
    pub rounds_aggregated: u64,
    /// Rounds in which it missed the put window.
    pub rounds_straggled: u64,
    /// Mean communication time over the rounds it took part in, seconds.
    pub communication_s_mean: f64,
    /// Its mean share of the incentive over all rounds.
    pub incentive_share_mean: f64,
}

/// Run-level figures: means over rounds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrainingSummary {
    /// Rounds simulated.
    pub rounds: u64,
    /// Peers.
    pub peers: usize,
    /// Bytes of one compressed pseudo-gradient.
    pub payload_bytes: u64,
    /// Mean over rounds of the participants' mean communication time, seconds.
    pub communication_s_mean: f64,
    /// Mean over rounds of the participants' compute time, seconds.
    pub compute_s_mean: f64,
    /// Mean over rounds of `utilisation`.
    pub utilisation_mean: f64,
    /// Mean over rounds of `wall_utilisation`.
    pub wall_utilisation_mean: f64,
    /// Mean over rounds of the network's tokens per second.
    pub tokens_per_s_mean: f64,
    /// All bytes moved (up and down) over the run.
    pub bytes_moved: u64,
}

/// The whole result of [`super::simulate_training`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrainingReport {
    /// Run-level figures.
    pub summary: TrainingSummary,
    /// Per round.
    pub rounds: Vec<RoundReport>,
    /// Per peer.
    pub peers: Vec<PeerReport>,
}

/// Columns of `training_rounds.csv`, units last.
pub const ROUND_COLUMNS: [&str; 17] = [
    "round",
    "start_s",
    "round_time_s",
    "participants",
    "offline",
    "aggregated",
    "stragglers",
    "compute_s_mean",
    "communication_s_mean",
    "communication_s_max",
    "idle_s_mean",
    "utilisation",
    "wall_utilisation",
    "bytes_up",
    "bytes_down",
    "tokens_aggregated",
    "tokens_per_s",
];

/// Writes `training_rounds.csv` (one row per round; `aggregated` and `stragglers` as counts)
/// and `training_peers.csv` (one row per peer).
pub fn write_csv<W: std::io::Write>(report: &TrainingReport, rounds: W, peers: W) -> Result<(), String> {
    let mut w = csv::Writer::from_writer(rounds);
    w.write_record(ROUND_COLUMNS).map_err(|e| e.to_string())?;
    for r in &report.rounds {
        w.write_record([
            r.round.to_string(),
            r.start_s.to_string(),
            r.round_time_s.to_string(),
            r.participants.to_string(),
            r.offline.to_string(),
            r.aggregated.len().to_string(),
            r.stragglers.len().to_string(),
            r.compute_s_mean.to_string(),
            r.communication_s_mean.to_string(),
            r.communication_s_max.to_string(),
            r.idle_s_mean.to_string(),
            r.utilisation.to_string(),
            r.wall_utilisation.to_string(),
            r.bytes_up.to_string(),
            r.bytes_down.to_string(),
            r.tokens_aggregated.to_string(),
            r.tokens_per_s.to_string(),
        ])
        .map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())?;
    let mut w = csv::Writer::from_writer(peers);
    for p in &report.peers {
        w.serialize(p).map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())?;
    Ok(())
}
