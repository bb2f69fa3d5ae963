//! Templar's validator ("Gauntlet") on a training subnet: how peers are scored and how scores
//! become weights (`tplr-ai/templar` `neurons/validator.py`, `hparams/hparams.json`;
//! `economy-calibration.md` §6).
//!
//! Scoring, per evaluation of a peer: a gradient score (Templar: the loss improvement its
//! pseudo-gradient gives on random data, (before − after) / before; here a proxy, its
//! delivered training throughput times log-normal measurement noise), a ±1 indicator (its
//! own data beats random data: +1 for a peer that trains, −1 for one that uploads nothing
//! useful) fed to an EMA with α = 0.05 (`binary_score_ma_alpha`), a rating (Templar:
//! OpenSkill Plackett-Luce over the window's evaluated peers; here an EMA of the gradient
//! score, a simplification) and a sync score (0 once a peer is more than
//! `sync_max_steps_behind` = 3 windows behind, 1 otherwise). Final score = rating ×
//! max(0, indicator EMA) × sync.
//!
//! Weights ([`gauntlet_weights`], `Validator.update_weights`): `burn_rate` (0.5) to the burn
//! UID; of the rest, `gather_share` (75 %) to the top `gather_peer_count` (20) peers by final
//! score on a linear ramp from `gather_top_ratio` (2) to 1, and 25 % to the next
//! `reserve_peer_count` (10) on a geometric decay of `reserve_decay_ratio` (0.5), capped so
//! no reserve peer gets more than the least gather peer times the decay ratio.

/// Templar's weight rule's knobs (`hparams.json`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GauntletRule {
    /// Weight to the burn UID. 0 ..= 1.
    pub burn_rate: f64,
    /// Share of the rest to the gather peers.
    pub gather_share: f64,
    /// Gather peers.
    pub gather_peers: usize,
    /// Reserve peers.
    pub reserve_peers: usize,
    /// Best gather peer's weight over the last one's.
    pub top_ratio: f64,
    /// Ratio between consecutive reserve peers' weights.
    pub decay_ratio: f64,
    /// α of the indicator EMA.
    pub indicator_alpha: f64,
    /// α of the rating EMA (the OpenSkill stand-in).
    pub rating_alpha: f64,
    /// Windows a peer may fall behind before its sync score drops to 0.
    pub max_windows_behind: u32,
    /// Peers evaluated per window (`uids_per_window`).
    pub evaluated_per_window: usize,
}

impl Default for GauntletRule {
    /// Templar's production values (`hparams/hparams.json`, v2.1.3): burn 0.5, gather 0.75 to
    /// 20 on a 2:1 ramp, 10 reserves decaying by 0.5, indicator α 0.05, 3 windows, 15 peers
    /// evaluated a window; the rating's α (0.3) is this model's.
    fn default() -> Self {
        Self {
            burn_rate: 0.5,
            gather_share: 0.75,
            gather_peers: 20,
            reserve_peers: 10,
            top_ratio: 2.0,
            decay_ratio: 0.5,
            indicator_alpha: 0.05,
            rating_alpha: 0.3,
            max_windows_behind: 3,
            evaluated_per_window: 15,
        }
    }
}

/// A validator's memory of one peer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PeerScore {
    /// EMA of the ±1 indicator.
    pub indicator: f64,
    /// EMA of the gradient score (the rating).
    pub rating: f64,
    /// Windows since the peer last delivered.
    pub windows_behind: u32,
}

impl Default for PeerScore {
    fn default() -> Self {
        Self { indicator: 0.0, rating: 0.0, windows_behind: 0 }
    }
}

impl PeerScore {
    /// One evaluation: `gradient_score` (≥ 0; 0 when the peer delivered nothing).
    pub fn update(&mut self, gradient_score: f64, rule: &GauntletRule) {
        let delivered = gradient_score > 0.0;
        let indicator = if delivered { 1.0 } else { -1.0 };
        self.indicator = rule.indicator_alpha * indicator + (1.0 - rule.indicator_alpha) * self.indicator;
        self.rating = rule.rating_alpha * gradient_score.max(0.0) + (1.0 - rule.rating_alpha) * self.rating;
        self.windows_behind = if delivered { 0 } else { self.windows_behind.saturating_add(1) };
    }

    /// rating × max(0, indicator EMA) × sync score.
    pub fn final_score(&self, rule: &GauntletRule) -> f64 {
        let sync = if self.windows_behind > rule.max_windows_behind { 0.0 } else { 1.0 };
        self.rating * self.indicator.max(0.0) * sync
    }
}

/// Weights over UIDs from final scores (`scores[uid]`, 0 for the burn UID and non-peers) by
/// Templar's rule; they sum to 1. Ties rank the lower UID first.
pub fn gauntlet_weights(scores: &[f64], burn_uid: usize, rule: &GauntletRule) -> Vec<f64> {
    let n = scores.len();
    let mut w = vec![0.0; n];
    let mut ranked: Vec<usize> = (0..n).filter(|&u| u != burn_uid && scores[u] > 0.0).collect();
    ranked.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let gather: Vec<usize> = ranked.iter().copied().take(rule.gather_peers).collect();
    let reserve: Vec<usize> = ranked.iter().copied().skip(rule.gather_peers).take(rule.reserve_peers).collect();
    let burn = rule.burn_rate.clamp(0.0, 1.0);
    if !gather.is_empty() {
        // torch.linspace(top_ratio, 1, n): evenly spaced, the first top_ratio, the last 1.
        let k = gather.len();
        let profile: Vec<f64> = (0..k)
            .map(|i| {
                if k == 1 {
                    rule.top_ratio
                } else {
                    rule.top_ratio + (1.0 - rule.top_ratio) * i as f64 / (k - 1) as f64
                }
            })
            .collect();
        let sum: f64 = profile.iter().sum();
        for (uid, p) in gather.iter().zip(&profile) {
            w[*uid] = (1.0 - burn) * rule.gather_share * p / sum;
        }
    }
    if !reserve.is_empty() {
        let profile: Vec<f64> = (0..reserve.len()).map(|i| libm::pow(rule.decay_ratio, i as f64)).collect();
        let sum: f64 = profile.iter().sum();
        for (uid, p) in reserve.iter().zip(&profile) {
            w[*uid] = (1.0 - burn) * (1.0 - rule.gather_share) * p / sum;
        }
    }
    if let (Some(min_gather), Some(max_reserve)) =
        (gather.iter().map(|&u| w[u]).reduce(f64::min), reserve.iter().map(|&u| w[u]).reduce(f64::max))
        && max_reserve > min_gather
    {
        let factor = min_gather / max_reserve * rule.decay_ratio;
        for &u in &reserve {
            w[u] *= factor;
        }
    }
    let non_burn: f64 = w.iter().sum();
    if burn_uid < n {
        if non_burn > 0.0 {
            let scale = (1.0 - burn) / non_burn;
            for x in &mut w {
                *x *= scale;
            }
            w[burn_uid] = burn;
        } else {
            w[burn_uid] = 1.0;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_burns_three_quarters_of_the_rest_ramp_over_twenty_and_ten_reserves_decay() {
        let rule = GauntletRule::default();
        // UID 0 burns; UIDs 1..=40 with decreasing scores.
        let scores: Vec<f64> = (0..41).map(|u| if u == 0 { 0.0 } else { 100.0 - u as f64 }).collect();
        let w = gauntlet_weights(&scores, 0, &rule);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(w[0], 0.5);
        assert!((w[1] / w[20] - 2.0).abs() < 1e-12, "best gets twice the 20th");
        // Reserves: 25 % of the rest split 1, 0.5, 0.25, ... would give the first reserve
        // 0.125 / 1.998 = 0.063, above the 20th gather peer's 0.375 / 30 = 0.0125: the cap
        // brings it to half of that, and the rescale gives the gather peers the difference.
        assert!((w[21] / w[20] - 0.5).abs() < 1e-12, "{} {}", w[21], w[20]);
        assert!((w[22] / w[21] - 0.5).abs() < 1e-12);
        let gather: f64 = w[1..=20].iter().sum();
        assert!(gather > 0.375 && gather < 0.5, "{gather}");
        assert!(w[31..].iter().all(|&x| x == 0.0), "everyone else gets nothing");
    }

    #[test]
    fn reserves_are_capped_below_the_least_gather_peer_and_no_peer_means_all_burned() {
        let rule = GauntletRule { gather_peers: 2, reserve_peers: 1, top_ratio: 4.0, ..GauntletRule::default() };
        let w = gauntlet_weights(&[0.0, 3.0, 2.0, 1.0], 0, &rule);
        // Gather 0.375 over 4:1 -> 0.3, 0.075; the reserve's 0.125 exceeds the least gather
        // weight, so it is scaled to 0.075 x 0.5, then the non-burned weights rescaled to 0.5.
        let raw = [0.3, 0.075, 0.0375];
        let s: f64 = raw.iter().sum();
        for (got, want) in w[1..].iter().zip(raw) {
            assert!((got - want * 0.5 / s).abs() < 1e-12, "{w:?}");
        }
        assert_eq!(gauntlet_weights(&[0.0, 0.0, 0.0], 0, &rule), vec![1.0, 0.0, 0.0]);
    }

    #[test]
    fn a_peer_that_stops_delivering_loses_its_score_and_a_better_one_ranks_higher() {
        let rule = GauntletRule::default();
        let (mut good, mut better, mut idle) = (PeerScore::default(), PeerScore::default(), PeerScore::default());
        for _ in 0..20 {
            good.update(1.0, &rule);
            better.update(2.0, &rule);
            idle.update(1.0, &rule);
        }
        assert!(better.final_score(&rule) > good.final_score(&rule));
        for _ in 0..3 {
            idle.update(0.0, &rule);
        }
        assert!(idle.final_score(&rule) > 0.0, "three windows behind still count");
        idle.update(0.0, &rule);
        assert_eq!(idle.final_score(&rule), 0.0, "the fourth window behind zeroes the sync score");
        // A peer that never delivered has a negative indicator: score 0.
        let mut never = PeerScore::default();
        never.update(0.0, &rule);
        assert_eq!(never.final_score(&rule), 0.0);
    }
}
